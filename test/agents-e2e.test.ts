// First: the API's zod-openapi extension must load before any schema is built (the engine worker's modules build some).
import { newAcronisPartnerAccount } from './partners.ts';
import { startApiHarness, type ApiHarness } from './api-harness.ts';
import { randomUUID } from 'node:crypto';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { collect } from '../clients/collect.ts';
import { listDeploymentComputers } from '../db/agents.ts';
import { DEFAULT_CREDENTIALS } from '../simulators/default-credentials.ts';
import type { RunningSimulators } from '../simulators/index.ts';
import { connectWiseManageSeeder } from '../simulators/seeding/connectwise-manage.ts';
import { bundleEngineWorkflows, createEngineWorker, type EngineWorker } from '../temporal/engine-worker.ts';
import { agentsLoopWorkflowId } from '../workflows/contracts/agents.ts';
import { AgentsWorld } from './agents-world.ts';
import { eventually } from './eventually.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { testKeyring } from './fixtures/test-keys.ts';
import { startTestSimulators } from './simulators.ts';

/**
 * Agents and plans as an MSP lives them through the admin API (SPEC F6), against the simulated
 * Automate and Acronis sharing one world: the plugin's install script with a registration token
 * makes the agent appear in the tenant. Real worker on the dev server, real PostgreSQL; the worker
 * is this file's own, so one test can restart it in the middle of a deployment.
 */

const keyring = testKeyring();
let database: TestDatabase;
let api: ApiHarness;
let sims: RunningSimulators;
let world: AgentsWorld;
let workerConnection: NativeConnection;
let bundle: Awaited<ReturnType<typeof bundleEngineWorkflows>>;
let worker: { engine: EngineWorker; running: Promise<void> };

async function startWorker(): Promise<void> {
  const engine = await createEngineWorker({ connection: workerConnection, namespace: 'default', db: database.db, keyring, client: api.temporal, workflowBundle: bundle });
  worker = { engine, running: engine.run() };
}

async function stopWorker(): Promise<void> {
  worker.engine.shutdown();
  await worker.running;
}

beforeAll(async () => {
  [database, sims] = await Promise.all([createTestDatabase(), startTestSimulators()]);
  world = new AgentsWorld(sims);
  await world.fastScripts();
  api = await startApiHarness(database.db, keyring, { runWorker: false });
  workerConnection = await NativeConnection.connect({ address: inject('temporalAddress') });
  bundle = await bundleEngineWorkflows();
  await startWorker();
});

afterAll(async () => {
  await stopWorker();
  await workerConnection?.close();
  await api?.close();
  await sims?.close();
  await database?.drop();
});

async function call(method: string, path: string, body?: unknown) {
  const response = await api.request(method, path, { body });
  if (response.status >= 300) throw new Error(`${method} ${path} → ${response.status} ${response.text}`);
  return response.json;
}

const unique = (name: string) => `${name} ${randomUUID().slice(0, 6)}`;

/** A partner on ConnectWise Manage with the Automate RMM, agent management switched on. */
async function partnerWithAgents(): Promise<string> {
  // One Acronis account per partner: registration refuses a second partner on one.
  const { tenantId, clientId, clientSecret } = await newAcronisPartnerAccount(sims.urls.acronis);
  const partner = await call('POST', '/v1/partners', {
    name: unique('MSP'),
    timezone: 'Europe/Berlin',
    acronis: { baseUrl: sims.urls.acronis, clientId, clientSecret },
    psa: { kind: 'connectwise-manage', baseUrl: sims.urls['connectwise-manage'], ...DEFAULT_CREDENTIALS['connectwise-manage'] },
    rmm: { kind: 'connectwise-automate', baseUrl: sims.urls.automate, ...DEFAULT_CREDENTIALS.automate },
  });
  await call('PUT', `/v1/partners/${partner.id}/settings`, { agents: { enabled: true } });
  accountTenants.set(partner.id, tenantId);
  return partner.id;
}

/** Each partner's own Acronis partner tenant, where its customers live. */
const accountTenants = new Map<string, string>();

/** An Acronis customer and its Automate client (same name), tied together with F6.8's route. */
async function customer(partnerId: string, name = unique('Contoso')) {
  const tenantId = await world.customerTenant(name, accountTenants.get(partnerId));
  const place = await world.client(name);
  const tied = await call('POST', `/v1/partners/${partnerId}/rmm-clients/${place.clientId}/tenant`);
  expect(tied).toEqual({ clientId: place.clientId, tenantId, name, created: false, via: 'rmm-link' });
  return { tenantId, name, ...place };
}

async function deploy(partnerId: string, body: Record<string, unknown>): Promise<string> {
  const response = await api.request('POST', `/v1/partners/${partnerId}/agents/deployments`, { body });
  expect(response.status, response.text).toBe(202);
  return response.json.deploymentId;
}

async function deploymentOnce(partnerId: string, deploymentId: string, done: (deployment: any) => boolean = (deployment) => deployment.status === 'done', timeoutMs = 45_000) {
  return eventually(`deployment ${deploymentId}`, () => call('GET', `/v1/partners/${partnerId}/agents/deployments/${deploymentId}`), done, timeoutMs);
}

const outcomes = (deployment: any) => Object.fromEntries(deployment.computers.map((computer: any) => [computer.name, computer.status]));
const computersOf = async (partnerId: string, query: string) => (await call('GET', `/v1/partners/${partnerId}/computers?${query}`)).items;

describe('deployments', () => {
  it('install on selected computers, on a location and on a whole client; an offline computer is reported, then completed once online', async () => {
    const partnerId = await partnerWithAgents();
    const contoso = await customer(partnerId);
    const branch = await world.location(contoso.clientId, 'Branch');
    const hq1 = await world.computer(contoso, 'CON-HQ-01');
    const hq2 = await world.computer(contoso, 'CON-HQ-02');
    const br1 = await world.computer({ clientId: contoso.clientId, locationId: branch }, 'CON-BR-01');
    const br2 = await world.computer({ clientId: contoso.clientId, locationId: branch }, 'CON-BR-LAPTOP', { online: false });

    const selected = await deploymentOnce(partnerId, await deploy(partnerId, { action: 'install', computerIds: [hq1] }));
    expect(selected.computers).toEqual([expect.objectContaining({ computerId: hq1, status: 'succeeded', agentId: expect.any(String), error: null })]);

    const atBranch = await deploy(partnerId, { action: 'install', locationId: branch, windowMinutes: 60 });
    const reported = await deploymentOnce(partnerId, atBranch, (deployment) => deployment.computers.some((computer: any) => computer.status === 'succeeded'));
    expect(reported.status).toBe('running');
    expect(reported.computers.find((computer: any) => computer.computerId === br2)).toMatchObject({ status: 'pending', error: expect.stringMatching(/^offline: the install runs when the computer comes online/) });
    await world.setOnline(br2, true);
    expect(outcomes(await deploymentOnce(partnerId, atBranch))).toEqual({ 'CON-BR-01': 'succeeded', 'CON-BR-LAPTOP': 'succeeded' });

    const wholeClient = await deploymentOnce(partnerId, await deploy(partnerId, { action: 'install', clientId: contoso.clientId, withBackupMonitor: true }));
    expect(outcomes(wholeClient)).toEqual({ 'CON-HQ-01': 'succeeded', 'CON-HQ-02': 'succeeded', 'CON-BR-01': 'succeeded', 'CON-BR-LAPTOP': 'succeeded' });
    expect(wholeClient.computers.find((computer: any) => computer.computerId === hq1).detail).toBe('the agent was already installed and registered');

    for (const computerId of [hq1, hq2, br1, br2]) expect(await world.installRuns(computerId)).toBe(1);
    const agents = await world.agents();
    expect(agents.filter((agent) => agent.hostname.startsWith('CON-')).every((agent) => agent.tenant.name === contoso.name)).toBe(true);
    const listed = await computersOf(partnerId, `clientId=${contoso.clientId}`);
    // The simulated installer registers the previous agent build, which Agent Manager reports as outdated.
    expect(listed.map((computer: any) => [computer.name, computer.agent.state, computer.states])).toEqual([
      ['CON-HQ-01', 'outdated', ['outdated-agent', 'no-plan']],
      ['CON-HQ-02', 'outdated', ['outdated-agent', 'no-plan']],
      ['CON-BR-01', 'outdated', ['outdated-agent', 'no-plan']],
      ['CON-BR-LAPTOP', 'outdated', ['outdated-agent', 'no-plan']],
    ]);
  });

  it('updates an outdated agent through Acronis and uninstalls it with the plugin’s script', async () => {
    const partnerId = await partnerWithAgents();
    const fabrikam = await customer(partnerId, unique('Fabrikam'));
    const pc = await world.computer(fabrikam, 'FAB-OLD-01');
    await world.installByHand(fabrikam.tenantId, [pc]);
    await world.waitForAgents(['FAB-OLD-01']);
    expect((await computersOf(partnerId, `clientId=${fabrikam.clientId}&state=outdated-agent`)).map((computer: any) => computer.name)).toEqual(['FAB-OLD-01']);

    expect(outcomes(await deploymentOnce(partnerId, await deploy(partnerId, { action: 'update', computerIds: [pc] })))).toEqual({ 'FAB-OLD-01': 'succeeded' });
    expect(await computersOf(partnerId, `clientId=${fabrikam.clientId}&state=outdated-agent`)).toEqual([]);

    expect(outcomes(await deploymentOnce(partnerId, await deploy(partnerId, { action: 'uninstall', clientId: fabrikam.clientId })))).toEqual({ 'FAB-OLD-01': 'succeeded' });
    expect(await world.agentOf('FAB-OLD-01')).toBeUndefined();
    expect((await computersOf(partnerId, `clientId=${fabrikam.clientId}&state=no-agent`)).map((computer: any) => computer.name)).toEqual(['FAB-OLD-01']);
  });

  it('a worker restart in the middle of a deployment scripts no computer twice', async () => {
    const partnerId = await partnerWithAgents();
    const northwind = await customer(partnerId, unique('Northwind'));
    const ids: number[] = [];
    for (let index = 1; index <= 6; index++) ids.push(await world.computer(northwind, `NW-PC-${index}`, { online: index !== 6 }));
    await world.fastScripts(6_000);
    try {
      const deploymentId = await deploy(partnerId, { action: 'install', clientId: northwind.clientId });
      await eventually('scripts sent', () => listDeploymentComputers(database.db, deploymentId), (computers) => computers.filter((computer) => computer.scriptSentAt !== null).length === 5);
      await stopWorker();
      await world.setOnline(ids[5]!, true);
      await startWorker();
      expect(outcomes(await deploymentOnce(partnerId, deploymentId, undefined, 60_000))).toEqual(Object.fromEntries(ids.map((_, index) => [`NW-PC-${index + 1}`, 'succeeded'])));
      for (const computerId of ids) expect(await world.installRuns(computerId)).toBe(1);
      expect((await listDeploymentComputers(database.db, deploymentId)).map((computer) => computer.scriptsSent)).toEqual([1, 1, 1, 1, 1, 1]);
    } finally {
      await world.fastScripts();
    }
  });
});

describe('policies and the scan', () => {
  it('auto-deploys the agent with the default plan, also to a computer added later, and gives computers with an agent but no plan the default plan', async () => {
    const partnerId = await partnerWithAgents();
    const litware = await customer(partnerId, unique('Litware'));
    const planId = await world.plan(litware.tenantId, 'Litware daily');
    const bare = await world.computer(litware, 'LIT-NEW-01');
    const byHand = await world.computer(litware, 'LIT-OLD-01');
    await world.installByHand(litware.tenantId, [byHand]);
    await world.waitForAgents(['LIT-OLD-01']);

    const policies = await call('PUT', `/v1/partners/${partnerId}/agents/policies`, [{ clientId: litware.clientId, autoDeploy: true, withBackupMonitor: false, defaultPlanId: planId }]);
    expect(policies.items).toEqual([expect.objectContaining({ clientId: litware.clientId, locationId: null, tenantId: litware.tenantId, autoDeploy: true })]);
    await eventually('the scan’s work', async () => [await world.plansOn('LIT-NEW-01'), await world.plansOn('LIT-OLD-01')], ([fresh, old]) => fresh!.length > 0 && old!.length > 0, 45_000);
    expect([await world.plansOn('LIT-NEW-01'), await world.plansOn('LIT-OLD-01')]).toEqual([['Litware daily'], ['Litware daily']]);
    expect(await world.installRuns(bare)).toBe(1);

    await world.computer(litware, 'LIT-ADDED-02');
    await call('POST', `/v1/partners/${partnerId}/sync`, { what: ['agents'] });
    await eventually('the added computer protected', () => world.plansOn('LIT-ADDED-02'), (plans) => plans.length === 1, 45_000);

    const deployments = (await call('GET', `/v1/partners/${partnerId}/agents/deployments`)).items;
    expect(deployments.every((deployment: any) => deployment.trigger === 'scan' && deployment.action === 'install')).toBe(true);
    const [policy] = (await call('GET', `/v1/partners/${partnerId}/agents/policies`)).items;
    expect(policy.lastScanNote).toMatch(/computers/);
  });
});

describe('plans and protection', () => {
  it('applies, starts, stops and revokes a plan on a computer, and counts protection as the simulator shows it', async () => {
    const partnerId = await partnerWithAgents();
    const adatum = await customer(partnerId, unique('Adatum'));
    const planId = await world.plan(adatum.tenantId, 'Adatum nightly');
    const [protectedPc, planless, bare] = [await world.computer(adatum, 'ADT-01'), await world.computer(adatum, 'ADT-02'), await world.computer(adatum, 'ADT-03')];
    await world.installByHand(adatum.tenantId, [protectedPc, planless]);
    await world.waitForAgents(['ADT-01', 'ADT-02']);

    const applied = await call('PUT', `/v1/partners/${partnerId}/computers/${protectedPc}/plan`, { planId });
    expect(applied.plans).toEqual([expect.objectContaining({ planId, name: 'Adatum nightly', running: false })]);
    expect(await world.plansOn('ADT-01')).toEqual(['Adatum nightly']);

    expect((await api.request('POST', `/v1/partners/${partnerId}/computers/${protectedPc}/backup`)).status).toBe(202);
    expect((await computersOf(partnerId, `clientId=${adatum.clientId}`))[0].plans[0].running).toBe(true);
    expect((await api.request('DELETE', `/v1/partners/${partnerId}/computers/${protectedPc}/backup`)).status).toBe(202);
    expect((await computersOf(partnerId, `clientId=${adatum.clientId}`))[0].plans[0].running).toBe(false);
    expect((await api.request('DELETE', `/v1/partners/${partnerId}/computers/${protectedPc}/backup`)).status).toBe(409);

    const protection = await call('GET', `/v1/partners/${partnerId}/protection?clientId=${adatum.clientId}`);
    expect(protection.clients).toEqual([expect.objectContaining({ clientId: adatum.clientId, tenantId: adatum.tenantId, counts: { ok: 1, error: 0, warning: 0, noPlan: 1, noAgent: 1, noTenant: 0 } })]);
    expect(protection.computers.map((computer: any) => [computer.computerId, computer.status, computer.reason])).toEqual([
      [protectedPc, 'ok', null],
      [planless, 'not-protected', 'no-plan'],
      [bare, 'not-protected', 'no-agent'],
    ]);

    // A failing backup, as Acronis reports it once the run has ended (a simulated minute later).
    const machine = await world.agentOf('ADT-01');
    const [machineResource] = await collect(world.acronis.listResources({ agentId: machine!.id }));
    await fetch(`${sims.urls.acronis}/_sim/backups/outcome`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ resourceId: machineResource!.id, outcome: 'fail', error: 'disk full' }) });
    expect((await api.request('POST', `/v1/partners/${partnerId}/computers/${protectedPc}/backup`)).status).toBe(202);
    await fetch(`${sims.urls.acronis}/_sim/clock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ advanceMs: 61_000 }) });
    const failing = await call('GET', `/v1/partners/${partnerId}/protection?clientId=${adatum.clientId}`);
    expect(failing.clients[0]).toMatchObject({ counts: { ok: 0, error: 1, noPlan: 1, noAgent: 1 }, alerts: { critical: 1 } });
    expect(failing.computers[0]).toMatchObject({ status: 'error', lastBackupAt: expect.any(String) });

    expect((await api.request('DELETE', `/v1/partners/${partnerId}/computers/${protectedPc}/plan`)).status).toBe(204);
    expect(await world.plansOn('ADT-01')).toEqual([]);
    expect((await call('GET', `/v1/partners/${partnerId}/protection?clientId=${adatum.clientId}`)).clients[0].counts).toMatchObject({ ok: 0, error: 0, noPlan: 2, noAgent: 1 });
  });

  it('imports a customer’s plan for every customer, as the default, and copies it into another customer’s tenant on first use', async () => {
    const partnerId = await partnerWithAgents();
    const source = await customer(partnerId, unique('Tailspin'));
    const other = await customer(partnerId, unique('Wingtip'));
    const planId = await world.plan(source.tenantId, 'Tailspin servers');
    const imported = await api.request('POST', `/v1/partners/${partnerId}/plans/import`, { body: { tenantId: source.tenantId, planId, default: true } });
    expect(imported.status).toBe(201);
    expect(imported.json).toMatchObject({ planId, name: 'Tailspin servers', tenantId: null, imported: true, isDefault: true });

    const pc = await world.computer(other, 'WT-01');
    await world.installByHand(other.tenantId, [pc]);
    await world.waitForAgents(['WT-01']);
    await call('PUT', `/v1/partners/${partnerId}/computers/${pc}/plan`, { planId });
    expect(await world.plansOn('WT-01')).toEqual(['Tailspin servers']);
    const plans = (await call('GET', `/v1/partners/${partnerId}/plans`)).items;
    expect(plans.filter((plan: any) => plan.name === 'Tailspin servers')).toEqual([expect.objectContaining({ planId, imported: true, isDefault: true })]);
  });
});

describe('bad input and switching off', () => {
  it('names unknown computers, clients and plans, and the client without a tenant', async () => {
    const partnerId = await partnerWithAgents();
    const known = await customer(partnerId, unique('Proseware'));
    const pc = await world.computer(known, 'PRO-01');
    const orphan = await world.client(unique('Orphan'));
    await world.computer(orphan, 'ORPHAN-01');
    const post = (body: unknown) => api.request('POST', `/v1/partners/${partnerId}/agents/deployments`, { body });

    const unknownComputer = await post({ action: 'install', computerIds: [pc, 99_999] });
    expect([unknownComputer.status, unknownComputer.json.errors]).toEqual([400, [{ path: 'computerIds.1', message: 'computer 99999 is not in Automate' }]]);
    expect((await post({ action: 'install', clientId: 99_999 })).json.errors).toEqual([{ path: 'clientId', message: 'client 99999 is not in Automate' }]);
    expect((await post({ action: 'install' })).status).toBe(400);
    expect((await post({ action: 'update', clientId: known.clientId, withBackupMonitor: true })).json.errors[0].path).toBe('withBackupMonitor');
    const homeless = await post({ action: 'install', clientId: orphan.clientId });
    expect(homeless.status).toBe(409);
    expect(homeless.json.errors[0]).toMatchObject({ path: 'clientId', message: expect.stringContaining(`Automate client ${orphan.clientId} "`) });

    expect((await api.request('PUT', `/v1/partners/${partnerId}/computers/99999/plan`, { body: { planId: randomUUID() } })).status).toBe(404);
    expect((await api.request('POST', `/v1/partners/${partnerId}/rmm-clients/99999/tenant`)).status).toBe(404);
    expect((await api.request('GET', `/v1/partners/${partnerId}/agents/deployments/${randomUUID()}`)).status).toBe(404);
    const importUnknown = await api.request('POST', `/v1/partners/${partnerId}/plans/import`, { body: { tenantId: known.tenantId, planId: randomUUID() } });
    expect([importUnknown.status, importUnknown.json.errors[0].path]).toEqual([400, 'planId']);
    const policies = await api.request('PUT', `/v1/partners/${partnerId}/agents/policies`, { body: [{ clientId: 99_999, autoDeploy: true, withBackupMonitor: false }, { clientId: known.clientId, autoDeploy: false, withBackupMonitor: false, defaultPlanId: randomUUID() }] });
    expect([policies.status, policies.json.errors.map((error: any) => error.path)]).toEqual([400, ['0.clientId', '1.defaultPlanId']]);
  });

  it('switching agent management off ends the scan and the running deployments within seconds, with the reason', async () => {
    const partnerId = await partnerWithAgents();
    const away = await customer(partnerId, unique('Away'));
    await world.computer(away, 'AWAY-LAPTOP', { online: false });
    const deploymentId = await deploy(partnerId, { action: 'install', clientId: away.clientId });
    await deploymentOnce(partnerId, deploymentId, (deployment) => deployment.computers[0].status === 'pending' && deployment.computers[0].error !== null);
    await call('PUT', `/v1/partners/${partnerId}/settings`, { agents: { enabled: false } });
    const ended = await deploymentOnce(partnerId, deploymentId, undefined, 30_000);
    expect(ended.endReason).toMatch(/switched off/);
    expect(ended.computers[0]).toMatchObject({ status: 'failed', error: expect.stringMatching(/^the deployment ended before this computer's outcome was known/) });
    const loop = await api.temporal.workflow.getHandle(agentsLoopWorkflowId(partnerId)).describe();
    expect(loop.status.name).not.toBe('RUNNING');
    expect((await api.request('POST', `/v1/partners/${partnerId}/agents/deployments`, { body: { action: 'install', clientId: away.clientId } })).json.errors[0].path).toBe('agents.enabled');
  });
});

// The PSA side of the link: an Automate client linked to a PSA company whose mapping names the tenant.
describe('which tenant a computer belongs to', () => {
  it('follows the client’s PSA company to its mapped tenant', async () => {
    const partnerId = await partnerWithAgents();
    const name = unique('Mapped');
    const tenantId = await world.customerTenant(name, accountTenants.get(partnerId));
    const companyId = await connectWiseManageSeeder(sims.urls['connectwise-manage']).createCompany(name);
    await call('PUT', `/v1/partners/${partnerId}/customers/${companyId}/mapping`, { tenantId });
    const place = await world.client(name, Number(companyId));
    await world.computer(place, 'MAP-01');
    const [listed] = await computersOf(partnerId, `clientId=${place.clientId}`);
    expect(listed).toMatchObject({ tenantId, tenantSource: 'psa-mapping', agent: { state: 'none' } });
    expect(await call('POST', `/v1/partners/${partnerId}/rmm-clients/${place.clientId}/tenant`)).toMatchObject({ tenantId, created: false, via: 'psa-mapping' });
    const fresh = await world.client(unique('Brand new'));
    const made = await call('POST', `/v1/partners/${partnerId}/rmm-clients/${fresh.clientId}/tenant`);
    expect(made).toMatchObject({ created: true, via: 'rmm-link' });
    expect(await call('POST', `/v1/partners/${partnerId}/rmm-clients/${fresh.clientId}/tenant`)).toMatchObject({ tenantId: made.tenantId, created: false });
  });
});
