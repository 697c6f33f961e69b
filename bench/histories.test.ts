import { readFileSync } from 'node:fs';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { describe, expect, it } from 'vitest';
import { countActions, timedPasses, totalActions } from './histories.ts';

function events(name: string) {
  return historyFromJSON(JSON.parse(readFileSync(new URL(`../test/histories/${name}.json`, import.meta.url), 'utf8'))).events ?? [];
}

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
    // The day after: only the timer that fired then, which is no action.
    expect(countActions(all, { fromMs: Date.parse('2026-12-01T00:00:00Z'), toMs: Date.parse('2026-12-02T00:00:00Z') })).toEqual({});
    expect(countActions(all, { fromMs: Date.parse('2026-11-30T10:29:06.990Z'), toMs: Date.parse('2026-12-01T00:00:00Z') })).toEqual({ signals: 1, timers: 1, local_activities: 1 });
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
    expect(passes[0]).toMatchObject({ dueMs: Date.parse('2046-11-17T00:45:20.574Z'), startedMs: Date.parse('2046-11-17T00:45:20.592Z') });
  });

  it('leaves out firings after which the run only ended', () => {
    expect(timedPasses(events('alert-lifecycle'), ALL_TIME)).toEqual([]);
  });
});
