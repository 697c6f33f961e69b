import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_CREDENTIALS } from '../../simulators/default-credentials.ts';
import type { RunningSimulators } from '../../simulators/index.ts';
import { addFault, requestLog, startTestSimulators } from '../../test/simulators.ts';
import { VendorApiError } from '../http.ts';
import { AcronisClient, BACKUP_APPLICATION_ID, type AcronisClientOptions } from './client.ts';
import type { OfferingItem, Tenant } from './types.ts';
import { collect } from '../collect.ts';

const HOUR_MS = 3_600_000;
let sims: RunningSimulators;
let acronis: AcronisClient;
let partnerId: string;

const clientFor = (options: Partial<AcronisClientOptions> = {}) =>
  new AcronisClient({ baseUrl: sims.urls.acronis, clientId: DEFAULT_CREDENTIALS.acronis.clientId, clientSecret: DEFAULT_CREDENTIALS.acronis.clientSecret, ...options });

async function failureOf(promise: Promise<unknown>): Promise<VendorApiError> {
  const failure = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(failure).toBeInstanceOf(VendorApiError);
  return failure as VendorApiError;
}

const customer = (name: string) => acronis.createTenant({ name, kind: 'customer', parent_id: partnerId });

async function simControl(path: string, method: string, body: unknown): Promise<Response> {
  return fetch(`${sims.urls.acronis}/_sim/${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** A customer with one registered Windows machine, as an RMM install would leave it. */
async function customerWithMachine(name: string) {
  const tenant = await customer(name);
  const token = await acronis.createRegistrationToken(tenant.id, { expiresInSeconds: 3600 });
  const registration = sims.world.agents.registerAgent({ registrationToken: token.token, machineKey: `${name}-pc`, hostname: `${name}-PC`, os: 'Windows 11 Pro' });
  expect(registration.ok).toBe(true);
  const [resource] = await collect(acronis.listResources({ tenantId: tenant.id }));
  return { tenant, resource: resource!, numericId: token.tenant_id };
}

const enable = (item: Pick<OfferingItem, 'application_id' | 'name' | 'infra_id'>, quota?: OfferingItem['quota']) => ({
  application_id: item.application_id,
  name: item.name,
  status: 1 as const,
  ...(item.infra_id ? { infra_id: item.infra_id } : {}),
  ...(quota ? { quota } : {}),
});

beforeAll(async () => {
  sims = await startTestSimulators();
});
afterAll(() => sims.close());
beforeEach(async () => {
  sims.reset();
  acronis = clientFor();
  partnerId = (await acronis.getApiClient()).tenant_id;
});

describe('authentication', () => {
  it('a wrong secret is a clear, non-retryable auth error', async () => {
    const failure = await failureOf(clientFor({ clientSecret: 'wrong' }).getTenant(partnerId));
    expect(failure).toMatchObject({ kind: 'auth', status: 401, retryable: false, vendorCode: 'invalid_client' });
    expect(failure.message).toMatch(/Client authentication failed/);
  });

  it('an expired token is refreshed transparently, once', async () => {
    await acronis.getTenant(partnerId);
    sims.world.clock.advance(2 * HOUR_MS + 1000);
    const tenant = await acronis.getTenant(partnerId);
    expect(tenant.name).toBe(DEFAULT_CREDENTIALS.acronis.partnerTenantName);
    const calls = (await requestLog(sims.urls.acronis)).map(({ method, path, status }) => `${method} ${path} ${status}`);
    expect(calls.filter((call) => call.startsWith('POST /api/2/idp/token'))).toEqual(['POST /api/2/idp/token 200', 'POST /api/2/idp/token 200']);
    expect(calls.slice(-3)).toEqual([`GET /api/2/tenants/${partnerId} 401`, 'POST /api/2/idp/token 200', `GET /api/2/tenants/${partnerId} 200`]);
  });

  it('an expired token on the Alert Manager (whose 401 is an HTML page) is refreshed too', async () => {
    await collect(acronis.listAlerts());
    sims.world.clock.advance(2 * HOUR_MS + 1000);
    await expect(collect(acronis.listAlerts())).resolves.toEqual([]);
  });

  it('a disabled API client can no longer get tokens', async () => {
    const tenant = await customer('Client Co');
    const created = await acronis.createApiClient(tenant.id, 'customer integration');
    const own = clientFor({ clientId: created.client_id, clientSecret: created.client_secret });
    expect((await own.getApiClient()).tenant_id).toBe(tenant.id);
    await acronis.setApiClientStatus(created.client_id, 'disabled');
    const fresh = clientFor({ clientId: created.client_id, clientSecret: created.client_secret });
    expect(await failureOf(fresh.getTenant(tenant.id))).toMatchObject({ kind: 'auth', retryable: false });
    await acronis.deleteApiClient(created.client_id);
    expect(await failureOf(acronis.getApiClient(created.client_id))).toMatchObject({ kind: 'not-found' });
  });

  it('a customer client cannot reach its partner (forbidden)', async () => {
    const tenant = await customer('Scoped Co');
    const created = await acronis.createApiClient(tenant.id, 'scoped');
    const scoped = clientFor({ clientId: created.client_id, clientSecret: created.client_secret });
    expect(await failureOf(scoped.getTenant(partnerId))).toMatchObject({ kind: 'forbidden', status: 403, vendorCode: 1002 });
  });
});

describe('transport failures', () => {
  it('429 with Retry-After is retryable with the delay', async () => {
    await addFault(sims.urls.acronis, { match: '^/api/2/tenants', kind: 'rate-limit', retryAfterSeconds: 7, times: 1 });
    expect(await failureOf(acronis.getTenant(partnerId))).toMatchObject({ kind: 'rate-limited', status: 429, retryable: true, retryAfterMs: 7000 });
  });

  it('503 is retryable, with the delay when the service names one', async () => {
    await addFault(sims.urls.acronis, { match: '^/api/alert_manager', kind: 'status', status: 503, retryAfterSeconds: 2, times: 1 });
    const failure = await failureOf(collect(acronis.listAlerts()));
    expect(failure).toMatchObject({ kind: 'unavailable', status: 503, retryable: true, retryAfterMs: 2000, vendorCode: 'ServiceUnavailable' });
  });

  it('a slow answer times out as a retryable failure', async () => {
    await addFault(sims.urls.acronis, { match: '^/api/2/tenants', kind: 'latency', delayMs: 400, times: 1 });
    expect(await failureOf(clientFor({ timeoutMs: 150 }).getTenant(partnerId))).toMatchObject({ kind: 'timeout', retryable: true });
  });
});

describe('tenants', () => {
  it('creates a customer in trial, updates it with its version, and refuses a stale version as a conflict', async () => {
    const created = await acronis.createTenant({ name: 'Acme', kind: 'customer', parent_id: partnerId, customer_id: 'psa-42', contact: { email: 'it@acme.test' } });
    expect(created).toMatchObject({ version: 1, kind: 'customer', pricing_mode: 'trial', enabled: true, customer_id: 'psa-42' });
    const updated = await acronis.updateTenant(created.id, created.version, { internal_tag: 'cw:42' });
    expect(updated).toMatchObject({ version: 2, internal_tag: 'cw:42', customer_id: 'psa-42' });
    const stale = await failureOf(acronis.updateTenant(created.id, created.version, { name: 'Acme Ltd' }));
    expect(stale).toMatchObject({ kind: 'conflict', status: 409, vendorCode: 1001, retryable: false });
    expect((await acronis.getTenant(created.id)).name).toBe('Acme');
  });

  it('refuses a duplicate name in the partner hierarchy', async () => {
    await customer('Twin');
    expect(await failureOf(customer('twin'))).toMatchObject({ kind: 'conflict', vendorCode: 1004 });
  });

  it('deletes only a disabled tenant, softly, with its users', async () => {
    const tenant = await customer('Doomed');
    const user = await acronis.createUser({ tenant_id: tenant.id, login: 'doomed-admin', contact: { email: 'a@doomed.test' } });
    expect(await failureOf(acronis.deleteTenant(tenant.id, tenant.version))).toMatchObject({ kind: 'conflict', status: 400, vendorCode: 1006 });
    const disabled = await acronis.setTenantEnabled(tenant.id, tenant.version, false);
    expect(await failureOf(acronis.deleteTenant(tenant.id, tenant.version))).toMatchObject({ kind: 'conflict', vendorCode: 1001 });
    await acronis.deleteTenant(tenant.id, disabled.version);
    expect(await failureOf(acronis.getTenant(tenant.id))).toMatchObject({ kind: 'not-found' });
    expect((await acronis.getTenant(tenant.id, { allowDeleted: true })).deleted_at).not.toBeNull();
    expect(await failureOf(acronis.getUser(user.id))).toMatchObject({ kind: 'not-found' });
    expect(await collect(acronis.listTenants({ parentId: partnerId }))).toEqual([]);
    expect((await collect(acronis.listTenants({ parentId: partnerId, allowDeleted: true }))).map((listed) => listed.id)).toEqual([tenant.id]);
  });

  it('lists tenants across several pages, each cursor carrying the query', async () => {
    const names = Array.from({ length: 12 }, (_, index) => `Customer ${String(index).padStart(2, '0')}`);
    for (const name of names) await customer(name);
    const paged = clientFor({ pageSize: 5 });
    const listed = await collect(paged.listTenants({ parentId: partnerId }));
    expect(listed.map((tenant) => tenant.name)).toEqual(names);
    const pages = (await requestLog(sims.urls.acronis)).filter((entry) => entry.method === 'GET' && entry.path === '/api/2/tenants');
    expect(pages).toHaveLength(3);
    expect(pages[1]!.query).toMatch(/after=%2B%2B%2B%2B/);
    expect(pages[1]!.query).not.toMatch(/parent_id/);
  });

  it('a sync watermark returns only what changed since', async () => {
    const first: Tenant[] = [];
    let watermark = '';
    await customer('Before');
    // Acronis's timestamps have whole seconds: a watermark taken in the same second as a change would include it again.
    sims.world.clock.advance(2000);
    for await (const page of acronis.tenantPages({ subtreeRootId: partnerId })) {
      first.push(...page.items);
      watermark = page.timestamp;
    }
    expect(first.map((tenant) => tenant.name)).toEqual([DEFAULT_CREDENTIALS.acronis.partnerTenantName, 'Before']);
    sims.world.clock.advance(5000);
    await customer('After');
    expect((await collect(acronis.listTenants({ subtreeRootId: partnerId, updatedSince: watermark }))).map((tenant) => tenant.name)).toEqual(['After']);
    expect(await acronis.childTenantIds(partnerId)).toHaveLength(2);
  });

  it('pricing goes from trial to production once, never back', async () => {
    const tenant = await customer('Pricing Co');
    const trial = await acronis.getPricing(tenant.id);
    expect(trial.mode).toBe('trial');
    expect(await failureOf(acronis.setPricingMode(tenant.id, 'production', trial.version - 1))).toMatchObject({ kind: 'conflict', vendorCode: 1001 });
    const production = await acronis.setPricingMode(tenant.id, 'production', trial.version);
    expect(production.mode).toBe('production');
    expect(production.version).toBeGreaterThan(trial.version);
    expect((await acronis.getTenant(tenant.id)).pricing_mode).toBe('production');
    expect(await failureOf(acronis.setPricingMode(tenant.id, 'trial', production.version))).toMatchObject({ kind: 'conflict', vendorCode: 1027 });
  });

  it('MFA is switched per customer and shows on its users', async () => {
    const tenant = await customer('MFA Co');
    const user = await acronis.createUser({ tenant_id: tenant.id, login: 'mfa-user', contact: { email: 'u@mfa.test' } });
    expect(user.mfa_status).toBe('disabled');
    expect(await acronis.setTenantMfa(tenant.id, true)).toMatchObject({ mfa_status: 'enabled', users_count: 1 });
    expect((await acronis.getTenantMfa(tenant.id)).mfa_status).toBe('enabled');
    expect((await acronis.getUser(user.id)).mfa_status).toBe('setup_required');
  });
});

describe('users', () => {
  it('checks a login, creates an admin with a personal tenant, sends the activation e-mail, sets roles', async () => {
    const tenant = await customer('Users Co');
    expect(await acronis.checkLogin('jane.admin')).toBe('available');
    expect(await acronis.checkLogin('x')).toBe('invalid');
    const user = await acronis.createUser({ tenant_id: tenant.id, login: 'jane.admin', contact: { email: 'jane@users.test', firstname: 'Jane', lastname: 'Admin' } });
    expect(user).toMatchObject({ version: 1, activated: false, enabled: true, tenant_id: tenant.id });
    expect(user.personal_tenant_id).not.toBeNull();
    expect(await acronis.checkLogin('Jane.Admin')).toBe('taken');
    expect(await failureOf(acronis.createUser({ tenant_id: tenant.id, login: 'jane.admin', contact: { email: 'other@users.test' } }))).toMatchObject({ kind: 'conflict', status: 409 });
    await acronis.sendActivationEmail(user.id);
    const state = (await (await fetch(`${sims.urls.acronis}/_sim/state`)).json()) as { activationEmails: { userId: string }[] };
    expect(state.activationEmails.map((email) => email.userId)).toEqual([user.id]);
    const policies = await acronis.setUserRoles(user.id, tenant.id, ['company_admin']);
    expect(policies).toEqual([expect.objectContaining({ role_id: 'company_admin', trustee_id: user.id, tenant_id: tenant.id })]);
    expect(policies![0]!.id).not.toBe('00000000-0000-0000-0000-000000000000');
    expect((await collect(acronis.listUsers({ tenantId: tenant.id, withAccessPolicies: true }))).map((listed) => listed.access_policies?.[0]?.role_id)).toEqual(['company_admin']);
  });

  it('updates and deletes a user by version', async () => {
    const tenant = await customer('Versioned Users');
    const user = await acronis.createUser({ tenant_id: tenant.id, login: 'v-user', contact: { email: 'v@users.test' } });
    const disabled = await acronis.updateUser(user.id, user.version, { enabled: false });
    expect(disabled).toMatchObject({ version: 2, enabled: false });
    expect(await failureOf(acronis.deleteUser(user.id, user.version))).toMatchObject({ kind: 'conflict', vendorCode: 1001 });
    await acronis.deleteUser(user.id, disabled.version);
    expect(await acronis.checkLogin('v-user')).toBe('available');
  });
});

describe('services, offering items and usages', () => {
  it('offers the partner catalogue in every edition, the legacy standard one by default', async () => {
    const catalogue = await acronis.offeringItemsAvailableForChild(partnerId);
    const names = catalogue.map((item) => item.name);
    expect(names).toEqual(expect.arrayContaining(['pw_base_workstations', 'pw_base_servers', 'pw_base_virtualhosts', 'pw_base_o365_seats', 'pw_base_storage', 'pg_base_workstations', 'storage', 'local_storage']));
    expect(catalogue.find((item) => item.name === 'pw_base_storage')).toMatchObject({ type: 'infra', measurement_unit: 'bytes', edition: 'pck_per_workload' });
    const standardOnly = await acronis.offeringItemsAvailableForChild(partnerId, { edition: 'standard' });
    expect(standardOnly.every((item) => item.edition === 'standard' || item.edition === null)).toBe(true);
    expect((await acronis.listApplications()).find((application) => application.id === BACKUP_APPLICATION_ID)?.type).toBe('backup');
    const storages = await acronis.tenantStorageIds(partnerId);
    expect((await acronis.getStorage(storages[0]!)).capabilities).toContain('backup');
  });

  it('sets quotas with versions, unlimited at version 0, and refuses a stale quota version', async () => {
    const tenant = await customer('Quota Co');
    const catalogue = await acronis.offeringItemsAvailableForChild(partnerId);
    const byName = (name: string) => catalogue.find((item) => item.name === name)!;
    const [workstations, storage] = await acronis.setOfferingItems(tenant.id, [enable(byName('pw_base_workstations'), { value: 10, overage: 0, version: 0 }), enable(byName('pw_base_storage'))]);
    expect(workstations!.quota).toMatchObject({ value: 10, overage: 0 });
    expect(workstations!.quota!.version).toBeGreaterThan(0);
    expect(storage!.quota).toEqual({ value: null, overage: null, version: 0 });
    expect(await acronis.tenantApplicationIds(tenant.id)).toContain(BACKUP_APPLICATION_ID);
    expect(await failureOf(acronis.setOfferingItems(tenant.id, [enable(byName('pw_base_workstations'), { value: 20, overage: 0, version: 0 })]))).toMatchObject({ kind: 'conflict', vendorCode: 1001 });
    const [raised] = await acronis.setOfferingItems(tenant.id, [enable(byName('pw_base_workstations'), { value: 20, overage: 0, version: workstations!.quota!.version })]);
    expect(raised!.quota!.value).toBe(20);
    const [disabled] = await acronis.setOfferingItems(tenant.id, [{ ...enable(byName('pw_base_workstations')), status: 0 }]);
    expect(disabled).toMatchObject({ status: 0 });
    expect(disabled!.quota).toBeUndefined();
    const listed = await acronis.listOfferingItems(tenant.id, { status: 1 });
    expect(listed.map((item) => item.name)).toEqual(['pw_base_storage']);
  });

  it('refuses what the parent lacks and a second edition for a customer', async () => {
    const tenant = await customer('Rules Co');
    const catalogue = await acronis.offeringItemsAvailableForChild(partnerId);
    const byName = (name: string) => catalogue.find((item) => item.name === name)!;
    await acronis.setOfferingItems(tenant.id, [enable(byName('pw_base_workstations'))]);
    expect(await failureOf(acronis.setOfferingItems(tenant.id, [enable(byName('pg_base_servers'))]))).toMatchObject({ kind: 'validation', vendorCode: 1023 });
    const unit = await acronis.createTenant({ name: 'Rules Unit', kind: 'unit', parent_id: tenant.id });
    expect(await failureOf(acronis.setOfferingItems(unit.id, [enable(byName('pw_base_servers'))]))).toMatchObject({ kind: 'validation', vendorCode: 1021 });
    expect(await failureOf(acronis.createTenant({ name: 'Misplaced', kind: 'unit', parent_id: partnerId }))).toMatchObject({ kind: 'validation', status: 400 });
  });

  it('reports usages with value and absolute_value, rolled up to the partner, in bulk', async () => {
    const first = await customer('Usage One');
    const second = await customer('Usage Two');
    const catalogue = await acronis.offeringItemsAvailableForChild(partnerId);
    for (const tenant of [first, second]) await acronis.setOfferingItems(tenant.id, [enable(catalogue.find((item) => item.name === 'pw_base_workstations')!)]);
    expect((await simControl('usage', 'PUT', { tenantId: first.id, usageName: 'workstations', value: 7 })).status).toBe(200);
    expect((await simControl('usage', 'PUT', { tenantId: first.id, usageName: 'workstations', value: 4 })).status).toBe(200);
    await simControl('usage', 'PUT', { tenantId: second.id, usageName: 'pw_base_workstations', value: 2 });
    const usage = (await acronis.tenantUsages(first.id)).find((item) => item.name === 'pw_base_workstations');
    expect(usage).toMatchObject({ value: 4, absolute_value: 7, usage_name: 'workstations', tenant_uuid: first.id, offering_item: { status: 1 } });
    expect(usage!.range_start).toMatch(/^\d{4}-\d\d-01T00:00:00$/);
    const partnerUsage = (await acronis.tenantUsages(partnerId, { usageNames: ['workstations'] })).find((item) => item.name === 'pw_base_workstations');
    expect(partnerUsage).toMatchObject({ value: 6, absolute_value: 9 });
    const bulk = await acronis.usagesOfTenants([first.id, second.id]);
    expect(bulk.map((entry) => [entry.tenant, entry.usages.find((item) => item.name === 'pw_base_workstations')?.value])).toEqual([
      [first.id, 4],
      [second.id, 2],
    ]);
  });

  it('counts registered machines only at the next usage refresh', async () => {
    const { tenant } = await customerWithMachine('Lagging');
    await acronis.setOfferingItems(tenant.id, [enable((await acronis.offeringItemsAvailableForChild(partnerId)).find((item) => item.name === 'pw_base_workstations')!)]);
    const workstations = async () => (await acronis.tenantUsages(tenant.id)).find((item) => item.usage_name === 'workstations')?.value;
    expect(await workstations()).toBe(0);
    sims.world.clock.advance(6 * HOUR_MS);
    expect(await clientFor().tenantUsages(tenant.id).then((usages) => usages.find((item) => item.usage_name === 'workstations')?.value)).toBe(1);
  });

  it('creates and lists registration tokens', async () => {
    const tenant = await customer('Tokens Co');
    const token = await acronis.createRegistrationToken(tenant.id, { expiresInSeconds: 600 });
    expect(token.token).toMatch(/^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$/);
    expect(token).toMatchObject({ tenant_uuid: tenant.id, tenant_id: expect.stringMatching(/^\d+$/) });
    expect((await acronis.listRegistrationTokens(tenant.id)).map((listed) => listed.id)).toEqual([token.id]);
    sims.world.clock.advance(601_000);
    expect(sims.world.agents.registerAgent({ registrationToken: token.token, machineKey: 'late', hostname: 'LATE', os: 'Windows 11' })).toEqual({ ok: false, reason: 'registration token expired' });
  });

  it('enables and disables a service', async () => {
    const tenant = await customer('Service Co');
    const filesCloud = (await acronis.listApplications()).find((application) => application.type === 'files_cloud')!;
    await acronis.enableApplication(filesCloud.id, tenant.id);
    expect(await acronis.tenantApplicationIds(tenant.id)).toContain(filesCloud.id);
    await acronis.disableApplication(filesCloud.id, tenant.id);
    expect(await acronis.tenantApplicationIds(tenant.id)).not.toContain(filesCloud.id);
  });
});

describe('alerts', () => {
  it('raises, re-raises under the same id, lists with filters and pages, dismisses', async () => {
    const tenant = await customer('Alerting Co');
    const details = { planId: 'plan-1', planName: 'Daily', resourceId: 'res-1', resourceName: 'PC-1' };
    const id = await acronis.raiseAlert({ type: 'BackupFailed', tenantId: tenant.id, details });
    expect(id).toMatch(/^[0-9A-F-]{36}$/);
    const first = await acronis.getAlert(id.toLowerCase());
    expect(first).toMatchObject({ type: 'BackupFailed', category: 'Backup', severity: 'critical', tenant: { uuid: tenant.id, locator: expect.stringMatching(/^\/1\/\d+\/\d+\/$/) } });
    expect(first.updatedAt).toMatch(/\.\d{9}Z$/);
    sims.world.clock.advance(1000);
    expect(await acronis.raiseAlert({ type: 'BackupFailed', tenantId: tenant.id, details })).toBe(id);
    expect((await acronis.getAlert(id)).updatedAt > first.updatedAt).toBe(true);
    for (let index = 0; index < 4; index++) await acronis.raiseAlert({ type: 'NoBackupForXDays', tenantId: tenant.id, details: { planId: 'plan-1', resourceId: `res-${index + 2}`, daysPassed: 3 } });

    const paged = clientFor({ pageSize: 2 });
    expect(await collect(paged.listAlerts())).toHaveLength(5);
    expect((await collect(paged.listAlerts({ type: ['BackupFailed'] }))).map((alert) => alert.id)).toEqual([id]);
    const sinceNs = BigInt(Date.parse(first.updatedAt)) * 1_000_000n;
    expect((await collect(acronis.listAlerts({ updatedAfterNs: sinceNs + 500_000_000n }))).map((alert) => alert.type).sort()).toEqual(['BackupFailed', ...Array(4).fill('NoBackupForXDays')].sort());

    await acronis.dismissAlert(id);
    expect((await collect(acronis.listAlerts())).map((alert) => alert.type)).not.toContain('BackupFailed');
    expect(await failureOf(acronis.getAlert(id))).toMatchObject({ kind: 'not-found', status: 404 });
    expect((await acronis.getAlert(id, { showDeleted: true })).deletedAt).toBeDefined();
    await acronis.dismissAlerts({ type: ['NoBackupForXDays'] });
    expect(await collect(acronis.listAlerts())).toEqual([]);
    expect(await collect(acronis.listAlerts({ showDeleted: true }))).toHaveLength(5);
    await expect(acronis.dismissAlerts({})).rejects.toThrow(RangeError);
    expect((await acronis.alertTypes()).map((type) => type.id)).toContain('BackupFailed');
  });

  it('an alert resolved by the vendor disappears from the default listing', async () => {
    const id = await acronis.raiseAlert({ type: 'MachineOffline', details: { resourceId: 'r', resourceName: 'PC' } });
    expect((await simControl(`alerts/${id}/resolve`, 'POST', {})).status).toBe(204);
    expect(await collect(acronis.listAlerts())).toEqual([]);
    expect((await collect(acronis.listAlerts({ showDeleted: true })))[0]!.deletedAt).toBeDefined();
  });
});

describe('machines, plans, backups, agents and activities', () => {
  it('an agent registered with a token shows up as an agent and a machine; it can be updated and removed', async () => {
    const { tenant, resource, numericId } = await customerWithMachine('Agents');
    const agents = await collect(acronis.listAgents({ tenantNumericId: numericId }));
    expect(agents).toEqual([expect.objectContaining({ hostname: 'Agents-PC', online: true, up_to_date: false, tenant: { id: numericId, name: tenant.name }, platform: expect.objectContaining({ family: 'WINDOWS' }) })]);
    expect(resource).toMatchObject({ name: 'Agents-PC', type: 'resource.machine', tenant_id: numericId, agent_id: agents[0]!.id });
    expect((await acronis.getResource(resource.id)).external_id).toBe(`${agents[0]!.id}@${numericId}`);
    await acronis.forceAgentUpdate([agents[0]!.id]);
    expect(await acronis.getAgent(agents[0]!.id)).toMatchObject({ up_to_date: true });
    expect(sims.world.agents.agentOf('Agents-pc')?.version).toBe((await acronis.getAgent(agents[0]!.id)).core_version.current.build);
    expect(await collect(acronis.listAgents({ hostname: 'hlike(agents)' }))).toHaveLength(1);
    await acronis.deleteAgents([agents[0]!.id]);
    expect(await collect(acronis.listResources({ tenantId: tenant.id }))).toEqual([]);
    expect(sims.world.agents.agentOf('Agents-pc')).toBeUndefined();
  });

  it('a plan applied to a machine backs up on its schedule; failures raise one alert that a success clears', async () => {
    const { tenant, resource } = await customerWithMachine('Backups');
    const planId = await acronis.createProtectionPlan({ name: 'Every 4 hours', tenantId: tenant.id, schedule: { type: 'hourly', every_hours: 4 } });
    expect(await acronis.applyPlan(planId, [resource.id])).toEqual([]);
    const [application] = await collect(acronis.listPlanApplications({ planId, resourceId: resource.id }));
    expect(application!.next_run_time).not.toBeNull();

    expect((await simControl('backups/outcome', 'POST', { resourceId: resource.id, outcome: 'fail', error: 'Disk full' })).status).toBe(204);
    sims.world.clock.advance(4 * HOUR_MS + 61_000);
    const session = clientFor();
    const [failed] = await collect(session.listAlerts({ type: ['BackupFailed'] }));
    expect(failed!.details).toMatchObject({ planId, planName: 'Every 4 hours', resourceId: resource.id, resourceName: 'Backups-PC', error: { text: 'Disk full' } });

    sims.world.clock.advance(4 * HOUR_MS);
    const [again] = await collect(session.listAlerts({ type: ['BackupFailed'] }));
    expect(again!.id).toBe(failed!.id);
    expect(again!.updatedAt > failed!.updatedAt).toBe(true);

    await simControl('backups/outcome', 'POST', { resourceId: resource.id, outcome: 'succeed' });
    await session.runPlan(planId, [resource.id]);
    sims.world.clock.advance(61_000);
    expect(await collect(session.listAlerts())).toEqual([]);
    expect((await session.getAlert(failed!.id, { showDeleted: true })).deletedAt).toBeDefined();

    const activities = await collect(session.listActivities({ resourceId: resource.id, order: 'asc(createdAt)' }));
    expect(activities.map((activity) => activity.result?.code)).toEqual(['error', 'error', 'ok']);
    expect(BigInt(activities[0]!.id) > BigInt(Number.MAX_SAFE_INTEGER)).toBe(true);
    expect(activities[0]!.policy).toMatchObject({ type: 'policy.backup.machine' });
    expect((await session.getActivity(activities[2]!.id)).id).toBe(activities[2]!.id);
    expect((await collect(session.listActivities({ policyId: planId, resultCode: 'error' })))).toHaveLength(2);
  });

  it('lists plans across pages, runs one on demand, revokes and deletes it', async () => {
    const { tenant, resource } = await customerWithMachine('Plans');
    const planIds: string[] = [];
    for (let index = 0; index < 3; index++) planIds.push(await acronis.createProtectionPlan({ name: `Plan ${index}`, tenantId: tenant.id }));
    const plans = await collect(clientFor({ pageSize: 2 }).listProtectionPlans({ tenantId: tenant.id, includeSettings: true }));
    // Plans made within one millisecond list in id order: every plan once, across the pages.
    expect(plans.map((plan) => plan.policy[0]!.id).sort()).toEqual([...planIds].sort());
    expect(plans[0]!.policy.map((policy) => policy.type)).toEqual(['policy.protection.total', 'policy.backup.machine']);
    expect(await failureOf(acronis.runPlan(planIds[0]!, [resource.id]))).toMatchObject({ kind: 'validation', status: 422, vendorCode: 'NoApplicationsError' });
    await acronis.applyPlan(planIds[0]!, [resource.id]);
    await acronis.runPlan(planIds[0]!);
    const [running] = await collect(acronis.listActivities({ state: 'started' }));
    expect(running!.resource?.id).toBe(resource.id);
    await acronis.revokePlan(planIds[0]!, [resource.id]);
    expect(await collect(acronis.listPlanApplications({ planId: planIds[0]! }))).toEqual([]);
    await acronis.deleteProtectionPlan(planIds[1]!);
    expect(await collect(acronis.listProtectionPlans({ tenantId: tenant.id }))).toHaveLength(2);
  });
});
