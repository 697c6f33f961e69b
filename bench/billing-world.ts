/**
 * The billing benchmarks' world: a partner with billing on (the month to date, no refresh lag),
 * mapped PSA products, and customers whose PSA agreements hold one PAYG line per item, every one
 * mapped to an Acronis customer tenant. Made through the vendors' public APIs, as an MSP would.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { AcronisClient } from '../clients/acronis/client.ts';
import { listRuns, type BillingRun } from '../db/billing-runs.ts';
import { replaceProductMappings, upsertCompanyMapping } from '../db/mappings.ts';
import { readSettings, writeSettings } from '../db/settings.ts';
import type { PsaKind } from '../domain/partner.ts';
import { mergeSettings, settingsSchema } from '../domain/settings.ts';
import { createAcronisPartnerAccount } from '../simulators/seeding/acronis.ts';
import type { PsaSeeder } from '../simulators/seeding/psa-seeder.ts';
import { seedPartner } from '../test/partners.ts';
import { requestLog, type LoggedRequest } from '../test/simulators.ts';
import { progress, type BenchStack } from './stack.ts';

/** Ten offering items of the simulated catalogue, each billed through its own PSA product. */
export const PAYG_ITEMS = ['pw_base_workstations', 'pw_base_servers', 'pw_base_vms', 'pw_base_virtualhosts', 'pw_base_o365_seats', 'pw_base_storage', 'pg_base_workstations', 'pg_base_servers', 'local_storage', 'fc_seats'];
/** Items measured in bytes: the PSA bills them in whole GiB. */
export const STORAGE_ITEMS = new Set(['pw_base_storage', 'local_storage']);
export const GIB = 1024 ** 3;
const SEED_CONCURRENCY = 16;

/** `run` over 0..count-1, `concurrency` at a time. */
export async function pool(count: number, concurrency: number, run: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await run(next++);
    }),
  );
}

export async function requestsSince(url: string, since: number): Promise<LoggedRequest[]> {
  return (await requestLog(url)).filter((entry) => Date.parse(entry.at) >= since);
}

/** The partner's latest run of `trigger` once it has finished. */
export async function finishedRun(stack: BenchStack, partnerId: string, trigger: string, deadlineMs: number): Promise<BillingRun> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const run = (await listRuns(stack.db, partnerId, { limit: 5 })).find((candidate) => candidate.trigger === trigger && candidate.status !== 'running');
    if (run) return run;
    if (Date.now() > deadline) throw new Error(`no ${trigger} run finished within ${deadlineMs / 60_000} minutes`);
    await delay(100);
  }
}

export interface BillingCustomer {
  tenantId: string;
  companyId: string;
  agreementId: string;
  /** The agreement's PAYG lines, in the order of `items`. */
  lineIds: string[];
}

export interface BillingPartner {
  partnerId: string;
  /** What `CapabilityLoops` takes to start or nudge the partner's usage loop. */
  owner: { partnerId: string; partnerName: string; psaKind: PsaKind };
  customers: BillingCustomer[];
}

export interface BillingPartnerSpec {
  name: string;
  psa: PsaSeeder;
  psaUrl: string;
  customers: number;
  items: readonly string[];
}

/** Seeds one partner with its own Acronis account; see the module comment. */
export async function seedBillingPartner(stack: BenchStack, spec: BillingPartnerSpec): Promise<BillingPartner> {
  const { db, keyring, sims } = stack;
  const { psa, items } = spec;
  const account = await createAcronisPartnerAccount(sims.urls.acronis, spec.name);
  const acronis = new AcronisClient({ baseUrl: sims.urls.acronis, clientId: account.clientId, clientSecret: account.clientSecret });
  const partnerId = await seedPartner(db, keyring, spec.name, { psaKind: psa.kind, timezone: 'Europe/London', urls: { acronis: sims.urls.acronis, psa: spec.psaUrl }, acronisClient: account });
  const stored = (await readSettings(db, partnerId))!;
  await writeSettings(db, partnerId, settingsSchema.parse(mergeSettings(stored.settings, { billing: { enabled: true, reportingPeriod: 'current-month', refreshLagHours: 0 } })));
  const products: string[] = [];
  for (const item of items) products.push(await psa.createProduct(`${spec.name} ${item}`));
  await replaceProductMappings(db, partnerId, items.map((offeringItem, index) => ({ offeringItem, psaProductId: products[index]!, free: false })));

  progress(`${spec.name}: seeding ${spec.customers} customers with ${items.length} PAYG lines each on ${psa.kind} through the vendors' APIs`);
  const customers: BillingCustomer[] = [];
  const since = new Date(Date.now() - 40 * 86_400_000).toISOString().slice(0, 10);
  await pool(spec.customers, SEED_CONCURRENCY, async (index) => {
    const name = `${spec.name} Customer ${String(index).padStart(4, '0')}`;
    const [tenant, companyId] = await Promise.all([acronis.createTenant({ name, kind: 'customer', parent_id: account.tenantId }), psa.createCompany(name)]);
    const agreement = await psa.createAgreement(companyId, products.map((productId) => ({ productId, quantity: 0, billing: 'payg' as const })), since, `Acronis – ${name}`);
    await upsertCompanyMapping(db, partnerId, companyId, tenant.id);
    customers[index] = { tenantId: tenant.id, companyId, agreementId: agreement.agreementId, lineIds: agreement.lineIds };
    if ((index + 1) % 250 === 0) progress(`  ${index + 1} customers`);
  });
  return { partnerId, owner: { partnerId, partnerName: spec.name, psaKind: psa.kind }, customers };
}

/** Sets the tenants' usage through the simulator's control surface (as devices and storage would). */
export async function setUsage(acronisUrl: string, items: { tenantId: string; usageName: string; value: number }[]): Promise<void> {
  const response = await fetch(`${acronisUrl}/_sim/usage`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ items }) });
  if (!response.ok) throw new Error(`could not set usage: ${response.status} ${await response.text()}`);
}
