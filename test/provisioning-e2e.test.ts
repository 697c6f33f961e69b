import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AcronisClient } from '../clients/acronis/client.ts';
import type { OfferingItem, Tenant, User } from '../clients/acronis/types.ts';
import type { PsaKind } from '../domain/partner.ts';
import { DEFAULT_CREDENTIALS } from '../simulators/default-credentials.ts';
import type { RunningSimulators } from '../simulators/index.ts';
import { autotaskCredentials, autotaskSeeder } from '../simulators/seeding/autotask.ts';
import { connectWiseManageSeeder } from '../simulators/seeding/connectwise-manage.ts';
import type { PsaSeeder } from '../simulators/seeding/psa-seeder.ts';
import { customerStateQuery, customerWorkflowId, type CustomerState } from '../workflows/contracts/provisioning.ts';
import { startApiHarness, type ApiHarness } from './api-harness.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { eventually } from './eventually.ts';
import { testKeyring } from './fixtures/test-keys.ts';
import { addFault, startTestSimulators } from './simulators.ts';
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

beforeAll(async () => {
  [database, sims] = await Promise.all([createTestDatabase(), startTestSimulators()]);
  api = await startApiHarness(database.db, keyring);
});
beforeEach(() => sims.reset());
afterAll(async () => {
  await api.close();
  await sims.close();
  await database.drop();
});

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
  const { clientId, clientSecret } = DEFAULT_CREDENTIALS.acronis;
  const partner = await call('POST', '/v1/partners', {
    name: `MSP ${randomUUID().slice(0, 8)}`,
    timezone: 'America/New_York',
    acronis: { baseUrl: sims.urls.acronis, clientId, clientSecret },
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
  await call('PUT', `/v1/partners/${partnerId}/settings`, { provisioning: { enabled: true, automatic: true, accountBasis: 'company-name', tenantMode: 'production' } });

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
    companyId,
    companyName,
    prepaid: { agreementId: prepaid.agreementId, lineId: prepaid.lineIds[0]! },
    payg: { agreementId: payg.agreementId, lineId: payg.lineIds[0]! },
  };
}

async function customerTenants(name: string): Promise<Tenant[]> {
  const client = acronis();
  const partnerTenantId = (await client.getApiClient()).tenant_id;
  return (await collect(client.listTenants({ parentId: partnerTenantId }))).filter((tenant) => tenant.kind === 'customer' && tenant.name === name);
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
    const [tenant, ...others] = await customerTenants(world.companyName);
    expect(others).toEqual([]);
    expect(state?.tenantId).toBe(tenant!.id);
    const listed = await call('GET', `/v1/partners/${world.partnerId}/customers?mapping=mapped&q=${encodeURIComponent(world.companyName)}`);
    expect(listed.items).toEqual([expect.objectContaining({ psaCompanyId: world.companyId, mapping: { tenantId: tenant!.id } })]);

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
    const ladder = await eventually('deprovisioning', () => customerState(world), (current) => current?.phase === 'deprovisioning');
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
    const tenants = await customerTenants(world.companyName);
    expect(tenants).toHaveLength(1);
    expect(await collect(acronis().listUsers({ tenantId: tenants[0]!.id }))).toHaveLength(1);
  });
});
