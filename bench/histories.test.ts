import { readFileSync } from 'node:fs';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { describe, expect, it } from 'vitest';
import { countActions, longestTimerMs, millisOf, signalToRest, timedPasses, timeOf, totalActions } from './histories.ts';

function events(name: string) {
  return historyFromJSON(JSON.parse(readFileSync(new URL(`../test/histories/${name}.json`, import.meta.url), 'utf8'))).events ?? [];
}

// `temporal.api.enums.v1.EventType`; the times are read from the histories, which `npm run histories:record` re-records.
const SIGNALED = 26;
const TIMER_STARTED = 17;
const TIMER_FIRED = 18;
type Events = ReturnType<typeof events>;
const timesOf = (all: Events, type: number) => all.filter((event) => Number(event.eventType) === type).map(timeOf);

const ALL_TIME = { fromMs: 0, toMs: Number.MAX_SAFE_INTEGER };

describe('actions counted from a history', () => {
  it('counts the start, signals, activities, timers and upserts; not the patch marker', () => {
    const counts = countActions(events('customer-provisioning-lifecycle'), ALL_TIME);
    expect(counts).toEqual({ starts: 1, signals: 2, activities: 36, timers: 32, upserts: 4 });
    expect(totalActions(counts)).toBe(75);
  });

  it('counts local activities once per workflow task, and updates', () => {
    expect(countActions(events('alert-lifecycle'), ALL_TIME)).toEqual({ starts: 1, signals: 2, timers: 2, local_activities: 2 });
    expect(countActions(events('usage-loop-lifecycle'), ALL_TIME)).toMatchObject({ updates: 2, activities: 13 });
  });

  it('counts only the events of the span', () => {
    const all = events('alert-lifecycle');
    const [, secondSignal] = timesOf(all, SIGNALED);
    const [fired] = timesOf(all, TIMER_FIRED);
    // From the timer's firing a day later: the firing itself is no action.
    expect(countActions(all, { fromMs: fired!, toMs: ALL_TIME.toMs })).toEqual({});
    expect(countActions(all, { fromMs: secondSignal!, toMs: fired! })).toEqual({ signals: 1, timers: 1, local_activities: 1 });
  });
});

describe('passes of a loop', () => {
  it('finds each fired timer and the start of the activity it woke', () => {
    const passes = timedPasses(events('customer-provisioning-lifecycle'), ALL_TIME);
    // 31 timers fired, each followed by an activity; the cancelled one woke nothing.
    expect(passes).toHaveLength(31);
    for (const pass of passes) {
      expect(pass.startedMs).toBeDefined();
      expect(pass.startedMs! - pass.dueMs).toBeGreaterThanOrEqual(0);
    }
    // Each pass is due when its timer's duration (the loop's interval) ran out, and rests when the next timer starts.
    const all = events('customer-provisioning-lifecycle');
    const startedById = new Map(all.filter((event) => Number(event.eventType) === TIMER_STARTED).map((event) => [String(event.eventId), event]));
    const wokenBy = all.filter((event) => Number(event.eventType) === TIMER_FIRED).map((event) => startedById.get(String(event.timerFiredEventAttributes!.startedEventId))!);
    const intervals = wokenBy.map((started) => millisOf(started.timerStartedEventAttributes!.startToFireTimeout));
    expect(passes.map((pass) => pass.intervalMs)).toEqual(intervals);
    expect(passes.map((pass) => pass.dueMs)).toEqual(wokenBy.map((started, index) => timeOf(started) + intervals[index]!));
    for (const pass of passes.slice(0, -1)) expect(pass.restMs).toBeGreaterThanOrEqual(pass.startedMs!);
  });

  it("finds a loop's full interval in its longest timer", () => {
    const all = events('customer-provisioning-lifecycle');
    const durations = all.filter((event) => Number(event.eventType) === TIMER_STARTED).map((event) => millisOf(event.timerStartedEventAttributes!.startToFireTimeout));
    expect(longestTimerMs(all, ALL_TIME.toMs)).toBe(Math.max(...durations));
    expect(longestTimerMs(all, 0)).toBe(0);
  });

  it('leaves out firings after which the run only ended', () => {
    expect(timedPasses(events('alert-lifecycle'), ALL_TIME)).toEqual([]);
  });
});

describe('how long a signal kept a workflow busy', () => {
  it('runs from the signal to the next timer', () => {
    // The customer's first sync: signalled at start, its first timer started after two activities.
    const all = events('customer-provisioning-lifecycle');
    const [first] = signalToRest(all, ALL_TIME);
    expect(first).toBe(timesOf(all, TIMER_STARTED)[0]! - timesOf(all, SIGNALED)[0]!);
    expect(first).toBeGreaterThan(0);
  });
});
