import { setTimeout as delay } from 'node:timers/promises';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../db/api-tokens.ts';
import { readLineWatermark, saveLineWatermark } from '../db/company-lines.ts';
import { AcronisClient } from '../clients/acronis/client.ts';
import { SecretBox } from '../security/secret-box.ts';
import { partnerWorkflowId } from '../workflows/contracts/partner.ts';
import type { RunningSimulators } from '../simulators/index.ts';
import { DEFAULT_CREDENTIALS } from '../simulators/default-credentials.ts';
import { startApiHarness, type ApiHarness } from './api-harness.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { testKeyring } from './fixtures/test-keys.ts';
import { freePort } from './free-port.ts';
import { newAcronisPartnerAccount } from './partners.ts';
import { startTestSimulators } from './simulators.ts';

/** Every secret a partner was registered with: none may come back in an answer or sit in PostgreSQL in clear. */
const SECRETS: string[] = [DEFAULT_CREDENTIALS['connectwise-manage'].privateKey, DEFAULT_CREDENTIALS.automate.password];

/** A registration against the simulators; each partner has an Acronis account of its own (one account serves one partner). */
async function contoso(sims: RunningSimulators, name = 'Contoso MSP') {
  const { tenantId: _, ...acronis } = await newAcronisPartnerAccount(sims.urls.acronis);
  SECRETS.push(acronis.clientSecret);
  return {
    name,
    timezone: 'Europe/Berlin',
    acronis: { baseUrl: sims.urls.acronis, ...acronis },
    psa: { kind: 'connectwise-manage', baseUrl: sims.urls['connectwise-manage'], ...DEFAULT_CREDENTIALS['connectwise-manage'] },
    rmm: { kind: 'connectwise-automate', baseUrl: sims.urls.automate, ...DEFAULT_CREDENTIALS.automate },
  };
}

async function eventually<T>(read: () => Promise<T>, until: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (until(value) || Date.now() > deadline) return value;
    await delay(200);
  }
}

describe('admin API', () => {
  let database: TestDatabase;
  let api: ApiHarness;
  let sims: RunningSimulators;
  const keyring = testKeyring();

  const count = async (table: 'partners' | 'audit_log' | 'credentials') =>
    Number((await sql<{ n: string }>`select count(*) as n from ${sql.table(table)}`.execute(database.db)).rows[0]!.n);

  beforeAll(async () => {
    [database, sims] = await Promise.all([createTestDatabase(), startTestSimulators()]);
    api = await startApiHarness(database.db, keyring);
  });
  afterAll(async () => {
    await api.close();
    await sims.close();
    await database.drop();
  });

  describe('authentication', () => {
    it('answers /v1 without a token with 401 problem+json', async () => {
      const response = await api.request('GET', '/v1/partners', { token: null });
      expect(response.status).toBe(401);
      expect(response.headers.get('content-type')).toBe('application/problem+json');
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(response.json).toMatchObject({ status: 401, title: 'Unauthorized', errors: [] });
    });

    it('refuses unknown and revoked tokens', async () => {
      expect((await api.request('GET', '/v1/partners', { token: 'aci_not-a-real-token' })).status).toBe(401);
      const created = await api.request('POST', '/v1/tokens', { body: { name: 'temp', role: 'read-only' } });
      expect((await api.request('GET', '/v1/partners', { token: created.json.token })).status).toBe(200);
      expect((await api.request('DELETE', `/v1/tokens/${created.json.id}`)).status).toBe(204);
      expect((await api.request('GET', '/v1/partners', { token: created.json.token })).status).toBe(401);
    });

    it('stores tokens only as hashes', async () => {
      const created = await api.request('POST', '/v1/tokens', { body: { name: 'ops', role: 'read-only' } });
      const stored = await database.db.selectFrom('api_tokens').select('token_hash').where('id', '=', created.json.id).executeTakeFirstOrThrow();
      expect(stored.token_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(JSON.stringify(await database.db.selectFrom('api_tokens').selectAll().execute())).not.toContain(created.json.token);
      expect((await api.request('GET', '/v1/tokens')).json.items.map((token: any) => token.name)).toContain('ops');
    });

    it('lets a read-only token read but not write', async () => {
      const { token } = await createToken(database.db, 'auditor', 'read-only');
      expect((await api.request('GET', '/v1/partners', { token })).status).toBe(200);
      const write = await api.request('POST', '/v1/partners', { token, body: await contoso(sims, 'Read-only attempt') });
      expect(write.status).toBe(403);
      expect(write.json.detail).toMatch(/admin token/);
      expect((await api.request('GET', '/v1/tokens', { token })).status).toBe(403);
    });
  });

  describe('registering a partner', () => {
    let partner: any;

    it('answers 201 with the partner, its workflow id, and no secret', async () => {
      const registration = await contoso(sims);
      const response = await api.request('POST', '/v1/partners', { body: registration });
      expect(response.status).toBe(201);
      partner = response.json;
      expect(response.headers.get('location')).toBe(`/v1/partners/${partner.id}`);
      expect(partner).toMatchObject({
        name: 'Contoso MSP',
        acronis: { baseUrl: sims.urls.acronis, clientId: registration.acronis.clientId, tenantId: expect.any(String), secretSet: true },
        psa: { kind: 'connectwise-manage', companyId: 'simco', publicKey: 'sim-public', secretSet: true },
        rmm: { kind: 'connectwise-automate', username: 'sim-admin', secretSet: true },
        workflow: { id: `partner/${partner.id}` },
      });
      expect(partner.acronis).not.toHaveProperty('clientSecret');
      expect(partner.psa).not.toHaveProperty('privateKey');
    });

    it('keeps the secrets encrypted in PostgreSQL, openable only with the key', async () => {
      const rows = await database.db.selectFrom('credentials').selectAll().where('partner_id', '=', partner.id).execute();
      expect(rows.map((row) => row.system).sort()).toEqual(['acronis', 'psa', 'rmm']);
      const dump = JSON.stringify(rows);
      for (const secret of SECRETS) expect(dump).not.toContain(secret);
      const psa = rows.find((row) => row.system === 'psa')!;
      expect(JSON.parse(new SecretBox(keyring).open(psa.sealed_secrets, `partner:${partner.id}:psa`))).toEqual({ privateKey: DEFAULT_CREDENTIALS['connectwise-manage'].privateKey });
    });

    it('starts partner/<id>, which loads the partner from PostgreSQL', async () => {
      const status = await eventually(
        () => api.request('GET', `/v1/partners/${partner.id}/workflow`),
        (response) => response.json?.state?.phase === 'running',
      );
      expect(status.json).toMatchObject({
        workflowId: `partner/${partner.id}`,
        status: 'RUNNING',
        state: { partnerId: partner.id, phase: 'running', profile: { psaKind: 'connectwise-manage', rmmKind: 'connectwise-automate', timezone: 'Europe/Berlin', settingsVersion: 1 } },
      });
      const description = await api.temporal.workflow.getHandle(partnerWorkflowId(partner.id)).describe();
      expect(description.typedSearchAttributes.getAll().map((pair) => [pair.key.name, pair.value])).toEqual(
        expect.arrayContaining([['PartnerId', partner.id], ['PsaKind', 'connectwise-manage'], ['Capability', 'supervisor']]),
      );
      const runs = await eventually(() => api.request('GET', `/v1/partners/${partner.id}/runs`), (response) => response.json.items.length > 0);
      expect(runs.json.items[0]).toMatchObject({ workflowId: `partner/${partner.id}`, type: 'partnerSupervisor', status: 'RUNNING' });
      expect(runs.json.items[0].webUiUrl).toContain(encodeURIComponent(`partner/${partner.id}`));
    });

    it('lists and reads it back', async () => {
      expect((await api.request('GET', '/v1/partners')).json.items.map((item: any) => item.id)).toContain(partner.id);
      expect((await api.request('GET', `/v1/partners/${partner.id}`)).json).toEqual(partner);
    });

    it('refuses a second partner with the same name, naming the field', async () => {
      const response = await api.request('POST', '/v1/partners', { body: await contoso(sims, 'contoso msp') });
      expect(response.status).toBe(409);
      expect(response.json.errors).toEqual([{ path: 'name', message: expect.stringContaining('already the name of a partner') }]);
    });

    it('records the creation in the audit log, with secrets only as field names', async () => {
      const entries = (await api.request('GET', `/v1/audit-log?partnerId=${partner.id}`)).json.items;
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({ action: 'partner.create', actor: expect.stringContaining('test admin'), target: `partner/${partner.id}` });
      expect(entries[0].details.fieldsSet).toEqual(expect.arrayContaining(['acronis.clientSecret', 'psa.privateKey', 'rmm.password']));
    });
  });

  describe('bad input', () => {
    it('gets 400 naming every invalid field, and nothing is written', async () => {
      const [partnersBefore, auditBefore] = [await count('partners'), await count('audit_log')];
      const response = await api.request('POST', '/v1/partners', {
        body: {
          name: '  ',
          timezone: 'Mars/Olympus',
          acronis: { baseUrl: 'http://169.254.169.254/', clientId: 'c' },
          psa: { kind: 'autotask', baseUrl: 'http://localhost:4103', username: 'u', secret: 's', integrationCode: 'I', zone: 'x' },
        },
      });
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toBe('application/problem+json');
      expect(response.json.errors).toEqual(
        expect.arrayContaining([
          { path: 'name', message: 'must not be empty' },
          { path: 'timezone', message: expect.stringContaining('IANA') },
          { path: 'acronis.baseUrl', message: 'must not point to a link-local address' },
          { path: 'acronis.clientSecret', message: 'is required' },
          { path: 'psa.zone', message: 'is not a known field' },
        ]),
      );
      expect([await count('partners'), await count('audit_log')]).toEqual([partnersBefore, auditBefore]);
    });

    it('gets 400 for an unknown PSA kind, 400 for malformed JSON and 415 for a body that is not JSON', async () => {
      const kind = await api.request('POST', '/v1/partners', { body: { ...(await contoso(sims, 'Halo')), psa: { kind: 'halopsa' } } });
      expect(kind.json.errors[0].path).toBe('psa.kind');
      const malformed = await api.request('POST', '/v1/partners', { body: '{"name": ' });
      expect(malformed.status).toBe(400);
      expect(malformed.headers.get('content-type')).toBe('application/problem+json');
      const form = await api.request('POST', '/v1/partners', { body: 'name=x', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
      expect(form.status).toBe(415);
    });

    it('gets 400 naming the id when it is not a partner id, and 404 for one that does not exist', async () => {
      expect((await api.request('GET', '/v1/partners/42')).json.errors).toEqual([{ path: 'id', message: 'must be a partner id (UUID)' }]);
      expect((await api.request('GET', `/v1/partners/${crypto.randomUUID()}`)).status).toBe(404);
    });
  });

  describe('changing a partner', () => {
    let id: string;
    let tenantId: string;
    let rotated: { clientId: string; clientSecret: string };
    beforeAll(async () => {
      const created = (await api.request('POST', '/v1/partners', { body: { ...(await contoso(sims, 'Fabrikam')), rmm: undefined } })).json;
      id = created.id;
      tenantId = created.acronis.tenantId;
    });

    it('rotates the Acronis API client (another client of the same partner tenant) and keeps the other secrets', async () => {
      const acronisAdmin = new AcronisClient({ baseUrl: sims.urls.acronis, ...DEFAULT_CREDENTIALS.acronis });
      const created = await acronisAdmin.createApiClient(tenantId, 'Fabrikam rotated');
      rotated = { clientId: created.client_id, clientSecret: created.client_secret };
      SECRETS.push(rotated.clientSecret);
      const response = await api.request('PATCH', `/v1/partners/${id}`, { body: { acronis: rotated, timezone: 'America/New_York' } });
      expect(response.status, response.text).toBe(200);
      expect(response.json).toMatchObject({ timezone: 'America/New_York', acronis: { clientId: rotated.clientId, tenantId, secretSet: true } });
      const box = new SecretBox(keyring);
      const acronis = await database.db.selectFrom('credentials').select('sealed_secrets').where('partner_id', '=', id).where('system', '=', 'acronis').executeTakeFirstOrThrow();
      expect(JSON.parse(box.open(acronis.sealed_secrets, `partner:${id}:acronis`))).toEqual({ clientSecret: rotated.clientSecret });
      const audit = (await api.request('GET', `/v1/audit-log?partnerId=${id}`)).json.items[0];
      expect(audit).toMatchObject({ action: 'partner.update', details: { changed: ['timezone', 'acronis.clientId', 'acronis.clientSecret'] } });
    });

    it('reads the whole PSA again in the next discovery and billing passes once the PSA credentials change', async () => {
      const passed = new Date();
      for (const reader of ['discovery', 'billing'] as const) await saveLineWatermark(database.db, id, reader, { checkedFrom: passed, fullAt: passed, fullAutomatic: false });
      expect((await api.request('PATCH', `/v1/partners/${id}`, { body: { name: 'Fabrikam' } })).status).toBe(200);
      expect(await readLineWatermark(database.db, id, 'discovery')).toBeDefined();
      expect((await api.request('PATCH', `/v1/partners/${id}`, { body: { psa: { kind: 'connectwise-manage', privateKey: DEFAULT_CREDENTIALS['connectwise-manage'].privateKey } } })).status).toBe(200);
      expect(await readLineWatermark(database.db, id, 'discovery')).toBeUndefined();
      expect(await readLineWatermark(database.db, id, 'billing')).toBeUndefined();
    });

    it("refuses to change the partner's PSA kind", async () => {
      const response = await api.request('PATCH', `/v1/partners/${id}`, { body: { psa: { kind: 'autotask', username: 'u' } } });
      expect(response.status).toBe(400);
      expect(response.json.errors[0].path).toBe('psa.kind');
    });

    it('changes nothing when one part of a change is invalid', async () => {
      const before = (await api.request('GET', `/v1/partners/${id}`)).json;
      const auditBefore = await count('audit_log');
      const response = await api.request('PATCH', `/v1/partners/${id}`, {
        body: { name: 'Fabrikam Renamed', acronis: { clientSecret: 'half-written-secret' }, rmm: { kind: 'connectwise-automate', username: 'only-this' } },
      });
      expect(response.status).toBe(400);
      expect((await api.request('GET', `/v1/partners/${id}`)).json).toEqual(before);
      const acronis = await database.db.selectFrom('credentials').select('sealed_secrets').where('partner_id', '=', id).where('system', '=', 'acronis').executeTakeFirstOrThrow();
      expect(JSON.parse(new SecretBox(keyring).open(acronis.sealed_secrets, `partner:${id}:acronis`))).toEqual({ clientSecret: rotated.clientSecret });
      expect(await count('audit_log')).toBe(auditBefore);
    });

    it('adds an RMM only with all of its fields', async () => {
      const partial = await api.request('PATCH', `/v1/partners/${id}`, { body: { rmm: { kind: 'connectwise-automate', username: 'sim-admin' } } });
      expect(partial.status).toBe(400);
      expect(partial.json.errors.map((error: any) => error.path)).toEqual(expect.arrayContaining(['rmm.baseUrl', 'rmm.password', 'rmm.clientId']));
      const full = await api.request('PATCH', `/v1/partners/${id}`, { body: { rmm: (await contoso(sims)).rmm } });
      expect(full.json.rmm).toMatchObject({ kind: 'connectwise-automate', secretSet: true });
    });
  });

  describe('settings', () => {
    let id: string;
    beforeAll(async () => {
      id = (await api.request('POST', '/v1/partners', { body: { ...(await contoso(sims, 'Northwind')), rmm: undefined } })).json.id;
    });

    it('start from the defaults, with every capability off', async () => {
      const settings = (await api.request('GET', `/v1/partners/${id}/settings`)).json;
      expect(settings.billing).toMatchObject({ enabled: false, reportingPeriod: 'custom-billing-month', billingDay: 1, intervalMinutes: 15 });
      expect(settings.deprovisioning).toEqual({ zeroQuotas: true, disableAfterDays: 10, deleteAfterDays: 30 });
    });

    it('accept any subset, answer the whole settings, and reach the partner workflow', async () => {
      const response = await api.request('PUT', `/v1/partners/${id}/settings`, { body: { billing: { enabled: true, billingDay: 15 }, tickets: { enabled: true } } });
      expect(response.status).toBe(200);
      expect(response.json.billing).toMatchObject({ enabled: true, billingDay: 15, intervalMinutes: 15 });
      expect(response.json.provisioning).toMatchObject({ accountBasis: 'company-name', tenantMode: 'production' });
      const status = await eventually(
        () => api.request('GET', `/v1/partners/${id}/workflow`),
        (current) => current.json?.state?.profile?.settingsVersion === 2,
      );
      expect(status.json.state.profile.capabilities).toEqual({ provisioning: false, billing: true, tickets: true, agents: false });
    });

    it('refuse a change that breaks a rule, naming the field, and keep the settings as they were', async () => {
      const before = (await api.request('GET', `/v1/partners/${id}/settings`)).json;
      const range = await api.request('PUT', `/v1/partners/${id}/settings`, { body: { billing: { billingDay: 15, intervalMinutes: 1 } } });
      expect(range.status).toBe(400);
      expect(range.json.errors).toEqual([{ path: 'billing.intervalMinutes', message: expect.stringContaining('5') }]);
      const ladder = await api.request('PUT', `/v1/partners/${id}/settings`, { body: { deprovisioning: { disableAfterDays: 45 } } });
      expect(ladder.json.errors).toEqual([{ path: 'deprovisioning.deleteAfterDays', message: expect.stringContaining('disableAfterDays (45)') }]);
      const agents = await api.request('PUT', `/v1/partners/${id}/settings`, { body: { agents: { enabled: true } } });
      expect(agents.json.errors).toEqual([{ path: 'agents.enabled', message: expect.stringContaining('RMM') }]);
      expect((await api.request('GET', `/v1/partners/${id}/settings`)).json).toEqual(before);
    });
  });

  describe('removing a partner', () => {
    it('ends its workflow, destroys its credentials and keeps its audit trail', async () => {
      const { id } = (await api.request('POST', '/v1/partners', { body: { ...(await contoso(sims, 'Tailspin')), rmm: undefined } })).json;
      await eventually(() => api.request('GET', `/v1/partners/${id}/workflow`), (response) => response.json?.state?.phase === 'running');
      expect((await api.request('DELETE', `/v1/partners/${id}`)).status).toBe(204);
      expect((await api.request('GET', `/v1/partners/${id}`)).status).toBe(404);
      const result = await api.temporal.workflow.getHandle(partnerWorkflowId(id)).result();
      expect(result).toEqual({ partnerId: id, stopReason: 'partner removed' });
      expect(await database.db.selectFrom('credentials').select('system').where('partner_id', '=', id).execute()).toEqual([]);
      const actions = (await api.request('GET', `/v1/audit-log?partnerId=${id}`)).json.items.map((entry: any) => entry.action);
      expect(actions).toEqual(['partner.delete', 'partner.create']);
      expect((await api.request('DELETE', `/v1/partners/${id}`)).status).toBe(404);
    });
  });

  describe('documentation', () => {
    it('publishes an OpenAPI 3.1 document generated from the validating schemas, and a reference page', async () => {
      const document = (await api.request('GET', '/openapi.json', { token: null })).json;
      expect(document.openapi).toBe('3.1.0');
      expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/v1/partners', '/v1/partners/{id}', '/v1/partners/{id}/settings', '/v1/partners/{id}/runs']));
      expect(document.components.schemas.PartnerCreate.required).toEqual(expect.arrayContaining(['name', 'timezone', 'acronis', 'psa']));
      expect(document.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
      const page = await api.request('GET', '/docs', { token: null });
      expect(page.status).toBe(200);
      expect(page.text).toContain('/docs/assets/swagger-ui-bundle.js');
      expect((await fetch(`${api.baseUrl}/docs/assets/swagger-ui-bundle.js`)).status).toBe(200);
    });

    it('documents 413 and 415 on every operation that takes a body, as the fuzzer found missing (a body that is not JSON answers 415 on each)', async () => {
      const document = (await api.request('GET', '/openapi.json', { token: null })).json;
      const withBody = Object.entries(document.paths as Record<string, Record<string, any>>).flatMap(([path, methods]) =>
        Object.entries(methods).filter(([, operation]) => operation.requestBody).map(([method, operation]) => ({ path, method, responses: Object.keys(operation.responses) })),
      );
      expect(withBody.length).toBeGreaterThan(5);
      for (const { path, method, responses } of withBody) expect({ path, method, responses }).toEqual({ path, method, responses: expect.arrayContaining(['413', '415']) });
      const asForm = await api.request('POST', '/v1/tokens', { body: 'name=x', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
      expect(asForm.status).toBe(415);
      expect(document.paths['/v1/tokens'].post.responses['415'].content['application/problem+json']).toBeDefined();
    });
  });

  describe('health', () => {
    it('reports ok when PostgreSQL and Temporal answer', async () => {
      expect((await api.request('GET', '/healthz', { token: null })).json).toEqual({ status: 'ok', checks: { db: 'ok', temporal: 'ok' } });
    });
  });

  it('never answered with a secret', () => {
    for (const body of api.responses) for (const secret of SECRETS) expect(body).not.toContain(secret);
  });
});

describe('admin API without Temporal', () => {
  let database: TestDatabase;
  let api: ApiHarness;
  let sims: RunningSimulators;
  beforeAll(async () => {
    [database, sims] = await Promise.all([createTestDatabase(), startTestSimulators()]);
    api = await startApiHarness(database.db, testKeyring(), { temporalAddress: `localhost:${await freePort()}`, runWorker: false });
  });
  afterAll(async () => {
    await api.close();
    await sims.close();
    await database.drop();
  });

  it('reports itself degraded', async () => {
    const health = await api.request('GET', '/healthz', { token: null });
    expect(health.status).toBe(503);
    expect(health.json).toEqual({ status: 'degraded', checks: { db: 'ok', temporal: 'down' } });
  });

  it('answers 503 to a new partner and writes nothing, since its workflow cannot start', async () => {
    const response = await api.request('POST', '/v1/partners', { body: { ...(await contoso(sims, 'Unlucky')), rmm: undefined } });
    expect(response.status).toBe(503);
    expect(response.json.detail).toMatch(/nothing was saved/);
    for (const table of ['partners', 'credentials', 'partner_settings', 'audit_log'] as const) {
      expect(await database.db.selectFrom(table).select(sql`1`.as('one')).execute()).toEqual([]);
    }
  });
});
