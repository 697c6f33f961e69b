/**
 * `npm run bench -- discovery`: what provisioning discovery costs the partner's PSA, counted in the
 * simulator's request log (`/_sim/requests`), on 200 ConnectWise Manage companies in automatic mode,
 * each with an agreement of two prepaid additions (every fourth also a PAYG agreement):
 *
 * - `full_requests_per_customer`: the first pass, a full reconciling read (the daily pass and
 *   "sync now" read as much);
 * - `nochange_requests_per_customer`: the next scheduled pass, nothing having changed in the PSA;
 * - `sync_requests_per_customer`: "sync now" end to end: the forced pass, then each customer's
 *   assessment and provisioning (tenants already made; accounts from the company name).
 *
 * It runs the activities as a worker would (a mock activity context), with an embedded PostgreSQL
 * and the simulators in this process; customer workflows are not started, the bench runs their
 * activities itself for the customers discovery signalled. The passes run as if half an hour after
 * the world was filled in (the engine's clock set ahead), so that filling it in is not a change an
 * incremental pass's overlap window still covers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createProvisioningActivities } from '../activities/provisioning/index.ts';
import { PartnerClientsCache } from '../clients/partner-clients.ts';
import { connectDatabase } from '../db/connection.ts';
import { replaceProductMappings } from '../db/mappings.ts';
import { readSettings, writeSettings } from '../db/settings.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { startPostgresServer } from '../dev/postgres-server.ts';
import { mergeSettings, settingsSchema } from '../domain/settings.ts';
import { startSimulators } from '../simulators/index.ts';
import { connectWiseManageSeeder } from '../simulators/seeding/connectwise-manage.ts';
import type { CustomerToSync } from '../temporal/provisioning-workflows.ts';
import { testKeyring } from '../test/fixtures/test-keys.ts';
import { freePort } from '../test/free-port.ts';
import { seedPartner } from '../test/partners.ts';
import type { Benchmark } from './benchmark.ts';
import { UNPACED_CONNECTWISE_MANAGE } from './stack.ts';

const CUSTOMERS = 200;
const SEEDING_CONCURRENCY = 8;
const PASSES_AFTER_MS = 30 * 60 * 1000;

const perCustomer = (requests: number) => Math.round((requests / CUSTOMERS) * 1000) / 1000;

function runActivity<A extends unknown[], R>(activity: (...args: A) => Promise<R>, ...args: A): Promise<R> {
  return new MockActivityEnvironment().run(activity, ...args);
}

async function inBatches<T>(items: readonly T[], size: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  for (let start = 0; start < items.length; start += size) await Promise.all(items.slice(start, start + size).map((item, offset) => work(item, start + offset)));
}

/** The simulator's request log, emptied; `count()` then answers how many API requests arrived since. */
async function freshRequestLog(simulatorUrl: string): Promise<{ count(): Promise<number> }> {
  await fetch(`${simulatorUrl}/_sim/requests`, { method: 'DELETE' });
  return { count: async () => ((await (await fetch(`${simulatorUrl}/_sim/requests`)).json()) as unknown[]).length };
}

export const run: Benchmark = async () => {
  const root = mkdtempSync(join(tmpdir(), 'bench-discovery-'));
  const postgres = await startPostgresServer({ dataDir: join(root, 'postgres'), port: await freePort() });
  const sims = await startSimulators({ acronis: 0, 'connectwise-manage': 0, autotask: 0, automate: 0 });
  await postgres.ensureDatabase('bench_discovery');
  const db = connectDatabase(postgres.url('bench_discovery'), { maxConnections: 5 });
  try {
    await migrateToLatest(db);
    const keyring = testKeyring();
    const cwm = sims.urls['connectwise-manage'];
    const partnerId = await seedPartner(db, keyring, 'Bench MSP', { psaKind: 'connectwise-manage', urls: { acronis: sims.urls.acronis, psa: cwm } });
    const stored = await readSettings(db, partnerId);
    await writeSettings(db, partnerId, settingsSchema.parse(mergeSettings(stored!.settings, { provisioning: { enabled: true, automatic: true, accountBasis: 'company-name', activationEmail: 'msp-admin@example.com' } })));

    const seeder = connectWiseManageSeeder(cwm);
    const products = { workstations: await seeder.createProduct('Acronis Workstations'), servers: await seeder.createProduct('Acronis Servers'), storage: await seeder.createProduct('Acronis Storage') };
    await replaceProductMappings(db, partnerId, [
      { offeringItem: 'pw_base_workstations', psaProductId: products.workstations, free: false },
      { offeringItem: 'pw_base_servers', psaProductId: products.servers, free: false },
      { offeringItem: 'pw_base_storage', psaProductId: products.storage, free: false },
    ]);
    const since = new Date(Date.now() - 30 * 86_400_000).toISOString().slice(0, 10);
    await inBatches(Array.from({ length: CUSTOMERS }, (_, index) => index), SEEDING_CONCURRENCY, async (index) => {
      const companyId = await seeder.createCompany(`Customer ${String(index).padStart(3, '0')}`);
      await seeder.createAgreement(companyId, [{ productId: products.workstations, quantity: 10 + (index % 7), billing: 'prepaid' }, { productId: products.servers, quantity: 1 + (index % 3), billing: 'prepaid' }], since);
      if (index % 4 === 0) await seeder.createAgreement(companyId, [{ productId: products.storage, quantity: 0, billing: 'payg' }], since);
    });

    const signalled: string[] = [];
    const activities = createProvisioningActivities({
      db,
      clients: new PartnerClientsCache(db, keyring, UNPACED_CONNECTWISE_MANAGE),
      workflows: { syncCustomer: async (customer: CustomerToSync) => void signalled.push(customer.psaCompanyId) },
      now: () => new Date(Date.now() + PASSES_AFTER_MS),
    });
    const syncSignalled = async () => {
      const customers = signalled.splice(0);
      await inBatches(customers, SEEDING_CONCURRENCY, async (psaCompanyId) => {
        const customer = { partnerId, psaCompanyId };
        if ((await runActivity(activities.assessCustomer, customer)).status === 'provision') await runActivity(activities.provisionCustomer, customer);
      });
      return customers.length;
    };

    let log = await freshRequestLog(cwm);
    await runActivity(activities.discoverCustomers, { partnerId, force: false });
    const full = await log.count();
    // The customers' first provisioning makes their tenants; "sync now" below finds them in place.
    if ((await syncSignalled()) !== CUSTOMERS) throw new Error(`the first pass did not signal all ${CUSTOMERS} customers`);

    log = await freshRequestLog(cwm);
    await runActivity(activities.discoverCustomers, { partnerId, force: false });
    const nochange = await log.count();
    if (signalled.length !== 0) throw new Error(`a pass with nothing changed signalled ${signalled.length} customers`);

    log = await freshRequestLog(cwm);
    await runActivity(activities.discoverCustomers, { partnerId, force: true });
    if ((await syncSignalled()) !== CUSTOMERS) throw new Error('"sync now" did not reach every customer');
    const sync = await log.count();

    return {
      customers: CUSTOMERS,
      full_requests_per_customer: perCustomer(full),
      nochange_requests_per_customer: perCustomer(nochange),
      sync_requests_per_customer: perCustomer(sync),
    };
  } finally {
    await db.destroy();
    await sims.close();
    await postgres.stop();
    rmSync(root, { recursive: true, force: true });
  }
};
