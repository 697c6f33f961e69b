/**
 * `usage-pass`: one partner on ConnectWise Manage with 2,000 customers, each with 10 mapped PAYG
 * items; after a first pass has settled every line, 5 % of the lines' figures change and "sync now"
 * runs one pass through the real loop, worker, PostgreSQL and simulated vendors.
 *
 * - `seconds`: from "sync now" to the finished run;
 * - `writes_per_changed`: PSA writes (PATCHes of additions) ÷ changed lines (goal 1.00);
 * - `acronis_calls_per_floor`: Acronis usage calls ÷ ⌈tenants ÷ 100⌉ (goal ≤ 1.05).
 *
 * ConnectWise Manage is the heavier PSA to read: it lists additions per agreement, where Autotask
 * answers 200 companies' contract services per query.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { AcronisClient } from '../clients/acronis/client.ts';
import { listRuns } from '../db/billing-runs.ts';
import { replaceProductMappings, upsertCompanyMapping } from '../db/mappings.ts';
import { readSettings, writeSettings } from '../db/settings.ts';
import { mergeSettings, settingsSchema } from '../domain/settings.ts';
import { DEFAULT_CREDENTIALS } from '../simulators/default-credentials.ts';
import { connectWiseManageSeeder } from '../simulators/seeding/connectwise-manage.ts';
import { CapabilityLoops } from '../temporal/capability-loops.ts';
import { seedPartner } from '../test/partners.ts';
import { progress, startBenchStack, type BenchStack } from './stack.ts';

const CUSTOMERS = 2_000;
/** Ten offering items of the simulated catalogue, each billed through its own PSA product. */
const ITEMS = ['pw_base_workstations', 'pw_base_servers', 'pw_base_vms', 'pw_base_virtualhosts', 'pw_base_o365_seats', 'pw_base_storage', 'pg_base_workstations', 'pg_base_servers', 'local_storage', 'fc_seats'];
const STORAGE_ITEMS = new Set(['pw_base_storage', 'local_storage']);
const SEED_CONCURRENCY = 16;
const GIB = 1024 ** 3;
const PASS_DEADLINE_MS = 15 * 60_000;

/** `run` over 0..count-1, `concurrency` at a time. */
async function pool(count: number, concurrency: number, run: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) await run(next++);
  }));
}

/** 5 % of the lines, spread over half the customers and every item: 11c + 7k ≡ 0 (mod 20). */
function changes(company: number, item: number): boolean {
  return (company * 11 + item * 7) % 20 === 0;
}

async function requestsSince(url: string, since: number): Promise<{ method: string; path: string; at: string }[]> {
  const log = (await (await fetch(`${url}/_sim/requests`)).json()) as { method: string; path: string; at: string }[];
  return log.filter((entry) => Date.parse(entry.at) >= since);
}

async function finishedRun(stack: BenchStack, partnerId: string, trigger: string, deadlineMs: number) {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const run = (await listRuns(stack.db, partnerId, { limit: 5 })).find((candidate) => candidate.trigger === trigger && candidate.status !== 'running');
    if (run) return run;
    if (Date.now() > deadline) throw new Error(`no ${trigger} run finished within ${deadlineMs / 60_000} minutes`);
    await delay(100);
  }
}

export async function usagePass(): Promise<Record<string, number>> {
  const stack = await startBenchStack();
  try {
    const { db, keyring, sims } = stack;
    const cwm = connectWiseManageSeeder(sims.urls['connectwise-manage']);
    const acronis = new AcronisClient({ baseUrl: sims.urls.acronis, clientId: DEFAULT_CREDENTIALS.acronis.clientId, clientSecret: DEFAULT_CREDENTIALS.acronis.clientSecret });
    const partnerId = await seedPartner(db, keyring, 'Bench MSP', { psaKind: 'connectwise-manage', timezone: 'Europe/London', urls: { acronis: sims.urls.acronis, psa: sims.urls['connectwise-manage'] } });
    const stored = (await readSettings(db, partnerId))!;
    await writeSettings(db, partnerId, settingsSchema.parse(mergeSettings(stored.settings, { billing: { enabled: true, reportingPeriod: 'current-month', refreshLagHours: 0 } })));
    const products: string[] = [];
    for (const item of ITEMS) products.push(await cwm.createProduct(`Bench ${item}`));
    await replaceProductMappings(db, partnerId, ITEMS.map((offeringItem, index) => ({ offeringItem, psaProductId: products[index]!, free: false })));

    progress(`seeding ${CUSTOMERS} customers with ${ITEMS.length} PAYG lines each through the vendors' APIs`);
    const partnerTenantId = (await acronis.getApiClient()).tenant_id;
    const tenants: string[] = [];
    const since = new Date(Date.now() - 40 * 86_400_000).toISOString().slice(0, 10);
    await pool(CUSTOMERS, SEED_CONCURRENCY, async (index) => {
      const name = `Bench Customer ${String(index).padStart(4, '0')}`;
      const [tenant, companyId] = await Promise.all([acronis.createTenant({ name, kind: 'customer', parent_id: partnerTenantId }), cwm.createCompany(name)]);
      tenants[index] = tenant.id;
      await cwm.createAgreement(companyId, products.map((productId) => ({ productId, quantity: 0, billing: 'payg' as const })), since, `Acronis – ${name}`);
      await upsertCompanyMapping(db, partnerId, companyId, tenant.id);
      if ((index + 1) % 250 === 0) progress(`  ${index + 1} customers`);
    });

    const loops = new CapabilityLoops(stack.temporal);
    const owner = { partnerId, partnerName: 'Bench MSP', psaKind: 'connectwise-manage' as const };
    progress('first pass: every line is read once and settled (not measured)');
    const started = Date.now();
    await loops.ensure(owner, 'billing', { configurationChanged: false });
    await finishedRun(stack, partnerId, 'scheduled', PASS_DEADLINE_MS);
    progress(`  took ${((Date.now() - started) / 1000).toFixed(1)} s`);

    const changed = tenants.flatMap((tenantId, company) =>
      ITEMS.flatMap((item, index) => (changes(company, index) ? [{ tenantId, usageName: item, value: STORAGE_ITEMS.has(item) ? 5 * GIB : 3 }] : [])),
    );
    const response = await fetch(`${sims.urls.acronis}/_sim/usage`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ items: changed }) });
    if (!response.ok) throw new Error(`could not set usage: ${response.status} ${await response.text()}`);
    progress(`${changed.length} of ${CUSTOMERS * ITEMS.length} lines changed; "sync now"`);

    const t0 = Date.now();
    await loops.syncNow(owner, 'billing');
    const run = await finishedRun(stack, partnerId, 'sync-now', PASS_DEADLINE_MS);
    const seconds = (Date.now() - t0) / 1000;
    const psaWrites = (await requestsSince(sims.urls['connectwise-manage'], t0)).filter((entry) => entry.method === 'PATCH' && entry.path.includes('/additions/'));
    const usageCalls = (await requestsSince(sims.urls.acronis, t0)).filter((entry) => entry.method === 'GET' && /\/tenants\/usages$|\/tenants\/[^/]+\/usages$/.test(entry.path));
    progress(`run ${run.runId}: ${run.status}, ${psaWrites.length} PSA writes, ${usageCalls.length} Acronis usage calls`);
    return {
      seconds: Math.round(seconds * 100) / 100,
      writes_per_changed: psaWrites.length / changed.length,
      acronis_calls_per_floor: usageCalls.length / Math.ceil(CUSTOMERS / 100),
    };
  } finally {
    await stack.close();
  }
}
