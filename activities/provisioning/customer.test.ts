import { Client, Connection } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { AcronisClient } from '../../clients/acronis/client.ts';
import type { OfferingItem, Tenant } from '../../clients/acronis/types.ts';
import { PartnerClientsCache } from '../../clients/partner-clients.ts';
import { deleteCompanyMapping, findCompanyMapping, replaceProductMappings, upsertCompanyMapping } from '../../db/mappings.ts';
import { readSettings, writeSettings } from '../../db/settings.ts';
import type { PsaKind } from '../../domain/partner.ts';
import { daysLater, parseAcronisTime, productionAt } from '../../domain/provisioning-calendar.ts';
import { mergeSettings, settingsSchema, type SettingsPatch } from '../../domain/settings.ts';
import type { RunningSimulators } from '../../simulators/index.ts';
import { autotaskSeeder } from '../../simulators/seeding/autotask.ts';
import { connectWiseManageSeeder } from '../../simulators/seeding/connectwise-manage.ts';
import type { PsaSeeder } from '../../simulators/seeding/psa-seeder.ts';
import { DEFAULT_CREDENTIALS } from '../../simulators/default-credentials.ts';
import { encryptedDataConverter } from '../../temporal/data-converter.ts';
import { ProvisioningWorkflows } from '../../temporal/provisioning-workflows.ts';
import { createTestDatabase, type TestDatabase } from '../../test/database.ts';
import { testKeyring } from '../../test/fixtures/test-keys.ts';
import { seedPartner } from '../../test/partners.ts';
import { addFault, requestLog, startTestSimulators } from '../../test/simulators.ts';
import { customerWorkflowId } from '../../workflows/contracts/provisioning.ts';
import { createProvisioningActivities } from './index.ts';
import type { ProvisioningActivities } from './types.ts';
import { collect } from '../../clients/collect.ts';

const keyring = testKeyring();
let sims: RunningSimulators;
let database: TestDatabase;
let connection: Connection;
let temporal: Client;
let activities: ProvisioningActivities;

beforeAll(async () => {
  sims = await startTestSimulators();
  database = await createTestDatabase();
  connection = await Connection.connect({ address: inject('temporalAddress') });
  temporal = new Client({ connection, dataConverter: encryptedDataConverter(keyring) });
  activities = createProvisioningActivities({ db: database.db, clients: new PartnerClientsCache(database.db, keyring), workflows: new ProvisioningWorkflows(temporal) });
});

afterAll(async () => {
  await connection?.close();
  await database?.drop();
  await sims?.close();
});

beforeEach(() => sims.reset());

/** Activities run in a mock activity context (heartbeats, attempt info), as a worker would run them. */
function run<A extends unknown[], R>(activity: (...args: A) => Promise<R>, ...args: A): Promise<R> {
  return new MockActivityEnvironment().run(activity, ...args);
}

const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString().slice(0, 10);

function acronis(): AcronisClient {
  return new AcronisClient({ baseUrl: sims.urls.acronis, clientId: DEFAULT_CREDENTIALS.acronis.clientId, clientSecret: DEFAULT_CREDENTIALS.acronis.clientSecret });
}

async function customerTenants(name: string): Promise<Tenant[]> {
  const client = acronis();
  const partnerTenantId = (await client.getApiClient()).tenant_id;
  return (await collect(client.listTenants({ parentId: partnerTenantId }))).filter((tenant) => tenant.name === name);
}

function itemState(items: OfferingItem[], name: string) {
  const item = items.find((candidate) => candidate.name === name);
  return item?.status === 1 ? { value: item.quota?.value ?? null, overage: item.quota?.overage ?? null } : 'off';
}

const writes = (log: { method: string; path: string }[]) => log.filter((entry) => entry.method !== 'GET' && !entry.path.endsWith('/idp/token'));

async function configure(partnerId: string, patch: SettingsPatch): Promise<void> {
  const current = await readSettings(database.db, partnerId);
  await writeSettings(database.db, partnerId, settingsSchema.parse(mergeSettings(current!.settings, patch)));
}

/** The PSA side as an MSP fills it in, through the vendor's public API. */
function psaWorld(kind: PsaKind): { seeder: PsaSeeder; url: string } {
  const url = kind === 'connectwise-manage' ? sims.urls['connectwise-manage'] : sims.urls.autotask;
  return { seeder: kind === 'connectwise-manage' ? connectWiseManageSeeder(url) : autotaskSeeder(url), url };
}

/** A partner with provisioning on, its product mappings, and one company with a primary contact. */
async function provisioningWorld(kind: PsaKind, patch: SettingsPatch = {}) {
  const psa = psaWorld(kind);
  const partnerId = await seedPartner(database.db, keyring, undefined, { psaKind: kind, urls: { acronis: sims.urls.acronis, psa: psa.url } });
  await configure(partnerId, { provisioning: { enabled: true, activationEmail: 'msp-admin@example.com', ...patch.provisioning }, ...(patch.deprovisioning ? { deprovisioning: patch.deprovisioning } : {}) });
  const products = {
    workstations: await psa.seeder.createProduct('Acronis Workstations'),
    servers: await psa.seeder.createProduct('Acronis Servers'),
    vms: await psa.seeder.createProduct('Acronis VMs'),
  };
  await replaceProductMappings(database.db, partnerId, [
    { offeringItem: 'pw_base_workstations', psaProductId: products.workstations, free: false },
    { offeringItem: 'pw_base_servers', psaProductId: products.servers, free: false },
    { offeringItem: 'pw_base_vms', psaProductId: products.vms, free: false },
    { offeringItem: 'local_storage', psaProductId: null, free: true },
  ]);
  const companyName = `Contoso ${partnerId.slice(0, 6)}`;
  const companyId = await psa.seeder.createCompany(companyName);
  await psa.seeder.addPrimaryContact(companyId, { firstName: 'Jane', lastName: 'Doe', email: `jane.${partnerId.slice(0, 6)}@contoso.example` });
  return { psa, partnerId, products, companyId, companyName, customer: { partnerId, psaCompanyId: companyId } };
}

describe.each<PsaKind>(['connectwise-manage', 'autotask'])('provisionCustomer on %s', (kind) => {
  it('makes one trial tenant, one admin from the primary contact, MFA, and quotas exactly as F3.3 asks', async () => {
    const world = await provisioningWorld(kind, { provisioning: { accountBasis: 'primary-contact', tenantMode: 'trial', enableMfa: true } });
    // Two prepaid lines of one product add up; an Autotask contract is PAYG or prepaid as a whole, hence three agreements.
    await world.psa.seeder.createAgreement(world.companyId, [{ productId: world.products.workstations, quantity: 3, billing: 'prepaid' }], daysAgo(20));
    await world.psa.seeder.createAgreement(world.companyId, [{ productId: world.products.workstations, quantity: 2, billing: 'prepaid' }], daysAgo(20));
    await world.psa.seeder.createAgreement(world.companyId, [{ productId: world.products.servers, quantity: 1, billing: 'payg' }], daysAgo(20));
    await upsertCompanyMapping(database.db, world.partnerId, world.companyId, null);

    const outcome = await run(activities.provisionCustomer, world.customer);

    const [tenant, ...others] = await customerTenants(world.companyName);
    expect(others).toEqual([]);
    expect(outcome).toEqual({ status: 'provisioned', tenantId: tenant!.id, tenantCreated: true, userCreated: true, quotasChanged: 4, productionAtMs: productionAt(parseAcronisTime(tenant!.created_at), 'Europe/Berlin') });
    expect((await findCompanyMapping(database.db, world.partnerId, world.companyId))?.tenantId).toBe(tenant!.id);
    expect(tenant!.pricing_mode).toBe('trial');
    expect(tenant!.mfa_status).toBe('enabled');

    const items = await acronis().listOfferingItems(tenant!.id);
    expect(itemState(items, 'pw_base_workstations')).toEqual({ value: 5, overage: 0 });
    expect(itemState(items, 'pw_base_servers')).toEqual({ value: null, overage: null });
    expect(itemState(items, 'local_storage')).toEqual({ value: null, overage: null });
    expect(itemState(items, 'pw_base_storage')).toEqual({ value: null, overage: null });
    expect(itemState(items, 'pw_base_vms')).toBe('off');
    expect(itemState(items, 'pg_base_workstations')).toBe('off');

    const users = await collect(acronis().listUsers({ tenantId: tenant!.id, withAccessPolicies: true }));
    expect(users.map((user) => [user.login, user.access_policies?.map((policy) => policy.role_id)])).toEqual([[`jane.${world.partnerId.slice(0, 6)}@contoso.example`, ['company_admin']]]);
    const state = (await (await fetch(`${sims.urls.acronis}/_sim/state`)).json()) as { activationEmails: { userId: string }[] };
    expect(state.activationEmails.map((email) => email.userId)).toEqual([users[0]!.id]);

    // A repeat finds everything in place and writes nothing.
    const before = (await requestLog(sims.urls.acronis)).length;
    expect(await run(activities.provisionCustomer, world.customer)).toMatchObject({ status: 'provisioned', tenantId: tenant!.id, tenantCreated: false, userCreated: false, quotasChanged: 0 });
    expect(writes((await requestLog(sims.urls.acronis)).slice(before))).toEqual([]);
    expect(await customerTenants(world.companyName)).toHaveLength(1);
  });
});

describe('provisionCustomer', () => {
  it('fails retryably on an Acronis 503 and, rerun after it, ends with one tenant and one user', async () => {
    const world = await provisioningWorld('autotask', { provisioning: { accountBasis: 'company-name' } });
    await world.psa.seeder.createAgreement(world.companyId, [{ productId: world.products.workstations, quantity: 2, billing: 'prepaid' }], daysAgo(5));
    await upsertCompanyMapping(database.db, world.partnerId, world.companyId, null);
    await addFault(sims.urls.acronis, { match: '^/api/2/users$', method: 'POST', kind: 'status', status: 503, times: 1 });

    const failure = await run(activities.provisionCustomer, world.customer).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'acronis.unavailable', nonRetryable: false });
    expect((failure as Error).message).toMatch(/^Acronis failed POST \/api\/2\/users/);

    const outcome = await run(activities.provisionCustomer, world.customer);
    expect(outcome).toMatchObject({ status: 'provisioned', tenantCreated: false, userCreated: true, productionAtMs: null });
    const tenants = await customerTenants(world.companyName);
    expect(tenants.map((tenant) => [tenant.id, tenant.pricing_mode])).toEqual([[(outcome as { tenantId: string }).tenantId, 'production']]);
    const users = await collect(acronis().listUsers({ tenantId: tenants[0]!.id }));
    expect(users.map((user) => user.login)).toEqual([world.companyName.toLowerCase().replace(' ', '.')]);
  });

  it('refuses for good what cannot succeed, and leaves a long rate-limit wait to Temporal with the delay Acronis asks', async () => {
    const world = await provisioningWorld('autotask');
    await world.psa.seeder.createAgreement(world.companyId, [{ productId: world.products.workstations, quantity: 2, billing: 'prepaid' }], daysAgo(5));
    await upsertCompanyMapping(database.db, world.partnerId, world.companyId, null);
    await addFault(sims.urls.acronis, { match: '^/api/2/tenants$', method: 'POST', kind: 'status', status: 400, times: 1 });
    expect(await run(activities.provisionCustomer, world.customer).catch((error: unknown) => error)).toMatchObject({ type: 'acronis.validation', nonRetryable: true });

    // Waits of up to 10 s are spent inside the call (clients/request-limiter.ts); a longer one fails the attempt.
    await addFault(sims.urls.acronis, { match: 'available_for_child$', kind: 'rate-limit', retryAfterSeconds: 60, times: 1 });
    expect(await run(activities.provisionCustomer, world.customer).catch((error: unknown) => error)).toMatchObject({ type: 'acronis.rate-limited', nonRetryable: false, nextRetryDelay: 60_000 });
  });

  it('adopts the partner customer tenant of the company name instead of making a second one', async () => {
    const world = await provisioningWorld('connectwise-manage');
    await world.psa.seeder.createAgreement(world.companyId, [{ productId: world.products.servers, quantity: 1, billing: 'payg' }], daysAgo(5));
    await upsertCompanyMapping(database.db, world.partnerId, world.companyId, null);
    const client = acronis();
    const existing = await client.createTenant({ name: world.companyName, kind: 'customer', parent_id: (await client.getApiClient()).tenant_id, enabled: false });

    expect(await run(activities.provisionCustomer, world.customer)).toMatchObject({ status: 'provisioned', tenantId: existing.id, tenantCreated: false, userCreated: true });
    const [tenant] = await customerTenants(world.companyName);
    expect(tenant).toMatchObject({ id: existing.id, enabled: true, pricing_mode: 'trial' });
    expect((await findCompanyMapping(database.db, world.partnerId, world.companyId))?.tenantId).toBe(existing.id);
  });

  it('skips tenants it must not manage and mappings whose tenant is gone, writing nothing', async () => {
    const world = await provisioningWorld('autotask');
    await world.psa.seeder.createAgreement(world.companyId, [{ productId: world.products.servers, quantity: 1, billing: 'payg' }], daysAgo(5));
    const client = acronis();
    const selfService = await client.createTenant({ name: 'Self-service customer', kind: 'customer', parent_id: (await client.getApiClient()).tenant_id, ancestral_access: false });
    await upsertCompanyMapping(database.db, world.partnerId, world.companyId, selfService.id);

    const before = (await requestLog(sims.urls.acronis)).length;
    expect(await run(activities.provisionCustomer, world.customer)).toEqual({ status: 'skipped', tenantId: selfService.id, reason: expect.stringMatching(/self-service mode/) });
    expect(writes((await requestLog(sims.urls.acronis)).slice(before))).toEqual([]);

    await upsertCompanyMapping(database.db, world.partnerId, world.companyId, '0a0a0a0a-1111-2222-3333-444444444444');
    expect(await run(activities.provisionCustomer, world.customer)).toEqual({
      status: 'skipped',
      tenantId: '0a0a0a0a-1111-2222-3333-444444444444',
      reason: 'mapped tenant 0a0a0a0a-1111-2222-3333-444444444444 no longer exists in Acronis',
    });
  });

  it('needs attention, writing nothing, for a company without a primary contact in primary-contact mode', async () => {
    const world = await provisioningWorld('connectwise-manage', { provisioning: { accountBasis: 'primary-contact' } });
    const bare = await world.psa.seeder.createCompany('No Contact Ltd');
    await world.psa.seeder.createAgreement(bare, [{ productId: world.products.servers, quantity: 1, billing: 'payg' }], daysAgo(5));
    await upsertCompanyMapping(database.db, world.partnerId, bare, null);
    expect(await run(activities.provisionCustomer, { partnerId: world.partnerId, psaCompanyId: bare })).toEqual({ status: 'needs-attention', tenantId: null, reason: expect.stringMatching(/"No Contact Ltd" has no primary contact/) });
    expect(await customerTenants('No Contact Ltd')).toEqual([]);
  });
});

describe('trial, deprovisioning and deletion', () => {
  it('switches a trial tenant to production once', async () => {
    const world = await provisioningWorld('autotask', { provisioning: { tenantMode: 'trial' } });
    await world.psa.seeder.createAgreement(world.companyId, [{ productId: world.products.servers, quantity: 1, billing: 'payg' }], daysAgo(5));
    await upsertCompanyMapping(database.db, world.partnerId, world.companyId, null);
    const { tenantId } = (await run(activities.provisionCustomer, world.customer)) as { tenantId: string };

    await run(activities.switchToProduction, { ...world.customer, tenantId });
    expect((await acronis().getPricing(tenantId)).mode).toBe('production');
    const before = (await requestLog(sims.urls.acronis)).length;
    await run(activities.switchToProduction, { ...world.customer, tenantId });
    expect(writes((await requestLog(sims.urls.acronis)).slice(before))).toEqual([]);
  });

  it('plans the ladder in the partner zone from the settings', async () => {
    const world = await provisioningWorld('autotask', { deprovisioning: { zeroQuotas: false, disableAfterDays: 3, deleteAfterDays: null } });
    const startedAtMs = Date.UTC(2027, 2, 26, 12);
    expect(await run(activities.planDeprovisioning, { ...world.customer, startedAtMs })).toEqual({ zeroQuotas: false, disableAtMs: daysLater(startedAtMs, 3, 'Europe/Berlin'), deleteAtMs: null });
  });

  it('zeroes the quotas, disables, then deletes a tenant whose mapping was removed, and forgets it', async () => {
    const world = await provisioningWorld('connectwise-manage');
    await world.psa.seeder.createAgreement(world.companyId, [{ productId: world.products.workstations, quantity: 4, billing: 'prepaid' }], daysAgo(5));
    await upsertCompanyMapping(database.db, world.partnerId, world.companyId, null);
    const { tenantId } = (await run(activities.provisionCustomer, world.customer)) as { tenantId: string };
    await deleteCompanyMapping(database.db, world.partnerId, world.companyId);
    const target = { ...world.customer, tenantId, cause: 'mapping-removed' as const };

    expect(await run(activities.zeroQuotas, target)).toEqual({ status: 'done' });
    const items = await acronis().listOfferingItems(tenantId);
    expect(items.filter((item) => item.status === 1).map((item) => [item.name, item.quota?.value])).toEqual(expect.arrayContaining([['pw_base_workstations', 0], ['pw_base_storage', 0]]));
    expect(items.filter((item) => item.status === 1).every((item) => item.quota?.value === 0)).toBe(true);

    const before = (await requestLog(sims.urls.acronis)).length;
    expect(await run(activities.deleteTenant, target)).toEqual({ status: 'done' });
    expect(writes((await requestLog(sims.urls.acronis)).slice(before)).map((entry) => entry.method)).toEqual(['PUT', 'DELETE']);
    expect((await acronis().getTenant(tenantId, { allowDeleted: true })).deleted_at).not.toBeNull();
    // Gone is gone: a repeat is fine.
    expect(await run(activities.deleteTenant, target)).toEqual({ status: 'done' });
  });
});

describe('discoverCustomers', () => {
  async function customerWorkflowExists(partnerId: string, companyId: string): Promise<boolean> {
    try {
      return (await temporal.workflow.getHandle(customerWorkflowId(partnerId, companyId)).describe()).type === 'customerProvisioning';
    } catch {
      return false;
    }
  }

  it('maps in automatic mode only companies with active mapped lines, and signals a customer only when its lines change', async () => {
    const world = await provisioningWorld('connectwise-manage');
    const other = await world.psa.seeder.createProduct('Unrelated service');
    const withServices = world.companyId;
    const withoutServices = await world.psa.seeder.createCompany('Idle Ltd');
    const unrelated = await world.psa.seeder.createCompany('Unrelated Ltd');
    await world.psa.seeder.createAgreement(withServices, [{ productId: world.products.workstations, quantity: 2, billing: 'prepaid' }], daysAgo(5));
    await world.psa.seeder.createAgreement(unrelated, [{ productId: other, quantity: 2, billing: 'prepaid' }], daysAgo(5));

    // Manual mode: only what an admin mapped.
    const manual = await run(activities.discoverCustomers, { partnerId: world.partnerId, force: false });
    expect(manual).toEqual({ status: 'done', summary: { companies: expect.any(Number), mapped: 0, newlyMapped: 0, signalled: 0 } });
    await upsertCompanyMapping(database.db, world.partnerId, withoutServices, null);
    expect(await run(activities.discoverCustomers, { partnerId: world.partnerId, force: false })).toMatchObject({ summary: { mapped: 1, newlyMapped: 0, signalled: 1 } });
    expect(await customerWorkflowExists(world.partnerId, withoutServices)).toBe(true);

    await configure(world.partnerId, { provisioning: { automatic: true } });
    expect(await run(activities.discoverCustomers, { partnerId: world.partnerId, force: false })).toMatchObject({ summary: { mapped: 2, newlyMapped: 1, signalled: 1 } });
    expect(await findCompanyMapping(database.db, world.partnerId, withServices)).toMatchObject({ tenantId: null });
    expect(await findCompanyMapping(database.db, world.partnerId, unrelated)).toBeUndefined();
    expect(await customerWorkflowExists(world.partnerId, withServices)).toBe(true);

    // Nothing changed: nothing to tell.
    expect(await run(activities.discoverCustomers, { partnerId: world.partnerId, force: false })).toMatchObject({ summary: { mapped: 2, newlyMapped: 0, signalled: 0 } });
    await world.psa.seeder.createAgreement(withServices, [{ productId: world.products.servers, quantity: 1, billing: 'payg' }], daysAgo(1));
    expect(await run(activities.discoverCustomers, { partnerId: world.partnerId, force: false })).toMatchObject({ summary: { signalled: 1 } });
    expect(await run(activities.discoverCustomers, { partnerId: world.partnerId, force: true })).toMatchObject({ summary: { signalled: 2 } });

    await configure(world.partnerId, { provisioning: { enabled: false } });
    expect(await run(activities.discoverCustomers, { partnerId: world.partnerId, force: false })).toEqual({ status: 'off', reason: 'provisioning is switched off for the partner (provisioning.enabled)' });
  });

  it('resumes from its heartbeat: a retried pass skips the companies it already handled', async () => {
    const world = await provisioningWorld('autotask', { provisioning: { automatic: true } });
    await world.psa.seeder.createAgreement(world.companyId, [{ productId: world.products.servers, quantity: 1, billing: 'payg' }], daysAgo(5));
    const carried = { processed: Number.MAX_SAFE_INTEGER, summary: { companies: 7, mapped: 0, newlyMapped: 0, signalled: 0 } };
    const resumed = await new MockActivityEnvironment({ heartbeatDetails: carried }).run(activities.discoverCustomers, { partnerId: world.partnerId, force: false });
    expect(resumed).toEqual({ status: 'done', summary: carried.summary });
    expect(await run(activities.discoverCustomers, { partnerId: world.partnerId, force: false })).toMatchObject({ summary: { newlyMapped: 1, signalled: 1 } });
  });

  it('assesses a customer from its mapping and lines', async () => {
    const world = await provisioningWorld('autotask');
    expect(await run(activities.assessCustomer, world.customer)).toEqual({ status: 'unmapped' });
    await upsertCompanyMapping(database.db, world.partnerId, world.companyId, null);
    expect(await run(activities.assessCustomer, world.customer)).toEqual({ status: 'no-services' });
    await world.psa.seeder.createAgreement(world.companyId, [{ productId: world.products.vms, quantity: 1, billing: 'prepaid' }], daysAgo(5));
    expect(await run(activities.assessCustomer, world.customer)).toEqual({ status: 'provision' });
    expect(await run(activities.assessCustomer, { partnerId: '5b0c7a54-0000-4000-8000-000000000000', psaCompanyId: '1' })).toEqual({ status: 'off', reason: 'the partner was removed' });
  });
});
