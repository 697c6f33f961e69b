import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiHarness, type ApiHarness } from './api-harness.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { testKeyring } from './fixtures/test-keys.ts';

const NUL = '\u0000';

/** A partner on its own Acronis API client; `clientId` decides which Acronis account it is. */
function registration(name: string, clientId: string) {
  return {
    name,
    timezone: 'Europe/Berlin',
    acronis: { baseUrl: 'http://localhost:4101', clientId, clientSecret: 'acronis-secret' },
    psa: { kind: 'connectwise-manage', baseUrl: 'http://localhost:4102', companyId: 'simco', publicKey: 'sim-public', privateKey: 'cwm-private', clientId: 'sim-client-id' },
  };
}

describe('admin API input that PostgreSQL or a vendor would refuse', () => {
  let database: TestDatabase;
  let api: ApiHarness;

  const rowCounts = async () => {
    const counts: Record<string, number> = {};
    for (const table of ['partners', 'credentials', 'api_tokens', 'audit_log'] as const) {
      counts[table] = Number((await sql<{ n: string }>`select count(*) as n from ${sql.table(table)}`.execute(database.db)).rows[0]!.n);
    }
    return counts;
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    api = await startApiHarness(database.db, testKeyring(), { runWorker: false });
  });
  afterAll(async () => {
    await api.close();
    await database.drop();
  });

  describe('a NUL character or an unpaired surrogate in any text', () => {
    it('gets 400 naming the field, in a body, nested or not, and nothing is written', async () => {
      const before = await rowCounts();
      const name = await api.request('POST', '/v1/partners', { body: registration(`Contoso${NUL}`, 'nul-client') });
      expect(name.status).toBe(400);
      expect(name.headers.get('content-type')).toBe('application/problem+json');
      expect(name.json.errors).toEqual([{ path: 'name', message: 'must not contain a NUL character (\\u0000)' }]);

      const nested = registration('Contoso', 'nul-client');
      nested.psa.companyId = `sim${NUL}co`;
      expect((await api.request('POST', '/v1/partners', { body: nested })).json.errors).toEqual([{ path: 'psa.companyId', message: expect.stringContaining('NUL') }]);

      const surrogate = await api.request('POST', '/v1/tokens', { body: `{"name": "ops \\ud800", "role": "read-only"}` });
      expect(surrogate.status).toBe(400);
      expect(surrogate.json.errors).toEqual([{ path: 'name', message: expect.stringContaining('unpaired surrogate') }]);
      expect((await api.request('POST', '/v1/tokens', { body: { name: `ops${NUL}`, role: 'read-only' } })).json.errors[0].path).toBe('name');
      expect(await rowCounts()).toEqual(before);
    });

    it('gets 400 naming the setting, and the settings stay as they were', async () => {
      const { id } = (await api.request('POST', '/v1/partners', { body: registration('Settings MSP', 'settings-client') })).json;
      const before = (await api.request('GET', `/v1/partners/${id}/settings`)).json;
      const response = await api.request('PUT', `/v1/partners/${id}/settings`, { body: { tickets: { autoClose: { enabled: true, status: `Closed${NUL}` } } } });
      expect(response.status).toBe(400);
      expect(response.json.errors).toEqual([{ path: 'tickets.autoClose.status', message: expect.stringContaining('NUL') }]);
      expect((await api.request('GET', `/v1/partners/${id}/settings`)).json).toEqual(before);
    });

    it('gets 400 naming the mapping field, the query parameter or the path parameter', async () => {
      const partner = crypto.randomUUID();
      const mapping = await api.request('PUT', `/v1/partners/${partner}/product-mappings`, { body: [{ offeringItem: `pw_base_servers${NUL}`, free: true }] });
      expect(mapping.json.errors).toEqual([{ path: '0.offeringItem', message: expect.stringContaining('NUL') }]);
      const query = await api.request('GET', `/v1/partners/${partner}/customers?q=Riv%00side`);
      expect(query.status).toBe(400);
      expect(query.json.errors).toEqual([{ path: 'q', message: expect.stringContaining('NUL') }]);
      const param = await api.request('DELETE', `/v1/partners/${partner}/customers/12%00/mapping`);
      expect(param.status).toBe(400);
      expect(param.json.errors[0].path).toBe('psaCompanyId');
    });
  });

  describe('values beyond what a column holds', () => {
    it('answers 400 to an audit-log cursor beyond bigint, and pages with one within it', async () => {
      const beyond = await api.request('GET', '/v1/audit-log?before=9223372036854775808');
      expect(beyond.status).toBe(400);
      expect(beyond.json.errors).toEqual([{ path: 'before', message: 'must be an entry id' }]);
      expect((await api.request('GET', '/v1/audit-log?before=99999999999999999999999')).status).toBe(400);
      expect((await api.request('GET', '/v1/audit-log?before=9223372036854775807')).status).toBe(200);
    });

    it('answers 400 to numbers beyond the integers a field takes', async () => {
      expect((await api.request('GET', '/v1/audit-log?limit=99999999999999999999')).json.errors[0].path).toBe('limit');
      const { id } = (await api.request('GET', '/v1/partners')).json.items[0];
      const settings = await api.request('PUT', `/v1/partners/${id}/settings`, { body: { billing: { intervalMinutes: 1e20 } } });
      expect(settings.json.errors[0].path).toBe('billing.intervalMinutes');
    });

    it('answers 400 to over-long text, naming the field', async () => {
      const long = 'x'.repeat(5_000);
      const mapping = await api.request('PUT', `/v1/partners/${crypto.randomUUID()}/product-mappings`, { body: [{ offeringItem: long, psaProductId: long }] });
      expect(mapping.status).toBe(400);
      expect(mapping.json.errors.map((error: { path: string }) => error.path).sort()).toEqual(['0.offeringItem', '0.psaProductId']);
      const url = registration('Long URL MSP', 'long-url-client');
      url.acronis.baseUrl = `http://localhost:4101/${long}`;
      url.timezone = `Europe/${long}`;
      const partner = await api.request('POST', '/v1/partners', { body: url });
      expect(partner.json.errors.map((error: { path: string }) => error.path).sort()).toEqual(['acronis.baseUrl', 'timezone']);
    });
  });

  describe('vendor base URLs pasted with an API path', () => {
    it('keep only the server address, on registration and on change', async () => {
      const pasted = {
        ...registration('Pasted URLs MSP', 'pasted-client'),
        acronis: { baseUrl: 'http://LOCALHOST:4101/api/2/', clientId: 'pasted-client', clientSecret: 'acronis-secret' },
        psa: { ...registration('', '').psa, baseUrl: 'http://localhost:4102/v4_6_release/apis/3.0/' },
        rmm: { kind: 'connectwise-automate', baseUrl: 'http://localhost:4104/cwa/api/v1', username: 'sim-admin', password: 'automate-secret', clientId: 'sim-client-id' },
      };
      const created = await api.request('POST', '/v1/partners', { body: pasted });
      expect(created.status).toBe(201);
      expect([created.json.acronis.baseUrl, created.json.psa.baseUrl, created.json.rmm.baseUrl]).toEqual(['http://localhost:4101', 'http://localhost:4102', 'http://localhost:4104']);

      const changed = await api.request('PATCH', `/v1/partners/${created.json.id}`, {
        body: { acronis: { baseUrl: 'http://localhost:4101/api/2/tenants' }, psa: { kind: 'connectwise-manage', baseUrl: 'http://localhost:4102/v2025_1/apis/3.0/company/companies' } },
      });
      expect(changed.status).toBe(200);
      expect([changed.json.acronis.baseUrl, changed.json.psa.baseUrl]).toEqual(['http://localhost:4101', 'http://localhost:4102']);

      const autotask = {
        ...registration('Autotask URL MSP', 'autotask-url-client'),
        psa: { kind: 'autotask', baseUrl: 'http://localhost:4103/ATServicesRest/V1.0/', username: 'sim-api@example.com', secret: 's', integrationCode: 'I' },
      };
      expect((await api.request('POST', '/v1/partners', { body: autotask })).json.psa.baseUrl).toBe('http://localhost:4103');
    });

    it('refuses an address with some other path, query or fragment, naming the field', async () => {
      for (const baseUrl of ['http://localhost:4101/ui/', 'http://localhost:4101/bc/api/2', 'http://localhost:4101/api/2?x=1', 'http://localhost:4101/#/dashboard']) {
        const response = await api.request('POST', '/v1/partners', { body: { ...registration('Other path MSP', 'other-path-client'), acronis: { baseUrl, clientId: 'other-path-client', clientSecret: 's' } } });
        expect(response.status, baseUrl).toBe(400);
        expect(response.json.errors, baseUrl).toEqual([{ path: 'acronis.baseUrl', message: expect.any(String) }]);
      }
      const patch = await api.request('PATCH', `/v1/partners/${(await api.request('GET', '/v1/partners')).json.items[0].id}`, { body: { rmm: { kind: 'connectwise-automate', baseUrl: 'http://localhost:4104/automate/' } } });
      expect(patch.json.errors).toEqual([{ path: 'rmm.baseUrl', message: expect.stringContaining('without a path') }]);
    });
  });
});

describe('two partners on one Acronis account', () => {
  let database: TestDatabase;
  let api: ApiHarness;
  let first: { id: string; name: string };

  beforeAll(async () => {
    database = await createTestDatabase();
    api = await startApiHarness(database.db, testKeyring(), { runWorker: false });
    first = (await api.request('POST', '/v1/partners', { body: registration('First MSP', 'shared-client') })).json;
  });
  afterAll(async () => {
    await api.close();
    await database.drop();
  });

  const livePartners = async () => (await api.request('GET', '/v1/partners')).json.items.length as number;

  it('refuses the second registration with 409 naming the partner that has the account, however its URL is written', async () => {
    const before = await livePartners();
    const second = registration('Second MSP', 'shared-client');
    second.acronis.baseUrl = 'http://Localhost:4101/api/2/';
    const response = await api.request('POST', '/v1/partners', { body: second });
    expect(response.status).toBe(409);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(response.json.detail).toContain(first.id);
    expect(response.json.detail).toContain('First MSP');
    expect(response.json.errors).toEqual([{ path: 'acronis.clientId', message: expect.stringContaining(first.id) }]);
    expect(await livePartners()).toBe(before);
  });

  it('refuses it with another PSA too: both would adopt the same customer tenants', async () => {
    const autotask = {
      ...registration('Autotask MSP', 'shared-client'),
      psa: { kind: 'autotask', baseUrl: 'http://localhost:4103', username: 'sim-api@example.com', secret: 's', integrationCode: 'I' },
    };
    const response = await api.request('POST', '/v1/partners', { body: autotask });
    expect(response.status).toBe(409);
    expect(response.json.errors[0].path).toBe('acronis.clientId');
  });

  it('accepts another Acronis account on the same PSA (one partner per data centre)', async () => {
    const response = await api.request('POST', '/v1/partners', { body: registration('Second data centre MSP', 'other-client') });
    expect(response.status).toBe(201);
  });

  it('refuses a change that would move a partner onto an account another partner has, and accepts one that keeps its own', async () => {
    const { id } = (await api.request('POST', '/v1/partners', { body: registration('Mover MSP', 'mover-client') })).json;
    const move = await api.request('PATCH', `/v1/partners/${id}`, { body: { name: 'Mover renamed', acronis: { clientId: 'SHARED-CLIENT' } } });
    expect(move.status).toBe(409);
    expect(move.json.errors).toEqual([{ path: 'acronis.clientId', message: expect.stringContaining(first.id) }]);
    expect((await api.request('GET', `/v1/partners/${id}`)).json).toMatchObject({ name: 'Mover MSP', acronis: { clientId: 'mover-client' } });
    const own = await api.request('PATCH', `/v1/partners/${id}`, { body: { acronis: { baseUrl: 'http://localhost:4101/api/2', clientId: 'mover-client' } } });
    expect(own.status).toBe(200);
  });

  it('lets only one of two simultaneous registrations have the account', async () => {
    const responses = await Promise.all(['Racer A', 'Racer B', 'Racer C'].map((name) => api.request('POST', '/v1/partners', { body: registration(name, 'race-client') })));
    expect(responses.map((response) => response.status).sort()).toEqual([201, 409, 409]);
  });

  it('counts only live partners: once the first is removed, its account can be registered again', async () => {
    expect((await api.request('DELETE', `/v1/partners/${first.id}`)).status).toBe(204);
    const response = await api.request('POST', '/v1/partners', { body: registration('Successor MSP', 'shared-client') });
    expect(response.status).toBe(201);
  });
});
