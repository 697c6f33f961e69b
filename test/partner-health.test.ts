import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { collect } from '../clients/collect.ts';
import { PartnerClientsCache } from '../clients/partner-clients.ts';
import { ConnectWiseManageClient } from '../clients/connectwise-manage/client.ts';
import { DEFAULT_CREDENTIALS } from '../simulators/default-credentials.ts';
import type { RunningSimulators } from '../simulators/index.ts';
import { acronisDistributor, createAcronisApiClient, type AcronisPartnerAccount } from '../simulators/seeding/acronis.ts';
import { autotaskCredentials } from '../simulators/seeding/autotask.ts';
import { connectWiseManageConfig, connectWiseManageSeeder } from '../simulators/seeding/connectwise-manage.ts';
import { provisioningLoopWorkflowId } from '../workflows/contracts/provisioning.ts';
import { credentialsRejectedSignal, partnerWorkflowId } from '../workflows/contracts/partner.ts';
import { PartnerHealthAttribute } from '../workflows/search-attributes.ts';
import { eventually } from './eventually.ts';
import { startApiHarness, type ApiHarness } from './api-harness.ts';
// After the API: the app's zod schemas carry their OpenAPI metadata only once @hono/zod-openapi has extended zod.
import { createPartnerHealthActivities } from '../activities/partner-health.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { testKeyring } from './fixtures/test-keys.ts';
import { freePort } from './free-port.ts';
import { newAcronisPartnerAccount } from './partners.ts';
import { startTestSimulators } from './simulators.ts';

/**
 * Partner health as an admin meets it, over HTTP against the simulated vendors: credentials checked
 * when saved, a credential refused at run time pausing the loops until it is changed, mappings that
 * broke, tokens that see one partner, and the metrics an operator scrapes.
 */

let sims: RunningSimulators;
let database: TestDatabase;
let api: ApiHarness;

beforeAll(async () => {
  [database, sims] = await Promise.all([createTestDatabase(), startTestSimulators()]);
  api = await startApiHarness(database.db, testKeyring());
});
afterAll(async () => {
  await api.close();
  await sims.close();
  await database.drop();
});

async function call(method: string, path: string, body?: unknown, token?: string) {
  const response = await api.request(method, path, { body, token });
  if (response.status >= 300) throw new Error(`${method} ${path} → ${response.status} ${response.text}`);
  return response.json;
}

type Registration = { name: string; timezone: string; acronis: Record<string, string>; psa: Record<string, string>; rmm?: Record<string, string> };

async function registration(psaKind: 'connectwise-manage' | 'autotask' = 'connectwise-manage', account?: AcronisPartnerAccount): Promise<Registration> {
  const { clientId, clientSecret } = account ?? (await newAcronisPartnerAccount(sims.urls.acronis));
  return {
    name: `MSP ${randomUUID().slice(0, 8)}`,
    timezone: 'Europe/Berlin',
    acronis: { baseUrl: sims.urls.acronis, clientId, clientSecret },
    psa:
      psaKind === 'connectwise-manage'
        ? { kind: psaKind, baseUrl: sims.urls['connectwise-manage'], ...DEFAULT_CREDENTIALS['connectwise-manage'] }
        : { kind: psaKind, ...autotaskCredentials(sims.urls.autotask) },
    rmm: { kind: 'connectwise-automate', baseUrl: sims.urls.automate, ...DEFAULT_CREDENTIALS.automate },
  };
}

const rowCounts = async () =>
  Object.fromEntries(
    await Promise.all(
      (['partners', 'credentials', 'partner_settings', 'audit_log'] as const).map(async (table) => [table, Number((await sql<{ n: string }>`select count(*) as n from ${sql.table(table)}`.execute(database.db)).rows[0]!.n)]),
    ),
  );

describe('credentials are checked before anything is saved (F1.2)', () => {
  const wrong = 'not-the-right-one-7f3a';
  const cases: { refused: string; psa?: 'autotask'; change: (body: Registration) => void | Promise<void>; path: string; message: RegExp }[] = [
    { refused: 'an Acronis client secret that is wrong', change: (body) => void (body.acronis.clientSecret = wrong), path: 'acronis.clientSecret', message: /^Acronis refused the API client: unknown client id or wrong secret/ },
    { refused: 'an Acronis API client that does not exist', change: (body) => void (body.acronis.clientId = randomUUID()), path: 'acronis.clientSecret', message: /^Acronis refused the API client/ },
    {
      refused: 'an Acronis API client that is disabled',
      change: async (body) => void (await acronisDistributor(sims.urls.acronis).setApiClientStatus(body.acronis.clientId!, 'disabled')),
      path: 'acronis.clientId',
      message: /^Acronis refused the API client: it is disabled/,
    },
    { refused: 'a ConnectWise Manage company that does not exist', change: (body) => void (body.psa.companyId = 'nosuchco'), path: 'psa.companyId', message: /^ConnectWise Manage has no company 'nosuchco'/ },
    { refused: 'a ConnectWise Manage private key that is wrong', change: (body) => void (body.psa.privateKey = wrong), path: 'psa.privateKey', message: /^ConnectWise Manage refused the API member keys/ },
    { refused: 'a ConnectWise Manage public key that is wrong', change: (body) => void (body.psa.publicKey = wrong), path: 'psa.privateKey', message: /wrong public or private key/ },
    { refused: 'a ConnectWise Manage clientId that is not registered', change: (body) => void (body.psa.clientId = wrong), path: 'psa.clientId', message: /^ConnectWise Manage refused the clientId/ },
    { refused: 'an Autotask API user that does not exist', psa: 'autotask', change: (body) => void (body.psa.username = 'nobody@example.com'), path: 'psa.username', message: /^Autotask knows no API user 'nobody@example.com'/ },
    { refused: 'an Autotask secret that is wrong', psa: 'autotask', change: (body) => void (body.psa.secret = wrong), path: 'psa.secret', message: /^Autotask refused the API user/ },
    { refused: 'an Autotask integration code that is refused', psa: 'autotask', change: (body) => void (body.psa.integrationCode = wrong), path: 'psa.integrationCode', message: /^Autotask refused the integration code/ },
    { refused: 'a ConnectWise Automate password that is wrong', change: (body) => void (body.rmm!.password = wrong), path: 'rmm.password', message: /^ConnectWise Automate refused the sign-in/ },
    { refused: 'a ConnectWise Automate ClientId that is not registered', change: (body) => void (body.rmm!.clientId = wrong), path: 'rmm.clientId', message: /^ConnectWise Automate refused the ClientId/ },
  ];

  for (const { refused, psa, change, path, message } of cases) {
    it(`answers 422 naming ${path} to ${refused}, and saves nothing`, async () => {
      const body = await registration(psa);
      await change(body);
      const before = await rowCounts();
      const response = await api.request('POST', '/v1/partners', { body });
      expect(response.status, response.text).toBe(422);
      expect(response.headers.get('content-type')).toBe('application/problem+json');
      expect(response.json.errors).toEqual([{ path, message: expect.stringMatching(message) }]);
      expect(await rowCounts()).toEqual(before);
    });
  }

  it('answers 502 naming the system that does not answer, and saves nothing', async () => {
    const body = await registration();
    body.acronis.baseUrl = `http://localhost:${await freePort()}`;
    const before = await rowCounts();
    const response = await api.request('POST', '/v1/partners', { body });
    expect(response.status).toBe(502);
    expect(response.json.title).toBe('Acronis did not answer');
    expect(response.json.errors).toEqual([{ path: 'acronis.baseUrl', message: expect.stringContaining('network') }]);
    expect(await rowCounts()).toEqual(before);
  });

  it('checks changed credentials as they would be stored, and keeps the old ones when refused', async () => {
    const created = await call('POST', '/v1/partners', await registration());
    expect(created).toMatchObject({ health: 'ok', acronis: { tenantId: expect.any(String) } });
    const refused = await api.request('PATCH', `/v1/partners/${created.id}`, { body: { name: 'Renamed', psa: { kind: 'connectwise-manage', privateKey: wrong } } });
    expect(refused.status).toBe(422);
    expect(refused.json.errors).toEqual([{ path: 'psa.privateKey', message: expect.stringMatching(/^ConnectWise Manage refused/) }]);
    expect(await call('GET', `/v1/partners/${created.id}`)).toMatchObject({ name: created.name });
    // The stored private key still works: only the public key changes, and is checked with it.
    const kept = await api.request('PATCH', `/v1/partners/${created.id}`, { body: { psa: { kind: 'connectwise-manage', publicKey: DEFAULT_CREDENTIALS['connectwise-manage'].publicKey } } });
    expect(kept.status, kept.text).toBe(200);
  });
});

/** A Prometheus text document, parsed as a scraper would: every sample line must be well formed. */
function parsePrometheus(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const samples: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) {
      if (line.startsWith('# TYPE ')) expect(line).toMatch(/^# TYPE [a-zA-Z_:][\w:]* (counter|gauge|histogram|summary|untyped)$/);
      continue;
    }
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    expect(match, line).not.toBeNull();
    const labels: Record<string, string> = {};
    for (const [, name, value] of match![2]?.matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g) ?? []) labels[name!] = value!.replace(/\\(.)/g, (_, char: string) => (char === 'n' ? '\n' : char));
    samples.push({ name: match![1]!, labels, value: Number(match![3]) });
  }
  return samples;
}

async function scrape(): Promise<ReturnType<typeof parsePrometheus>> {
  const response = await fetch(`${api.baseUrl}/metrics`);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheus(await response.text());
}

const total = (samples: ReturnType<typeof parsePrometheus>, name: string, labels: Record<string, string>) =>
  samples.filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value)).reduce((sum, sample) => sum + sample.value, 0);

describe('a partner whose credentials are refused while it runs (F1.5), a mapping that breaks (F2.5), and the metrics', () => {
  let account: AcronisPartnerAccount;
  let partnerId: string;
  /** Mapped, and on no agreement: deleting it in the PSA breaks only its mapping. */
  let serversProductId: string;
  let companyId: string;
  let metricsBefore: ReturnType<typeof parsePrometheus>;

  const health = () => call('GET', `/v1/partners/${partnerId}/health`);
  const supervisor = () => call('GET', `/v1/partners/${partnerId}/workflow`);
  const loopRunning = async () => {
    try {
      return (await api.temporal.workflow.getHandle(provisioningLoopWorkflowId(partnerId)).describe()).status.name === 'RUNNING';
    } catch {
      return false;
    }
  };
  const partnerHealthAttribute = async () => (await api.temporal.workflow.getHandle(partnerWorkflowId(partnerId)).describe()).typedSearchAttributes.get(PartnerHealthAttribute);

  beforeAll(async () => {
    metricsBefore = await scrape();
    account = await newAcronisPartnerAccount(sims.urls.acronis);
    partnerId = (await call('POST', '/v1/partners', await registration('connectwise-manage', account))).id;
    const seeder = connectWiseManageSeeder(sims.urls['connectwise-manage']);
    const productId = await seeder.createProduct('Acronis Cyber Protect Workstations');
    serversProductId = await seeder.createProduct('Acronis Cyber Protect Servers');
    await call('PUT', `/v1/partners/${partnerId}/product-mappings`, [
      { offeringItem: 'pw_base_workstations', psaProductId: productId, free: false },
      { offeringItem: 'pw_base_servers', psaProductId: serversProductId, free: false },
    ]);
    await call('PUT', `/v1/partners/${partnerId}/settings`, { provisioning: { enabled: true, automatic: true, activationEmail: 'admin@msp.example' } });
    companyId = await seeder.createCompany(`Fabrikam ${partnerId.slice(0, 6)}`);
    await seeder.addPrimaryContact(companyId, { firstName: 'Ada', lastName: 'Lovelace', email: `ada.${partnerId.slice(0, 6)}@fabrikam.example` });
    await seeder.createAgreement(companyId, [{ productId, quantity: 5, billing: 'prepaid' }], new Date(Date.now() - 40 * 86_400_000).toISOString().slice(0, 10));
    await call('POST', `/v1/partners/${partnerId}/sync`, { what: ['provisioning'] });
    await eventually('the customer tenant', () => collect(acronisDistributor(sims.urls.acronis).listTenants({ parentId: account.tenantId })), (tenants) => tenants.some((tenant) => tenant.kind === 'customer'));
  });

  it('shows every system ok, each with its last success, and no broken mapping', async () => {
    const current = await eventually('acronis ok', health, (value) => value.systems.acronis.status === 'ok' && value.systems.psa.status === 'ok');
    expect(current).toMatchObject({
      systems: { acronis: { status: 'ok', lastSuccessAt: expect.any(String), lastError: null }, psa: { status: 'ok' }, rmm: { status: expect.stringMatching(/ok|unknown/) } },
      brokenMappings: [],
    });
  });

  it('moves the vendor call counters in /metrics, parsed as Prometheus text', async () => {
    const after = await scrape();
    const acronisOk = { system: 'acronis', outcome: 'ok' };
    expect(total(after, 'engine_vendor_calls_total', acronisOk)).toBeGreaterThan(total(metricsBefore, 'engine_vendor_calls_total', acronisOk));
    expect(total(after, 'engine_vendor_calls_total', { system: 'connectwise-manage', outcome: 'ok' })).toBeGreaterThan(0);
    expect(after.some((sample) => sample.labels.operation?.includes('{id}'))).toBe(true);
    // The operation label carries no record ids: one series per kind of call.
    expect(after.filter((sample) => sample.name === 'engine_vendor_calls_total').every((sample) => !/\/\d+(\/|$)|[0-9a-f]{8}-[0-9a-f]{4}-/i.test(sample.labels.operation!))).toBe(true);
  });

  it('lists a product mapping whose PSA product was deleted as broken, in the health and in the product mappings', async () => {
    await new ConnectWiseManageClient(connectWiseManageConfig(sims.urls['connectwise-manage'])).request({ method: 'DELETE', path: `/procurement/catalog/${serversProductId}` });
    const broken = [{ kind: 'product', key: 'pw_base_servers', reason: `PSA product ${serversProductId} no longer exists; map the item again` }];
    expect((await health()).brokenMappings).toEqual(broken);
    const mappings = await call('GET', `/v1/partners/${partnerId}/product-mappings`);
    expect(mappings.items.find((item: { offeringItem: string }) => item.offeringItem === 'pw_base_servers').mapping).toMatchObject({ psaProductId: serversProductId, problem: broken[0]!.reason });
    // Never wiped: the mapping is stored as it was.
    const stored = await database.db.selectFrom('product_mappings').select('psa_product_id').where('partner_id', '=', partnerId).where('offering_item', '=', 'pw_base_servers').execute();
    expect(stored).toEqual([{ psa_product_id: serversProductId }]);
  });

  it('lists an alert mapping whose service board is gone as broken', async () => {
    // Stored as the alert-mapping routes store it (the board existed when it was saved).
    await database.db.insertInto('alert_mappings').values({ partner_id: partnerId, alert_type: 'BackupFailed', enabled: true, ticket: JSON.stringify({ boardId: 987654, statusId: 1 }) }).execute();
    expect((await health()).brokenMappings).toEqual(expect.arrayContaining([{ kind: 'alert', key: 'BackupFailed', reason: 'service board 987654 no longer exists' }]));
    await database.db.deleteFrom('alert_mappings').where('partner_id', '=', partnerId).execute();
  });

  it('shows an Acronis API client disabled while the partner runs as credentials-rejected within one pass, and pauses the loops that need Acronis', async () => {
    await acronisDistributor(sims.urls.acronis).setApiClientStatus(account.clientId, 'disabled');
    // A pass of the running loop may meet the refusal first and pause the loop before this "sync now" arrives.
    const kick = await api.request('POST', `/v1/partners/${partnerId}/sync`, { body: { what: ['provisioning'] } });
    expect([202, 409]).toContain(kick.status);
    const rejected = await eventually('credentials-rejected', health, (value) => value.systems.acronis.status === 'credentials-rejected');
    expect(rejected.systems.acronis.lastError).toMatchObject({ kind: 'auth', message: expect.stringContaining('Acronis') });
    expect(rejected.systems.psa.status).toBe('ok');

    const state = await eventually('the loops paused', supervisor, (value) => value.state?.loopsPaused?.includes('provisioning'));
    expect(state.state).toMatchObject({ loopsOn: [], loopsPaused: ['provisioning'], health: 'credentials-rejected' });
    await eventually('the provisioning loop ended', loopRunning, (running) => !running);
    expect(await partnerHealthAttribute()).toBe('credentials-rejected');
    const listed = (await call('GET', '/v1/partners')).items.find((item: { id: string }) => item.id === partnerId);
    expect(listed.health).toBe('credentials-rejected');
    // "Sync now" does not start a paused loop against the locked account: the reason is the answer.
    const sync = await api.request('POST', `/v1/partners/${partnerId}/sync`, { body: { what: ['provisioning'] } });
    expect(sync.status).toBe(409);
    expect(sync.json.errors).toEqual([{ path: 'what.0', message: expect.stringContaining('provisioning is paused: acronis refused the partner') }]);
    expect(await loopRunning()).toBe(false);
  });

  it('resumes the paused loops on their own once PATCH gives credentials that work', async () => {
    const fresh = await createAcronisApiClient(sims.urls.acronis, account.tenantId, 'rotated after the lock');
    const changed = await call('PATCH', `/v1/partners/${partnerId}`, { acronis: fresh });
    expect(changed).toMatchObject({ health: 'ok', acronis: { clientId: fresh.clientId, tenantId: account.tenantId } });
    expect((await health()).systems.acronis.status).toBe('ok');
    await eventually('the provisioning loop running again', loopRunning, (running) => running);
    const state = await eventually('the loops resumed', supervisor, (value) => value.state?.loopsOn?.includes('provisioning'));
    expect(state.state).toMatchObject({ loopsPaused: [], health: 'ok' });
    await eventually('PartnerHealth ok', partnerHealthAttribute, (value) => value === 'ok');
  });

  it("ends a pause on its own when the vendor accepts the credentials again, at the supervisor's hourly probe", async () => {
    const current = (await call('GET', `/v1/partners/${partnerId}`)).acronis.clientId as string;
    const distributor = acronisDistributor(sims.urls.acronis);
    await distributor.setApiClientStatus(current, 'disabled');
    // The resumed loop's catch-up pass may meet the lock first; then the sync is refused as paused.
    expect([202, 409]).toContain((await api.request('POST', `/v1/partners/${partnerId}/sync`, { body: { what: ['provisioning'] } })).status);
    await eventually('the loops paused again', supervisor, (value) => value.state?.loopsPaused?.includes('provisioning'));

    // The admin enables the client in Acronis and changes nothing in the engine.
    await distributor.setApiClientStatus(current, 'enabled');
    const probe = createPartnerHealthActivities(database.db, new PartnerClientsCache(database.db, testKeyring()));
    await new MockActivityEnvironment({}, { client: api.temporal }).run(probe.probeRejectedCredentials, { partnerId });
    expect((await health()).systems.acronis.status).toBe('ok');
    // The probe runs on the hourly timer, and the supervisor reloads after it; here a reload is asked for.
    await api.temporal.workflow.getHandle(partnerWorkflowId(partnerId)).signal(credentialsRejectedSignal);
    await eventually('the provisioning loop running again', loopRunning, (running) => running);
    expect((await supervisor()).state).toMatchObject({ loopsPaused: [], health: 'ok' });
  });

  it('lists a company mapping whose Acronis tenant was deleted as broken, in the health and in the customers list', async () => {
    const distributor = acronisDistributor(sims.urls.acronis);
    const [tenant] = (await collect(distributor.listTenants({ parentId: account.tenantId }))).filter((candidate) => candidate.kind === 'customer');
    const disabled = await distributor.setTenantEnabled(tenant!.id, tenant!.version, false);
    await distributor.deleteTenant(tenant!.id, disabled.version);
    const reason = expect.stringMatching(new RegExp(`^Acronis tenant ${tenant!.id} (was deleted|no longer exists)`));
    expect((await health()).brokenMappings).toEqual(expect.arrayContaining([{ kind: 'company', key: companyId, reason }]));
    const customers = await call('GET', `/v1/partners/${partnerId}/customers?mapping=mapped`);
    expect(customers.items).toEqual([expect.objectContaining({ psaCompanyId: companyId, mapping: { tenantId: tenant!.id, problem: reason } })]);
  });
});

describe('partner-scoped tokens (F10.2)', () => {
  let own: string;
  let other: string;
  let scoped: string;

  beforeAll(async () => {
    [own, other] = [(await call('POST', '/v1/partners', await registration())).id, (await call('POST', '/v1/partners', await registration('autotask'))).id];
    const created = await call('POST', '/v1/tokens', { name: 'own partner only', role: 'admin', partnerId: own });
    expect(created).toMatchObject({ role: 'admin', partnerId: own });
    scoped = created.token;
  });

  it("answers 404 on every route of another partner, as the API's own document lists them, whatever the method", async () => {
    const document = (await api.request('GET', '/openapi.json', { token: null })).json as { paths: Record<string, Record<string, unknown>> };
    const routes = Object.entries(document.paths).filter(([path]) => path.includes('{id}'));
    expect(routes.length).toBeGreaterThanOrEqual(10);
    for (const [template, operations] of routes) {
      for (const method of Object.keys(operations)) {
        const path = template.replace('{id}', other).replace(/\{(\w+)\}/g, (_, name: string) => (/Id$/.test(name) ? '1' : 'x'));
        const response = await api.request(method.toUpperCase(), path, { token: scoped, body: ['post', 'put', 'patch'].includes(method) ? {} : undefined });
        expect(response.status, `${method.toUpperCase()} ${template}`).toBe(404);
        expect(response.json.detail, `${method.toUpperCase()} ${template}`).toBe(`Partner ${other} does not exist.`);
      }
    }
  });

  it('works on its own partner, and lists only its partner', async () => {
    expect((await api.request('GET', `/v1/partners/${own}`, { token: scoped })).status).toBe(200);
    expect((await api.request('GET', `/v1/partners/${own}/settings`, { token: scoped })).status).toBe(200);
    expect((await api.request('PUT', `/v1/partners/${own}/settings`, { token: scoped, body: { billing: { billingDay: 5 } } })).status).toBe(200);
    expect((await api.request('GET', `/v1/partners/${own}/health`, { token: scoped })).status).toBe(200);
    expect((await api.request('GET', '/v1/partners', { token: scoped })).json.items.map((item: { id: string }) => item.id)).toEqual([own]);
    const audit = (await api.request('GET', '/v1/audit-log', { token: scoped })).json.items as { partnerId: string }[];
    expect(audit.length).toBeGreaterThan(0);
    expect(audit.every((entry) => entry.partnerId === own)).toBe(true);
    expect((await api.request('GET', `/v1/audit-log?partnerId=${other}`, { token: scoped })).status).toBe(404);
  });

  it('cannot create partners or tokens, nor read the token list', async () => {
    const partner = await api.request('POST', '/v1/partners', { token: scoped, body: await registration() });
    expect(partner.status).toBe(403);
    expect((await api.request('POST', '/v1/tokens', { token: scoped, body: { name: 'escalate', role: 'admin' } })).status).toBe(403);
    expect((await api.request('GET', '/v1/tokens', { token: scoped })).status).toBe(403);
  });

  it('decodes no workflow payloads: the codec cannot tell whose they are', async () => {
    const decode = await fetch(`${api.baseUrl}/codec/decode`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Namespace': 'default', Authorization: `Bearer ${scoped}` }, body: JSON.stringify({ payloads: [] }) });
    expect(decode.status).toBe(403);
  });

  it('refuses a token for a partner that does not exist, naming the field', async () => {
    const response = await api.request('POST', '/v1/tokens', { body: { name: 'nobody', role: 'read-only', partnerId: randomUUID() } });
    expect(response.status).toBe(400);
    expect(response.json.errors).toEqual([{ path: 'partnerId', message: 'is not a partner' }]);
  });
});
