/**
 * Calendar maths of customer provisioning (F3.4, F3.5), in the partner's time zone. Workflows only
 * sleep until the absolute instants these produce, so a change here goes behind `patched()`.
 */
import { DateTime } from 'luxon';

/** `ms` on the partner's calendar; an unknown zone is an error, not a silent UTC. */
export function inZone(ms: number, timeZone: string): DateTime {
  const at = DateTime.fromMillis(ms, { zone: timeZone });
  if (!at.isValid) throw new RangeError(`invalid time zone ${timeZone}: ${at.invalidExplanation ?? at.invalidReason ?? ''}`);
  return at;
}

/**
 * When a trial that started at `createdAtMs` becomes production: the same local wall time on the same
 * day of the next month, clamped to that month's last day (31 Jan → 28/29 Feb). A wall time that the
 * clocks skip that day (spring forward) moves forward by the gap.
 */
export function productionAt(createdAtMs: number, timeZone: string): number {
  return inZone(createdAtMs, timeZone).plus({ months: 1 }).toMillis();
}

/** `days` calendar days after `startMs` at the same local wall time: 23 or 25 hours long across a DST change. */
export function daysLater(startMs: number, days: number, timeZone: string): number {
  return inZone(startMs, timeZone).plus({ days }).toMillis();
}

/** Acronis Account Management timestamps: zone-less ISO (`2016-06-22T18:25:16`) in UTC, or RFC 3339 with an offset. */
export function parseAcronisTime(value: string): number {
  const hasZone = /(?:Z|[+-]\d{2}:?\d{2})$/.test(value);
  const ms = Date.parse(hasZone ? value : `${value}Z`);
  if (Number.isNaN(ms)) throw new RangeError(`not an Acronis timestamp: ${value}`);
  return ms;
}
