import { setTimeout as delay } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTimeSkippingEngine, type TimeSkippingEngine } from '../test/time-skipping-engine.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TASK_QUEUE } from './contracts/task-queues.ts';
import { readSettings, writeSettings } from '../db/settings.ts';
import { createTestDatabase, type TestDatabase } from '../test/database.ts';
import { testKeyring } from '../test/fixtures/test-keys.ts';
import { seedPartner } from '../test/partners.ts';
import { configurationChangedSignal } from './contracts/loops.ts';
import { partnerWorkflowId, supervisorStateQuery, type PartnerSupervisorInput, type PartnerSupervisorState } from './contracts/partner.ts';
import type { partnerSupervisor } from './partner-supervisor.ts';

/**
 * The supervisor's timers and retries, on the time-skipping test server. What it starts and ends
 * (loops, customers) needs the dev server's visibility: test/partner-lifecycle.test.ts.
 */
describe('partner supervisor (time-skipping test server)', () => {
  const keyring = testKeyring();
  let database: TestDatabase;
  let env: TestWorkflowEnvironment;
  let engine: TimeSkippingEngine;

  beforeAll(async () => {
    database = await createTestDatabase();
    engine = await startTimeSkippingEngine(database.db, keyring);
    env = engine.env;
  });

  afterAll(async () => {
    await engine?.close();
    await database?.drop();
  });

  function start(partnerId: string, extra: Partial<PartnerSupervisorInput> = {}): Promise<WorkflowHandle<typeof partnerSupervisor>> {
    return env.client.workflow.start<typeof partnerSupervisor>('partnerSupervisor', {
      workflowId: partnerWorkflowId(partnerId),
      taskQueue: TASK_QUEUE,
      args: [{ v: 1, partnerId, ...extra }],
    });
  }

  async function stateWhen(handle: WorkflowHandle, until: (state: PartnerSupervisorState) => boolean): Promise<PartnerSupervisorState> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const state = await env.client.workflow.getHandle(handle.workflowId).query(supervisorStateQuery);
      if (until(state) || Date.now() > deadline) return state;
      await delay(100);
    }
  }

  it('loads its partner from PostgreSQL and answers the state query', async () => {
    const partnerId = await seedPartner(database.db, keyring);
    const handle = await start(partnerId);
    const state = await stateWhen(handle, (current) => current.phase === 'running');
    expect(state).toMatchObject({
      partnerId,
      phase: 'running',
      profile: { psaKind: 'autotask', rmmKind: null, timezone: 'Europe/Berlin', settingsVersion: 1, capabilities: { billing: false, provisioning: false, tickets: false, agents: false } },
      profileLoads: 1,
      previousRuns: 0,
      stopReason: null,
    });
  });

  it('picks up a settings change within the hour even when no signal arrives', async () => {
    const partnerId = await seedPartner(database.db, keyring);
    const handle = await start(partnerId);
    await stateWhen(handle, (current) => current.phase === 'running');
    const stored = (await readSettings(database.db, partnerId))!;
    await writeSettings(database.db, partnerId, { ...stored.settings, billing: { ...stored.settings.billing, enabled: true } });
    await env.sleep('61 minutes');
    const state = await stateWhen(handle, (current) => current.profile?.settingsVersion === 2);
    expect(state.profile?.capabilities.billing).toBe(true);
    expect(state.profileLoads).toBe(2);
  });

  it('ends when its partner never reached the database, after giving the commit time to land', async () => {
    const partnerId = crypto.randomUUID();
    const handle = await start(partnerId);
    expect(await handle.result()).toEqual({ partnerId, stopReason: 'partner not found in the database' });
    const history = await handle.fetchHistory();
    const failedAttempt = history.events?.find((event) => event.activityTaskFailedEventAttributes);
    expect(Number(failedAttempt?.activityTaskFailedEventAttributes?.retryState)).toBe(2); // RETRY_STATE_NON_RETRYABLE_FAILURE
    expect(history.events?.find((event) => event.activityTaskStartedEventAttributes)?.activityTaskStartedEventAttributes?.attempt).toBe(6);
  });

  it('continues as new after its signal budget, carrying its whole state', async () => {
    const partnerId = await seedPartner(database.db, keyring);
    const handle = await start(partnerId, { signalsPerRun: 3 });
    const before = await stateWhen(handle, (current) => current.phase === 'running');
    const firstRun = (await handle.describe()).runId;
    for (let signal = 0; signal < 3; signal++) await handle.signal(configurationChangedSignal);

    const deadline = Date.now() + 20_000;
    while ((await env.client.workflow.getHandle(handle.workflowId).describe()).runId === firstRun && Date.now() < deadline) await delay(100);
    const after = await stateWhen(handle, (current) => current.previousRuns === 1 && current.phase === 'running');

    expect(after).toMatchObject({ partnerId, phase: 'running', previousRuns: 1, startedAt: before.startedAt, profile: before.profile });
    expect(after.profileLoads).toBeGreaterThan(before.profileLoads);
    const firstRunDescription = await env.client.workflow.getHandle(handle.workflowId, firstRun).describe();
    expect(firstRunDescription.status.name).toBe('CONTINUED_AS_NEW');
    await handle.terminate('test done');
  });
});
