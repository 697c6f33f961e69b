/**
 * `billing-limits` (F9.5): two partners, one on ConnectWise Manage and one on Autotask, run their
 * first billing pass at the same time, every PAYG line written, with the simulators' rate limits
 * set to the engine's budget and the worker's limits the same. What the vendors saw (their request
 * logs) must stay within the budget in every window, with no 429 or threshold answer.
 *
 * The budgets are scaled down, the shape kept: ConnectWise Manage 120 per minute (the engine's 500
 * of about 1,000), Autotask 120 per rolling minute for the engine's 5,000 per rolling hour (the
 * simulator's threshold window shortened to a minute), so a run that needs several windows' budget
 * takes minutes, not hours.
 *
 * - `seconds_cwm`, `seconds_autotask`: from the loops' start to each partner's finished run;
 * - `requests_cwm`, `requests_autotask`: what each PSA counted during the runs;
 * - `rate_limited_answers`: 429s and threshold answers the PSAs sent (goal 0);
 * - `busiest_window_*` against `budget_*`: the most requests the PSA saw in any window (goal ≤ budget);
 * - `lines_wrong`: PAYG lines whose PSA value is not the tenant's usage after the runs (goal 0).
 */
import type { VendorLimits } from '../clients/request-limiter.ts';
import type { PsaKind } from '../domain/partner.ts';
import { autotaskSeeder } from '../simulators/seeding/autotask.ts';
import { connectWiseManageSeeder } from '../simulators/seeding/connectwise-manage.ts';
import type { PsaSeeder } from '../simulators/seeding/psa-seeder.ts';
import { CapabilityLoops } from '../temporal/capability-loops.ts';
import { busiestWindow, type LoggedRequest } from '../test/simulators.ts';
import type { Figures } from './benchmark.ts';
import { finishedRun, GIB, PAYG_ITEMS, pool, requestsSince, seedBillingPartner, setUsage, STORAGE_ITEMS, type BillingPartner } from './billing-world.ts';
import { progress, startBenchStack, type BenchStack } from './stack.ts';

const WINDOW_MS = 60_000;
const BUDGET: Record<PsaKind, number> = { 'connectwise-manage': 120, autotask: 120 };
/**
 * A first pass needs about three windows' budget at either PSA: Autotask spends about 8 requests on
 * a line's first write (the contract service, contract and units read to look and again to write),
 * ConnectWise Manage about 3.5.
 */
const CUSTOMERS: Record<PsaKind, number> = { 'connectwise-manage': 10, autotask: 5 };
const RUN_DEADLINE_MS = 20 * 60_000;
const SHORT: Record<PsaKind, string> = { 'connectwise-manage': 'cwm', autotask: 'autotask' };

/** A different usage per line, 1–17 pieces (GiB for storage), so a line written from another line's figure shows. */
function usageOf(customer: number, item: number): number {
  return 1 + ((customer * 7 + item * 3) % 17);
}

/** The requests the vendor counts against its limit: Autotask's zone lookups and CWM's company info are exempt. */
function counted(log: LoggedRequest[]): LoggedRequest[] {
  return log.filter((entry) => !/\/(zoneInformation|versionInformation)$|\/login\/companyinfo\//i.test(entry.path));
}

/** Where the requests went, busiest operation first: `GET /Contracts/{id}/Services ×40, ...`. */
function operations(log: LoggedRequest[]): string {
  const counts = new Map<string, number>();
  for (const entry of log) {
    const operation = `${entry.method} ${entry.path.replace(/\/\d+(?=\/|$)/g, '/{id}')}`;
    counts.set(operation, (counts.get(operation) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]).map(([operation, count]) => `${operation} ×${count}`).join(', ');
}

async function control(url: string, method: 'PUT' | 'POST', body: unknown): Promise<unknown> {
  const response = await fetch(url, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${await response.text()}`);
  return response.json();
}

/** Sets both PSAs' rate limits to the budget, or lifts them (back to the defaults). */
async function psaLimits(stack: BenchStack, on: boolean): Promise<void> {
  const { urls } = stack.sims;
  await control(`${urls['connectwise-manage']}/_sim/rate-limit`, 'POST', { requestsPerMinute: on ? BUDGET['connectwise-manage'] : null });
  await control(`${urls.autotask}/_sim/limits`, 'PUT', on ? { requestsPerHour: BUDGET.autotask, thresholdWindowSeconds: WINDOW_MS / 1000 } : { requestsPerHour: 10_000, thresholdWindowSeconds: 3_600 });
}

/** Waits until the seeding's requests have left Autotask's threshold window, so the runs start with the whole budget. */
async function autotaskWindowEmpty(url: string): Promise<void> {
  while (((await (await fetch(`${url}/_sim/limits`)).json()) as { requestsInLastHour: number }).requestsInLastHour > 0) await new Promise((resolve) => setTimeout(resolve, 1_000));
}

/** Lines whose PSA value differs from their tenant's usage in the run's period, read through the PSA's API. */
async function wrongLines(partner: BillingPartner, seeder: PsaSeeder, period: { start: string; end: string }): Promise<number> {
  let wrong = 0;
  await pool(partner.customers.length, 4, async (customer) => {
    const { agreementId, lineIds } = partner.customers[customer]!;
    for (const [item, lineId] of lineIds.entries()) {
      if ((await seeder.billedQuantity(agreementId, lineId, period)) !== usageOf(customer, item)) wrong++;
    }
  });
  return wrong;
}

export async function run(): Promise<Figures> {
  const window = (requests: number): Partial<VendorLimits> => ({ window: { requests, windowMs: WINDOW_MS } });
  const stack = await startBenchStack({ partnerClients: { limits: { 'connectwise-manage': window(BUDGET['connectwise-manage']), autotask: window(BUDGET.autotask) } } });
  try {
    const { urls } = stack.sims;
    const psas: { kind: PsaKind; url: string; seeder: PsaSeeder }[] = [
      // Autotask first: its seeding leaves the threshold window while ConnectWise Manage is seeded.
      { kind: 'autotask', url: urls.autotask, seeder: autotaskSeeder(urls.autotask) },
      { kind: 'connectwise-manage', url: urls['connectwise-manage'], seeder: connectWiseManageSeeder(urls['connectwise-manage']) },
    ];
    const partners: BillingPartner[] = [];
    for (const psa of psas) {
      const partner = await seedBillingPartner(stack, { name: `Limits ${SHORT[psa.kind]}`, psa: psa.seeder, psaUrl: psa.url, customers: CUSTOMERS[psa.kind], items: PAYG_ITEMS });
      await setUsage(
        urls.acronis,
        partner.customers.flatMap(({ tenantId }, customer) => PAYG_ITEMS.map((item, index) => ({ tenantId, usageName: item, value: usageOf(customer, index) * (STORAGE_ITEMS.has(item) ? GIB : 1) }))),
      );
      partners.push(partner);
    }

    await psaLimits(stack, true);
    await autotaskWindowEmpty(urls.autotask);
    progress(`rate limits on: ${BUDGET['connectwise-manage']} per minute at ConnectWise Manage, ${BUDGET.autotask} per rolling ${WINDOW_MS / 1000} s at Autotask; both first passes start`);
    const loops = new CapabilityLoops(stack.temporal);
    const t0 = Date.now();
    const runs = await Promise.all(
      partners.map(async (partner) => {
        await loops.ensure(partner.owner, 'billing', { configurationChanged: false });
        const billingRun = await finishedRun(stack, partner.partnerId, 'scheduled', RUN_DEADLINE_MS);
        const seconds = (Date.now() - t0) / 1000;
        progress(`  ${partner.owner.psaKind}: run ${billingRun.status} after ${seconds.toFixed(1)} s`);
        return { billingRun, seconds };
      }),
    );
    const logs = await Promise.all(psas.map(async (psa) => counted(await requestsSince(psa.url, t0))));
    await psaLimits(stack, false);
    for (const [index, psa] of psas.entries()) progress(`  ${psa.kind}: ${operations(logs[index]!)}`);

    const figures: Figures = {};
    for (const [index, psa] of psas.entries()) figures[`seconds_${SHORT[psa.kind]}`] = Math.round(runs[index]!.seconds * 10) / 10;
    for (const [index, psa] of psas.entries()) figures[`requests_${SHORT[psa.kind]}`] = logs[index]!.length;
    figures.rate_limited_answers = logs.flat().filter((entry) => entry.status === 429).length;
    for (const [index, psa] of psas.entries()) {
      figures[`busiest_window_${SHORT[psa.kind]}`] = busiestWindow(logs[index]!, WINDOW_MS);
      figures[`budget_${SHORT[psa.kind]}`] = BUDGET[psa.kind];
    }
    let wrong = 0;
    for (const [index, psa] of psas.entries()) wrong += await wrongLines(partners[index]!, psa.seeder, runs[index]!.billingRun.period);
    figures.lines_wrong = wrong;
    return figures;
  } finally {
    await stack.close();
  }
}
