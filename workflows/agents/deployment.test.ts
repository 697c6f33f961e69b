import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTimeSkippingEngine, type TimeSkippingEngine } from '../../test/time-skipping-engine.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertDeployment, listDeploymentComputers, saveClientLink } from '../../db/agents.ts';
import { readSettings, writeSettings } from '../../db/settings.ts';
import { mergeSettings, settingsSchema } from '../../domain/settings.ts';
import type { RunningSimulators } from '../../simulators/index.ts';
import { AgentWorkflows } from '../../temporal/agent-workflows.ts';
import { AgentsWorld } from '../../test/agents-world.ts';
import { createTestDatabase, type TestDatabase } from '../../test/database.ts';
import { testKeyring } from '../../test/fixtures/test-keys.ts';
import { seedPartner } from '../../test/partners.ts';
import { startTestSimulators } from '../../test/simulators.ts';
import { deploymentWorkflowId, type DeploymentState } from '../contracts/agents.ts';

/**
 * A deployment's window on the time-skipping test server: hours of waiting for an offline computer
 * pass at once, while each round reads the simulated Automate and Acronis for real.
 */
describe('a deployment (time-skipping test server)', () => {
  const keyring = testKeyring();
  let database: TestDatabase;
  let sims: RunningSimulators;
  let env: TestWorkflowEnvironment;
  let engine: TimeSkippingEngine;

  beforeAll(async () => {
    [database, sims] = await Promise.all([createTestDatabase(), startTestSimulators()]);
    engine = await startTimeSkippingEngine(database.db, keyring);
    env = engine.env;
  });

  afterAll(async () => {
    await engine?.close();
    await sims?.close();
    await database?.drop();
  });

  it('installs on the online computer, waits out the two-hour window for the offline one, then reports it offline', async () => {
    const world = new AgentsWorld(sims);
    await world.fastScripts();
    const partnerId = await seedPartner(database.db, keyring, undefined, { urls: { acronis: sims.urls.acronis, automate: sims.urls.automate } });
    const stored = await readSettings(database.db, partnerId);
    await writeSettings(database.db, partnerId, settingsSchema.parse(mergeSettings(stored!.settings, { agents: { enabled: true } })));
    const tenantId = await world.customerTenant(`Contoso ${randomUUID().slice(0, 6)}`);
    const place = await world.client('Contoso');
    await saveClientLink(database.db, partnerId, { clientId: place.clientId, tenantId });
    const online = await world.computer(place, 'CON-ONLINE');
    const offline = await world.computer(place, 'CON-OFFLINE', { online: false });
    const target = (computerId: number, name: string) => ({ computerId, name, clientId: place.clientId, locationId: place.locationId, tenantId, withBackupMonitor: false });

    const deploymentId = randomUUID();
    const windowEndsAt = new Date(Date.now() + 2 * 3_600_000);
    await insertDeployment(database.db, { id: deploymentId, partnerId, action: 'install', trigger: 'api', windowEndsAt, registrationTimeoutSeconds: 900, requestedBy: 'test' }, [target(online, 'CON-ONLINE'), target(offline, 'CON-OFFLINE')]);
    await new AgentWorkflows(env.client).startDeployment({ partnerId, psaKind: 'autotask', deploymentId, what: 'agent install on 2 computers' });

    const result: DeploymentState = await env.client.workflow.getHandle(deploymentWorkflowId(partnerId, deploymentId)).result();
    expect(result.counts).toEqual({ total: 2, pending: 0, running: 0, succeeded: 1, failed: 1 });
    // Backing off to five minutes between looks, not one round every few seconds for two hours.
    expect(result.rounds).toBeLessThan(60);
    const computers = await listDeploymentComputers(database.db, deploymentId);
    expect(computers.map((computer) => [computer.name, computer.status, computer.reason])).toEqual([
      ['CON-ONLINE', 'succeeded', null],
      ['CON-OFFLINE', 'failed', `offline: the computer did not come online before the deployment window closed at ${windowEndsAt.toISOString()}`],
    ]);
    expect([await world.installRuns(online), await world.installRuns(offline)]).toEqual([1, 0]);
  });
});
