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
import { connectDatabase } from '../../db/connection.ts';
import { replaceProductMappings, upsertCompanyMapping } from '../../db/mappings.ts';
import { migrateToLatest } from '../../db/migrate.ts';
import { markPartnerDeleted } from '../../db/partners.ts';
import { readSettings, writeSettings } from '../../db/settings.ts';
import { startPostgresServer } from '../../dev/postgres-server.ts';
import { resolveTemporalExecutable } from '../../dev/temporal-binaries.ts';
import { encryptedDataConverter } from '../../temporal/data-converter.ts';
import { createEngineWorker } from '../../temporal/engine-worker.ts';
import { startSimulators } from '../../simulators/index.ts';
import { connectWiseManageSeeder } from '../../simulators/seeding/connectwise-manage.ts';
import { ProvisioningWorkflows } from '../../temporal/provisioning-workflows.ts';
import { registerSearchAttributes } from '../../temporal/search-attributes.ts';
import { configurationChangedSignal, syncNowSignal } from '../../workflows/contracts/loops.ts';
import { partnerRemovedSignal, partnerWorkflowId, supervisorStateQuery, type PartnerSupervisorInput } from '../../workflows/contracts/partner.ts';
import { customerStateQuery, customerWorkflowId } from '../../workflows/contracts/provisioning.ts';
import type { partnerSupervisor } from '../../workflows/partner-supervisor.ts';
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
/** `npm run histories:record -- alerts` records only the named groups: supervisor, customer, alerts. */
const groups = process.argv.slice(2).filter((argument) => argument !== '--');
const recording = (group: string) => groups.length === 0 || groups.includes(group);
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
  if (recording('supervisor')) {
    // A whole life: first load, a signalled settings change, an hourly check, removal.
    const lifecycleId = await seedPartner(db, keyring, 'Replay lifecycle');
    const lifecycle = await start(lifecycleId);
    await until(async () => (await lifecycle.query(supervisorStateQuery)).phase === 'running');
    const stored = (await readSettings(db, lifecycleId))!;
    // A change that starts no loop: its histories record the supervisor alone.
    await writeSettings(db, lifecycleId, { ...stored.settings, tickets: { ...stored.settings.tickets, newTicketAfterDays: 7 } });
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
  }

  const simulators = await startSimulators({ acronis: 0, 'connectwise-manage': 0, autotask: 0, automate: 0 });
  const seeder = connectWiseManageSeeder(simulators.urls['connectwise-manage']);
  if (recording('customer')) {
    // A customer's whole life against the simulators: provisioned, services end, disabled, deleted.
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
  }

  if (recording('alerts')) {
    // An alert identity's life: its ticket created, the alert resolved and the ticket closed, the lifecycle ended after its idle window.
    // Then the alerts loop: a first scan of the feed, "sync now", ticket sync switched off.
    const alertPartner = await seedPartner(db, keyring, 'Replay alerts', { psaKind: 'connectwise-manage', urls: { acronis: simulators.urls.acronis, psa: simulators.urls['connectwise-manage'] } });
    const alertSettings = (await readSettings(db, alertPartner))!.settings;
    await writeSettings(db, alertPartner, { ...alertSettings, tickets: { ...alertSettings.tickets, enabled: true, autoClose: { enabled: true, status: 'Completed' } } });
    await replaceAlertMappings(db, alertPartner, [{ alertType: '*', enabled: true, ticket: alertTicketOf(await seeder.ticketRouting()) }]);
    const alertCompany = await seeder.createCompany('Replay Alerts Ltd');
    const acronis = acronisOf(simulators);
    const alertTenant = await customerTenant(acronis, 'Replay Alerts Ltd');
    await upsertCompanyMapping(db, alertPartner, alertCompany, alertTenant);
    const raised = await raiseBackupFailure(acronis, alertTenant, machine('REPLAY-SRV'));
    const identity = identityOf(raised, alertCompany);
    const owner = { partnerId: alertPartner, psaKind: 'connectwise-manage' } as const;
    const alertWorkflows = new AlertWorkflows(env.client);
    const change = (alert: Alert) => ({ alertId: alert.id, updatedNs: nanosOf(alert.updatedAt).toString(), occurrenceNs: nanosOf(alert.receivedAt).toString(), resolved: alert.deletedAt !== undefined });
    const lifecycleHandle = env.client.workflow.getHandle(alertWorkflowId(alertPartner, identityKey(identity)));
    await alertWorkflows.deliver(owner, identity, change(raised));
    await until(async () => (await lifecycleHandle.query(alertLifecycleStateQuery)).phase === 'open');
    await resolveAlert(simulators, raised.id);
    await alertWorkflows.deliver(owner, identity, change(await acronis.getAlert(raised.id, { showDeleted: true })));
    await until(async () => (await lifecycleHandle.query(alertLifecycleStateQuery)).phase === 'closed');
    await env.sleep('25 hours');
    await lifecycleHandle.result();
    await save('alert-lifecycle', lifecycleHandle);

    await new CapabilityLoops(env.client).ensure({ partnerId: alertPartner, psaKind: 'connectwise-manage' }, 'tickets', { configurationChanged: false });
    const loopHandle = env.client.workflow.getHandle(alertsLoopWorkflowId(alertPartner));
    await until(async () => (await requestLog(simulators.urls.acronis)).some((entry) => entry.path.endsWith('/alert_manager/v1/alerts')));
    await loopHandle.signal(syncNowSignal);
    await until(async () => (await loopHandle.query(alertsLoopStateQuery)).cursor !== null);
    await loopHandle.cancel();
    await loopHandle.result();
    await save('alerts-loop', loopHandle);
  }
  await simulators.close();
});

await env.teardown();
await db.destroy();
await postgres.stop();
rmSync(root, { recursive: true, force: true });
