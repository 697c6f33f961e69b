/**
 * Records the histories the replay test replays: `npm run histories:record`.
 *
 * It records today's workflows under the names below. Histories of an older shape stay committed
 * as they are (frozen, never re-recorded): they prove that running workflows of that shape still
 * replay, which is what each `patched()` is for. Name a new scenario after what it shows.
 *
 * The supervisor and the loops are recorded on a dev server (ending a capability lists workflows,
 * which the time-skipping test server cannot); the customer, whose ladder spans weeks, on the
 * time-skipping test server.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { insertDeployment, saveClientLink } from '../../db/agents.ts';
import { connectDatabase, type Db } from '../../db/connection.ts';
import { replaceProductMappings, upsertCompanyMapping } from '../../db/mappings.ts';
import { migrateToLatest } from '../../db/migrate.ts';
import { recordHealth } from '../../db/partner-health.ts';
import { markPartnerDeleted } from '../../db/partners.ts';
import { readSettings, writeSettings } from '../../db/settings.ts';
import type { SettingsPatch } from '../../domain/settings.ts';
import { mergeSettings, settingsSchema } from '../../domain/settings.ts';
import { startPostgresServer } from '../../dev/postgres-server.ts';
import { resolveTemporalExecutable } from '../../dev/temporal-binaries.ts';
import { startSimulators } from '../../simulators/index.ts';
import { connectWiseManageSeeder } from '../../simulators/seeding/connectwise-manage.ts';
import { encryptedDataConverter } from '../../temporal/data-converter.ts';
import { AgentWorkflows } from '../../temporal/agent-workflows.ts';
import { createEngineWorker } from '../../temporal/engine-worker.ts';
import { PartnerWorkflows } from '../../temporal/partner-workflows.ts';
import { ProvisioningWorkflows } from '../../temporal/provisioning-workflows.ts';
import { registerSearchAttributes } from '../../temporal/search-attributes.ts';
import type { agentsLoop as agentsLoopWorkflow } from '../../workflows/agents/loop.ts';
import { agentsLoopStateQuery, agentsLoopWorkflowId, deploymentWorkflowId } from '../../workflows/contracts/agents.ts';
import { configurationChangedSignal, syncNowSignal } from '../../workflows/contracts/loops.ts';
import { partnerWorkflowId, supervisorStateQuery } from '../../workflows/contracts/partner.ts';
import { TASK_QUEUE } from '../../workflows/contracts/task-queues.ts';
import type { partnerSupervisor } from '../../workflows/partner-supervisor.ts';
import { customerStateQuery, customerWorkflowId, provisioningLoopStateQuery, provisioningLoopWorkflowId } from '../../workflows/contracts/provisioning.ts';
import { ENGINE_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.ts';
import { AgentsWorld } from '../agents-world.ts';
import { AcronisClient } from '../../clients/acronis/client.ts';
import { periodContaining } from '../../domain/billing-periods.ts';
import { DEFAULT_CREDENTIALS } from '../../simulators/default-credentials.ts';
import { backfillUpdate, reviewUpdate, usageLoopStateQuery, usageLoopWorkflowId } from '../../workflows/contracts/usage.ts';
import type { usageLoop } from '../../workflows/usage/loop.ts';
import { freePort } from '../free-port.ts';
import type { Alert } from '../../clients/acronis/types.ts';
import { replaceAlertMappings } from '../../db/alert-mappings.ts';
import { identityKey, identityOf, nanosOf } from '../../domain/alert-tickets.ts';
import { AlertWorkflows } from '../../temporal/alert-workflows.ts';
import { CapabilityLoops } from '../../temporal/capability-loops.ts';
import { alertLifecycleStateQuery, alertsLoopStateQuery, alertsLoopWorkflowId, alertWorkflowId } from '../../workflows/contracts/alerts.ts';
import { acronisOf, alertTicketOf, customerTenant, machine, raiseBackupFailure, resolveAlert } from '../alert-world.ts';
import { requestLog } from '../simulators.ts';
import { testKeyring } from '../fixtures/test-keys.ts';
import { seedPartner } from '../partners.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const keyring = testKeyring();
const dataConverter = encryptedDataConverter(keyring);
const root = mkdtempSync(join(tmpdir(), 'record-histories-'));
chmodSync(root, 0o755);
const postgres = await startPostgresServer({ dataDir: join(root, 'pg'), port: await freePort() });
await postgres.ensureDatabase('record');
const db = connectDatabase(postgres.url('record'));
await migrateToLatest(db);
const simulators = await startSimulators({ acronis: 0, 'connectwise-manage': 0, autotask: 0, automate: 0 });
const seeder = connectWiseManageSeeder(simulators.urls['connectwise-manage']);

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let tries = 0; !(await check()); tries++) {
    if (tries > 300) throw new Error(`timed out waiting for ${what}`);
    await delay(100);
  }
}

async function save(client: Client, name: string, handle: WorkflowHandle, runId?: string): Promise<void> {
  const history = await client.workflow.getHandle(handle.workflowId, runId).fetchHistory();
  writeFileSync(join(HERE, `${name}.json`), `${historyToJSON(history)}\n`);
  console.log(`recorded ${name}.json (${history.events?.length} events)`);
}

async function configure(database: Db, partnerId: string, patch: SettingsPatch): Promise<void> {
  const current = (await readSettings(database, partnerId))!.settings;
  await writeSettings(database, partnerId, settingsSchema.parse(mergeSettings(current, patch)));
}

/** A partner on the simulated ConnectWise Manage with one company that buys a mapped product. */
async function provisioningPartner(name: string) {
  const partnerId = await seedPartner(db, keyring, name, { psaKind: 'connectwise-manage', urls: { acronis: simulators.urls.acronis, psa: simulators.urls['connectwise-manage'] } });
  const product = await seeder.createProduct(`Acronis Workstations (${name})`);
  await replaceProductMappings(db, partnerId, [{ offeringItem: 'pw_base_workstations', psaProductId: product, free: false }]);
  const companyId = await seeder.createCompany(`${name} Customer Ltd`);
  await seeder.addPrimaryContact(companyId, { firstName: 'Ada', lastName: 'Lovelace', email: `ada@${partnerId.slice(0, 8)}.example` });
  const agreement = await seeder.createAgreement(companyId, [{ productId: product, quantity: 5, billing: 'prepaid' }], '2026-01-01');
  return { partnerId, companyId, agreement };
}

/**
 * Runs `body` against a time-skipping test server of its own, with the engine's worker. Each
 * scenario that needs one gets its own: the server's clock only moves on, and it stops skipping
 * time while an activity runs on (an alert feed's long poll) or after an Update waited on one.
 */
async function onTimeSkippingServer(body: (env: TestWorkflowEnvironment) => Promise<void>): Promise<void> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: resolveTemporalExecutable('test-server').executable }, client: { dataConverter } });
  await registerSearchAttributes(env.connection, 'default');
  await (await createEngineWorker({ connection: env.nativeConnection, namespace: 'default', db, keyring, client: env.client })).runUntil(() => body(env));
  await env.teardown();
}

// --- the supervisor and the provisioning loop, on a dev server ---------------------------------------
const dev = await TestWorkflowEnvironment.createLocal({
  server: { executable: resolveTemporalExecutable('dev-server').executable, searchAttributes: ENGINE_SEARCH_ATTRIBUTES },
  client: { dataConverter },
});
await (await createEngineWorker({ connection: dev.nativeConnection, namespace: 'default', db, keyring, client: dev.client })).runUntil(async () => {
  const partners = new PartnerWorkflows(dev.client, 'http://localhost:8233');
  // A whole life: provisioning switched on (its loop starts), a configuration change (forwarded),
  // switched off (the loop ends), an hourly check (shortened), removal (every workflow ends first).
  const { partnerId } = await provisioningPartner('Replay supervisor');
  await partners.startSupervisor({ id: partnerId, name: 'Replay supervisor', psaKind: 'connectwise-manage' });
  const supervisor = dev.client.workflow.getHandle(partnerWorkflowId(partnerId));
  await until('the supervisor to run', async () => (await supervisor.query(supervisorStateQuery)).phase === 'running');
  await configure(db, partnerId, { provisioning: { enabled: true, automatic: true, activationEmail: 'msp@replay.example' } });
  await supervisor.signal(configurationChangedSignal);
  await until('the provisioning loop', async () => (await supervisor.query(supervisorStateQuery)).loopsOn?.includes('provisioning') === true);
  const loop = dev.client.workflow.getHandle(provisioningLoopWorkflowId(partnerId));
  await until('a discovery pass', async () => (await loop.query(provisioningLoopStateQuery).catch(() => undefined))?.passes === 1);
  await configure(db, partnerId, { provisioning: { automatic: false } });
  await supervisor.signal(configurationChangedSignal);
  await until('the forwarded change', async () => (await loop.query(provisioningLoopStateQuery)).passes === 2);
  await loop.signal(syncNowSignal);
  await until('the sync', async () => (await loop.query(provisioningLoopStateQuery)).passes === 3);
  await configure(db, partnerId, { provisioning: { enabled: false } });
  await supervisor.signal(configurationChangedSignal);
  await loop.result();
  await save(dev.client, 'provisioning-loop-cancelled', loop);
  await markPartnerDeleted(db, partnerId);
  await partners.notifyPartnerRemoved({ id: partnerId, name: 'Replay supervisor', psaKind: 'connectwise-manage' });
  await supervisor.result();
  await save(dev.client, 'partner-supervisor-loop-registry', supervisor);
});
await dev.teardown();

// --- a customer's life, a deployment, the agents loop, refused credentials: on a time-skipping test server
await onTimeSkippingServer(async (skipping) => {


  // Provisioned; services end (quotas zeroed, ladder planned); services back before the disable
  // deadline (the step is cancelled at the moment it was to act); services end again; disabled, deleted.
  const { partnerId, companyId, agreement } = await provisioningPartner('Replay customer');
  await configure(db, partnerId, { provisioning: { enabled: true, tenantMode: 'trial', activationEmail: 'msp@replay.example' } });
  await upsertCompanyMapping(db, partnerId, companyId, null);
  await new ProvisioningWorkflows(skipping.client).syncCustomer({ partnerId, partnerName: 'Replay customer', psaKind: 'connectwise-manage', psaCompanyId: companyId });
  const customer = skipping.client.workflow.getHandle(customerWorkflowId(partnerId, companyId));
  const phase = async () => (await customer.query(customerStateQuery)).phase;
  await until('provisioned', async () => (await phase()) === 'active');
  await seeder.cancelLine(agreement.agreementId, agreement.lineIds[0]!);
  await customer.signal(syncNowSignal);
  await until('deprovisioning', async () => (await phase()) === 'deprovisioning');
  const second = await seeder.createAgreement(companyId, [{ productId: await mappedProductOf(partnerId), quantity: 2, billing: 'prepaid' }], '2026-01-01');
  await skipping.sleep('11 days');
  await until('the cancelled disable step and provisioning again', async () => (await phase()) === 'active');
  await seeder.cancelLine(second.agreementId, second.lineIds[0]!);
  await customer.signal(syncNowSignal);
  await customer.result();
  await save(skipping.client, 'customer-provisioning-ladder-rechecked', customer);


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
  await new AgentWorkflows(skipping.client).startDeployment({ partnerId: agentsPartner, psaKind: 'autotask', deploymentId, what: 'agent install on 2 computers' });
  const deployment = skipping.client.workflow.getHandle(deploymentWorkflowId(agentsPartner, deploymentId));
  await deployment.result();
  await save(skipping.client, 'agent-deployment-window', deployment);

  // The agents loop: a scan with no policy, "sync now", a second scan, then switched off.
  const agentsLoop = await skipping.client.workflow.start<typeof agentsLoopWorkflow>('agentsLoop', { workflowId: agentsLoopWorkflowId(agentsPartner), taskQueue: TASK_QUEUE, args: [{ v: 1, partnerId: agentsPartner }] });
  await until('a scan', async () => (await agentsLoop.query(agentsLoopStateQuery)).passes === 1);
  await agentsLoop.signal(syncNowSignal);
  await until('a scan', async () => (await agentsLoop.query(agentsLoopStateQuery)).passes === 2);
  await agentsLoop.cancel();
  await agentsLoop.result();
  await save(skipping.client, 'agents-loop-switched-off', agentsLoop);

  // A partner whose Acronis refused the credentials (as an activity records it): the supervisor marks
  // it credentials-rejected, and its hourly probe finds them accepted again.
  const rejectedId = await seedPartner(db, keyring, 'Replay credentials rejected', { urls: { acronis: simulators.urls.acronis, psa: simulators.urls.autotask } });
  await recordHealth(db, rejectedId, [{ system: 'acronis', lastSuccessAt: null, lastFailureAt: new Date(), lastFailureKind: 'auth', lastFailureMessage: 'Acronis refused POST /api/2/idp/token: invalid_client' }]);
  const rejected = await skipping.client.workflow.start<typeof partnerSupervisor>('partnerSupervisor', { workflowId: partnerWorkflowId(rejectedId), taskQueue: TASK_QUEUE, args: [{ v: 1, partnerId: rejectedId }] });
  await until('credentials rejected', async () => (await rejected.query(supervisorStateQuery)).health === 'credentials-rejected');
  await skipping.sleep('61 minutes');
  await until('credentials accepted again', async () => (await rejected.query(supervisorStateQuery)).health === 'ok');
  await rejected.terminate('recorded');
  await save(skipping.client, 'partner-supervisor-credentials-rejected', rejected);
});

/** The PSA product the partner's one mapping points at. */
async function mappedProductOf(partnerId: string): Promise<string> {
  const row = await db.selectFrom('product_mappings').select('psa_product_id').where('partner_id', '=', partnerId).executeTakeFirstOrThrow();
  return row.psa_product_id!;
}

// --- an alert identity's life, then the alerts loop, on a time-skipping test server of their own
await onTimeSkippingServer(async (skipping) => {
  // An alert identity's life: its ticket created, the alert resolved and the ticket closed, the
  // lifecycle ended after its idle window; and the alerts loop: a first read of the feed, "sync now",
  // ticket sync switched off.
  const alertPartner = await seedPartner(db, keyring, 'Replay alerts', { psaKind: 'connectwise-manage', urls: { acronis: simulators.urls.acronis, psa: simulators.urls['connectwise-manage'] } });
  await configure(db, alertPartner, { tickets: { enabled: true, autoClose: { enabled: true, status: 'Completed' } } });
  await replaceAlertMappings(db, alertPartner, [{ alertType: '*', enabled: true, ticket: alertTicketOf(await seeder.ticketRouting()) }]);
  const alertCompany = await seeder.createCompany('Replay Alerts Ltd');
  const acronis = acronisOf(simulators);
  const alertTenant = await customerTenant(acronis, 'Replay Alerts Ltd');
  await upsertCompanyMapping(db, alertPartner, alertCompany, alertTenant);
  const raised = await raiseBackupFailure(acronis, alertTenant, machine('REPLAY-SRV'));
  const identity = identityOf(raised, alertCompany);
  const owner = { partnerId: alertPartner, psaKind: 'connectwise-manage' } as const;
  const alertWorkflows = new AlertWorkflows(skipping.client);
  const change = (alert: Alert) => ({ alertId: alert.id, updatedNs: nanosOf(alert.updatedAt).toString(), occurrenceNs: nanosOf(alert.receivedAt).toString(), resolved: alert.deletedAt !== undefined });
  const lifecycleHandle = skipping.client.workflow.getHandle(alertWorkflowId(alertPartner, identityKey(identity)));
  await alertWorkflows.deliver(owner, identity, change(raised));
  await until('the ticket', async () => (await lifecycleHandle.query(alertLifecycleStateQuery)).phase === 'open');
  await resolveAlert(simulators, raised.id);
  await alertWorkflows.deliver(owner, identity, change(await acronis.getAlert(raised.id, { showDeleted: true })));
  await until('the ticket closed', async () => (await lifecycleHandle.query(alertLifecycleStateQuery)).phase === 'closed');
  await skipping.sleep('25 hours');
  await lifecycleHandle.result();
  await save(skipping.client, 'alert-lifecycle', lifecycleHandle);

  await new CapabilityLoops(skipping.client).ensure(owner, 'tickets', { configurationChanged: false });
  const loopHandle = skipping.client.workflow.getHandle(alertsLoopWorkflowId(alertPartner));
  await until('a read of the feed', async () => (await requestLog(simulators.urls.acronis)).some((entry) => entry.path.endsWith('/alert_manager/v1/alerts')));
  await loopHandle.signal(syncNowSignal);
  await until('a cursor', async () => (await loopHandle.query(alertsLoopStateQuery)).cursor !== null);
  await loopHandle.cancel();
  await loopHandle.result();
  await save(skipping.client, 'alerts-loop', loopHandle);
});

// --- a billing loop's life, on a time-skipping test server of its own: it begins while the server's
// clock is today's (Acronis's figures carry the real time they were read), and once an Update waited
// on an activity that server no longer skips time, so nothing may follow it there --------------------
await onTimeSkippingServer(async (billing) => {
  // A held run approved, "sync now", a backfill, billing switched off.
  const partnerId = await seedPartner(db, keyring, 'Replay usage', { psaKind: 'connectwise-manage', timezone: 'Europe/London', urls: { acronis: simulators.urls.acronis, psa: simulators.urls['connectwise-manage'] } });
  const settings = (await readSettings(db, partnerId))!.settings;
  await writeSettings(db, partnerId, { ...settings, billing: { ...settings.billing, enabled: true, reportingPeriod: 'current-month', refreshLagHours: 0, review: 'always' } });
  const product = await seeder.createProduct('Acronis Servers');
  await replaceProductMappings(db, partnerId, [{ offeringItem: 'pw_base_servers', psaProductId: product, free: false }]);
  const companyId = await seeder.createCompany('Replay Usage Ltd');
  await seeder.createAgreement(companyId, [{ productId: product, quantity: 0, billing: 'payg' }], '2026-01-01');
  const acronis = new AcronisClient({ baseUrl: simulators.urls.acronis, ...DEFAULT_CREDENTIALS.acronis });
  const tenant = await acronis.createTenant({ name: 'Replay Usage Ltd', kind: 'customer', parent_id: (await acronis.getApiClient()).tenant_id });
  await upsertCompanyMapping(db, partnerId, companyId, tenant.id);
  await fetch(`${simulators.urls.acronis}/_sim/usage`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tenantId: tenant.id, usageName: 'pw_base_servers', value: 3 }) });

  const loop = await billing.client.workflow.start<typeof usageLoop>('usageLoop', { workflowId: usageLoopWorkflowId(partnerId), taskQueue: TASK_QUEUE, args: [{ v: 1, partnerId }] });
  await until('a held run', async () => (await loop.query(usageLoopStateQuery)).lastRun?.status === 'awaiting-approval');
  const held = (await loop.query(usageLoopStateQuery)).lastRun!;
  await loop.executeUpdate(reviewUpdate, { args: [{ runId: held.runId, decision: 'approve', decidedBy: 'replay' }], updateId: `approve:${held.runId}` });
  await loop.signal(syncNowSignal);
  await until('the second pass', async () => (await loop.query(usageLoopStateQuery)).passes === 2);
  const lastMonth = periodContaining('2026-10-15', { reportingPeriod: 'current-month', billingDay: 1, intervalMinutes: 15 }, 'Europe/London');
  await loop.executeUpdate(backfillUpdate, { args: [{ period: lastMonth, requestedBy: 'replay' }] });
  await until('the backfill', async () => (await loop.query(usageLoopStateQuery)).passes === 3);
  await writeSettings(db, partnerId, { ...(await readSettings(db, partnerId))!.settings, billing: { ...settings.billing, enabled: false } });
  await loop.signal(configurationChangedSignal);
  await loop.result();
  await save(billing.client, 'usage-loop-lifecycle', loop);
});

await simulators.close();
await db.destroy();
await postgres.stop();
rmSync(root, { recursive: true, force: true });
