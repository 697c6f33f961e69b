import { setTimeout as delay } from 'node:timers/promises';
import { activityInfo } from '@temporalio/activity';
import type { WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CustomerAssessment, DeprovisioningPlan, ProvisionOutcome, ProvisioningActivities } from '../../activities/provisioning/types.ts';
import { resolveTemporalExecutable } from '../../dev/temporal-binaries.ts';
import { daysLater, productionAt } from '../../domain/provisioning-calendar.ts';
import { bundleEngineWorkflows } from '../../temporal/engine-worker.ts';
import { registerSearchAttributes } from '../../temporal/search-attributes.ts';
import type { customerProvisioning } from './customer.ts';
import { syncNowSignal } from '../contracts/loops.ts';
import { customerStateQuery, customerWorkflowId, type CustomerState, type CustomerWorkflowInput } from '../contracts/provisioning.ts';

/**
 * The customer workflow's decisions and timers over months, on the time-skipping test server.
 * The activities here stand in for Acronis and the PSA (their own tests run against the
 * simulators); they record when, in the server's time, each step was asked for.
 */

const TASK_QUEUE = 'customer-provisioning-test';
const ZONE = 'Europe/Berlin';
const DAY_MS = 24 * 60 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;

interface Script {
  assessment: CustomerAssessment;
  provision: () => ProvisionOutcome;
  deprovisioning: { zeroQuotas: boolean; disableAfterDays: number | null; deleteAfterDays: number | null };
}

let script: Script;
let calls: { name: keyof ProvisioningActivities; atMs: number; workflowId: string }[] = [];

function record(name: keyof ProvisioningActivities): void {
  // The scheduled time is the server's (skipped) clock, not this process's.
  const info = activityInfo();
  calls.push({ name, atMs: info.currentAttemptScheduledTimestampMs, workflowId: info.workflowExecution?.workflowId ?? '' });
}

const activities: ProvisioningActivities = {
  async discoverCustomers() {
    throw new Error('not used by the customer workflow');
  },
  async assessCustomer() {
    record('assessCustomer');
    return script.assessment;
  },
  async provisionCustomer() {
    record('provisionCustomer');
    return script.provision();
  },
  async switchToProduction() {
    record('switchToProduction');
    // As Acronis would: once in production, provisioning reports no trial end any more.
    script.provision = provisioned(null);
  },
  async planDeprovisioning({ startedAtMs }): Promise<DeprovisioningPlan> {
    record('planDeprovisioning');
    const { zeroQuotas, disableAfterDays, deleteAfterDays } = script.deprovisioning;
    return {
      zeroQuotas,
      disableAtMs: disableAfterDays === null ? null : daysLater(startedAtMs, disableAfterDays, ZONE),
      deleteAtMs: deleteAfterDays === null ? null : daysLater(startedAtMs, deleteAfterDays, ZONE),
    };
  },
  async zeroQuotas() {
    record('zeroQuotas');
  },
  async disableTenant() {
    record('disableTenant');
  },
  async deleteTenant() {
    record('deleteTenant');
  },
};

const provisioned = (productionAtMs: number | null = null) => (): ProvisionOutcome => ({
  status: 'provisioned',
  tenantId: 'tenant-1',
  tenantCreated: true,
  userCreated: true,
  quotasChanged: 3,
  productionAtMs,
});

const callsOf = (name: keyof ProvisioningActivities) => calls.filter((call) => call.name === name);

describe('customer provisioning workflow (time-skipping test server)', () => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  let companies = 0;

  beforeAll(async () => {
    const testServer = resolveTemporalExecutable('test-server');
    env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: testServer.executable } });
    // The workflow publishes its phase as a search attribute, which the server must know.
    await registerSearchAttributes(env.connection, 'default');
    worker = await Worker.create({ connection: env.nativeConnection, taskQueue: TASK_QUEUE, workflowBundle: await bundleEngineWorkflows(), activities });
    running = worker.run();
  });

  afterAll(async () => {
    worker?.shutdown();
    await running;
    await env?.teardown();
  });

  beforeEach(() => {
    calls = [];
    script = { assessment: { status: 'provision' }, provision: provisioned(), deprovisioning: { zeroQuotas: true, disableAfterDays: 10, deleteAfterDays: 30 } };
  });

  function start(extra: Partial<CustomerWorkflowInput> = {}): Promise<WorkflowHandle<typeof customerProvisioning>> {
    const psaCompanyId = String(++companies);
    return env.client.workflow.start<typeof customerProvisioning>('customerProvisioning', {
      workflowId: customerWorkflowId('partner-1', psaCompanyId),
      taskQueue: TASK_QUEUE,
      args: [{ v: 1, partnerId: 'partner-1', psaCompanyId, ...extra }],
    });
  }

  /** Polls the query (in real time) until `until` holds; the server skips time while the workflow only waits. */
  async function stateWhen(handle: WorkflowHandle, until: (state: CustomerState) => boolean): Promise<CustomerState> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const state = await handle.query(customerStateQuery);
      if (until(state) || Date.now() > deadline) return state;
      await delay(50);
    }
  }

  /** Moves the server's clock to `instant` (it must be ahead). */
  async function skipTo(instant: DateTime): Promise<void> {
    const now = await env.currentTimeMs();
    await env.sleep(Math.max(0, instant.toMillis() - now));
  }

  async function trialSwitchesOn(created: DateTime, expected: DateTime): Promise<void> {
    await skipTo(created);
    const productionAtMs = productionAt(created.toMillis(), ZONE);
    expect(DateTime.fromMillis(productionAtMs, { zone: ZONE }).toISO()).toBe(expected.toISO());
    script.provision = provisioned(productionAtMs);
    const handle = await start();
    const state = await stateWhen(handle, (current) => current.phase === 'active');
    expect(state.nextStep).toEqual({ step: 'switch-to-production', at: new Date(productionAtMs).toISOString() });

    // Nothing happens before the instant; at it, exactly one switch.
    await env.sleep(productionAtMs - (await env.currentTimeMs()) - 60_000);
    expect(callsOf('switchToProduction')).toEqual([]);
    await env.sleep(120_000);
    await stateWhen(handle, (current) => current.productionAt === null);
    expect(callsOf('switchToProduction')).toHaveLength(1);
    expect(callsOf('switchToProduction')[0]!.atMs).toBeGreaterThanOrEqual(productionAtMs);
    expect(callsOf('switchToProduction')[0]!.atMs).toBeLessThan(productionAtMs + 120_000);
    expect((await handle.query(customerStateQuery)).nextStep).toBeNull();
    await handle.terminate('test done');
  }

  it('moves a trial tenant created on 31 January to production on 28 February', async () => {
    await trialSwitchesOn(
      DateTime.fromISO('2027-01-31T10:15:00', { zone: ZONE }),
      DateTime.fromISO('2027-02-28T10:15:00', { zone: ZONE }),
    );
  });

  it('in a leap year, on 29 February', async () => {
    await trialSwitchesOn(
      DateTime.fromISO('2028-01-31T23:30:00', { zone: ZONE }),
      DateTime.fromISO('2028-02-29T23:30:00', { zone: ZONE }),
    );
  });

  /** A provisioned customer whose services then end: the ladder starts; returns its state and start. */
  async function servicesEnd(handle: WorkflowHandle): Promise<{ ladder: CustomerState; startedAtMs: number }> {
    await stateWhen(handle, (current) => current.phase === 'active');
    script.assessment = { status: 'no-services' };
    await handle.signal(syncNowSignal);
    const ladder = await stateWhen(handle, (current) => current.phase === 'deprovisioning');
    return { ladder, startedAtMs: Date.parse(ladder.ladder!.startedAt) };
  }

  it('zeroes quotas at once, disables after N days and deletes after M days when services end', async () => {
    const handle = await start();
    const { ladder, startedAtMs } = await servicesEnd(handle);
    expect(callsOf('zeroQuotas')).toHaveLength(1);
    expect(ladder.ladder).toMatchObject({ reason: 'no-active-services', disableAt: new Date(daysLater(startedAtMs, 10, ZONE)).toISOString(), deleteAt: new Date(daysLater(startedAtMs, 30, ZONE)).toISOString() });

    const result = await handle.result();
    expect(result).toEqual({ phase: 'deleted', tenantId: null, reason: 'deleted after services ended' });
    const [disabled] = callsOf('disableTenant');
    const [deleted] = callsOf('deleteTenant');
    expect(Math.round((disabled!.atMs - startedAtMs) / DAY_MS)).toBe(10);
    expect(Math.round((deleted!.atMs - startedAtMs) / DAY_MS)).toBe(30);
    expect(callsOf('disableTenant')).toHaveLength(1);
    expect(callsOf('deleteTenant')).toHaveLength(1);
  });

  it('services restored on day N−1 cancel both pending steps and provision again', async () => {
    const handle = await start();
    const { startedAtMs } = await servicesEnd(handle);

    await env.sleep(daysLater(startedAtMs, 9, ZONE) - (await env.currentTimeMs()));
    script.assessment = { status: 'provision' };
    await handle.signal(syncNowSignal);
    const restored = await stateWhen(handle, (current) => current.phase === 'active');
    expect(restored).toMatchObject({ ladder: null, nextStep: null, tenantId: 'tenant-1', reason: null });
    expect(callsOf('provisionCustomer')).toHaveLength(2);

    // Well past both deadlines: neither step ever runs.
    await env.sleep(40 * DAY_MS);
    expect(callsOf('disableTenant')).toEqual([]);
    expect(callsOf('deleteTenant')).toEqual([]);
    expect((await handle.query(customerStateQuery)).phase).toBe('active');
    await handle.terminate('test done');
  });

  it('a removed mapping runs the ladder too, and the tenant is deleted only after it was disabled', async () => {
    script.deprovisioning = { zeroQuotas: false, disableAfterDays: 2, deleteAfterDays: 5 };
    const handle = await start();
    await stateWhen(handle, (current) => current.phase === 'active');
    script.assessment = { status: 'unmapped' };
    await handle.signal(syncNowSignal);
    const result = await handle.result();
    expect(result).toEqual({ phase: 'deleted', tenantId: null, reason: 'deleted after the mapping was removed' });
    expect(callsOf('zeroQuotas')).toEqual([]);
    expect(calls.filter((call) => call.name === 'disableTenant' || call.name === 'deleteTenant').map((call) => call.name)).toEqual(['disableTenant', 'deleteTenant']);
  });

  it('shows an unmanageable tenant as skipped with its reason, and ends when provisioning is switched off', async () => {
    script.provision = () => ({ status: 'skipped', tenantId: 'tenant-9', reason: 'the tenant is in self-service mode' });
    const handle = await start();
    const skipped = await stateWhen(handle, (current) => current.phase === 'skipped');
    expect(skipped).toMatchObject({ tenantId: 'tenant-9', reason: 'the tenant is in self-service mode' });
    script.assessment = { status: 'off', reason: 'provisioning is switched off' };
    await handle.signal(syncNowSignal);
    await expect(handle.result()).resolves.toEqual({ phase: 'stopped', tenantId: 'tenant-9', reason: 'provisioning is switched off' });
  });

  it('rolls over by continue-as-new with all state, pending deadlines included', async () => {
    const created = DateTime.fromMillis(await env.currentTimeMs(), { zone: ZONE });
    script.provision = provisioned(productionAt(created.toMillis(), ZONE));
    const handle = await start({ signalsPerRun: 3 });
    const before = await stateWhen(handle, (current) => current.phase === 'active');
    script.assessment = { status: 'no-services' };
    await handle.signal(syncNowSignal);
    // The next step is published once the sync that started the ladder has finished.
    const ladder = await stateWhen(handle, (current) => current.phase === 'deprovisioning' && current.nextStep !== null);
    for (let signal = 0; signal < 4; signal++) await handle.signal(syncNowSignal);
    const after = await stateWhen(handle, (current) => current.previousRuns >= 1 && current.phase === 'deprovisioning');
    expect(after.previousRuns).toBeGreaterThanOrEqual(1);
    expect(after).toMatchObject({ phase: 'deprovisioning', tenantId: before.tenantId, ladder: ladder.ladder, productionAt: before.productionAt });
    // The carried deadlines still fire in the new run.
    await expect(handle.result()).resolves.toMatchObject({ phase: 'deleted' });
    expect(callsOf('deleteTenant')).toHaveLength(1);
  });

  it('rechecks daily at its own time of day, so customers provisioned together recheck apart', async () => {
    const handles = await Promise.all(Array.from({ length: 4 }, () => start()));
    await Promise.all(handles.map((handle) => stateWhen(handle, (current) => current.phase === 'active')));
    const startedAtMs = Math.min(...callsOf('assessCustomer').map((call) => call.atMs));
    await env.sleep(4 * DAY_MS);
    const firstRechecks: number[] = [];
    for (const handle of handles) {
      const syncs = callsOf('assessCustomer').filter((call) => call.workflowId === handle.workflowId).map((call) => call.atMs);
      // The sync at start, the first recheck 12 to 36 hours later, then one a day.
      expect(syncs.length).toBeGreaterThanOrEqual(4);
      expect(syncs[1]! - syncs[0]!).toBeGreaterThanOrEqual(12 * HOUR_MS);
      expect(syncs[1]! - syncs[0]!).toBeLessThan(36 * HOUR_MS + 60_000);
      for (let day = 2; day < syncs.length; day++) expect(Math.abs(syncs[day]! - syncs[day - 1]! - DAY_MS)).toBeLessThan(60_000);
      firstRechecks.push((syncs[1]! - startedAtMs) % DAY_MS);
      await handle.terminate('test done');
    }
    // Four customers synced together: their rechecks are not within minutes of one another.
    const sorted = firstRechecks.sort((a, b) => a - b);
    expect(sorted.slice(1).every((at, index) => at - sorted[index]! > 5 * 60_000)).toBe(true);
  });
});
