import { setTimeout as delay } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTimeSkippingEngine, type TimeSkippingEngine } from './time-skipping-engine.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteCompanyMapping, findCompanyMapping, upsertCompanyMapping } from '../db/mappings.ts';
import type { RunningSimulators } from '../simulators/index.ts';
import { ProvisioningWorkflows } from '../temporal/provisioning-workflows.ts';
import { customerStateQuery, customerWorkflowId, type CustomerState } from '../workflows/contracts/provisioning.ts';
import type { customerProvisioning } from '../workflows/provisioning/customer.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { testKeyring } from './fixtures/test-keys.ts';
import { acronisClient, configureSettings, customerTenantByHand, daysAgo, seedProvisioningWorld, type ProvisioningWorld, type Surroundings } from './provisioning-world.ts';
import { requestLog, startTestSimulators } from './simulators.ts';

/**
 * The deprovisioning ladder over days, on the time-skipping test server with the engine's own
 * worker: real activities against the simulators and PostgreSQL. Every customer here lost its
 * services on day 0 (quotas zeroed at once); on day 5 something changes in the world, and on day
 * 6, when the tenant is due to be disabled, the step must see that change.
 */

const DAY_MS = 24 * 60 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;
const DEPROVISIONING = { zeroQuotas: true, disableAfterDays: 6, deleteAfterDays: 9 };

describe('deprovisioning ladder (engine worker, time-skipping test server)', () => {
  const keyring = testKeyring();
  let sims: RunningSimulators;
  let database: TestDatabase;
  let env: TestWorkflowEnvironment;
  let engine: TimeSkippingEngine;
  let gateway: ProvisioningWorkflows;
  const surroundings = (): Surroundings => ({ sims, db: database.db, keyring });

  beforeAll(async () => {
    [sims, database] = await Promise.all([startTestSimulators(), createTestDatabase()]);
    engine = await startTimeSkippingEngine(database.db, keyring);
    env = engine.env;
    gateway = new ProvisioningWorkflows(env.client);
  });

  afterAll(async () => {
    await engine?.close();
    await database?.drop();
    await sims?.close();
  });

  interface Customer {
    world: ProvisioningWorld;
    companyId: string;
    /** The tenant the engine provisioned (or, for a skipped customer, the one it was mapped to). */
    tenantId: string;
    handle: WorkflowHandle<typeof customerProvisioning>;
    cancelServices(): Promise<void>;
  }

  /** A PSA company with one workstation line, mapped (to `tenantId`, else to a new tenant); its workflow started and its first sync done. */
  async function customer(world: ProvisioningWorld, name: string | null, tenantId: string | null = null): Promise<Customer> {
    const companyId = name === null ? world.companyId : await world.psa.seeder.createCompany(name);
    if (name !== null) await world.psa.seeder.addPrimaryContact(companyId, { firstName: 'Sam', lastName: 'Lee', email: `sam.${companyId}@example.com` });
    const agreement = await world.psa.seeder.createAgreement(companyId, [{ productId: world.products.workstations, quantity: 3, billing: 'prepaid' }], daysAgo(20));
    await upsertCompanyMapping(database.db, world.partnerId, companyId, tenantId);
    const sync = () => gateway.syncCustomer({ partnerId: world.partnerId, psaKind: world.psa.seeder.kind, psaCompanyId: companyId });
    await sync();
    const handle = env.client.workflow.getHandle<typeof customerProvisioning>(customerWorkflowId(world.partnerId, companyId));
    const first = await stateWhen(handle, (state) => state.phase !== 'pending');
    expect(first.phase, first.reason ?? undefined).toBe(tenantId ? 'skipped' : 'active');
    return {
      world,
      companyId,
      tenantId: first.tenantId!,
      handle,
      async cancelServices() {
        await world.psa.seeder.cancelLine(agreement.agreementId, agreement.lineIds[0]!);
        await sync();
      },
    };
  }

  /** Polls the state query (in real time; the server skips time only while the test sleeps or awaits a result). */
  async function stateWhen(handle: WorkflowHandle, until: (state: CustomerState) => boolean): Promise<CustomerState> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const state = await handle.query(customerStateQuery);
      if (until(state) || Date.now() > deadline) return state;
      await delay(50);
    }
  }

  async function sleepUntil(instantMs: number): Promise<void> {
    await env.sleep(Math.max(0, instantMs - (await env.currentTimeMs())));
  }

  /** Requests that changed the tenant in Acronis (enable/disable, quotas, deletion), in order. */
  async function tenantWrites(tenantId: string): Promise<string[]> {
    return (await requestLog(sims.urls.acronis)).filter((entry) => entry.method !== 'GET' && entry.path.includes(tenantId)).map((entry) => `${entry.method} ${entry.path}`);
  }

  /** How often the workflow asked for this activity. */
  async function scheduled(handle: WorkflowHandle, activityType: string): Promise<number> {
    const history = await handle.fetchHistory();
    return (history.events ?? []).filter((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === activityType).length;
  }

  const tenant = (tenantId: string) => acronisClient(sims).getTenant(tenantId, { allowDeleted: true });

  let servicesBack: Customer;
  let switchedOff: Customer;
  let remapped: Customer;
  let madeSelfService: Customer;
  let skippedFromStart: Customer;
  let untouched: Customer;
  let remappedWritesBefore: string[];
  let newTenantOfRemapped: string;
  let disableDueMs: number;

  beforeAll(async () => {
    // Partner-wide switch-off gets a partner of its own. UTC: the ladder's days are whole 24 hours.
    const settings = { deprovisioning: DEPROVISIONING };
    const [world, otherWorld] = await Promise.all([
      seedProvisioningWorld(surroundings(), 'connectwise-manage', settings, { timezone: 'UTC' }),
      seedProvisioningWorld(surroundings(), 'autotask', settings, { timezone: 'UTC' }),
    ]);
    const selfServiceTenant = await customerTenantByHand(sims, 'Independent Ltd', { ancestral_access: false });
    [servicesBack, switchedOff, remapped, madeSelfService, skippedFromStart, untouched] = await Promise.all([
      customer(world, null),
      customer(otherWorld, null),
      customer(world, 'Moving Ltd'),
      customer(world, 'Proud Ltd'),
      customer(world, 'Independent Ltd', selfServiceTenant.id),
      customer(world, 'Leaving Ltd'),
    ]);

    // Day 0: services end everywhere; the ladder starts and zeroes quotas (except on the skipped tenant).
    const ladders = [servicesBack, switchedOff, remapped, madeSelfService, untouched];
    await Promise.all([...ladders, skippedFromStart].map((each) => each.cancelServices()));
    const started = await Promise.all(ladders.map((each) => stateWhen(each.handle, (state) => state.ladder?.quotasZeroedAt != null)));
    for (const state of started) expect(state).toMatchObject({ phase: 'deprovisioning', reason: 'no active service left in the agreement', nextStep: { step: 'disable-tenant' } });
    await stateWhen(skippedFromStart.handle, (state) => state.syncs >= 2);
    const ladderStartMs = Math.max(...started.map((state) => Date.parse(state.ladder!.startedAt)));
    disableDueMs = ladderStartMs + DEPROVISIONING.disableAfterDays * DAY_MS;

    // Day 5: the world changes. What sees it first, the step due on day 6 or the customer's daily
    // recheck (at a time of day of its own, a hash of its workflow id), varies from run to run; the
    // cases below hold either way: nothing disabled, the reason shown.
    await sleepUntil(ladderStartMs + 5 * DAY_MS + 2 * HOUR_MS);
    const client = acronisClient(sims);
    newTenantOfRemapped = (await customerTenantByHand(sims, 'Moving Ltd (new tenant)')).id;
    remappedWritesBefore = await tenantWrites(remapped.tenantId);
    const selfService = await client.getTenant(madeSelfService.tenantId);
    await Promise.all([
      servicesBack.world.psa.seeder.createAgreement(servicesBack.companyId, [{ productId: servicesBack.world.products.workstations, quantity: 2, billing: 'prepaid' }], daysAgo(1)),
      configureSettings(database.db, switchedOff.world.partnerId, { provisioning: { enabled: false } }),
      deleteCompanyMapping(database.db, remapped.world.partnerId, remapped.companyId).then(() => upsertCompanyMapping(database.db, remapped.world.partnerId, remapped.companyId, newTenantOfRemapped)),
      client.updateTenant(madeSelfService.tenantId, selfService.version, { ancestral_access: false }),
    ]);

    // Day 6: the disable step is due.
    await sleepUntil(disableDueMs + HOUR_MS);
  });

  it('services back on day 5: the disable step is cancelled, the tenant stays enabled and the customer is active again', async () => {
    const state = await stateWhen(servicesBack.handle, (current) => current.phase === 'active');
    expect(state).toMatchObject({ phase: 'active', tenantId: servicesBack.tenantId, ladder: null, nextStep: null, reason: null });
    // The disable step re-assesses when it is due; the customer's daily recheck, at a time of day of
    // its own, may have seen the services first and ended the ladder before. Either way nothing is disabled.
    expect(await scheduled(servicesBack.handle, 'disableTenant')).toBeLessThanOrEqual(1);
    expect((await tenant(servicesBack.tenantId)).enabled).toBe(true);
  });

  it('provisioning switched off on day 5: the workflow stops and the tenant stays enabled', async () => {
    expect(await switchedOff.handle.result()).toEqual({ phase: 'stopped', tenantId: switchedOff.tenantId, reason: expect.stringMatching(/provisioning is switched off for the partner \(provisioning\.enabled\)$/) });
    expect((await tenant(switchedOff.tenantId)).enabled).toBe(true);
  });

  it('the mapping moved to another tenant: neither tenant is touched, and the ladder is not started again on the old one', async () => {
    const state = await stateWhen(remapped.handle, (current) => current.phase !== 'deprovisioning' && current.phase !== 'pending');
    expect(state).toMatchObject({ phase: 'waiting-for-services', tenantId: null, ladder: null, nextStep: null });
    expect(await scheduled(remapped.handle, 'disableTenant')).toBeLessThanOrEqual(1);
    expect(await scheduled(remapped.handle, 'zeroQuotas')).toBe(1);
    expect(await tenantWrites(remapped.tenantId)).toEqual(remappedWritesBefore);
    expect(await tenantWrites(newTenantOfRemapped)).toEqual([]);
    expect((await tenant(remapped.tenantId)).enabled).toBe(true);
  });

  it('the tenant made self-service on day 5: the disable step is cancelled and the customer shows skipped with the reason', async () => {
    const state = await stateWhen(madeSelfService.handle, (current) => current.phase === 'skipped');
    expect(state).toMatchObject({ phase: 'skipped', tenantId: madeSelfService.tenantId, ladder: null, nextStep: null, reason: expect.stringMatching(/is in self-service mode/) });
    expect((await tenant(madeSelfService.tenantId)).enabled).toBe(true);
  });

  it('a tenant skipped from the start (self-service) gets no ladder when its services end: nothing is written', async () => {
    const state = await skippedFromStart.handle.query(customerStateQuery);
    expect(state).toMatchObject({ phase: 'skipped', tenantId: skippedFromStart.tenantId, ladder: null, nextStep: null, reason: expect.stringMatching(/self-service mode/) });
    expect(await scheduled(skippedFromStart.handle, 'planDeprovisioning')).toBe(0);
    expect(await tenantWrites(skippedFromStart.tenantId)).toEqual([]);
  });

  it('with nothing changed, the tenant is disabled on day 6 and deleted on day 9', async () => {
    const disabled = await stateWhen(untouched.handle, (current) => current.ladder?.disabledAt != null);
    expect(disabled).toMatchObject({ phase: 'deprovisioning', nextStep: { step: 'delete-tenant', at: new Date(Date.parse(disabled.ladder!.startedAt) + DEPROVISIONING.deleteAfterDays * DAY_MS).toISOString() } });
    expect((await tenant(untouched.tenantId)).enabled).toBe(false);

    expect(await untouched.handle.result()).toEqual({ phase: 'deleted', tenantId: null, reason: 'deleted after services ended' });
    expect((await tenant(untouched.tenantId)).deleted_at).not.toBeNull();
    expect(await findCompanyMapping(database.db, untouched.world.partnerId, untouched.companyId)).toMatchObject({ tenantId: null });
  });
});
