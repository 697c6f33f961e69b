import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import type { BillingCalendar, BillingPeriod, UsagePass } from './billing-periods.ts';
import { freshFrom, isFreshEnough, nextPass, periodContaining, periodStatus, periodToReport } from './billing-periods.ts';

const local = (iso: string, zone: string) => DateTime.fromISO(iso, { zone }).toMillis();
const show = (ms: number, zone: string) => DateTime.fromMillis(ms, { zone }).toISO({ suppressMilliseconds: true, suppressSeconds: true });
const days = (period: BillingPeriod) => `${period.start} – ${period.end}`;
const hours = (period: BillingPeriod) => (period.endMs - period.startMs) / 3_600_000;

const currentMonth: BillingCalendar = { reportingPeriod: 'current-month', billingDay: 15, intervalMinutes: 15 };
const previousMonth: BillingCalendar = { reportingPeriod: 'previous-month', billingDay: 15, intervalMinutes: 15 };
const billingDay = (day: number): BillingCalendar => ({ reportingPeriod: 'custom-billing-month', billingDay: day, intervalMinutes: 15 });

const LONDON = 'Europe/London';
const NEW_YORK = 'America/New_York';
const SYDNEY = 'Australia/Sydney';
const KOLKATA = 'Asia/Kolkata';
const SANTIAGO = 'America/Santiago';
const LAG = 6;

describe('periodContaining: the period a backfill of a date re-reports', () => {
  it.each([
    ['2027-11-20', billingDay(15), '2027-11-15 – 2027-12-14', 'a custom month runs from day D to D − 1 of the next month'],
    ['2027-11-15', billingDay(15), '2027-11-15 – 2027-12-14', 'day D opens a billing month'],
    ['2027-11-14', billingDay(15), '2027-10-15 – 2027-11-14', 'day D − 1 closes one'],
    ['2028-01-03', billingDay(15), '2027-12-15 – 2028-01-14', 'across the end of the year'],
    ['2027-12-31', billingDay(1), '2027-12-01 – 2027-12-31', 'day 1 is the calendar month'],
    ['2027-01-31', currentMonth, '2027-01-01 – 2027-01-31', 'a 31-day month'],
    ['2027-02-10', previousMonth, '2027-02-01 – 2027-02-28', 'February of a common year'],
    ['2028-02-10', previousMonth, '2028-02-01 – 2028-02-29', 'February of a leap year'],
    ['2027-02-27', billingDay(28), '2027-01-28 – 2027-02-27', 'D = 28 closes on 27 February'],
    ['2027-03-01', billingDay(28), '2027-02-28 – 2027-03-27', 'D = 28 opens on 28 February'],
    ['2028-02-29', billingDay(28), '2028-02-28 – 2028-03-27', 'a leap day lies in the month that opened on the 28th'],
  ])('%s → %s (%s)', (date, calendar, expected) => {
    expect(days(periodContaining(date, calendar, LONDON))).toBe(expected);
  });

  it.each([
    [LONDON, '2027-03-10', currentMonth, '2027-03-01T00:00+00:00', '2027-04-01T00:00+01:00', 31 * 24 - 1],
    [NEW_YORK, '2027-11-01', billingDay(15), '2027-10-15T00:00-04:00', '2027-11-15T00:00-05:00', 31 * 24 + 1],
    [SYDNEY, '2027-10-10', currentMonth, '2027-10-01T00:00+10:00', '2027-11-01T00:00+11:00', 31 * 24 - 1],
    [SYDNEY, '2027-04-10', currentMonth, '2027-04-01T00:00+11:00', '2027-05-01T00:00+10:00', 30 * 24 + 1],
    [KOLKATA, '2027-12-05', currentMonth, '2027-12-01T00:00+05:30', '2028-01-01T00:00+05:30', 31 * 24],
    // Chile moves its clocks at midnight: on 5 Sep 2027 the day begins at 01:00.
    [SANTIAGO, '2027-09-20', billingDay(5), '2027-09-05T01:00-03:00', '2027-10-05T00:00-03:00', 30 * 24 - 1],
  ])('in %s, %s lies in a period from %s to %s (%d hours)', (zone, date, calendar, startsAt, endsAt, length) => {
    const period = periodContaining(date, calendar, zone);
    expect([show(period.startMs, zone), show(period.endMs, zone), hours(period)]).toEqual([startsAt, endsAt, length]);
  });

  it('spans the local days, not the UTC ones', () => {
    expect(periodContaining('2027-12-05', currentMonth, KOLKATA).startMs).toBe(Date.UTC(2027, 10, 30, 18, 30));
  });

  it.each([['2027-02-30'], ['2027-11-20T10:00'], ['20 Nov 2027'], ['2027-13-01']])('refuses %s', (date) => {
    expect(() => periodContaining(date, currentMonth, LONDON)).toThrow(RangeError);
  });

  it('refuses an unknown zone and a billing day beyond 28', () => {
    expect(() => periodContaining('2027-11-20', currentMonth, 'Mars/Olympus')).toThrow(/Mars\/Olympus/);
    expect(() => periodContaining('2027-11-20', billingDay(29), LONDON)).toThrow(/billing day/);
  });
});

describe('periodToReport: what a pass at a given moment reports', () => {
  it.each([
    ['2027-11-15T00:00', billingDay(15), '2027-10-15 – 2027-11-14', 'on 15 Nov, the billing month that ended the day before'],
    ['2027-11-14T23:59', billingDay(15), '2027-09-15 – 2027-10-14', 'the day before, the one before that'],
    ['2027-03-01T00:00', billingDay(1), '2027-02-01 – 2027-02-28', 'D = 1: the calendar month just ended'],
    ['2028-03-27T12:00', billingDay(28), '2028-01-28 – 2028-02-27', 'D = 28, the day before day D'],
    ['2028-03-28T00:00', billingDay(28), '2028-02-28 – 2028-03-27', 'D = 28 over a leap February'],
    ['2028-03-01T00:00', previousMonth, '2028-02-01 – 2028-02-29', 'previous month: the leap February'],
    ['2027-01-15T12:00', previousMonth, '2026-12-01 – 2026-12-31', 'previous month across the end of the year'],
    ['2027-01-31T23:59', currentMonth, '2027-01-01 – 2027-01-31', 'current month: to date, up to its last minute'],
  ])('%s London → %s (%s)', (now, calendar, expected) => {
    expect(days(periodToReport(local(now, LONDON), calendar, LONDON))).toBe(expected);
  });

  it('follows the partner zone, not UTC', () => {
    // 31 Jan 20:00 in New York is already 1 Feb in UTC; 1 Dec 00:00 in Kolkata is still 30 Nov in UTC.
    expect(days(periodToReport(local('2027-01-31T20:00', NEW_YORK), currentMonth, NEW_YORK))).toBe('2027-01-01 – 2027-01-31');
    expect(days(periodToReport(Date.UTC(2027, 10, 30, 18, 30), currentMonth, KOLKATA))).toBe('2027-12-01 – 2027-12-31');
    expect(days(periodToReport(Date.UTC(2027, 10, 30, 18, 29), currentMonth, KOLKATA))).toBe('2027-11-01 – 2027-11-30');
  });
});

describe('periodStatus and freshness (F4.9)', () => {
  const october = periodContaining('2027-10-10', currentMonth, LONDON);

  it.each([
    ['2027-09-30T23:59', 'future'],
    ['2027-10-01T00:00', 'open'],
    ['2027-10-31T23:59', 'open'],
    ['2027-11-01T00:00', 'closed'],
  ])('October at %s London is %s', (now, status) => {
    expect(periodStatus(october, local(now, LONDON))).toBe(status);
  });

  it.each([
    ['2027-10-31T23:00', '2027-11-02T12:00', false, 'read inside the month: a partial month'],
    ['2027-11-01T05:59', '2027-11-02T12:00', false, 'read before Acronis refreshed after the month ended'],
    ['2027-11-01T06:00', '2027-11-02T12:00', true, 'read the lag after the month ended'],
    ['2027-09-30T12:00', '2027-10-10T12:00', false, 'the month to date from a figure of the month before'],
    ['2027-10-01T05:59', '2027-10-10T12:00', false, 'the month to date before Acronis refreshed in the new month'],
    ['2027-10-01T06:00', '2027-10-10T12:00', true, 'the month to date once Acronis refreshed'],
    ['2027-10-31T23:00', '2027-10-31T23:30', true, 'the month to date in its last hour'],
  ])('October from a figure read at %s, reported at %s: %s (%s)', (readAt, now, fresh) => {
    expect(isFreshEnough(local(readAt, LONDON), october, local(now, LONDON), LAG)).toBe(fresh);
  });

  it('counts the lag in hours when the period ends on a day the clocks change', () => {
    // New York falls back at 02:00 on 1 Nov 2026: six hours after midnight is 05:00 on the clock.
    const octoberNewYork = periodContaining('2026-10-10', currentMonth, NEW_YORK);
    expect(show(freshFrom(octoberNewYork, local('2026-11-02T00:00', NEW_YORK), LAG), NEW_YORK)).toBe('2026-11-01T05:00-05:00');
  });

  it('takes a closed period as fresh at its very end when there is no lag, and refuses a negative lag', () => {
    expect(freshFrom(october, local('2027-11-05T00:00', LONDON), 0)).toBe(october.endMs);
    expect(() => freshFrom(october, 0, -1)).toThrow(/refresh lag/);
  });
});

describe('nextPass: when the usage loop is due and what it reports', () => {
  it.each([
    // zone, calendar, now, last due, lag → due, period
    ['current month: the interval after the last pass', LONDON, currentMonth, '2027-11-10T10:07', '2027-11-10T10:00', LAG, '2027-11-10T10:15+00:00', '2027-11-01 – 2027-11-30'],
    ['current month: at once when overdue', LONDON, currentMonth, '2027-11-10T10:07', '2027-11-10T09:00', LAG, '2027-11-10T10:07+00:00', '2027-11-01 – 2027-11-30'],
    ['current month: a daily interval', LONDON, { ...currentMonth, intervalMinutes: 1440 }, '2027-11-10T10:07', '2027-11-10T10:00', LAG, '2027-11-11T10:00+00:00', '2027-11-01 – 2027-11-30'],
    ['current month: a new month waits for fresh figures', LONDON, currentMonth, '2027-11-30T23:55', '2027-11-30T23:50', LAG, '2027-12-01T06:00+00:00', '2027-12-01 – 2027-12-31'],
    ['current month: 15 minutes across the spring gap', NEW_YORK, currentMonth, '2027-03-14T01:52', '2027-03-14T01:50', LAG, '2027-03-14T03:05-04:00', '2027-03-01 – 2027-03-31'],
    ['previous month: daily at midnight plus the lag', LONDON, previousMonth, '2027-11-10T09:00', '2027-11-10T06:00', LAG, '2027-11-11T06:00+00:00', '2027-10-01 – 2027-10-31'],
    ['previous month: the 1st reports the month just ended', LONDON, previousMonth, '2027-11-30T12:00', '2027-11-30T06:00', LAG, '2027-12-01T06:00+00:00', '2027-11-01 – 2027-11-30'],
    ['previous month: New York springs forward', NEW_YORK, previousMonth, '2027-03-13T12:00', '2027-03-13T06:00', LAG, '2027-03-14T07:00-04:00', '2027-02-01 – 2027-02-28'],
    ['previous month: New York falls back on the 1st', NEW_YORK, previousMonth, '2026-10-31T12:00', '2026-10-31T06:00', LAG, '2026-11-01T05:00-05:00', '2026-10-01 – 2026-10-31'],
    ['previous month: London falls back on the 31st', LONDON, previousMonth, '2027-10-30T12:00', '2027-10-30T06:00', LAG, '2027-10-31T05:00+00:00', '2027-09-01 – 2027-09-30'],
    ['previous month: local midnight on the day London springs forward', LONDON, previousMonth, '2027-03-27T12:00', '2027-03-27T00:00', 0, '2027-03-28T00:00+00:00', '2027-02-01 – 2027-02-28'],
    ['custom: day D at midnight plus the lag', LONDON, billingDay(15), '2027-11-03T12:00', '2027-10-15T06:00', LAG, '2027-11-15T06:00+00:00', '2027-10-15 – 2027-11-14'],
    ['custom: D = 28 in a common February', LONDON, billingDay(28), '2027-02-10T12:00', '2027-01-28T06:00', LAG, '2027-02-28T06:00+00:00', '2027-01-28 – 2027-02-27'],
    ['custom: D = 28 over a leap February', LONDON, billingDay(28), '2028-03-10T12:00', '2028-02-28T06:00', LAG, '2028-03-28T06:00+01:00', '2028-02-28 – 2028-03-27'],
    ['custom: local midnight on the day New York falls back', NEW_YORK, billingDay(1), '2026-10-20T12:00', '2026-10-01T00:00', 0, '2026-11-01T00:00-04:00', '2026-10-01 – 2026-10-31'],
    ['custom: Sydney springs forward inside the month', SYDNEY, billingDay(5), '2027-09-20T12:00', '2027-09-05T06:00', LAG, '2027-10-05T06:00+11:00', '2027-09-05 – 2027-10-04'],
    ['custom: a half-hour zone', KOLKATA, billingDay(1), '2027-11-20T12:00', '2027-11-01T06:00', LAG, '2027-12-01T06:00+05:30', '2027-11-01 – 2027-11-30'],
    ['custom: Santiago has no midnight on day D', SANTIAGO, billingDay(5), '2027-08-20T12:00', '2027-08-05T06:00', LAG, '2027-09-05T07:00-03:00', '2027-08-05 – 2027-09-04'],
  ])('%s', (_case, zone, calendar, now, lastDue, lag, dueAt, period) => {
    const pass = nextPass(local(now, zone), local(lastDue, zone), calendar, zone, lag);
    expect([show(pass.dueAtMs, zone), days(pass.period)]).toEqual([dueAt, period]);
  });

  it.each([
    ['custom, mid-month', billingDay(15), '2027-11-20T10:00', '2027-11-20T10:00+00:00', '2027-10-15 – 2027-11-14'],
    ['custom, on day D before the figures are fresh', billingDay(15), '2027-11-15T05:00', '2027-11-15T06:00+00:00', '2027-10-15 – 2027-11-14'],
    ['previous month, on the 1st before the figures are fresh', previousMonth, '2027-12-01T03:00', '2027-12-01T06:00+00:00', '2027-11-01 – 2027-11-30'],
    ['current month, on the 1st before the figures are fresh', currentMonth, '2027-12-01T03:00', '2027-12-01T06:00+00:00', '2027-12-01 – 2027-12-31'],
    ['current month, mid-month', currentMonth, '2027-12-10T03:00', '2027-12-10T03:00+00:00', '2027-12-01 – 2027-12-31'],
  ])('a loop that never passed reports what is due now: %s', (_case, calendar, now, dueAt, period) => {
    const pass = nextPass(local(now, LONDON), null, calendar, LONDON, LAG);
    expect([show(pass.dueAtMs, LONDON), days(pass.period)]).toEqual([dueAt, period]);
  });

  /** The passes a loop makes from `lastDue` on, until the first one due after `now`. */
  function catchUp(now: string, lastDue: string, calendar: BillingCalendar): string[] {
    const passes: string[] = [];
    let last = local(lastDue, LONDON);
    for (;;) {
      const pass = nextPass(local(now, LONDON), last, calendar, LONDON, LAG);
      passes.push(`${show(pass.dueAtMs, LONDON)} ${days(pass.period)}`);
      if (pass.dueAtMs > local(now, LONDON)) return passes;
      last = pass.dueAtMs;
    }
  }

  it('after two months down, reports each missed billing month in turn, then waits for the next', () => {
    expect(catchUp('2027-11-20T10:00', '2027-09-15T06:00', billingDay(15))).toEqual([
      '2027-10-15T06:00+01:00 2027-09-15 – 2027-10-14',
      '2027-11-15T06:00+00:00 2027-10-15 – 2027-11-14',
      '2027-12-15T06:00+00:00 2027-11-15 – 2027-12-14',
    ]);
  });

  it('after five weeks down, reports each previous month once at its latest missed slot', () => {
    expect(catchUp('2028-01-02T10:00', '2027-11-28T06:00', previousMonth)).toEqual([
      '2027-11-30T06:00+00:00 2027-10-01 – 2027-10-31',
      '2027-12-31T06:00+00:00 2027-11-01 – 2027-11-30',
      '2028-01-02T06:00+00:00 2027-12-01 – 2027-12-31',
      '2028-01-03T06:00+00:00 2027-12-01 – 2027-12-31',
    ]);
  });

  it('after a day down, reports the month to date once, not every missed interval', () => {
    expect(catchUp('2027-11-11T10:07', '2027-11-10T10:00', currentMonth)).toEqual([
      '2027-11-11T10:07+00:00 2027-11-01 – 2027-11-30',
      '2027-11-11T10:22+00:00 2027-11-01 – 2027-11-30',
    ]);
  });
});

describe('a year of passes in each zone', () => {
  const zones = [LONDON, NEW_YORK, SYDNEY, KOLKATA, SANTIAGO];

  /** The passes a loop started on 31 Dec 2026 makes through 2027 and 2028, on a worker that is never late. */
  function passesThrough2028(calendar: BillingCalendar, zone: string): UsagePass[] {
    const end = local('2029-01-01T00:00', zone);
    const passes: UsagePass[] = [];
    let now = local('2026-12-31T12:00', zone);
    let lastDue: number | null = null;
    for (;;) {
      const pass = nextPass(now, lastDue, calendar, zone, LAG);
      if (pass.dueAtMs >= end) return passes;
      expect(pass.dueAtMs).toBeGreaterThanOrEqual(now);
      passes.push(pass);
      now = lastDue = pass.dueAtMs;
    }
  }

  it.each(zones.flatMap((zone) => [1, 15, 28].map((day) => [zone, day] as const)))('in %s, billing day %d: one pass a month, contiguous periods, each on day D at its end plus the lag', (zone, day) => {
    const [atOnce, ...scheduled] = passesThrough2028(billingDay(day), zone);
    expect(scheduled).toHaveLength(24);
    let previous = atOnce!.period;
    for (const { dueAtMs, period } of scheduled) {
      expect(period.start).toBe(DateTime.fromISO(previous.end).plus({ days: 1 }).toISODate());
      expect(DateTime.fromMillis(period.endMs, { zone }).day).toBe(day);
      expect(dueAtMs).toBe(period.endMs + LAG * 3_600_000);
      previous = period;
    }
  });

  it.each(zones)('in %s, previous month: one pass a day, every one on fresh figures of a closed month', (zone) => {
    const [, ...scheduled] = passesThrough2028(previousMonth, zone);
    expect(scheduled).toHaveLength(365 + 366);
    for (const { dueAtMs, period } of scheduled) {
      expect(periodStatus(period, dueAtMs)).toBe('closed');
      expect(dueAtMs).toBeGreaterThanOrEqual(freshFrom(period, dueAtMs, LAG));
      expect(dueAtMs - DateTime.fromMillis(dueAtMs, { zone }).startOf('day').toMillis()).toBe(LAG * 3_600_000);
    }
  });

  it.each(zones)('in %s, current month every 6 hours: the month to date, never on figures of the month before', (zone) => {
    const passes = passesThrough2028({ ...currentMonth, intervalMinutes: 360 }, zone);
    for (const { dueAtMs, period } of passes) {
      expect(periodStatus(period, dueAtMs)).toBe('open');
      expect(dueAtMs).toBeGreaterThanOrEqual(freshFrom(period, dueAtMs, LAG));
    }
    expect(new Set(passes.map(({ period }) => period.start)).size).toBe(1 + 24);
  });
});
