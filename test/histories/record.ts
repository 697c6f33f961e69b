/**
 * Records the histories the replay test replays: `npm run histories:record`.
 * Re-record when the workflow changes on purpose, and keep the old files whenever running
 * workflows may still carry the old shape (then the change needs patched()).
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { TASK_QUEUE } from '../../workflows/contracts/task-queues.ts';
import { insertDeployment, saveClientLink } from '../../db/agents.ts';
import { connectDatabase } from '../../db/connection.ts';
import { replaceProductMappings, upsertCompanyMapping } from '../../db/mappings.ts';
import { migrateToLatest } from '../../db/migrate.ts';
import { markPartnerDeleted } from '../../db/partners.ts';
import { readSettings, writeSettings } from '../../db/settings.ts';
import { startPostgresServer } from '../../dev/postgres-server.ts';
import { resolveTemporalExecutable } from '../../dev/temporal-binaries.ts';
import { encryptedDataConverter } from '../../temporal/data-converter.ts';
import { AgentWorkflows } from '../../temporal/agent-workflows.ts';
import { createEngineWorker } from '../../temporal/engine-worker.ts';
import { startSimulators } from '../../simulators/index.ts';
import { connectWiseManageSeeder } from '../../simulators/seeding/connectwise-manage.ts';
import { ProvisioningWorkflows } from '../../temporal/provisioning-workflows.ts';
import { registerSearchAttributes } from '../../temporal/search-attributes.ts';
import type { agentsLoop as agentsLoopWorkflow } from '../../workflows/agents/loop.ts';
import { agentsLoopStateQuery, agentsLoopWorkflowId, deploymentWorkflowId } from '../../workflows/contracts/agents.ts';
import { configurationChangedSignal, syncNowSignal } from '../../workflows/contracts/loops.ts';
import { partnerRemovedSignal, partnerWorkflowId, supervisorStateQuery, type PartnerSupervisorInput } from '../../workflows/contracts/partner.ts';
import { customerStateQuery, customerWorkflowId } from '../../workflows/contracts/provisioning.ts';
import type { partnerSupervisor } from '../../workflows/partner-supervisor.ts';
import { AgentsWorld } from '../agents-world.ts';
import { freePort } from '../free-port.ts';
import { testKeyring } from '../fixtures/test-keys.ts';
import { seedPartner } from '../partners.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const keyring = testKeyring();
const root = mkdtempSync(join(tmpdir(), 'record-histories-'));
chmodSync(root, 0o755);
const postgres = await startPostgresServer({ dataDir: join(root, 'pg'), port: await freePort() });
await postgres.ensureDatabase('record');
const db = connectDatabase(postgres.url('record'));
await migrateToLatest(db);
const env = await TestWorkflowEnvironment.createTimeSkipping({
  server: { executable: resolveTemporalExecutable('test-server').executable },
  client: { dataConverter: encryptedDataConverter(keyring) },
});
await registerSearchAttributes(env.connection, 'default');
const worker = await createEngineWorker({ connection: env.nativeConnection, namespace: 'default', db, keyring, client: env.client });

async function until(check: () => Promise<boolean>): Promise<void> {
  for (let tries = 0; !(await check()); tries++) {
    if (tries > 200) throw new Error('timed out');
    await delay(100);
  }
}

function start(partnerId: string, extra: Partial<PartnerSupervisorInput> = {}): Promise<WorkflowHandle<typeof partnerSupervisor>> {
  return env.client.workflow.start<typeof partnerSupervisor>('partnerSupervisor', { workflowId: partnerWorkflowId(partnerId), taskQueue: TASK_QUEUE, args: [{ v: 1, partnerId, ...extra }] });
}

async function save(name: string, handle: WorkflowHandle, runId?: string): Promise<void> {
  const history = await env.client.workflow.getHandle(handle.workflowId, runId).fetchHistory();
  writeFileSync(join(HERE, `${name}.json`), `${historyToJSON(history)}\n`);
  console.log(`recorded ${name}.json (${history.events?.length} events)`);
}

await worker.runUntil(async () => {
  // A whole life: first load, a signalled settings change, an hourly check, removal.
  const lifecycleId = await seedPartner(db, keyring, 'Replay lifecycle');
  const lifecycle = await start(lifecycleId);
  await until(async () => (await lifecycle.query(supervisorStateQuery)).phase === 'running');
  const stored = (await readSettings(db, lifecycleId))!;
  await writeSettings(db, lifecycleId, { ...stored.settings, tickets: { ...stored.settings.tickets, enabled: true } });
  await lifecycle.signal(configurationChangedSignal);
  await until(async () => (await lifecycle.query(supervisorStateQuery)).profileLoads === 2);
  await env.sleep('61 minutes');
  await until(async () => (await lifecycle.query(supervisorStateQuery)).profileLoads === 3);
  await markPartnerDeleted(db, lifecycleId);
  await lifecycle.signal(partnerRemovedSignal);
  await lifecycle.result();
  await save('partner-supervisor-lifecycle', lifecycle);

  // A rollover: the run that continues as new, and the run that starts from carried state.
  const rolloverId = await seedPartner(db, keyring, 'Replay rollover');
  const rollover = await start(rolloverId, { signalsPerRun: 2 });
  await until(async () => (await rollover.query(supervisorStateQuery)).phase === 'running');
  const firstRun = (await rollover.describe()).runId;
  await rollover.signal(configurationChangedSignal);
  await rollover.signal(configurationChangedSignal);
  await until(async () => (await env.client.workflow.getHandle(rollover.workflowId).describe()).runId !== firstRun);
  await markPartnerDeleted(db, rolloverId);
  await rollover.signal(partnerRemovedSignal);
  await env.client.workflow.getHandle(rollover.workflowId).result();
  await save('partner-supervisor-continued-as-new', rollover, firstRun);
  await save('partner-supervisor-from-carried-state', rollover);

  // A customer's whole life against the simulators: provisioned, services end, disabled, deleted.
  const simulators = await startSimulators({ acronis: 0, 'connectwise-manage': 0, autotask: 0, automate: 0 });
  const seeder = connectWiseManageSeeder(simulators.urls['connectwise-manage']);
  const customerPartner = await seedPartner(db, keyring, 'Replay customer', { psaKind: 'connectwise-manage', urls: { acronis: simulators.urls.acronis, psa: simulators.urls['connectwise-manage'] } });
  const settings = (await readSettings(db, customerPartner))!.settings;
  await writeSettings(db, customerPartner, { ...settings, provisioning: { ...settings.provisioning, enabled: true, tenantMode: 'trial' } });
  const product = await seeder.createProduct('Acronis Workstations');
  await replaceProductMappings(db, customerPartner, [{ offeringItem: 'pw_base_workstations', psaProductId: product, free: false }]);
  const companyId = await seeder.createCompany('Replay Customer Ltd');
  await seeder.addPrimaryContact(companyId, { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@replay.example' });
  const agreement = await seeder.createAgreement(companyId, [{ productId: product, quantity: 5, billing: 'prepaid' }], '2026-01-01');
  await upsertCompanyMapping(db, customerPartner, companyId, null);
  await new ProvisioningWorkflows(env.client).syncCustomer({ partnerId: customerPartner, psaKind: 'connectwise-manage', psaCompanyId: companyId });
  const customer = env.client.workflow.getHandle(customerWorkflowId(customerPartner, companyId));
  await until(async () => (await customer.query(customerStateQuery)).phase === 'active');
  await seeder.cancelLine(agreement.agreementId, agreement.lineIds[0]!);
  await customer.signal(syncNowSignal);
  await until(async () => (await customer.query(customerStateQuery)).phase === 'deprovisioning');
  await customer.result();
  await save('customer-provisioning-lifecycle', customer);

  // A deployment against the simulators: one computer installed, one offline until its window closes.
  const world = new AgentsWorld(simulators);
  await world.fastScripts();
  const agentsPartner = await seedPartner(db, keyring, 'Replay agents', { urls: { acronis: simulators.urls.acronis, automate: simulators.urls.automate } });
  const agentSettings = (await readSettings(db, agentsPartner))!.settings;
  await writeSettings(db, agentsPartner, { ...agentSettings, agents: { enabled: true } });
  const tenantId = await world.customerTenant('Replay Agents Ltd');
  const place = await world.client('Replay Agents Ltd');
  await saveClientLink(db, agentsPartner, { clientId: place.clientId, tenantId });
  const target = async (name: string, online: boolean) => ({ computerId: await world.computer(place, name, { online }), name, clientId: place.clientId, locationId: place.locationId, tenantId, withBackupMonitor: false });
  const deploymentId = '5e1f6a2b-0c3d-4e5f-8a9b-0c1d2e3f4a5b';
  await insertDeployment(db, { id: deploymentId, partnerId: agentsPartner, action: 'install', trigger: 'api', windowEndsAt: new Date(Date.now() + 30 * 60_000), registrationTimeoutSeconds: 900, requestedBy: 'replay' }, [await target('RPL-PC', true), await target('RPL-LAPTOP', false)]);
  await new AgentWorkflows(env.client).startDeployment({ partnerId: agentsPartner, psaKind: 'autotask', deploymentId, what: 'agent install on 2 computers' });
  const deployment = env.client.workflow.getHandle(deploymentWorkflowId(agentsPartner, deploymentId));
  await deployment.result();
  await save('agent-deployment-window', deployment);

  // The agents loop: a scan with no policy, "sync now", a second scan, then switched off.
  const agentsLoop = await env.client.workflow.start<typeof agentsLoopWorkflow>('agentsLoop', { workflowId: agentsLoopWorkflowId(agentsPartner), taskQueue: TASK_QUEUE, args: [{ v: 1, partnerId: agentsPartner }] });
  await until(async () => (await agentsLoop.query(agentsLoopStateQuery)).passes === 1);
  await agentsLoop.signal(syncNowSignal);
  await until(async () => (await agentsLoop.query(agentsLoopStateQuery)).passes === 2);
  await agentsLoop.cancel();
  await agentsLoop.result();
  await save('agents-loop-switched-off', agentsLoop);
  await simulators.close();
});

await env.teardown();
await db.destroy();
await postgres.stop();
rmSync(root, { recursive: true, force: true });
