/**
 * The fault suite's world, made as an MSP makes it: companies, agreements and products through the
 * PSAs' APIs, customer tenants through Acronis's, clients through Automate's (computers through its
 * `/_sim`, as Automate has no API that makes agents), and the partners, mappings and settings
 * through the admin API. Two partners, each on an Acronis account of its own: one on ConnectWise
 * Manage with Automate, one on Autotask.
 */
import { randomUUID } from 'node:crypto';
import { AcronisClient } from '../clients/acronis/client.ts';
import { ConcurrencyLimit } from '../clients/http.ts';
import { ConnectWiseAutomateClient } from '../clients/connectwise-automate/client.ts';
import { demoAlertTicket } from '../dev/demo-world.ts';
import type { PsaKind } from '../domain/partner.ts';
import { DEFAULT_CREDENTIALS } from '../simulators/default-credentials.ts';
import type { SimulatedVendor } from '../simulators/ports.ts';
import { acronisDistributor, createAcronisPartnerAccount } from '../simulators/seeding/acronis.ts';
import { autotaskCredentials, autotaskSeeder } from '../simulators/seeding/autotask.ts';
import { connectWiseManageSeeder } from '../simulators/seeding/connectwise-manage.ts';
import type { PsaSeeder } from '../simulators/seeding/psa-seeder.ts';

export interface WorldSizes {
  /** Billing customers (PSA company, agreement with PAYG lines, mapped tenant), split over the two partners. */
  customers: number;
  /** Companies mapped to a new tenant once the faults begin: the engine creates their tenants. */
  newCustomers: number;
  alerts: number;
  computers: number;
  computersPerClient: number;
}

/** The billed items of every customer: one PAYG line each. */
export const USAGE_ITEMS = ['pw_base_servers', 'pw_base_o365_seats'] as const;
const PREPAID_ITEM = 'pw_base_workstations';
const SEED_CONCURRENCY = 8;
export const ZONE = 'UTC';

export interface UsageLine {
  item: (typeof USAGE_ITEMS)[number];
  lineId: string;
  /** Every value Acronis showed for the line, in order: the PSA must end on the last, written once per change. */
  values: number[];
}

export interface Customer {
  companyId: string;
  name: string;
  tenantId: string;
  agreementId: string;
  lines: UsageLine[];
}

export interface Company {
  companyId: string;
  name: string;
}

export interface Computer {
  computerId: number;
  name: string;
}

export interface PartnerWorld {
  psaKind: PsaKind;
  partnerId: string;
  /** The partner's own Acronis partner tenant, where its customers live. */
  accountTenantId: string;
  seeder: PsaSeeder;
  psaUrl: string;
  customers: Customer[];
  newCompanies: Company[];
}

export interface RaisedAlert {
  alertId: string;
  psaKind: PsaKind;
  companyId: string;
}

export interface FaultWorld {
  tag: string;
  partners: PartnerWorld[];
  computers: Computer[];
  alerts: RaisedAlert[];
}

/** The admin API, as a script calls it: a non-2xx answer is an error naming the route. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the API's JSON answers, read as a script would
export type AdminCall = (method: string, path: string, body?: unknown) => Promise<any>;

export function adminApi(apiUrl: string, token: string): AdminCall {
  return async (method, path, body) => {
    const response = await fetch(apiUrl + path, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
}

/** A `/_sim` control call (what a vendor has no API for). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the control surface's JSON answers
export async function simControl(url: string, method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${url}/_sim${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!response.ok) throw new Error(`${method} /_sim${path}: ${response.status} ${await response.text()}`);
  return response.status === 204 ? undefined : response.json();
}

export async function each<T, R>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const limit = new ConcurrencyLimit(concurrency);
  return Promise.all(items.map((item, index) => limit.run(() => work(item, index))));
}

/** The first value of each line: spread, so that a line holding another line's figure shows. */
function firstValue(customer: number, item: number): number {
  return item === 0 ? 1 + (customer % 9) : 5 + (customer % 17);
}

/** Half the lines change once while the faults run. */
export function changesMidway(customer: number, item: number): boolean {
  return (customer + item) % 2 === 0;
}

interface PartnerPlan {
  psaKind: PsaKind;
  psaUrl: string;
  seeder: PsaSeeder;
  psaCredentials: Record<string, string>;
  rmm: boolean;
}

function partnerPlans(sims: Record<SimulatedVendor, string>): PartnerPlan[] {
  const cwm = sims['connectwise-manage'];
  return [
    { psaKind: 'connectwise-manage', psaUrl: cwm, seeder: connectWiseManageSeeder(cwm), psaCredentials: { kind: 'connectwise-manage', baseUrl: cwm, ...DEFAULT_CREDENTIALS['connectwise-manage'] }, rmm: true },
    { psaKind: 'autotask', psaUrl: sims.autotask, seeder: autotaskSeeder(sims.autotask), psaCredentials: { kind: 'autotask', ...autotaskCredentials(sims.autotask) }, rmm: false },
  ];
}

const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString().slice(0, 10);

/** Registers the partners and builds their customers; nothing the faults are meant to hit is switched on yet. */
export async function buildWorld(call: AdminCall, sims: Record<SimulatedVendor, string>, sizes: WorldSizes, progress: (line: string) => void): Promise<FaultWorld> {
  const tag = randomUUID().slice(0, 6);
  const distributor = acronisDistributor(sims.acronis);
  const plans = partnerPlans(sims);
  const partners: PartnerWorld[] = [];
  const usage: { tenantId: string; usageName: string; value: number; absoluteValue: number }[] = [];
  for (const [index, plan] of plans.entries()) {
    const share = Math.floor(sizes.customers / plans.length) + (index < sizes.customers % plans.length ? 1 : 0);
    const newShare = Math.floor(sizes.newCustomers / plans.length) + (index < sizes.newCustomers % plans.length ? 1 : 0);
    const name = `Faults MSP ${tag} (${plan.psaKind})`;
    const account = await createAcronisPartnerAccount(sims.acronis, name);
    const partner = await call('POST', '/v1/partners', {
      name,
      timezone: ZONE,
      acronis: { baseUrl: sims.acronis, clientId: account.clientId, clientSecret: account.clientSecret },
      psa: plan.psaCredentials,
      ...(plan.rmm ? { rmm: { kind: 'connectwise-automate', baseUrl: sims.automate, ...DEFAULT_CREDENTIALS.automate } } : {}),
    });
    const partnerId = partner.id as string;
    const products = await each([...USAGE_ITEMS, PREPAID_ITEM], 1, (item) => plan.seeder.createProduct(`Acronis ${item} ${tag}`));
    await call('PUT', `/v1/partners/${partnerId}/product-mappings`, [...USAGE_ITEMS, PREPAID_ITEM].map((offeringItem, item) => ({ offeringItem, psaProductId: products[item], free: false })));
    await call('PUT', `/v1/partners/${partnerId}/alert-mappings`, [{ alertType: '*', enabled: true, ticket: demoAlertTicket(await call('GET', `/v1/partners/${partnerId}/psa/ticket-fields`)) }]);

    progress(`${plan.psaKind}: ${share} customers with ${USAGE_ITEMS.length} PAYG lines each, ${newShare} companies without a tenant`);
    const customers = await each(Array.from({ length: share }, (_, number) => number), SEED_CONCURRENCY, async (number): Promise<Customer> => {
      const global = number * plans.length + index;
      const companyName = `Faults ${tag} Customer ${String(global).padStart(4, '0')}`;
      const [companyId, tenant] = await Promise.all([plan.seeder.createCompany(companyName), distributor.createTenant({ name: companyName, kind: 'customer', parent_id: account.tenantId, language: 'en' })]);
      const agreement = await plan.seeder.createAgreement(companyId, USAGE_ITEMS.map((_, item) => ({ productId: products[item]!, quantity: 0, billing: 'payg' as const })), daysAgo(40), `Acronis – ${companyName}`);
      await call('PUT', `/v1/partners/${partnerId}/customers/${companyId}/mapping`, { tenantId: tenant.id });
      const lines = USAGE_ITEMS.map((item, position): UsageLine => ({ item, lineId: agreement.lineIds[position]!, values: [firstValue(global, position)] }));
      for (const line of lines) usage.push({ tenantId: tenant.id, usageName: line.item, value: line.values[0]!, absoluteValue: line.values[0]! });
      return { companyId, name: companyName, tenantId: tenant.id, agreementId: agreement.agreementId, lines };
    });
    const newCompanies = await each(Array.from({ length: newShare }, (_, number) => number), SEED_CONCURRENCY, async (number): Promise<Company> => {
      const companyName = `Faults ${tag} New ${plan.psaKind === 'autotask' ? 'AT' : 'CW'} ${String(number).padStart(3, '0')}`;
      const companyId = await plan.seeder.createCompany(companyName);
      await plan.seeder.createAgreement(companyId, [{ productId: products[USAGE_ITEMS.length]!, quantity: 3, billing: 'prepaid' }], daysAgo(40), `Acronis – ${companyName}`);
      return { companyId, name: companyName };
    });
    await call('PUT', `/v1/partners/${partnerId}/settings`, {
      // Month to date, with figures current at once (the simulator has no refresh lag).
      billing: { enabled: false, reportingPeriod: 'current-month', refreshLagHours: 0 },
      provisioning: { enabled: false, automatic: false, activationEmail: `admin-${tag}@faults.example` },
      tickets: { enabled: true, pollSeconds: 1, storm: null },
      agents: { enabled: plan.rmm },
    });
    partners.push({ psaKind: plan.psaKind, partnerId, accountTenantId: account.tenantId, seeder: plan.seeder, psaUrl: plan.psaUrl, customers, newCompanies });
  }
  await simControl(sims.acronis, 'PUT', '/usage', { items: usage });
  const computers = await buildComputers(sims, partners[0]!, sizes, tag);
  return { tag, partners, computers, alerts: [] };
}

/** Automate clients of the ConnectWise Manage partner's customers (linked by PSA company, as Automate's PSA integration links them), with their computers. */
async function buildComputers(sims: Record<SimulatedVendor, string>, partner: PartnerWorld, sizes: WorldSizes, tag: string): Promise<Computer[]> {
  const automate = new ConnectWiseAutomateClient({ baseUrl: sims.automate, ...DEFAULT_CREDENTIALS.automate });
  const clients = Math.ceil(sizes.computers / sizes.computersPerClient);
  if (clients > partner.customers.length) throw new Error(`${clients} Automate clients need as many customers of the ConnectWise Manage partner; it has ${partner.customers.length}`);
  const computers: Computer[] = [];
  for (let client = 0; client < clients; client++) {
    const customer = partner.customers[client]!;
    const made = await automate.createClient({ Name: customer.name, ExternalId: Number(customer.companyId) });
    const location = await automate.createLocation({ Name: 'Main Office', ClientId: made.Id });
    for (let number = 0; number < sizes.computersPerClient && computers.length < sizes.computers; number++) {
      const name = `FLT${tag}-${String(client).padStart(2, '0')}-${String(number).padStart(2, '0')}`.toUpperCase();
      const created = await simControl(sims.automate, 'POST', '/computers', { clientId: made.Id, locationId: location.Id, name, os: 'Microsoft Windows 11 Pro x64' });
      computers.push({ computerId: created.Id, name });
    }
  }
  return computers;
}

/** Switches on what runs under the faults: provisioning (and its new tenants) and billing, a burst of alerts, the deployment. */
export async function startWork(call: AdminCall, sims: Record<SimulatedVendor, string>, world: FaultWorld, sizes: WorldSizes): Promise<{ deploymentId: string }> {
  for (const partner of world.partners) {
    await call('PUT', `/v1/partners/${partner.partnerId}/settings`, { billing: { enabled: true }, provisioning: { enabled: true } });
    if (partner.newCompanies.length > 0) await call('POST', `/v1/partners/${partner.partnerId}/customers/mappings`, { psaCompanyIds: partner.newCompanies.map((company) => company.companyId) });
  }
  const [cwm] = world.partners;
  const { deploymentId } = await call('POST', `/v1/partners/${cwm!.partnerId}/agents/deployments`, { action: 'install', computerIds: world.computers.map((computer) => computer.computerId) });
  world.alerts.push(...(await raiseAlerts(sims, world, sizes.alerts)));
  return { deploymentId };
}

/** `count` BackupFailed alerts, each on a machine of its own, over every customer of both partners, raised 16 at a time. */
async function raiseAlerts(sims: Record<SimulatedVendor, string>, world: FaultWorld, count: number): Promise<RaisedAlert[]> {
  const acronis = new AcronisClient({ baseUrl: sims.acronis, ...DEFAULT_CREDENTIALS.acronis });
  // Customers of the two partners in turn, so that even a handful of alerts reaches both PSAs.
  const targets = world.partners[0]!.customers.flatMap((_, number) => world.partners.flatMap((partner) => (partner.customers[number] ? [{ psaKind: partner.psaKind, customer: partner.customers[number] }] : [])));
  return each(Array.from({ length: count }, (_, index) => index), 16, async (index): Promise<RaisedAlert> => {
    const { psaKind, customer } = targets[index % targets.length]!;
    const alertId = await acronis.raiseAlert({
      type: 'BackupFailed',
      tenantId: customer.tenantId,
      details: { planId: `plan-${world.tag}`, planName: 'Nightly', resourceId: randomUUID(), resourceName: `FLT-ALERT-${String(index).padStart(4, '0')}`, error: { text: 'The backup location is not reachable' } },
    });
    return { alertId, psaKind, companyId: customer.companyId };
  });
}

/** Half the lines' usage moves on, and each partner asks for a usage pass now. */
export async function changeUsage(call: AdminCall, sims: Record<SimulatedVendor, string>, world: FaultWorld): Promise<number> {
  const items: { tenantId: string; usageName: string; value: number; absoluteValue: number }[] = [];
  for (const partner of world.partners) {
    for (const [number, customer] of partner.customers.entries()) {
      for (const [position, line] of customer.lines.entries()) {
        if (!changesMidway(number, position)) continue;
        const value = line.values.at(-1)! + 2;
        line.values.push(value);
        items.push({ tenantId: customer.tenantId, usageName: line.item, value, absoluteValue: value });
      }
    }
  }
  await simControl(sims.acronis, 'PUT', '/usage', { items });
  for (const partner of world.partners) await call('POST', `/v1/partners/${partner.partnerId}/sync`, { what: ['usage'] });
  return items.length;
}
