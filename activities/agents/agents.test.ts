import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { PartnerClientsCache } from '../../clients/partner-clients.ts';
import { insertDeployment, listAgentPolicies, listDeploymentComputers, listDeployments, replaceAgentPolicies, saveClientLink, type DeploymentTarget } from '../../db/agents.ts';
import { readSettings, writeSettings } from '../../db/settings.ts';
import type { DeploymentAction } from '../../db/schema.ts';
import { mergeSettings, settingsSchema } from '../../domain/settings.ts';
import type { RunningSimulators } from '../../simulators/index.ts';
import { AgentWorkflows } from '../../temporal/agent-workflows.ts';
import { encryptedDataConverter } from '../../temporal/data-converter.ts';
import { AgentsWorld } from '../../test/agents-world.ts';
import { eventually } from '../../test/eventually.ts';
import { createTestDatabase, type TestDatabase } from '../../test/database.ts';
import { testKeyring } from '../../test/fixtures/test-keys.ts';
import { seedPartner } from '../../test/partners.ts';
import { addFault, startTestSimulators } from '../../test/simulators.ts';
import { deploymentWorkflowId, type DeploymentProgress } from '../../workflows/contracts/agents.ts';
import { createAgentActivities } from './index.ts';
import type { AgentActivities } from './types.ts';

/**
 * Deployment rounds and the scan against the simulated Automate and Acronis (one world: the plugin's install
 * script with a registration token makes the agent appear in the tenant) and a real PostgreSQL.
 */

const keyring = testKeyring();
let sims: RunningSimulators;
let database: TestDatabase;
let connection: Connection;
let activities: AgentActivities;
let world: AgentsWorld;
let temporal: Client;

beforeAll(async () => {
  sims = await startTestSimulators();
  database = await createTestDatabase();
  connection = await Connection.connect({ address: inject('temporalAddress') });
  temporal = new Client({ connection, dataConverter: encryptedDataConverter(keyring) });
  activities = createAgentActivities({ db: database.db, clients: new PartnerClientsCache(database.db, keyring), workflows: new AgentWorkflows(temporal) });
  world = new AgentsWorld(sims);
});

afterAll(async () => {
  await connection?.close();
  await database?.drop();
  await sims?.close();
});

beforeEach(async () => {
  sims.reset();
  await world.fastScripts();
});

async function partnerWithAgentsOn(): Promise<string> {
  const partnerId = await seedPartner(database.db, keyring, undefined, { urls: { acronis: sims.urls.acronis, automate: sims.urls.automate } });
  const stored = await readSettings(database.db, partnerId);
  await writeSettings(database.db, partnerId, settingsSchema.parse(mergeSettings(stored!.settings, { agents: { enabled: true } })));
  return partnerId;
}

interface Fixture {
  partnerId: string;
  tenantId: string;
  place: { clientId: number; locationId: number };
}

async function fixture(): Promise<Fixture> {
  const partnerId = await partnerWithAgentsOn();
  const tenantId = await world.customerTenant(`Contoso ${randomUUID().slice(0, 6)}`);
  const place = await world.client('Contoso');
  await saveClientLink(database.db, partnerId, { clientId: place.clientId, tenantId });
  return { partnerId, tenantId, place };
}

async function deploy(partnerId: string, action: DeploymentAction, targets: DeploymentTarget[], windowMs = 3_600_000): Promise<string> {
  const id = randomUUID();
  await insertDeployment(database.db, { id, partnerId, action, trigger: 'api', windowEndsAt: new Date(Date.now() + windowMs), registrationTimeoutSeconds: 60, requestedBy: 'test' }, targets);
  return id;
}

const target = (fx: Fixture, computerId: number, name: string): DeploymentTarget => ({ computerId, name, clientId: fx.place.clientId, locationId: fx.place.locationId, tenantId: fx.tenantId, withBackupMonitor: false });

function round(partnerId: string, deploymentId: string): Promise<DeploymentProgress> {
  return new MockActivityEnvironment().run(activities.advanceDeployment, { partnerId, deploymentId });
}

/** Rounds as the workflow runs them, until `done` holds for the recorded computers. */
async function roundsUntil(partnerId: string, deploymentId: string, done: (computers: Awaited<ReturnType<typeof listDeploymentComputers>>) => boolean): Promise<Awaited<ReturnType<typeof listDeploymentComputers>>> {
  return eventually('the deployment', async () => {
    await round(partnerId, deploymentId);
    return listDeploymentComputers(database.db, deploymentId);
  }, done);
}

const byName = (computers: Awaited<ReturnType<typeof listDeploymentComputers>>) => Object.fromEntries(computers.map((computer) => [computer.name, { status: computer.status, reason: computer.reason, agent: computer.agentId !== null }]));

describe('install', () => {
  it('registers the agent of every online computer in its tenant, reports the offline one, and completes it once it is online', async () => {
    const fx = await fixture();
    const [a, b, c] = [await world.computer(fx.place, 'CON-PC-01'), await world.computer(fx.place, 'CON-PC-02'), await world.computer(fx.place, 'CON-LAPTOP-03', { online: false })];
    const id = await deploy(fx.partnerId, 'install', [target(fx, a, 'CON-PC-01'), target(fx, b, 'CON-PC-02'), target(fx, c, 'CON-LAPTOP-03')]);

    const first = await roundsUntil(fx.partnerId, id, (computers) => computers.filter((computer) => computer.status === 'succeeded').length === 2);
    expect(byName(first)).toMatchObject({
      'CON-PC-01': { status: 'succeeded', agent: true },
      'CON-PC-02': { status: 'succeeded', agent: true },
      'CON-LAPTOP-03': { status: 'pending', reason: expect.stringMatching(/^offline: the install runs when the computer comes online/) },
    });
    const agents = await world.agents();
    expect(agents.filter((agent) => ['CON-PC-01', 'CON-PC-02'].includes(agent.hostname)).map((agent) => agent.tenant.name)).toEqual([expect.stringMatching(/^Contoso/), expect.stringMatching(/^Contoso/)]);

    await world.setOnline(c, true);
    const done = await roundsUntil(fx.partnerId, id, (computers) => computers.every((computer) => computer.status === 'succeeded'));
    expect(done.map((computer) => computer.scriptsSent)).toEqual([1, 1, 1]);
    for (const computerId of [a, b, c]) expect(await world.installRuns(computerId)).toBe(1);
    expect((await round(fx.partnerId, id)).status).toBe('done');
  });

  it('fails the offline computer when the window closes', async () => {
    const fx = await fixture();
    const away = await world.computer(fx.place, 'CON-AWAY', { online: false });
    const id = await deploy(fx.partnerId, 'install', [target(fx, away, 'CON-AWAY')], 1_000);
    await delay(1_100);
    const progress = await round(fx.partnerId, id);
    expect(progress.status).toBe('done');
    expect(byName(await listDeploymentComputers(database.db, id))['CON-AWAY']).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^offline: the computer did not come online before the deployment window closed/) });
    expect(await world.installRuns(away)).toBe(0);
  });

  it('leaves a computer that already has the agent as it is', async () => {
    const fx = await fixture();
    const pc = await world.computer(fx.place, 'CON-HAS-AGENT');
    await world.installByHand(fx.tenantId, [pc]);
    await world.waitForAgents(['CON-HAS-AGENT']);
    const id = await deploy(fx.partnerId, 'install', [target(fx, pc, 'CON-HAS-AGENT')]);
    await round(fx.partnerId, id);
    expect(byName(await listDeploymentComputers(database.db, id))['CON-HAS-AGENT']).toMatchObject({ status: 'succeeded', reason: 'the agent was already installed and registered', agent: true });
    expect(await world.installRuns(pc)).toBe(1);
  });

  it('fails the computers whose script fails, and goes on with the others', async () => {
    const fx = await fixture();
    const disabledTenant = await world.customerTenant(`Fabrikam ${randomUUID().slice(0, 6)}`);
    const fabrikam = await world.client('Fabrikam');
    await saveClientLink(database.db, fx.partnerId, { clientId: fabrikam.clientId, tenantId: disabledTenant });
    const good = await world.computer(fx.place, 'CON-GOOD');
    const bad = await world.computer(fabrikam, 'FAB-BAD');
    // Acronis still issues a token for a disabled tenant, but refuses the agent's registration: the script fails.
    await world.disableTenant(disabledTenant);
    const id = await deploy(fx.partnerId, 'install', [target(fx, good, 'CON-GOOD'), { ...target(fx, bad, 'FAB-BAD'), clientId: fabrikam.clientId, locationId: fabrikam.locationId, tenantId: disabledTenant }]);
    const computers = await roundsUntil(fx.partnerId, id, (rows) => rows.every((row) => row.status === 'succeeded' || row.status === 'failed'));
    expect(byName(computers)).toMatchObject({
      'CON-GOOD': { status: 'succeeded' },
      'FAB-BAD': { status: 'failed', reason: expect.stringMatching(/^script failed: .*registration was refused: the token tenant is disabled/) },
    });
  });

  it('never sends a computer its script twice when the answer to the send was lost', async () => {
    const fx = await fixture();
    const pc = await world.computer(fx.place, 'CON-LOST-ANSWER');
    const id = await deploy(fx.partnerId, 'install', [target(fx, pc, 'CON-LOST-ANSWER')]);
    await addFault(sims.urls.automate, { match: 'Batch/ScriptExecute', kind: 'timeout-after-commit', times: 1 });
    // The worker gives up on the hanging call (as when it dies): Automate has queued the script, PostgreSQL has the claim only.
    const environment = new MockActivityEnvironment();
    const attempt = environment.run(activities.advanceDeployment, { partnerId: fx.partnerId, deploymentId: id });
    await eventually('the script in Automate', () => world.installRuns(pc), (runs) => runs === 1, 10_000);
    environment.cancel();
    await expect(attempt).rejects.toThrow();
    const [claimed] = await listDeploymentComputers(database.db, id);
    expect(claimed).toMatchObject({ scriptsSent: 0, scriptClaimedAt: expect.any(Date), scriptSentAt: null });

    const [done] = await roundsUntil(fx.partnerId, id, (rows) => rows[0]?.status === 'succeeded');
    expect(done).toMatchObject({ status: 'succeeded', scriptsSent: 1 });
    expect(await world.installRuns(pc)).toBe(1);
  });

  it('sends the script again when Automate refused the first send during an outage', async () => {
    const fx = await fixture();
    const pc = await world.computer(fx.place, 'CON-OUTAGE');
    const id = await deploy(fx.partnerId, 'install', [target(fx, pc, 'CON-OUTAGE')]);
    await addFault(sims.urls.automate, { match: 'Batch/ScriptExecute', kind: 'status', status: 503, times: 1 });
    await expect(round(fx.partnerId, id)).rejects.toThrow(/ConnectWise Automate failed/);
    const [done] = await roundsUntil(fx.partnerId, id, (rows) => rows[0]?.status === 'succeeded');
    expect(done).toMatchObject({ status: 'succeeded', scriptsSent: 1 });
    expect(await world.installRuns(pc)).toBe(1);
  });
});

describe('update and uninstall', () => {
  it('updates an outdated agent through Acronis, then removes it with the uninstall script', async () => {
    const fx = await fixture();
    const pc = await world.computer(fx.place, 'CON-OLD');
    await world.installByHand(fx.tenantId, [pc]);
    const [old] = await world.waitForAgents(['CON-OLD']);
    expect(old?.up_to_date).toBe(false);

    const update = await deploy(fx.partnerId, 'update', [target(fx, pc, 'CON-OLD')]);
    const [updated] = await roundsUntil(fx.partnerId, update, (rows) => rows[0]?.status === 'succeeded');
    expect(updated).toMatchObject({ status: 'succeeded', agentId: old!.id });
    expect((await world.agentOf('CON-OLD'))?.up_to_date).toBe(true);

    const uninstall = await deploy(fx.partnerId, 'uninstall', [target(fx, pc, 'CON-OLD')]);
    const [removed] = await roundsUntil(fx.partnerId, uninstall, (rows) => rows[0]?.status === 'succeeded');
    expect(removed).toMatchObject({ status: 'succeeded', reason: null });
    expect(await world.agentOf('CON-OLD')).toBeUndefined();
  });

  it('fails an update where no agent is installed', async () => {
    const fx = await fixture();
    const pc = await world.computer(fx.place, 'CON-NONE');
    const id = await deploy(fx.partnerId, 'update', [target(fx, pc, 'CON-NONE')]);
    expect((await round(fx.partnerId, id)).status).toBe('done');
    expect(byName(await listDeploymentComputers(database.db, id))['CON-NONE']).toMatchObject({ status: 'failed', reason: 'no Acronis agent to update on this computer' });
  });
});

describe('the scan', () => {
  it('starts one deployment per scan, also when the scan is retried after it made it', async () => {
    const fx = await fixture();
    await world.computer(fx.place, 'CON-SCANNED');
    await replaceAgentPolicies(database.db, fx.partnerId, [{ clientId: fx.place.clientId, locationId: null, autoDeploy: true, withBackupMonitor: true, defaultPlanId: null }]);
    const passId = randomUUID();
    const scan = () => new MockActivityEnvironment().run(activities.scanAgents, { partnerId: fx.partnerId, passId });
    try {
      const first = await scan();
      expect(first).toMatchObject({ status: 'done', summary: { policies: 1, computers: 1, queued: 1, deploymentId: expect.any(String) } });
      const again = await scan();
      expect(again).toMatchObject({ status: 'done', summary: { queued: 0, deploymentId: (first as any).summary.deploymentId } });
      const deployments = await listDeployments(database.db, fx.partnerId, 10);
      expect(deployments.map((deployment) => [deployment.trigger, deployment.action])).toEqual([['scan', 'install']]);
      expect((await listDeploymentComputers(database.db, deployments[0]!.id)).map((computer) => [computer.name, computer.withBackupMonitor])).toEqual([['CON-SCANNED', true]]);
      expect((await listAgentPolicies(database.db, fx.partnerId))[0]?.lastScanNote).toBe('1 computer');
    } finally {
      for (const deployment of await listDeployments(database.db, fx.partnerId, 10)) await temporal.workflow.getHandle(deploymentWorkflowId(fx.partnerId, deployment.id)).terminate('test over').catch(() => undefined);
    }
  });
});
