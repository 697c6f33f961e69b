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
import { connectWiseManageSeeder } from '../simulators/seeding/connectwise-manage.ts';
import { CapabilityLoops } from '../temporal/capability-loops.ts';
import { finishedRun, GIB, PAYG_ITEMS, requestsSince, seedBillingPartner, setUsage, STORAGE_ITEMS } from './billing-world.ts';
import { progress, startBenchStack, UNPACED_CONNECTWISE_MANAGE } from './stack.ts';

const CUSTOMERS = 2_000;
const PASS_DEADLINE_MS = 15 * 60_000;

/** 5 % of the lines, spread over half the customers and every item: 11c + 7k ≡ 0 (mod 20). */
function changes(company: number, item: number): boolean {
  return (company * 11 + item * 7) % 20 === 0;
}

export async function usagePass(): Promise<Record<string, number>> {
  const stack = await startBenchStack({ partnerClients: UNPACED_CONNECTWISE_MANAGE });
  try {
    const { sims } = stack;
    const { partnerId, owner, customers } = await seedBillingPartner(stack, { name: 'Bench MSP', psa: connectWiseManageSeeder(sims.urls['connectwise-manage']), psaUrl: sims.urls['connectwise-manage'], customers: CUSTOMERS, items: PAYG_ITEMS });

    const loops = new CapabilityLoops(stack.temporal);
    progress('first pass: every line is read once and settled (not measured)');
    const started = Date.now();
    await loops.ensure(owner, 'billing', { configurationChanged: false });
    await finishedRun(stack, partnerId, 'scheduled', PASS_DEADLINE_MS);
    progress(`  took ${((Date.now() - started) / 1000).toFixed(1)} s`);

    const changed = customers.flatMap(({ tenantId }, company) =>
      PAYG_ITEMS.flatMap((item, index) => (changes(company, index) ? [{ tenantId, usageName: item, value: STORAGE_ITEMS.has(item) ? 5 * GIB : 3 }] : [])),
    );
    await setUsage(sims.urls.acronis, changed);
    progress(`${changed.length} of ${CUSTOMERS * PAYG_ITEMS.length} lines changed; "sync now"`);

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
