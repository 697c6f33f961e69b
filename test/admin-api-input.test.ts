import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AcronisClient } from '../clients/acronis/client.ts';
import { DEFAULT_CREDENTIALS } from '../simulators/default-credentials.ts';
import type { RunningSimulators } from '../simulators/index.ts';
import type { AcronisPartnerAccount } from '../simulators/seeding/acronis.ts';
import { autotaskCredentials } from '../simulators/seeding/autotask.ts';
import { startApiHarness, type ApiHarness } from './api-harness.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { testKeyring } from './fixtures/test-keys.ts';
import { newAcronisPartnerAccount } from './partners.ts';
import { startTestSimulators } from './simulators.ts';

const NUL = '\u0000';

let sims: RunningSimulators;
beforeAll(async () => {
  sims = await startTestSimulators();
});
afterAll(() => sims.close());

/** A partner on an Acronis API client: a new account of its own unless one is given (one account serves one partner). */
async function registration(name: string, account?: Pick<AcronisPartnerAccount, 'clientId' | 'clientSecret'>) {
  const { clientId, clientSecret } = account ?? (await newAcronisPartnerAccount(sims.urls.acronis));
  return {
    name,
    timezone: 'Europe/Berlin',
    acronis: { baseUrl: sims.urls.acronis, clientId, clientSecret },
    psa: { kind: 'connectwise-manage', baseUrl: sims.urls['connectwise-manage'], ...DEFAULT_CREDENTIALS['connectwise-manage'] } as Record<string, string>,
  };
}

/** Another API client of the account's partner tenant: the same Acronis account. */
async function anotherClientOf(account: AcronisPartnerAccount) {
  const created = await new AcronisClient({ baseUrl: sims.urls.acronis, ...DEFAULT_CREDENTIALS.acronis }).createApiClient(account.tenantId, 'second client');
  return { clientId: created.client_id, clientSecret: created.client_secret };
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
      const name = await api.request('POST', '/v1/partners', { body: await registration(`Contoso${NUL}`) });
      expect(name.status).toBe(400);
      expect(name.headers.get('content-type')).toBe('application/problem+json');
      expect(name.json.errors).toEqual([{ path: 'name', message: 'must not contain a NUL character (\\u0000)' }]);

      const nested = await registration('Contoso');
      nested.psa.companyId = `sim${NUL}co`;
      expect((await api.request('POST', '/v1/partners', { body: nested })).json.errors).toEqual([{ path: 'psa.companyId', message: expect.stringContaining('NUL') }]);

      const surrogate = await api.request('POST', '/v1/tokens', { body: `{"name": "ops \\ud800", "role": "read-only"}` });
      expect(surrogate.status).toBe(400);
      expect(surrogate.json.errors).toEqual([{ path: 'name', message: expect.stringContaining('unpaired surrogate') }]);
      expect((await api.request('POST', '/v1/tokens', { body: { name: `ops${NUL}`, role: 'read-only' } })).json.errors[0].path).toBe('name');
      expect(await rowCounts()).toEqual(before);
    });

    it('gets 400 naming the setting, and the settings stay as they were', async () => {
      const { id } = (await api.request('POST', '/v1/partners', { body: await registration('Settings MSP') })).json;
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
      const url = await registration('Long URL MSP');
      url.acronis.baseUrl = `http://localhost:4101/${long}`;
      url.timezone = `Europe/${long}`;
      const partner = await api.request('POST', '/v1/partners', { body: url });
      expect(partner.json.errors.map((error: { path: string }) => error.path).sort()).toEqual(['acronis.baseUrl', 'timezone']);
    });
  });

  describe('vendor base URLs pasted with an API path', () => {
    it('keep only the server address, on registration and on change', async () => {
      const { urls } = sims;
      const registered = await registration('Pasted URLs MSP');
      const pasted = {
        ...registered,
        acronis: { ...registered.acronis, baseUrl: `${urls.acronis.replace('localhost', 'LOCALHOST')}/api/2/` },
        psa: { ...registered.psa, baseUrl: `${urls['connectwise-manage']}/v4_6_release/apis/3.0/` },
        rmm: { kind: 'connectwise-automate', baseUrl: `${urls.automate}/cwa/api/v1`, ...DEFAULT_CREDENTIALS.automate },
      };
      const created = await api.request('POST', '/v1/partners', { body: pasted });
      expect(created.status, created.text).toBe(201);
      expect([created.json.acronis.baseUrl, created.json.psa.baseUrl, created.json.rmm.baseUrl]).toEqual([urls.acronis, urls['connectwise-manage'], urls.automate]);

      const changed = await api.request('PATCH', `/v1/partners/${created.json.id}`, {
        body: { acronis: { baseUrl: `${urls.acronis}/api/2/tenants` }, psa: { kind: 'connectwise-manage', baseUrl: `${urls['connectwise-manage']}/v2025_1/apis/3.0/company/companies` } },
      });
      expect(changed.status, changed.text).toBe(200);
      expect([changed.json.acronis.baseUrl, changed.json.psa.baseUrl]).toEqual([urls.acronis, urls['connectwise-manage']]);

      const autotask = {
        ...(await registration('Autotask URL MSP')),
        psa: { kind: 'autotask', ...autotaskCredentials(urls.autotask), baseUrl: `${urls.autotask}/ATServicesRest/V1.0/` },
      };
      expect((await api.request('POST', '/v1/partners', { body: autotask })).json.psa.baseUrl).toBe(urls.autotask);
    });

    it('refuses an address with some other path, query or fragment, naming the field', async () => {
      for (const baseUrl of ['http://localhost:4101/ui/', 'http://localhost:4101/bc/api/2', 'http://localhost:4101/api/2?x=1', 'http://localhost:4101/#/dashboard']) {
        const response = await api.request('POST', '/v1/partners', { body: { ...(await registration('Other path MSP')), acronis: { baseUrl, clientId: 'other-path-client', clientSecret: 's' } } });
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
  let account: AcronisPartnerAccount;
  let first: { id: string; name: string };

  beforeAll(async () => {
    database = await createTestDatabase();
    api = await startApiHarness(database.db, testKeyring(), { runWorker: false });
    account = await newAcronisPartnerAccount(sims.urls.acronis);
    first = (await api.request('POST', '/v1/partners', { body: await registration('First MSP', account) })).json;
  });
  afterAll(async () => {
    await api.close();
    await database.drop();
  });

  const livePartners = async () => (await api.request('GET', '/v1/partners')).json.items.length as number;

  it('refuses a second registration on another API client of the same partner tenant with 409 naming the partner that has it, however its URL is written', async () => {
    const before = await livePartners();
    const second = await registration('Second MSP', await anotherClientOf(account));
    second.acronis.baseUrl = `${sims.urls.acronis.replace('localhost', 'Localhost')}/api/2/`;
    const response = await api.request('POST', '/v1/partners', { body: second });
    expect(response.status, response.text).toBe(409);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(response.json.detail).toContain(first.id);
    expect(response.json.detail).toContain('First MSP');
    expect(response.json.errors).toEqual([{ path: 'acronis.clientId', message: expect.stringContaining(account.tenantId) }]);
    expect(await livePartners()).toBe(before);
  });

  it('refuses it with another PSA too: both would adopt the same customer tenants', async () => {
    const autotask = { ...(await registration('Autotask MSP', account)), psa: { kind: 'autotask', ...autotaskCredentials(sims.urls.autotask) } };
    const response = await api.request('POST', '/v1/partners', { body: autotask });
    expect(response.status).toBe(409);
    expect(response.json.errors[0].path).toBe('acronis.clientId');
  });

  it('accepts another Acronis account on the same PSA (one partner per data centre)', async () => {
    const response = await api.request('POST', '/v1/partners', { body: await registration('Second data centre MSP') });
    expect(response.status).toBe(201);
  });

  it('refuses a change that would move a partner onto an account another partner has, and accepts one that keeps its own', async () => {
    const mover = await newAcronisPartnerAccount(sims.urls.acronis);
    const { id } = (await api.request('POST', '/v1/partners', { body: await registration('Mover MSP', mover) })).json;
    const move = await api.request('PATCH', `/v1/partners/${id}`, { body: { name: 'Mover renamed', acronis: await anotherClientOf(account) } });
    expect(move.status).toBe(409);
    expect(move.json.errors).toEqual([{ path: 'acronis.clientId', message: expect.stringContaining(first.id) }]);
    expect((await api.request('GET', `/v1/partners/${id}`)).json).toMatchObject({ name: 'Mover MSP', acronis: { clientId: mover.clientId, tenantId: mover.tenantId } });
    const own = await api.request('PATCH', `/v1/partners/${id}`, { body: { acronis: { baseUrl: `${sims.urls.acronis}/api/2`, ...(await anotherClientOf(mover)) } } });
    expect(own.status, own.text).toBe(200);
  });

  it('lets only one of two simultaneous registrations have the account', async () => {
    const race = await newAcronisPartnerAccount(sims.urls.acronis);
    const bodies = await Promise.all(['Racer A', 'Racer B', 'Racer C'].map(async (name) => registration(name, await anotherClientOf(race))));
    const responses = await Promise.all(bodies.map((body) => api.request('POST', '/v1/partners', { body })));
    expect(responses.map((response) => response.status).sort()).toEqual([201, 409, 409]);
  });

  it('counts only live partners: once the first is removed, its account can be registered again', async () => {
    expect((await api.request('DELETE', `/v1/partners/${first.id}`)).status).toBe(204);
    const response = await api.request('POST', '/v1/partners', { body: await registration('Successor MSP', account) });
    expect(response.status).toBe(201);
  });
});
