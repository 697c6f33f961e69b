import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { daysLater, parseAcronisTime, productionAt } from './provisioning-calendar.ts';

const local = (iso: string, zone: string) => DateTime.fromISO(iso, { zone }).toMillis();
const show = (ms: number, zone: string) => DateTime.fromMillis(ms, { zone }).toISO({ suppressMilliseconds: true });

describe('productionAt: one full calendar month of trial', () => {
  it.each([
    ['2027-01-31T10:15:00', '2027-02-28T10:15:00+01:00', 'clamped to the last day of a short February'],
    ['2028-01-31T10:15:00', '2028-02-29T10:15:00+01:00', 'clamped to 29 February in a leap year'],
    ['2027-01-30T10:15:00', '2027-02-28T10:15:00+01:00', 'the 30th also clamps in February'],
    ['2027-03-15T09:00:00', '2027-04-15T09:00:00+02:00', 'the same day next month across the spring DST change'],
    ['2027-12-31T23:30:00', '2028-01-31T23:30:00+01:00', 'across the end of the year'],
    ['2027-10-15T12:00:00', '2027-11-15T12:00:00+01:00', 'across the autumn DST change'],
  ])('%s Europe/Berlin → %s (%s)', (start, expected) => {
    expect(show(productionAt(local(start, 'Europe/Berlin'), 'Europe/Berlin'), 'Europe/Berlin')).toBe(expected);
  });

  it('keeps the wall time of the partner zone, not of UTC', () => {
    // 31 Jan 20:00 in New York is already 1 Feb in UTC; the partner's calendar decides.
    expect(show(productionAt(local('2027-01-31T20:00:00', 'America/New_York'), 'America/New_York'), 'America/New_York')).toBe('2027-02-28T20:00:00-05:00');
  });

  it('moves a wall time the clocks skip forward by the gap', () => {
    // 14 Mar 2027 02:30 does not exist in New York (clocks jump from 02:00 to 03:00).
    expect(show(productionAt(local('2027-02-14T02:30:00', 'America/New_York'), 'America/New_York'), 'America/New_York')).toBe('2027-03-14T03:30:00-04:00');
  });

  it('refuses an unknown zone', () => {
    expect(() => productionAt(0, 'Mars/Olympus')).toThrow(/invalid time zone/);
  });
});

describe('daysLater: calendar days in the partner zone', () => {
  it('is 23 hours long over the spring change in Europe/Berlin', () => {
    const start = local('2027-03-27T09:00:00', 'Europe/Berlin');
    const next = daysLater(start, 1, 'Europe/Berlin');
    expect(show(next, 'Europe/Berlin')).toBe('2027-03-28T09:00:00+02:00');
    expect(next - start).toBe(23 * 3_600_000);
  });

  it('is 25 hours long over the autumn change in America/New_York', () => {
    const start = local('2027-11-06T09:00:00', 'America/New_York');
    const next = daysLater(start, 1, 'America/New_York');
    expect(show(next, 'America/New_York')).toBe('2027-11-07T09:00:00-05:00');
    expect(next - start).toBe(25 * 3_600_000);
  });

  it('counts 10 and 30 days across the end of the year', () => {
    const start = local('2027-12-25T18:00:00', 'Europe/Berlin');
    expect(show(daysLater(start, 10, 'Europe/Berlin'), 'Europe/Berlin')).toBe('2028-01-04T18:00:00+01:00');
    expect(show(daysLater(start, 30, 'Europe/Berlin'), 'Europe/Berlin')).toBe('2028-01-24T18:00:00+01:00');
  });

  it('is the start itself for zero days', () => {
    expect(daysLater(1_800_000_000_000, 0, 'Europe/Berlin')).toBe(1_800_000_000_000);
  });
});

describe('parseAcronisTime', () => {
  it('reads zone-less Account Management timestamps as UTC and honours explicit offsets', () => {
    expect(parseAcronisTime('2027-01-31T10:15:00')).toBe(Date.UTC(2027, 0, 31, 10, 15));
    expect(parseAcronisTime('2019-07-25T07:11:02.807354+00:00')).toBe(Date.UTC(2019, 6, 25, 7, 11, 2, 807));
    expect(parseAcronisTime('2027-01-31T10:15:00Z')).toBe(Date.UTC(2027, 0, 31, 10, 15));
    expect(() => parseAcronisTime('yesterday')).toThrow(RangeError);
  });
});
