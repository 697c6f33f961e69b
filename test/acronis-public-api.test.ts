import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunningSimulators } from '../simulators/index.ts';
import { startTestSimulators } from './simulators.ts';

// A script that knows only Acronis's public API (no project client): plain fetch, as written
// against developer.acronis.com, must work against the simulator.
let sims: RunningSimulators;
beforeAll(async () => {
  sims = await startTestSimulators();
});
afterAll(() => sims.close());

it('creates a customer tenant, sets quotas, raises and dismisses an alert with plain fetch', async () => {
  const base = sims.urls.acronis;
  const tokenResponse = await fetch(`${base}/api/2/idp/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from('sim-client:sim-secret').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  expect(tokenResponse.status).toBe(200);
  const token = (await tokenResponse.json()) as { access_token: string; token_type: string; expires_on: number };
  expect(token.token_type).toBe('bearer');
  expect(token.expires_on * 1000).toBeGreaterThan(Date.now());
  const headers = { authorization: `Bearer ${token.access_token}`, 'content-type': 'application/json' };
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };

  const me = await call('GET', '/api/2/clients/sim-client');
  expect(me.status).toBe(200);
  const partnerId: string = me.body.tenant_id;

  const created = await call('POST', '/api/2/tenants', { name: 'Fetch Customer', kind: 'customer', parent_id: partnerId, contact: { email: 'ops@fetch.test' } });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({ name: 'Fetch Customer', kind: 'customer', version: 1, pricing_mode: 'trial' });
  const customerId: string = created.body.id;

  const catalogue = await call('GET', `/api/2/tenants/${partnerId}/offering_items/available_for_child?kind=customer&edition=*`);
  const pick = (name: string) => catalogue.body.items.find((item: { name: string }) => item.name === name);
  const workstations = pick('pw_base_workstations');
  const storage = pick('pw_base_storage');
  const quotas = await call('PUT', `/api/2/tenants/${customerId}/offering_items`, {
    offering_items: [
      { application_id: workstations.application_id, name: workstations.name, status: 1, quota: { value: 25, overage: 5, version: 0 } },
      { application_id: storage.application_id, name: storage.name, infra_id: storage.infra_id, status: 1, quota: { value: 1_099_511_627_776, overage: null, version: 0 } },
    ],
  });
  expect(quotas.status).toBe(200);
  const listed = await call('GET', `/api/2/tenants/${customerId}/offering_items?edition=*&status=1`);
  expect(listed.body.items.map((item: { name: string; quota: { value: number } }) => [item.name, item.quota.value])).toEqual([
    ['pw_base_workstations', 25],
    ['pw_base_storage', 1_099_511_627_776],
  ]);

  const raised = await call('POST', '/api/alert_manager/v1/alerts', { type: 'BackupFailed', tenant: { uuid: customerId }, details: { planId: 'p-1', planName: 'Nightly', resourceId: 'r-1', resourceName: 'FETCH-PC', error: { text: 'No space' } } });
  expect(raised.status).toBe(200);
  const alertId: string = raised.body.id;
  const active = await call('GET', `/api/alert_manager/v1/alerts?tenant=${customerId}&category=Backup`);
  expect(active.body.items.map((alert: { id: string }) => alert.id)).toEqual([alertId]);
  expect(active.body.items[0].tenant).toMatchObject({ uuid: customerId, id: expect.stringMatching(/^\d+$/) });

  expect((await call('DELETE', `/api/alert_manager/v1/alerts/${alertId}`)).status).toBe(204);
  expect((await call('GET', `/api/alert_manager/v1/alerts?tenant=${customerId}`)).body.items).toEqual([]);
  const dismissed = await call('GET', `/api/alert_manager/v1/alerts/${alertId}?show_deleted=true`);
  expect(dismissed.body.deletedAt).toMatch(/Z$/);
});
