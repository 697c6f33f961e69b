import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AcronisClient } from '../clients/acronis/client.ts';
import type { OfferingItem, Tenant, User } from '../clients/acronis/types.ts';
import type { PsaKind } from '../domain/partner.ts';
import { DEFAULT_CREDENTIALS } from '../simulators/default-credentials.ts';
import type { RunningSimulators } from '../simulators/index.ts';
import { autotaskCredentials, autotaskSeeder } from '../simulators/seeding/autotask.ts';
import { connectWiseManageSeeder } from '../simulators/seeding/connectwise-manage.ts';
import type { PsaSeeder } from '../simulators/seeding/psa-seeder.ts';
import { customerStateQuery, customerWorkflowId, type CustomerState } from '../workflows/contracts/provisioning.ts';
import { useApiWorld, type ApiHarness } from './api-harness.ts';
import { eventually } from './eventually.ts';
import type { TestDatabase } from './database.ts';
import { testKeyring } from './fixtures/test-keys.ts';
import { newAcronisPartnerAccount } from './partners.ts';
import { addFault, requestLog } from './simulators.ts';
import { markPartnerDeleted } from '../db/partners.ts';
import { TASK_QUEUE } from '../workflows/contracts/task-queues.ts';
import { PartnerIdAttribute } from '../workflows/search-attributes.ts';
import { collect } from '../clients/collect.ts';

/**
 * Provisioning as an MSP lives it: partner, settings and mappings through the admin API; the
 * agreement in the PSA; "sync now"; then the tenant, its admin and its quotas as Acronis shows
 * them. Real worker on the dev server, real PostgreSQL, the simulated vendors over HTTP.
 */

const keyring = testKeyring();
let database: TestDatabase;
let api: ApiHarness;
let sims: RunningSimulators;

useApiWorld(keyring, (world) => ({ database, sims, api } = world));

const acronis = () => new AcronisClient({ baseUrl: sims.urls.acronis, ...DEFAULT_CREDENTIALS.acronis });
const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString().slice(0, 10);

async function call(method: string, path: string, body?: unknown) {
  const response = await api.request(method, path, { body });
  if (response.status >= 300) throw new Error(`${method} ${path} → ${response.status} ${response.text}`);
  return response.json;
}

/** The offering item as an admin reads it in Acronis: its quota, or off. */
function quotaOf(items: OfferingItem[], name: string): number | 'unlimited' | 'off' {
  const item = items.find((candidate) => candidate.name === name);
  if (!item || item.status !== 1) return 'off';
  return item.quota?.value ?? 'unlimited';
}

interface World {
  kind: PsaKind;
  seeder: PsaSeeder;
  partnerId: string;
  /** The partner's own Acronis partner tenant, where its customer tenants are. */
  partnerTenantId: string;
  companyId: string;
  companyName: string;
  prepaid: { agreementId: string; lineId: string };
  payg: { agreementId: string; lineId: string };
}

/** A partner on the PSA with provisioning automatic, products mapped through the API, and one company that buys. */
async function buildWorld(kind: PsaKind): Promise<World> {
  const psaUrl = kind === 'connectwise-manage' ? sims.urls['connectwise-manage'] : sims.urls.autotask;
  const seeder = kind === 'connectwise-manage' ? connectWiseManageSeeder(psaUrl) : autotaskSeeder(psaUrl);
  const psa = kind === 'connectwise-manage' ? { kind, baseUrl: psaUrl, ...DEFAULT_CREDENTIALS['connectwise-manage'] } : { kind, ...autotaskCredentials(psaUrl) };
  const { tenantId: partnerTenantId, ...apiClient } = await newAcronisPartnerAccount(sims.urls.acronis);
  const partner = await call('POST', '/v1/partners', {
    name: `MSP ${randomUUID().slice(0, 8)}`,
    timezone: 'America/New_York',
    acronis: { baseUrl: sims.urls.acronis, ...apiClient },
    psa,
  });
  const partnerId = partner.id as string;

  const workstations = await seeder.createProduct('Acronis Cyber Protect Workstations');
  const servers = await seeder.createProduct('Acronis Cyber Protect Servers');
  await call('PUT', `/v1/partners/${partnerId}/product-mappings`, [
    { offeringItem: 'pw_base_workstations', psaProductId: workstations, free: false },
    { offeringItem: 'pw_base_servers', psaProductId: servers, free: false },
    { offeringItem: 'local_storage', psaProductId: null, free: true },
  ]);
  await call('PUT', `/v1/partners/${partnerId}/settings`, { provisioning: { enabled: true, automatic: true, accountBasis: 'company-name', activationEmail: 'onboarding@msp.example', tenantMode: 'production' } });

  const companyName = `Fabrikam ${partnerId.slice(0, 6)}`;
  const companyId = await seeder.createCompany(companyName);
  await seeder.addPrimaryContact(companyId, { firstName: 'Ada', lastName: 'Lovelace', email: `ada.${partnerId.slice(0, 6)}@fabrikam.example` });
  // Autotask bills a contract as PAYG or prepaid as a whole: one agreement per model on both PSAs.
  const prepaid = await seeder.createAgreement(companyId, [{ productId: workstations, quantity: 5, billing: 'prepaid' }], daysAgo(40));
  const payg = await seeder.createAgreement(companyId, [{ productId: servers, quantity: 0, billing: 'payg' }], daysAgo(40));
  return {
    kind,
    seeder,
    partnerId,
    partnerTenantId,
    companyId,
    companyName,
    prepaid: { agreementId: prepaid.agreementId, lineId: prepaid.lineIds[0]! },
    payg: { agreementId: payg.agreementId, lineId: payg.lineIds[0]! },
  };
}

async function customerTenants(world: World): Promise<Tenant[]> {
  return (await collect(acronis().listTenants({ parentId: world.partnerTenantId }))).filter((tenant) => tenant.kind === 'customer' && tenant.name === world.companyName);
}

async function customerState(world: World): Promise<CustomerState | undefined> {
  try {
    return await api.temporal.workflow.getHandle(customerWorkflowId(world.partnerId, world.companyId)).query(customerStateQuery);
  } catch {
    return undefined;
  }
}

const syncNow = (world: World) => call('POST', `/v1/partners/${world.partnerId}/sync`, { what: ['provisioning'] });

async function quotasOnceSynced(world: World, tenantId: string, expected: Record<string, number | 'unlimited' | 'off'>): Promise<void> {
  const names = Object.keys(expected);
  const seen = await eventually(
    `quotas ${JSON.stringify(expected)}`,
    async () => {
      const items = await acronis().listOfferingItems(tenantId);
      return Object.fromEntries(names.map((name) => [name, quotaOf(items, name)]));
    },
    (current) => names.every((name) => current[name] === expected[name]),
  );
  expect(seen).toEqual(expected);
}

describe.each<PsaKind>(['connectwise-manage', 'autotask'])('customer provisioning end to end on %s', (kind) => {
  it('an agreement with prepaid and PAYG lines becomes a tenant with exactly the quotas of F3.3; changes follow "sync now"', async () => {
    const world = await buildWorld(kind);
    await syncNow(world);

    const state = await eventually('the customer to be provisioned', () => customerState(world), (current) => current?.phase === 'active');
    const [tenant, ...others] = await customerTenants(world);
    expect(others).toEqual([]);
    expect(state?.tenantId).toBe(tenant!.id);
    const listed = await call('GET', `/v1/partners/${world.partnerId}/customers?mapping=mapped&q=${encodeURIComponent(world.companyName)}`);
    expect(listed.items).toEqual([expect.objectContaining({ psaCompanyId: world.companyId, mapping: { tenantId: tenant!.id, problem: null } })]);

    // Prepaid → its quantity; PAYG and Free → unlimited; mapped but absent → off; the default storage on.
    await quotasOnceSynced(world, tenant!.id, {
      pw_base_workstations: 5,
      pw_base_servers: 'unlimited',
      local_storage: 'unlimited',
      pw_base_storage: 'unlimited',
      pw_base_vms: 'off',
    });
    const users: User[] = await collect(acronis().listUsers({ tenantId: tenant!.id }));
    expect(users).toHaveLength(1);

    await world.seeder.changeQuantity(world.prepaid.agreementId, world.prepaid.lineId, 8);
    await syncNow(world);
    await quotasOnceSynced(world, tenant!.id, { pw_base_workstations: 8 });

    // Every line cancelled: quotas go to zero at once (the ladder's first step) and the ladder runs.
    await world.seeder.cancelLine(world.prepaid.agreementId, world.prepaid.lineId);
    await world.seeder.cancelLine(world.payg.agreementId, world.payg.lineId);
    await syncNow(world);
    const ladder = await eventually('deprovisioning, quotas zeroed', () => customerState(world), (current) => current?.phase === 'deprovisioning' && current.ladder?.quotasZeroedAt != null);
    expect(ladder?.ladder).toMatchObject({ reason: 'no-active-services', quotasZeroedAt: expect.any(String) });
    expect(ladder?.nextStep).toMatchObject({ step: 'disable-tenant' });
    const items = await acronis().listOfferingItems(tenant!.id);
    expect(items.filter((item) => item.status === 1).map((item) => [item.name, item.quota?.value])).toEqual(
      items.filter((item) => item.status === 1).map((item) => [item.name, 0]),
    );
    expect(items.some((item) => item.status === 1)).toBe(true);
    expect((await acronis().getTenant(tenant!.id)).enabled).toBe(true);
  });
});

describe('an Acronis outage during provisioning', () => {
  it('delays it, shows the retries on the workflow, and ends with exactly one tenant and one user', async () => {
    const world = await buildWorld('connectwise-manage');
    // Tenant creation answers 503 (asking for a 1 s wait) three times, as a struggling data centre would.
    await addFault(sims.urls.acronis, { match: '^/api/2/tenants$', method: 'POST', kind: 'status', status: 503, retryAfterSeconds: 1, times: 3 });
    await syncNow(world);

    const handle = () => api.temporal.workflow.getHandle(customerWorkflowId(world.partnerId, world.companyId));
    const retrying = await eventually(
      'a retried provisioning activity',
      async () => {
        const description = await handle().describe().catch(() => undefined);
        return description?.raw.pendingActivities?.find((activity) => (activity.attempt ?? 0) >= 2);
      },
      (pending) => pending !== undefined,
    );
    // What the Web UI shows on the pending activity: the attempt count and the vendor's failure.
    expect(retrying!.attempt).toBeGreaterThanOrEqual(2);
    expect(retrying!.lastFailure?.message).toMatch(/Acronis/);

    await eventually('the customer to be provisioned', () => customerState(world), (current) => current?.phase === 'active');
    const tenants = await customerTenants(world);
    expect(tenants).toHaveLength(1);
    expect(await collect(acronis().listUsers({ tenantId: tenants[0]!.id }))).toHaveLength(1);
  });
});

/** The partner's runs that are still running, as the Web UI lists them (visibility lags by a moment). */
async function runningWorkflows(partnerId: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const execution of api.temporal.workflow.list({ query: `PartnerId = "${partnerId}" AND ExecutionStatus = "Running"` })) ids.push(execution.workflowId);
  return ids.sort();
}

/** Vendor requests that change something, after the `from`-th entry of each simulator's log. */
async function vendorWritesSince(from: Record<'acronis' | 'psa', number>, world: World) {
  const psaUrl = world.kind === 'connectwise-manage' ? sims.urls['connectwise-manage'] : sims.urls.autotask;
  const [acronisLog, psaLog] = await Promise.all([requestLog(sims.urls.acronis), requestLog(psaUrl)]);
  const isWrite = (entry: { method: string; path: string }) => entry.method !== 'GET' && !/\/idp\/token$|\/query(\/count)?$/i.test(entry.path);
  return [...acronisLog.slice(from.acronis), ...psaLog.slice(from.psa)].filter(isWrite);
}

async function logPositions(world: World): Promise<Record<'acronis' | 'psa', number>> {
  const psaUrl = world.kind === 'connectwise-manage' ? sims.urls['connectwise-manage'] : sims.urls.autotask;
  return { acronis: (await requestLog(sims.urls.acronis)).length, psa: (await requestLog(psaUrl)).length };
}

/** A customer provisioned, then its services ended: its ladder waits for the disable deadline. */
async function deprovisioningWorld(): Promise<World> {
  const world = await buildWorld('connectwise-manage');
  await syncNow(world);
  await eventually('the customer to be provisioned', () => customerState(world), (current) => current?.phase === 'active');
  await world.seeder.cancelLine(world.prepaid.agreementId, world.prepaid.lineId);
  await world.seeder.cancelLine(world.payg.agreementId, world.payg.lineId);
  await syncNow(world);
  await eventually('deprovisioning, quotas zeroed', () => customerState(world), (current) => current?.phase === 'deprovisioning' && current.ladder?.quotasZeroedAt != null);
  return world;
}

describe('ending what belongs to a partner or a capability', () => {
  it('switching provisioning off ends the loop and every customer within seconds, and nothing more is written', async () => {
    const world = await deprovisioningWorld();
    expect(await runningWorkflows(world.partnerId)).toEqual(
      [`partner/${world.partnerId}`, `partner/${world.partnerId}/customer/${world.companyId}`, `partner/${world.partnerId}/provisioning`].sort(),
    );
    const before = await logPositions(world);
    await call('PUT', `/v1/partners/${world.partnerId}/settings`, { provisioning: { enabled: false } });

    await eventually('only the supervisor to run', () => runningWorkflows(world.partnerId), (ids) => ids.length === 1, 20_000);
    expect(await customerState(world)).toMatchObject({ phase: 'stopped' });
    // A sync asked for now is refused rather than reaching anything.
    expect((await api.request('POST', `/v1/partners/${world.partnerId}/sync`, { body: { what: ['provisioning'] } })).status).toBe(409);
    expect(await vendorWritesSince(before, world)).toEqual([]);
  });

  it('removing the partner ends every one of its workflows within seconds, the supervisor last, and nothing more is written', async () => {
    const world = await deprovisioningWorld();
    const before = await logPositions(world);
    const supervisor = api.temporal.workflow.getHandle(`partner/${world.partnerId}`);
    expect((await api.request('DELETE', `/v1/partners/${world.partnerId}`)).status).toBe(204);

    expect(await supervisor.result()).toEqual({ partnerId: world.partnerId, stopReason: 'partner removed' });
    await eventually('no workflow of the partner to run', () => runningWorkflows(world.partnerId), (ids) => ids.length === 0, 20_000);
    // The customer was counting down to disabling its tenant: it ended instead, and the tenant is as it was.
    const [tenant] = await customerTenants(world);
    expect(tenant).toMatchObject({ enabled: true });
    expect(await vendorWritesSince(before, world)).toEqual([]);
  });

  it('a removal whose signal was lost ends everything at the supervisor\'s next check', async () => {
    const world = await deprovisioningWorld();
    // The supervisor as it would be had the API's signal never arrived: checking every few seconds instead of hourly.
    const supervisor = api.temporal.workflow.getHandle(`partner/${world.partnerId}`);
    await supervisor.terminate('replaced by a supervisor that checks every 2 s');
    await api.temporal.workflow.start('partnerSupervisor', {
      workflowId: `partner/${world.partnerId}`,
      taskQueue: TASK_QUEUE,
      args: [{ v: 1, partnerId: world.partnerId, reconcileIntervalMs: 2_000 }],
      typedSearchAttributes: [{ key: PartnerIdAttribute, value: world.partnerId }],
    });
    await markPartnerDeleted(database.db, world.partnerId);

    expect(await supervisor.result()).toEqual({ partnerId: world.partnerId, stopReason: 'partner removed' });
    await eventually('no workflow of the partner to run', () => runningWorkflows(world.partnerId), (ids) => ids.length === 0, 20_000);
  });
});
