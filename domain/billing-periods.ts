/**
 * Calendar maths of usage reporting (F4.3, F4.9), in the partner's time zone: which period a pass
 * reports, when the next pass is due, and which Acronis figures may be reported for a period.
 * The usage loop only sleeps until the instants produced here, so a change here goes behind `patched()`.
 *
 * Periods. A billing month of day D runs from day D to day D − 1 of the next month (D = 15: 15 Oct –
 * 14 Nov); a calendar month is the billing month of day 1. D is at most 28, so every month has it.
 *
 * Freshness (F4.9). Acronis refreshes usage every few hours, so for `refreshLagHours` after a month
 * ends its figures still describe the partial month, and for as long after a month begins they still
 * describe the month before. A closed period is reported only from figures read at or after its end
 * plus the lag; the month to date only from figures read at or after its start plus the lag.
 *
 * When passes are due. F4.1 sets a 15-minute interval and F4.3 says "daily" and "once a month"; the
 * interval only matters where the figure can change between two passes:
 * - current-month: the month to date grows all month, so a pass every `intervalMinutes` after the
 *   last one; the first pass of a month waits until its start plus the lag.
 * - previous-month: the last calendar month, re-reported every day at local midnight plus the lag
 *   (06:00 with a 6-hour lag), so Acronis's late corrections reach the PSA. The pass on the 1st is
 *   the first moment the month just ended may be reported.
 * - custom-billing-month: the billing month that ended, once, on day D at local midnight plus the lag.
 * The lag is counted in hours, not on the clock: on a day the clocks change, midnight plus 6 hours is
 * 05:00 or 07:00, never earlier than the figures are fresh.
 *
 * Catching up. A loop that has never passed reports at once what a pass now would report (or as soon
 * as its figures are fresh). After an outage a closed-period loop makes one pass for each period it
 * missed, oldest first, at the latest of that period's due instants that has passed: custom months
 * are never skipped. The month to date has no past to catch up: only the current month is reported.
 */
import { DateTime } from 'luxon';
import { inZone } from './provisioning-calendar.ts';
import type { Settings } from './settings.ts';

/** The billing settings the calendar depends on (`billingDay` only for custom-billing-month). */
export type BillingCalendar = Pick<Settings['billing'], 'reportingPeriod' | 'billingDay' | 'intervalMinutes'>;

/**
 * A reporting period: its first and last day (YYYY-MM-DD, inclusive) as the API and the ledger show
 * them, and the instants [startMs, endMs) those days span in the partner's zone.
 */
export interface BillingPeriod {
  start: string;
  end: string;
  startMs: number;
  endMs: number;
}

/** The next pass of the usage loop: when it is due (in the past: at once) and what it reports. */
export interface UsagePass {
  dueAtMs: number;
  period: BillingPeriod;
}

/** future: not begun; open: still accruing (month to date); closed: ended, whatever its figures. */
export type PeriodStatus = 'future' | 'open' | 'closed';

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

function firstDayOfPeriods(calendar: BillingCalendar): number {
  if (calendar.reportingPeriod !== 'custom-billing-month') return 1;
  const day = calendar.billingDay;
  if (!Number.isInteger(day) || day < 1 || day > 28) throw new RangeError(`billing day must be 1..28, not ${day}`);
  return day;
}

function lagMs(refreshLagHours: number): number {
  if (!Number.isFinite(refreshLagHours) || refreshLagHours < 0) throw new RangeError(`refresh lag must be a non-negative number of hours, not ${refreshLagHours}`);
  return refreshLagHours * HOUR_MS;
}

function isoDate(day: DateTime): string {
  const iso = day.toISODate();
  if (iso === null) throw new RangeError(`invalid date: ${day.invalidExplanation ?? ''}`);
  return iso;
}

/** The billing month of first day `firstDay` that contains the local day of `at`. */
function monthAround(at: DateTime, firstDay: number): BillingPeriod {
  const day = at.startOf('day');
  // Start of day again after moving: where local midnight does not exist the day starts later (01:00).
  const first = (day.day >= firstDay ? day : day.minus({ months: 1 })).set({ day: firstDay }).startOf('day');
  const next = first.plus({ months: 1 }).startOf('day');
  return { start: isoDate(first), end: isoDate(next.minus({ days: 1 })), startMs: first.toMillis(), endMs: next.toMillis() };
}

function dayAround(ms: number, timeZone: string): { startMs: number; endMs: number } {
  const day = inZone(ms, timeZone).startOf('day');
  return { startMs: day.toMillis(), endMs: day.plus({ days: 1 }).startOf('day').toMillis() };
}

/**
 * The period that contains local day `date` (YYYY-MM-DD): what a backfill of that date re-reports (F4.7).
 * With a custom billing month of day 15, 20 Nov lies in 15 Nov – 14 Dec.
 */
export function periodContaining(date: string, calendar: BillingCalendar, timeZone: string): BillingPeriod {
  const firstDay = firstDayOfPeriods(calendar);
  if (!ISO_DATE.test(date)) throw new RangeError(`not a date (YYYY-MM-DD): ${date}`);
  const day = DateTime.fromISO(date, { zone: timeZone });
  if (!day.isValid) throw new RangeError(`invalid date ${date} in ${timeZone}: ${day.invalidExplanation ?? day.invalidReason ?? ''}`);
  return monthAround(day, firstDay);
}

/**
 * The period a pass at `nowMs` reports: the month to date (current-month), the last calendar month
 * (previous-month) or the last billing month that ended (custom-billing-month). Whether its figures
 * may be reported yet is `freshFrom`'s question.
 */
export function periodToReport(nowMs: number, calendar: BillingCalendar, timeZone: string): BillingPeriod {
  const firstDay = firstDayOfPeriods(calendar);
  const current = monthAround(inZone(nowMs, timeZone), firstDay);
  if (calendar.reportingPeriod === 'current-month') return current;
  return monthAround(inZone(current.startMs, timeZone).minus({ days: 1 }), firstDay);
}

export function periodStatus(period: BillingPeriod, nowMs: number): PeriodStatus {
  if (nowMs < period.startMs) return 'future';
  return nowMs < period.endMs ? 'open' : 'closed';
}

/**
 * The earliest read time of an Acronis figure that may be reported for `period` at `nowMs` (F4.9):
 * its end plus the lag once it is closed, its start plus the lag while it is the month to date.
 */
export function freshFrom(period: BillingPeriod, nowMs: number, refreshLagHours: number): number {
  return (periodStatus(period, nowMs) === 'closed' ? period.endMs : period.startMs) + lagMs(refreshLagHours);
}

/** Whether a figure read at `readAtMs` may be reported for `period` at `nowMs`: never a partial month. */
export function isFreshEnough(readAtMs: number, period: BillingPeriod, nowMs: number, refreshLagHours: number): boolean {
  return readAtMs >= freshFrom(period, nowMs, refreshLagHours);
}

/**
 * The loop's next pass. `lastDueAtMs` is the `dueAtMs` of the last pass that completed (an on-demand
 * pass counts as due when it ran), or null if the loop has never passed; it must be the due instant,
 * not the time the pass ran, so that a pass caught up late does not skip the one after it.
 */
export function nextPass(nowMs: number, lastDueAtMs: number | null, calendar: BillingCalendar, timeZone: string, refreshLagHours: number): UsagePass {
  const lag = lagMs(refreshLagHours);
  if (lastDueAtMs === null || calendar.reportingPeriod === 'current-month') {
    const earliest = lastDueAtMs === null ? nowMs : Math.max(nowMs, lastDueAtMs + calendar.intervalMinutes * MINUTE_MS);
    const period = periodToReport(earliest, calendar, timeZone);
    return { dueAtMs: Math.max(earliest, freshFrom(period, earliest, refreshLagHours)), period };
  }
  // A closed-period pass is due at a boundary plus the lag: every local midnight (previous-month) or
  // the first day of every billing month (custom), and reports the period that ended by that boundary.
  const firstDay = firstDayOfPeriods(calendar);
  const unitAround = (ms: number) => (calendar.reportingPeriod === 'previous-month' ? dayAround(ms, timeZone) : monthAround(inZone(ms, timeZone), firstDay));
  let boundary = unitAround(lastDueAtMs - lag).endMs;
  if (boundary + lag <= nowMs) {
    // Missed: the latest passed boundary that still reports the same period, i.e. lies in the same month.
    const reportingMonthEndMs = monthAround(inZone(boundary, timeZone), firstDay).endMs;
    boundary = unitAround(Math.min(nowMs - lag, reportingMonthEndMs - 1)).startMs;
  }
  return { dueAtMs: boundary + lag, period: periodToReport(boundary, calendar, timeZone) };
}
