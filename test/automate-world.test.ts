import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConnectWiseAutomateClient } from '../clients/connectwise-automate/client.ts';
import { where } from '../clients/connectwise-automate/condition.ts';
import { DEFAULT_CREDENTIALS } from '../simulators/default-credentials.ts';
import type { RunningSimulators } from '../simulators/index.ts';
import { startTestSimulators } from './simulators.ts';
import { collect } from '../clients/collect.ts';

/**
 * The shared simulated world, through public vendor APIs only: an Acronis customer tenant and its
 * registration token, an Automate computer, the Acronis plugin's scripts run on it, and the agent
 * appearing in (and leaving) that tenant in the Acronis cloud.
 *
 * Needs the Acronis simulator (issue 3): with its placeholder, registration is refused and these
 * tests fail at the first agent lookup.
 */

interface AcronisAgent {
  id: string;
  hostname: string;
  tenant: { id: string; name: string };
  core_version: { current: { build: string } };
}

let sims: RunningSimulators;
let automate: ConnectWiseAutomateClient;

async function acronisToken(): Promise<string> {
  const { clientId, clientSecret } = DEFAULT_CREDENTIALS.acronis;
  const response = await fetch(`${sims.urls.acronis}/api/2/idp/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}` },
    body: 'grant_type=client_credentials',
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

async function acronis<T>(token: string, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${sims.urls.acronis}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** A customer tenant under the partner, and a registration token for it, as an MSP creates them. */
async function customerWithRegistrationToken(name: string): Promise<{ acronisToken: string; tenantName: string; registrationToken: string }> {
  const token = await acronisToken();
  const apiClient = await acronis<{ tenant_id: string }>(token, 'GET', `/api/2/clients/${DEFAULT_CREDENTIALS.acronis.clientId}`);
  const tenant = await acronis<{ id: string; name: string }>(token, 'POST', '/api/2/tenants', { name, parent_id: apiClient.tenant_id, kind: 'customer' });
  const registration = await acronis<{ token: string }>(token, 'POST', `/api/2/tenants/${tenant.id}/registration_tokens`, { expires_in: 3600, scopes: [] });
  return { acronisToken: token, tenantName: tenant.name, registrationToken: registration.token };
}

const agentsNamed = async (token: string, hostname: string) =>
  (await acronis<{ items: AcronisAgent[] }>(token, 'GET', '/api/agent_manager/v2/agents')).items.filter((agent) => agent.hostname === hostname);

async function automateComputer(name: string, online = true): Promise<number> {
  const client = await automate.createClient({ Name: 'Contoso' });
  const location = await automate.createLocation({ Name: 'Head Office', ClientId: client.Id });
  const response = await fetch(`${sims.urls.automate}/_sim/computers`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ clientId: client.Id, locationId: location.Id, name, os: 'Microsoft Windows Server 2022', online }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { Id: number }).Id;
}

async function scriptId(name: string): Promise<number> {
  const [script] = await collect(automate.scripts({ condition: where.eq('Name', name) }));
  if (!script) throw new Error(`no Automate script named ${name}`);
  return script.Id;
}

const advanceClock = (ms: number) => fetch(`${sims.urls.automate}/_sim/clock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ advanceMs: ms }) });

beforeAll(async () => {
  sims = await startTestSimulators();
  const { username, password, clientId } = DEFAULT_CREDENTIALS.automate;
  automate = new ConnectWiseAutomateClient({ baseUrl: sims.urls.automate, username, password, clientId });
});
afterAll(() => sims.close());
beforeEach(() => sims.reset());

describe('Automate scripts and the Acronis cloud', () => {
  it('the install script with a registration token makes the agent appear in that tenant; upgrade raises its version; uninstall removes it', async () => {
    const { acronisToken: token, tenantName, registrationToken } = await customerWithRegistrationToken('Contoso Ltd');
    const computerId = await automateComputer('CONTOSO-SRV1');

    await automate.scheduleScript(computerId, await scriptId('Acronis Data Cloud agent Install/Upgrade'), { RegistrationToken: registrationToken });
    expect(await agentsNamed(token, 'CONTOSO-SRV1')).toEqual([]);
    await advanceClock(10_000);
    const [history] = await collect(automate.scriptHistory(computerId));
    expect(history).toMatchObject({ Status: 'Success' });
    const [agent] = await agentsNamed(token, 'CONTOSO-SRV1');
    expect(agent).toMatchObject({ hostname: 'CONTOSO-SRV1', tenant: { name: tenantName } });

    await automate.executeScript(await scriptId('Acronis Data Cloud agent Install/Upgrade with backup monitor'), [computerId]);
    await advanceClock(10_000);
    const [upgraded] = await agentsNamed(token, 'CONTOSO-SRV1');
    expect(upgraded?.id).toBe(agent!.id);
    expect(upgraded?.core_version.current.build).not.toBe(agent!.core_version.current.build);

    await automate.executeScript(await scriptId('Acronis Data Cloud agent Uninstall'), [computerId]);
    await advanceClock(10_000);
    expect(await agentsNamed(token, 'CONTOSO-SRV1')).toEqual([]);
  });

  it('an unknown registration token fails the script with the reason, and no agent appears', async () => {
    const { acronisToken: token } = await customerWithRegistrationToken('Contoso Ltd');
    const computerId = await automateComputer('CONTOSO-SRV1');
    await automate.executeScript(await scriptId('Acronis Data Cloud agent Install/Upgrade'), [computerId], { RegistrationToken: 'ZZZZ-ZZZZ-ZZZZ' });
    await advanceClock(10_000);
    expect(await collect(automate.scriptHistory(computerId))).toMatchObject([{ Status: 'Failed', Output: expect.stringContaining('registration') }]);
    expect(await agentsNamed(token, 'CONTOSO-SRV1')).toEqual([]);
  });

  it('an offline computer keeps the install queued until it checks in', async () => {
    const { acronisToken: token, tenantName, registrationToken } = await customerWithRegistrationToken('Contoso Ltd');
    const computerId = await automateComputer('CONTOSO-LAPTOP', false);
    await automate.executeScript(await scriptId('Acronis Data Cloud agent Install/Upgrade'), [computerId], { RegistrationToken: registrationToken });
    await advanceClock(600_000);
    expect(await collect(automate.runningScripts(computerId))).toMatchObject([{ Status: 'Pending' }]);
    expect(await agentsNamed(token, 'CONTOSO-LAPTOP')).toEqual([]);

    await fetch(`${sims.urls.automate}/_sim/computers/${computerId}/status`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ online: true }) });
    await advanceClock(10_000);
    expect(await agentsNamed(token, 'CONTOSO-LAPTOP')).toMatchObject([{ tenant: { name: tenantName } }]);
  });
});
