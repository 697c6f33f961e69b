/**
 * Records the histories the replay test replays: `npm run histories:record` (all of them), or
 * `npm run histories:record -- <workflow type> ...` (only those workflows' histories).
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
import { AcronisClient } from '../../clients/acronis/client.ts';
import { periodContaining } from '../../domain/billing-periods.ts';
import { DEFAULT_CREDENTIALS } from '../../simulators/default-credentials.ts';
import { backfillUpdate, reviewUpdate, usageLoopStateQuery, usageLoopWorkflowId } from '../../workflows/contracts/usage.ts';
import type { usageLoop } from '../../workflows/usage/loop.ts';
import { freePort } from '../free-port.ts';
import { testKeyring } from '../fixtures/test-keys.ts';
import { seedPartner } from '../partners.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const asked = process.argv.slice(2).filter((arg) => arg !== '--');
const wanted = (workflowType: string) => asked.length === 0 || asked.includes(workflowType);
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
  if (wanted('partnerSupervisor')) await recordSupervisor();
  if (wanted('customerProvisioning')) await recordCustomer();
  if (wanted('usageLoop')) await recordUsageLoop();
});

async function recordSupervisor(): Promise<void> {
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
}

async function recordCustomer(): Promise<void> {
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
  await simulators.close();
}

async function recordUsageLoop(): Promise<void> {
  // A billing loop's life against the simulators: a held run approved, "sync now", a backfill, billing switched off.
  const simulators = await startSimulators({ acronis: 0, 'connectwise-manage': 0, autotask: 0, automate: 0 });
  const seeder = connectWiseManageSeeder(simulators.urls['connectwise-manage']);
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

  const loop = await env.client.workflow.start<typeof usageLoop>('usageLoop', { workflowId: usageLoopWorkflowId(partnerId), taskQueue: TASK_QUEUE, args: [{ v: 1, partnerId }] });
  await until(async () => (await loop.query(usageLoopStateQuery)).lastRun?.status === 'awaiting-approval');
  const held = (await loop.query(usageLoopStateQuery)).lastRun!;
  await loop.executeUpdate(reviewUpdate, { args: [{ runId: held.runId, decision: 'approve', decidedBy: 'replay' }], updateId: `approve:${held.runId}` });
  await loop.signal(syncNowSignal);
  await until(async () => (await loop.query(usageLoopStateQuery)).passes === 2);
  const lastMonth = periodContaining('2026-10-15', { reportingPeriod: 'current-month', billingDay: 1, intervalMinutes: 15 }, 'Europe/London');
  await loop.executeUpdate(backfillUpdate, { args: [{ period: lastMonth, requestedBy: 'replay' }] });
  await until(async () => (await loop.query(usageLoopStateQuery)).passes === 3);
  await writeSettings(db, partnerId, { ...(await readSettings(db, partnerId))!.settings, billing: { ...settings.billing, enabled: false } });
  await loop.signal(configurationChangedSignal);
  await loop.result();
  await save('usage-loop-lifecycle', loop);
  await simulators.close();
}

await env.teardown();
await db.destroy();
await postgres.stop();
rmSync(root, { recursive: true, force: true });
