import { setTimeout as delay } from 'node:timers/promises';
import { activityInfo } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { DateTime } from 'luxon';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PartnerClientsCache } from '../../clients/partner-clients.ts';
import { createUsageActivities, type UsageActivities } from '../../activities/usage/index.ts';
import { readSettings, writeSettings } from '../../db/settings.ts';
import { resolveTemporalExecutable } from '../../dev/temporal-binaries.ts';
import { mergeSettings, settingsSchema, type SettingsPatch } from '../../domain/settings.ts';
import { bundleEngineWorkflows } from '../../temporal/engine-worker.ts';
import { createTestDatabase, type TestDatabase } from '../../test/database.ts';
import { testKeyring } from '../../test/fixtures/test-keys.ts';
import { seedPartner } from '../../test/partners.ts';
import { configurationChangedSignal, syncNowSignal } from '../contracts/loops.ts';
import { backfillUpdate, reviewUpdate, usageLoopStateQuery, usageLoopWorkflowId, type ReviewRequest, type UsageLoopInput, type UsageLoopState, type UsagePassInput } from '../contracts/usage.ts';
import { LONG_ACTIVITY_TASK_QUEUE, TASK_QUEUE } from '../contracts/task-queues.ts';
import type { usageLoop } from './loop.ts';

/**
 * The usage loop's calendar over months, on the time-skipping test server: when each pass runs and
 * which period it reports, in the partner's zone around month ends and DST. Planning is the real
 * activity (settings from PostgreSQL, domain/billing-periods.ts); passes and reviews stand in for
 * Acronis and the PSA (their own tests run against the simulators) and record the server's time.
 */

const keyring = testKeyring();
const NEW_YORK = 'America/New_York';
const LONDON = 'Europe/London';

interface PassCall {
  input: UsagePassInput;
  atMs: number;
}

let passes: PassCall[] = [];
let reviews: ReviewRequest[] = [];
/** Failures the next passes throw, oldest first. */
let failNext: string[] = [];

describe('usage loop (time-skipping test server)', () => {
  let database: TestDatabase;
  let env: TestWorkflowEnvironment;
  let workers: Worker[];
  let running: Promise<void>[];

  beforeAll(async () => {
    database = await createTestDatabase();
    const real = createUsageActivities({ db: database.db, clients: new PartnerClientsCache(database.db, keyring) });
    const activities: UsageActivities = {
      ...real,
      async runUsagePass(input) {
        // The scheduled time is the server's (skipped) clock, not this process's.
        passes.push({ input, atMs: activityInfo().currentAttemptScheduledTimestampMs });
        const failure = failNext.shift();
        if (failure) throw ApplicationFailure.create({ type: 'autotask.unavailable', message: failure, nonRetryable: true });
        return { status: 'done', summary: { runId: input.runId, trigger: input.trigger, period: { start: input.period.start, end: input.period.end }, status: 'written', counts: { written: 1, held: 0, conflicts: 0, failed: 0, unchanged: 0 }, note: null } };
      },
      async reviewLines(request) {
        reviews.push(request);
        return { status: 'done', runStatus: request.decision === 'approve' ? 'approved' : 'rejected', decided: 1 };
      },
    };
    const testServer = resolveTemporalExecutable('test-server');
    env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: testServer.executable } });
    const workflowBundle = await bundleEngineWorkflows();
    workers = await Promise.all([
      Worker.create({ connection: env.nativeConnection, taskQueue: TASK_QUEUE, workflowBundle, activities }),
      Worker.create({ connection: env.nativeConnection, taskQueue: LONG_ACTIVITY_TASK_QUEUE, activities }),
    ]);
    running = workers.map((worker) => worker.run());
  });

  afterAll(async () => {
    for (const worker of workers ?? []) worker.shutdown();
    await Promise.all(running ?? []);
    await env?.teardown();
    await database?.drop();
  });

  const started: WorkflowHandle[] = [];
  beforeEach(() => {
    passes = [];
    reviews = [];
    failNext = [];
  });
  // A loop left running would go on passing while later tests move the clock.
  afterEach(async () => {
    for (const handle of started.splice(0)) await handle.terminate('test done').catch(() => undefined);
  });

  async function partner(timezone: string, billing: SettingsPatch['billing']): Promise<string> {
    const partnerId = await seedPartner(database.db, keyring, undefined, { timezone });
    const stored = (await readSettings(database.db, partnerId))!;
    await writeSettings(database.db, partnerId, settingsSchema.parse(mergeSettings(stored.settings, { billing: { enabled: true, ...billing } })));
    return partnerId;
  }

  async function start(partnerId: string, extra: Partial<UsageLoopInput> = {}): Promise<WorkflowHandle<typeof usageLoop>> {
    const handle = await env.client.workflow.start<typeof usageLoop>('usageLoop', { workflowId: usageLoopWorkflowId(partnerId), taskQueue: TASK_QUEUE, args: [{ v: 1, partnerId, ...extra }] });
    started.push(handle);
    return handle;
  }

  async function skipTo(instant: string, zone: string): Promise<void> {
    const target = DateTime.fromISO(instant, { zone }).toMillis();
    await env.sleep(Math.max(0, target - (await env.currentTimeMs())));
  }

  /** Polls the query (in real time) until `until` holds; the server skips time while the loop only waits. */
  async function stateWhen(handle: WorkflowHandle, until: (state: UsageLoopState) => boolean): Promise<UsageLoopState> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const state = await handle.query(usageLoopStateQuery);
      if (until(state) || Date.now() > deadline) return state;
      await delay(50);
    }
  }

  /** The partner's passes as `due instant (local, to the minute) → period`, checking each ran at its due instant (within a minute). */
  function schedule(partnerId: string, zone: string): string[] {
    return passes
      .filter(({ input }) => input.partnerId === partnerId)
      .map(({ input, atMs }) => {
        const due = input.dueAtMs ?? atMs;
        expect(atMs).toBeGreaterThanOrEqual(due);
        expect(atMs - due).toBeLessThan(60_000);
        return `${DateTime.fromMillis(due, { zone }).startOf('minute').toISO({ suppressMilliseconds: true, suppressSeconds: true })} → ${input.period.start} – ${input.period.end}`;
      });
  }

  async function runUntil(partnerId: string, until: string, zone: string, expectedPasses: number): Promise<WorkflowHandle<typeof usageLoop>> {
    const handle = await start(partnerId);
    await stateWhen(handle, (state) => state.next !== null);
    await skipTo(until, zone);
    await stateWhen(handle, (state) => state.passes >= expectedPasses);
    return handle;
  }

  it('custom billing month (day 15, New York): once a month at 06:00, the first at once, across the spring DST change', async () => {
    await skipTo('2027-01-10T12:00', NEW_YORK);
    const partnerId = await partner(NEW_YORK, { reportingPeriod: 'custom-billing-month', billingDay: 15 });
    const handle = await runUntil(partnerId, '2027-05-20T00:00', NEW_YORK, 6);
    expect(schedule(partnerId, NEW_YORK)).toEqual([
      '2027-01-10T12:00-05:00 → 2026-11-15 – 2026-12-14',
      '2027-01-15T06:00-05:00 → 2026-12-15 – 2027-01-14',
      '2027-02-15T06:00-05:00 → 2027-01-15 – 2027-02-14',
      '2027-03-15T06:00-04:00 → 2027-02-15 – 2027-03-14',
      '2027-04-15T06:00-04:00 → 2027-03-15 – 2027-04-14',
      '2027-05-15T06:00-04:00 → 2027-04-15 – 2027-05-14',
    ]);
    expect(passes.every(({ input }) => input.trigger === 'scheduled' && input.force === false)).toBe(true);
    const state = await handle.query(usageLoopStateQuery);
    expect(state).toMatchObject({ passes: 6, next: { dueAt: DateTime.fromISO('2027-06-15T06:00', { zone: NEW_YORK }).toUTC().toISO(), period: { start: '2027-05-15', end: '2027-06-14' } } });
  });

  it('previous month (New York): daily at midnight plus the lag, the month turning and the clocks going back', async () => {
    await skipTo('2027-10-30T07:00', NEW_YORK);
    const partnerId = await partner(NEW_YORK, { reportingPeriod: 'previous-month' });
    await runUntil(partnerId, '2027-11-08T12:00', NEW_YORK, 10);
    expect(schedule(partnerId, NEW_YORK)).toEqual([
      '2027-10-30T07:00-04:00 → 2027-09-01 – 2027-09-30',
      '2027-10-31T06:00-04:00 → 2027-09-01 – 2027-09-30',
      '2027-11-01T06:00-04:00 → 2027-10-01 – 2027-10-31',
      '2027-11-02T06:00-04:00 → 2027-10-01 – 2027-10-31',
      '2027-11-03T06:00-04:00 → 2027-10-01 – 2027-10-31',
      '2027-11-04T06:00-04:00 → 2027-10-01 – 2027-10-31',
      '2027-11-05T06:00-04:00 → 2027-10-01 – 2027-10-31',
      '2027-11-06T06:00-04:00 → 2027-10-01 – 2027-10-31',
      // 7 November: the clocks go back at 02:00, so six hours after midnight is 05:00.
      '2027-11-07T05:00-05:00 → 2027-10-01 – 2027-10-31',
      '2027-11-08T06:00-05:00 → 2027-10-01 – 2027-10-31',
    ]);
  });

  it('current month (London, daily interval): the month to date, across the clocks going forward and the month turning', async () => {
    await skipTo('2028-03-25T03:00', LONDON);
    const partnerId = await partner(LONDON, { reportingPeriod: 'current-month', intervalMinutes: 1440 });
    await runUntil(partnerId, '2028-04-02T12:00', LONDON, 9);
    expect(schedule(partnerId, LONDON)).toEqual([
      '2028-03-25T03:00+00:00 → 2028-03-01 – 2028-03-31',
      // 26 March: the clocks go forward; the interval is 24 hours, so the wall clock reads 04:00.
      '2028-03-26T04:00+01:00 → 2028-03-01 – 2028-03-31',
      '2028-03-27T04:00+01:00 → 2028-03-01 – 2028-03-31',
      '2028-03-28T04:00+01:00 → 2028-03-01 – 2028-03-31',
      '2028-03-29T04:00+01:00 → 2028-03-01 – 2028-03-31',
      '2028-03-30T04:00+01:00 → 2028-03-01 – 2028-03-31',
      '2028-03-31T04:00+01:00 → 2028-03-01 – 2028-03-31',
      // April's figures are fresh six hours after it began, not at 04:00.
      '2028-04-01T06:00+01:00 → 2028-04-01 – 2028-04-30',
      '2028-04-02T06:00+01:00 → 2028-04-01 – 2028-04-30',
    ]);
  });

  it('custom billing month (day 28, London): on the day the clocks go back, six hours after midnight is 05:00', async () => {
    await skipTo('2029-10-20T12:00', LONDON);
    const partnerId = await partner(LONDON, { reportingPeriod: 'custom-billing-month', billingDay: 28 });
    await runUntil(partnerId, '2030-03-01T00:00', LONDON, 6);
    expect(schedule(partnerId, LONDON)).toEqual([
      '2029-10-20T12:00+01:00 → 2029-08-28 – 2029-09-27',
      '2029-10-28T05:00+00:00 → 2029-09-28 – 2029-10-27',
      '2029-11-28T06:00+00:00 → 2029-10-28 – 2029-11-27',
      '2029-12-28T06:00+00:00 → 2029-11-28 – 2029-12-27',
      '2030-01-28T06:00+00:00 → 2029-12-28 – 2030-01-27',
      '2030-02-28T06:00+00:00 → 2030-01-28 – 2030-02-27',
    ]);
  });

  it('backs off a pass that keeps failing, retries the same run, and stays free for a configuration change', async () => {
    const partnerId = await partner(LONDON, { reportingPeriod: 'current-month', intervalMinutes: 60, refreshLagHours: 0 });
    failNext = ['Autotask refused: thread threshold exceeded', 'Autotask refused again', 'Autotask refused a third time'];
    const handle = await start(partnerId);
    const failing = await stateWhen(handle, (state) => state.consecutiveFailures === 1);
    expect(failing).toMatchObject({ passes: 0, lastError: expect.stringMatching(/thread threshold/) });
    const firstFailureAt = passes[0]!.atMs;
    expect(Date.parse(failing.retryAt!) - firstFailureAt).toBeGreaterThanOrEqual(60_000);

    await env.sleep('10 minutes');
    const recovered = await stateWhen(handle, (state) => state.passes === 1);
    expect(recovered).toMatchObject({ consecutiveFailures: 0, lastError: null, retryAt: null });
    // 1, 2 and 4 minutes apart, always the same run.
    expect(passes.map(({ atMs }) => Math.round((atMs - firstFailureAt) / 60_000))).toEqual([0, 1, 3, 7]);
    expect(new Set(passes.map(({ input }) => input.runId)).size).toBe(1);

    await writeSettings(database.db, partnerId, settingsSchema.parse(mergeSettings((await readSettings(database.db, partnerId))!.settings, { billing: { enabled: false } })));
    await handle.signal(configurationChangedSignal);
    await expect(handle.result()).resolves.toMatchObject({ stopReason: 'billing is switched off for the partner (billing.enabled)' });
  });

  it('continues as new with its state and its schedule', async () => {
    const partnerId = await partner(NEW_YORK, { reportingPeriod: 'custom-billing-month', billingDay: 10, refreshLagHours: 0 });
    const handle = await start(partnerId, { signalsPerRun: 2 });
    const before = await stateWhen(handle, (state) => state.passes === 1);
    await handle.signal(configurationChangedSignal);
    await handle.signal(configurationChangedSignal);
    const after = await stateWhen(handle, (state) => state.previousRuns === 1);
    expect(after).toMatchObject({ passes: 1, lastDueAtMs: before.lastDueAtMs, next: before.next, lastRun: before.lastRun });
  });
  // Last: after an update that waited on an activity, the time-skipping test server no longer skips time.
  it('runs "sync now" at once, backfills in the order asked, and answers reviews when done', async () => {
    // Figures fresh at once, so the first pass runs whatever the server's clock says.
    const partnerId = await partner(LONDON, { reportingPeriod: 'custom-billing-month', billingDay: 1, refreshLagHours: 0 });
    const handle = await start(partnerId);
    await stateWhen(handle, (state) => state.passes === 1);
    await handle.signal(syncNowSignal);
    await stateWhen(handle, (state) => state.passes === 2);
    expect(passes[1]!.input).toMatchObject({ trigger: 'sync-now', force: true, period: passes[0]!.input.period });

    const march = { start: '2029-03-01', end: '2029-03-31', startMs: DateTime.fromISO('2029-03-01', { zone: LONDON }).toMillis(), endMs: DateTime.fromISO('2029-04-01', { zone: LONDON }).toMillis() };
    const april = { ...march, start: '2029-04-01', end: '2029-04-30', startMs: march.endMs, endMs: DateTime.fromISO('2029-05-01', { zone: LONDON }).toMillis() };
    const first = await handle.executeUpdate(backfillUpdate, { args: [{ period: march, requestedBy: 'token:1' }] });
    const second = await handle.executeUpdate(backfillUpdate, { args: [{ period: april, requestedBy: 'token:1' }] });
    await stateWhen(handle, (state) => state.passes === 4 && state.queued.length === 0);
    expect(passes.slice(2).map(({ input }) => [input.trigger, input.runId, input.period.start])).toEqual([
      ['backfill', first.runId, '2029-03-01'],
      ['backfill', second.runId, '2029-04-01'],
    ]);
    await expect(handle.executeUpdate(backfillUpdate, { args: [{ period: { ...march, end: '2029-02-01' }, requestedBy: 'token:1' }] })).rejects.toMatchObject({ cause: { message: expect.stringMatching(/start ≤ end/) } });

    const outcome = await handle.executeUpdate(reviewUpdate, { args: [{ runId: first.runId, decision: 'approve', decidedBy: 'token:1 (admin)' }], updateId: `approve:${first.runId}` });
    expect(outcome).toEqual({ status: 'done', runStatus: 'approved', decided: 1 });
    // The same update id answers the same, without a second review.
    await expect(handle.executeUpdate(reviewUpdate, { args: [{ runId: first.runId, decision: 'approve', decidedBy: 'token:1 (admin)' }], updateId: `approve:${first.runId}` })).resolves.toEqual(outcome);
    expect(reviews).toEqual([{ runId: first.runId, decision: 'approve', decidedBy: 'token:1 (admin)', partnerId }]);
  });
});
