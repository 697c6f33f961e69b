/**
 * The demo world `npm start` builds in the simulated vendors unless `DEMO=off`: what an MSP already
 * has in its tools, made through the vendors' public APIs (our clients and the PSA seeders), with
 * `/_sim` only where the vendor has no API (adding RMM computers, usage figures, a failing backup).
 * Then one demo partner per PSA, registered through the admin API.
 *
 * The simulators keep their state in memory and start empty, so they are seeded on every start,
 * before the worker runs the partners' workflows against them. Partners live in PostgreSQL, so the
 * demo partners of a previous start (pointing at a world that is gone) are replaced. The world runs
 * in real time, but for one minute the simulated clock is moved on at seeding: the first backups
 * finish at once, so their failures are alerts (and tickets) within seconds of `npm start`.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { AcronisClient} from '../clients/acronis/client.ts';
import { BACKUP_APPLICATION_ID } from '../clients/acronis/client.ts';
import { ConnectWiseAutomateClient } from '../clients/connectwise-automate/client.ts';
import { where } from '../clients/connectwise-automate/condition.ts';
import type { BillingModel, PsaKind, TicketFieldChoices } from '../psa/port.ts';
import { DEFAULT_CREDENTIALS } from '../simulators/default-credentials.ts';
import type { SimulatedVendor } from '../simulators/ports.ts';
import { acronisDistributor, createAcronisApiClient, createAcronisPartnerTenant } from '../simulators/seeding/acronis.ts';
import { autotaskSeeder } from '../simulators/seeding/autotask.ts';
import { connectWiseManageSeeder } from '../simulators/seeding/connectwise-manage.ts';
import type { PsaSeeder } from '../simulators/seeding/psa-seeder.ts';
import { collect } from '../clients/collect.ts';

const PRODUCTS = {
  workstations: 'Acronis Cyber Protect – Workstations',
  servers: 'Acronis Cyber Protect – Servers',
  storage: 'Acronis Cloud Storage (GB)',
} as const;
type Product = keyof typeof PRODUCTS;
/** The Acronis offering item (per-workload edition) each product bills. */
const OFFERING_ITEMS: Record<Product, string> = { workstations: 'pw_base_workstations', servers: 'pw_base_servers', storage: 'pw_base_storage' };

interface DemoLine {
  product: Product;
  quantity: number;
  billing: BillingModel;
  cancelled?: true;
}

interface DemoComputer {
  name: string;
  os: string;
  offline?: true;
  /** The Acronis agent is installed (through the RMM's plugin script); needs an Acronis customer. */
  agent?: true;
  failingBackups?: true;
}

interface DemoCompany {
  name: string;
  /** The company's primary contact, whose address an Acronis admin login can be made from. */
  contact: { firstName: string; lastName: string; email: string };
  /** CWM agreements / Autotask contracts. An Autotask contract is PAYG or prepaid as a whole and is cancelled as a whole. */
  agreements: { name: string; lines: DemoLine[] }[];
  /** Already an Acronis customer: a tenant in production with the per-workload items and this much backup storage. */
  acronis?: { storageGb: number };
  /** Managed in Automate, at one location. */
  computers?: DemoComputer[];
}

interface DemoPsa {
  kind: PsaKind;
  vendor: SimulatedVendor;
  label: string;
  partnerName: string;
  timezone: string;
  /** The ticket status auto-close moves tickets to, as this PSA names it. */
  closedStatus: string;
  seeder: (url: string) => PsaSeeder;
  companies: DemoCompany[];
  /** The Automate client whose computers get the agent and its plan without anyone asking (SPEC F6.3, F6.4). */
  autoDeployClient?: string;
}

const WINDOWS_SERVER = 'Microsoft Windows Server 2022 Standard';
const WINDOWS_11 = 'Microsoft Windows 11 Pro x64';
const WINDOWS_10 = 'Microsoft Windows 10 Pro x64';

/** Each demo partner has an Acronis partner tenant of its own under `Sim Partner` (one Acronis account serves one partner), named as the partner. */
const DEMO_PSAS: DemoPsa[] = [
  {
    kind: 'connectwise-manage',
    vendor: 'connectwise-manage',
    label: 'ConnectWise Manage',
    partnerName: 'Demo MSP (ConnectWise Manage)',
    timezone: 'America/New_York',
    closedStatus: 'Completed',
    seeder: connectWiseManageSeeder,
    autoDeployClient: 'Riverside Dental Group',
    companies: [
      {
        name: 'Riverside Dental Group',
        contact: { firstName: 'Maria', lastName: 'Delgado', email: 'maria.delgado@riversidedental.example' },
        agreements: [{
          name: 'Managed Backup – Riverside Dental Group',
          lines: [
            { product: 'workstations', quantity: 25, billing: 'prepaid' },
            { product: 'servers', quantity: 3, billing: 'prepaid' },
            { product: 'storage', quantity: 0, billing: 'payg' },
          ],
        }],
        acronis: { storageGb: 412 },
        computers: [
          { name: 'RDG-FS01', os: WINDOWS_SERVER, agent: true, failingBackups: true },
          { name: 'RDG-FRONTDESK-01', os: WINDOWS_11, agent: true },
          { name: 'RDG-XRAY-02', os: WINDOWS_10, agent: true },
          { name: 'RDG-LAPTOP-07', os: WINDOWS_11, offline: true },
        ],
      },
      {
        name: 'Hudson Valley Realty',
        contact: { firstName: 'Tom', lastName: 'Becker', email: 'tom.becker@hudsonvalleyrealty.example' },
        agreements: [{
          name: 'Managed Backup – Hudson Valley Realty',
          lines: [
            { product: 'workstations', quantity: 10, billing: 'prepaid' },
            { product: 'servers', quantity: 1, billing: 'prepaid', cancelled: true },
            { product: 'storage', quantity: 0, billing: 'payg' },
          ],
        }],
        computers: [
          { name: 'HVR-DC01', os: WINDOWS_SERVER },
          { name: 'HVR-WS-01', os: WINDOWS_11 },
          { name: 'HVR-WS-02', os: WINDOWS_11 },
        ],
      },
      {
        name: 'Bayside Legal Partners',
        contact: { firstName: 'Priya', lastName: 'Raman', email: 'praman@baysidelegal.example' },
        agreements: [{
          name: 'Managed Backup – Bayside Legal Partners',
          lines: [
            { product: 'workstations', quantity: 8, billing: 'prepaid' },
            { product: 'storage', quantity: 0, billing: 'payg' },
          ],
        }],
      },
      { name: 'Greenleaf Landscaping', contact: { firstName: 'Dave', lastName: 'Kowalski', email: 'dave@greenleaflandscaping.example' }, agreements: [] },
    ],
  },
  {
    kind: 'autotask',
    vendor: 'autotask',
    label: 'Autotask',
    partnerName: 'Demo MSP (Autotask)',
    timezone: 'Europe/London',
    closedStatus: 'Complete',
    seeder: autotaskSeeder,
    companies: [
      {
        name: 'Thames Valley Accountants',
        contact: { firstName: 'Sarah', lastName: 'Whitfield', email: 's.whitfield@thamesvalleyaccountants.example' },
        agreements: [
          {
            name: 'Acronis Cyber Protect – Thames Valley Accountants',
            lines: [
              { product: 'workstations', quantity: 15, billing: 'prepaid' },
              { product: 'servers', quantity: 2, billing: 'prepaid' },
            ],
          },
          { name: 'Acronis Cloud Storage – Thames Valley Accountants', lines: [{ product: 'storage', quantity: 0, billing: 'payg' }] },
        ],
        acronis: { storageGb: 186 },
        computers: [
          { name: 'TVA-SRV01', os: WINDOWS_SERVER, agent: true, failingBackups: true },
          { name: 'TVA-PC-01', os: WINDOWS_11, agent: true },
          { name: 'TVA-PC-02', os: WINDOWS_11, agent: true },
        ],
      },
      {
        name: 'Pennine Engineering Ltd',
        contact: { firstName: 'James', lastName: 'Haworth', email: 'james.haworth@pennine-engineering.example' },
        agreements: [
          { name: 'Acronis Cyber Protect – Pennine Engineering', lines: [{ product: 'workstations', quantity: 12, billing: 'prepaid' }] },
          { name: 'Acronis Cloud Storage – Pennine Engineering', lines: [{ product: 'storage', quantity: 0, billing: 'payg' }] },
        ],
        computers: [
          { name: 'PEN-WS-01', os: WINDOWS_10 },
          { name: 'PEN-WS-02', os: WINDOWS_11 },
        ],
      },
      {
        name: 'Cotswold Veterinary Practice',
        contact: { firstName: 'Emma', lastName: 'Lloyd', email: 'practice.manager@cotswoldvets.example' },
        agreements: [
          { name: 'Acronis Cyber Protect – Cotswold Veterinary', lines: [{ product: 'workstations', quantity: 6, billing: 'prepaid' }] },
          { name: 'Acronis Server Backup – Cotswold Veterinary', lines: [{ product: 'servers', quantity: 1, billing: 'prepaid', cancelled: true }] },
        ],
      },
      { name: 'Harbourside Café Ltd', contact: { firstName: 'Luca', lastName: 'Bianchi', email: 'luca@harboursidecafe.example' }, agreements: [] },
    ],
  },
];

const PROTECTION_PLAN = 'Servers and workstations – daily';
const INSTALL_SCRIPT = 'Acronis Data Cloud agent Install/Upgrade';
const BACKUP_ERROR = 'The backup location is not reachable: connection timed out';
const REGISTRATION_TOKEN_LIFETIME_S = 30 * 86_400;
/** Where the demo customers' company-name admin accounts send their activation e-mail (the Acronis simulator keeps it). */
const DEMO_ACTIVATION_EMAIL = 'msp-admin@demo-msp.example';
const AGENT_WAIT_MS = 30_000;
/** How long the demo waits for provisioning to give every mapped company its tenant before it asks for a usage pass. */
const PROVISIONED_WAIT_MS = 120_000;
const POLL_MS = 2_000;
/** A simulated backup run takes a minute. */
const BACKUP_RUN_MS = 61_000;
const GB = 1024 ** 3;

/** The simulators' base URLs, as a partner enters them. */
export type SimulatorUrls = Record<SimulatedVendor, string>;

export interface DemoWorld {
  /** One short line per thing made, `label  what`. */
  made: { label: string; what: string }[];
  /** What could not be made. */
  problems: string[];
}

export interface DemoPartner {
  name: string;
  id: string;
  /** The id of the demo partner of a previous start that this one replaces. */
  replaced: string | null;
}

export interface DemoPartners {
  partners: DemoPartner[];
  /** The partners that could not be registered, and why; the others were registered anyway. */
  problems: string[];
}

function problemText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A `/_sim` control call: only for what the vendor has no API for. */
async function simControl(baseUrl: string, method: string, path: string, body: unknown): Promise<unknown> {
  const response = await fetch(`${baseUrl}/_sim${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`${method} ${baseUrl}/_sim${path}: ${response.status} ${await response.text()}`);
  return response.status === 204 ? undefined : response.json();
}

function firstOfThisMonth(): string {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString().slice(0, 10);
}

function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}

/** Companies, products and agreements/contracts in one PSA; answers each company's PSA id. */
async function seedPsa(psa: DemoPsa, url: string, made: DemoWorld['made']): Promise<Map<DemoCompany, string>> {
  const seeder = psa.seeder(url);
  const since = firstOfThisMonth();
  const productIds = new Map<Product, string>();
  for (const product of Object.keys(PRODUCTS) as Product[]) productIds.set(product, await seeder.createProduct(PRODUCTS[product]));
  const companyIds = new Map<DemoCompany, string>();
  let agreements = 0;
  let cancelled = 0;
  for (const company of psa.companies) {
    const companyId = await seeder.createCompany(company.name);
    await seeder.addPrimaryContact(companyId, company.contact);
    companyIds.set(company, companyId);
    for (const agreement of company.agreements) {
      const lines = agreement.lines.map((line) => ({ productId: productIds.get(line.product)!, quantity: line.quantity, billing: line.billing }));
      const { agreementId, lineIds } = await seeder.createAgreement(companyId, lines, since, agreement.name);
      agreements++;
      for (const [index, line] of agreement.lines.entries()) {
        if (!line.cancelled) continue;
        await seeder.cancelLine(agreementId, lineIds[index]!);
        cancelled++;
      }
    }
  }
  const agreementNoun = psa.kind === 'autotask' ? 'contract' : 'agreement';
  made.push({ label: psa.label, what: `${count(psa.companies.length, 'company', 'companies')} with primary contacts, ${count(agreements, agreementNoun)} (${count(cancelled, 'line')} cancelled), ${count(productIds.size, 'product')}` });
  return companyIds;
}

interface AcronisCustomer {
  company: DemoCompany;
  tenantId: string;
  registrationToken: string;
}

async function seedAcronisCustomers(acronis: AcronisClient, url: string, made: DemoWorld['made']): Promise<AcronisCustomer[]> {
  const customers: AcronisCustomer[] = [];
  for (const psa of DEMO_PSAS) {
    const partnerTenantId = await createAcronisPartnerTenant(url, psa.partnerName);
    for (const company of psa.companies) {
      if (company.acronis) customers.push(await seedAcronisCustomer(acronis, url, partnerTenantId, company, company.acronis));
    }
  }
  made.push({ label: 'Acronis', what: `a partner tenant per demo partner, ${count(customers.length, 'customer tenant')} (${customers.map((customer) => customer.company.name).join(', ')}), each with a registration token and usage` });
  return customers;
}

async function seedAcronisCustomer(acronis: AcronisClient, url: string, partnerTenantId: string, company: DemoCompany, existing: { storageGb: number }): Promise<AcronisCustomer> {
  const tenant = await acronis.createTenant({ name: company.name, kind: 'customer', parent_id: partnerTenantId, language: 'en' });
  // An MSP's existing customers are past their trial and use the per-workload edition.
  await acronis.setPricingMode(tenant.id, 'production', (await acronis.getPricing(tenant.id)).version);
  const [storageId] = await acronis.tenantStorageIds(tenant.id);
  await acronis.setOfferingItems(tenant.id, [
    { application_id: BACKUP_APPLICATION_ID, name: OFFERING_ITEMS.workstations, status: 1 },
    { application_id: BACKUP_APPLICATION_ID, name: OFFERING_ITEMS.servers, status: 1 },
    { application_id: BACKUP_APPLICATION_ID, name: OFFERING_ITEMS.storage, status: 1, ...(storageId ? { infra_id: storageId } : {}) },
  ]);
  // Acronis has no API that makes usage; the simulator's refresh would take hours.
  const agents = company.computers?.filter((computer) => computer.agent) ?? [];
  const servers = agents.filter((computer) => computer.os.includes('Server')).length;
  for (const [usageName, value] of [['workstations', agents.length - servers], ['servers', servers], ['storage', existing.storageGb * GB]] as const) {
    await simControl(url, 'PUT', '/usage', { tenantId: tenant.id, usageName, value });
  }
  const { token } = await acronis.createRegistrationToken(tenant.id, { expiresInSeconds: REGISTRATION_TOKEN_LIFETIME_S });
  return { company, tenantId: tenant.id, registrationToken: token };
}

/** Clients, locations and computers in Automate; the plugin's install script on the computers marked `agent`. */
async function seedAutomate(automate: ConnectWiseAutomateClient, url: string, customers: AcronisCustomer[], psaIds: Map<DemoCompany, string>, made: DemoWorld['made']): Promise<void> {
  const [installScript] = await collect(automate.scripts({ condition: where.eq('Name', INSTALL_SCRIPT) }));
  if (!installScript) throw new Error(`Automate has no script named ${INSTALL_SCRIPT}`);
  let clients = 0;
  let computers = 0;
  let installs = 0;
  for (const psa of DEMO_PSAS) {
    for (const company of psa.companies) {
      if (!company.computers) continue;
      // Automate's PSA integration links a client to its PSA company by the company's id.
      const client = await automate.createClient({ Name: company.name, ExternalId: Number(psaIds.get(company)) });
      const location = await automate.createLocation({ Name: 'Main Office', ClientId: client.Id });
      clients++;
      const withAgent: number[] = [];
      for (const computer of company.computers) {
        const body = { clientId: client.Id, locationId: location.Id, name: computer.name, os: computer.os, online: !computer.offline };
        const { Id } = (await simControl(url, 'POST', '/computers', body)) as { Id: number };
        computers++;
        if (computer.agent) withAgent.push(Id);
      }
      if (!withAgent.length) continue;
      const customer = customers.find((candidate) => candidate.company === company);
      if (!customer) throw new Error(`${company.name} has computers with agents but no Acronis tenant`);
      const result = await automate.executeScript(installScript.Id, withAgent, { RegistrationToken: customer.registrationToken });
      if (result.ContainsUnsuccessfulResults) throw new Error(`Automate refused the agent install on ${company.name}'s computers`);
      installs += withAgent.length;
    }
  }
  const offline = DEMO_PSAS.flatMap((psa) => psa.companies).flatMap((company) => company.computers ?? []).filter((computer) => computer.offline).length;
  made.push({ label: 'Automate', what: `${count(clients, 'client')}, ${count(computers, 'computer')} (${offline} offline); the Acronis agent install runs on ${installs}` });
}

/** Once the installs have made the agents: each customer's protection plan on its machines, one machine's backups failing, a first run. */
async function protectMachines(acronis: AcronisClient, url: string, customers: AcronisCustomer[], made: DemoWorld['made']): Promise<void> {
  const computers = customers.flatMap((customer) => customer.company.computers ?? []).filter((computer) => computer.agent);
  const expected = new Set(computers.map((computer) => computer.name));
  const deadline = Date.now() + AGENT_WAIT_MS;
  while ((await collect(acronis.listAgents())).filter((agent) => expected.has(agent.hostname)).length < expected.size) {
    if (Date.now() > deadline) throw new Error(`the Acronis agents did not all appear within ${AGENT_WAIT_MS / 1000} s`);
    await delay(500);
  }
  const failing = computers.filter((computer) => computer.failingBackups).map((computer) => computer.name);
  let protectedMachines = 0;
  for (const customer of customers) {
    const machines = (await collect(acronis.listResources({ tenantId: customer.tenantId, type: 'resource.machine' }))).filter((resource) => expected.has(resource.name));
    if (!machines.length) continue;
    // Plans belong to a customer's tenant, as an MSP makes them in the backup console.
    const planId = await acronis.createProtectionPlan({ name: PROTECTION_PLAN, tenantId: customer.tenantId, schedule: { type: 'daily', time: '01:00' } });
    const issues = await acronis.applyPlan(planId, machines.map((machine) => machine.id));
    if (issues.length) throw new Error(`the protection plan was not applied: ${issues.map((issue) => issue.message).join('; ')}`);
    for (const machine of machines.filter((candidate) => failing.includes(candidate.name))) {
      // Acronis has no API that makes a backup fail.
      await simControl(url, 'POST', '/backups/outcome', { resourceId: machine.id, outcome: 'fail', error: BACKUP_ERROR });
    }
    await acronis.runPlan(planId);
    protectedMachines += machines.length;
  }
  // The runs finish at once rather than in a minute: the failing machines raise their alerts now.
  await simControl(url, 'POST', '/clock', { advanceMs: BACKUP_RUN_MS });
  made.push({ label: 'Acronis agents', what: `${count(protectedMachines, 'machine')} protected by their customer's "${PROTECTION_PLAN}" and backed up once; ${failing.join(', ')} failed (BackupFailed alerts)` });
}

async function seedVendors(urls: SimulatorUrls, made: DemoWorld['made']): Promise<void> {
  const psaIds = new Map<DemoCompany, string>();
  for (const psa of DEMO_PSAS) for (const [company, id] of await seedPsa(psa, urls[psa.vendor], made)) psaIds.set(company, id);
  const acronis = acronisDistributor(urls.acronis);
  const customers = await seedAcronisCustomers(acronis, urls.acronis, made);
  await seedAutomate(new ConnectWiseAutomateClient({ baseUrl: urls.automate, ...DEFAULT_CREDENTIALS.automate }), urls.automate, customers, psaIds, made);
  await protectMachines(acronis, urls.acronis, customers, made);
}

/** A new API client of the demo partner's own Acronis partner tenant (seeded under `Sim Partner` with the partner's name). */
async function demoAcronisCredentials(acronisUrl: string, psa: DemoPsa): Promise<{ clientId: string; clientSecret: string }> {
  const distributor = acronisDistributor(acronisUrl);
  const children = await collect(distributor.listTenants({ parentId: (await distributor.getApiClient()).tenant_id }));
  const tenant = children.find((child) => child.kind === 'partner' && child.name === psa.partnerName);
  if (!tenant) throw new Error(`the simulated Acronis has no partner tenant "${psa.partnerName}"; was the demo world seeded?`);
  return createAcronisApiClient(acronisUrl, tenant.id, psa.partnerName);
}

function partnerRegistration(psa: DemoPsa, urls: SimulatorUrls, acronis: { clientId: string; clientSecret: string }) {
  const psaCredentials =
    psa.kind === 'connectwise-manage'
      ? { kind: psa.kind, baseUrl: urls[psa.vendor], ...DEFAULT_CREDENTIALS['connectwise-manage'] }
      : { kind: psa.kind, baseUrl: urls[psa.vendor], ...DEFAULT_CREDENTIALS.autotask };
  return {
    name: psa.partnerName,
    timezone: psa.timezone,
    acronis: { baseUrl: urls.acronis, ...acronis },
    psa: psaCredentials,
    rmm: { kind: 'connectwise-automate', baseUrl: urls.automate, ...DEFAULT_CREDENTIALS.automate },
  };
}

/** Each offering item billed through the PSA product of the same service, found by name. */
const productMappings = () => (Object.keys(PRODUCTS) as Product[]).map((product) => ({ offeringItem: OFFERING_ITEMS[product], psaProductName: PRODUCTS[product] }));

/**
 * The alert ticket fields a demo partner picks from its PSA's choices (GET …/psa/ticket-fields), by
 * name: the Help Desk board (CWM) or Monitoring Alert queue (Autotask), a new ticket's status, Backup
 * as type, a high priority.
 */
export function demoAlertTicket(fields: TicketFieldChoices, boardName = 'Help Desk'): Record<string, number> {
  const named = <T extends { name: string }>(choices: T[], name: string): T => {
    const found = choices.find((choice) => choice.name === name);
    if (!found) throw new Error(`the PSA has no ${name}`);
    return found;
  };
  if (fields.kind === 'connectwise-manage') {
    const board = named(fields.boards, boardName);
    const open = board.statuses.find((status) => !status.closed);
    if (!open) throw new Error(`board ${boardName} has no open status`);
    return { boardId: board.id, statusId: open.id, typeId: named(board.types, 'Backup').id, priorityId: named(fields.priorities, 'Priority 2 - Quick Response').id };
  }
  const issueType = named(fields.issueTypes, 'Backup').id;
  const subIssueType = fields.subIssueTypes.find((choice) => choice.issueType === issueType);
  return {
    queueId: named(fields.queues, 'Monitoring Alert').id,
    status: named(fields.statuses, 'New').id,
    priority: named(fields.priorities, 'High').id,
    issueType,
    ...(subIssueType ? { subIssueType: subIssueType.id } : {}),
    source: named(fields.sources, 'Monitoring Alert').id,
  };
}

/**
 * Every capability on, as a partner who has seen the demo would switch them. Billing reports the
 * month to date, so writes show at once; the simulator's figures are current the moment they are
 * set, so they are reported without Acronis's refresh lag.
 */
function demoSettings(psa: DemoPsa) {
  return {
    provisioning: { enabled: true, automatic: true, activationEmail: DEMO_ACTIVATION_EMAIL },
    billing: { enabled: true, reportingPeriod: 'current-month', refreshLagHours: 0 },
    tickets: { enabled: true, autoClose: { enabled: true, status: psa.closedStatus } },
    agents: { enabled: true },
  };
}

type ApiCall = <T>(method: string, path: string, body?: unknown) => Promise<T>;

/**
 * Agent management as an admin sets it up through the API: the client is tied to its Acronis
 * tenant, the customer's plan is imported as the partner's default, and the client deploys agents
 * automatically (with the backup monitor) and gets the default plan on machines without one.
 */
async function autoDeployAgents(call: ApiCall, partnerId: string, clientName: string, automateUrl: string): Promise<void> {
  const automate = new ConnectWiseAutomateClient({ baseUrl: automateUrl, ...DEFAULT_CREDENTIALS.automate });
  const [client] = await collect(automate.clients({ condition: where.eq('Name', clientName) }));
  if (!client) throw new Error(`Automate has no client named ${clientName}`);
  const { tenantId } = await call<{ tenantId: string }>('POST', `/v1/partners/${partnerId}/rmm-clients/${client.Id}/tenant`);
  const { items } = await call<{ items: { planId: string; name: string; tenantId: string | null }[] }>('GET', `/v1/partners/${partnerId}/plans`);
  const plan = items.find((candidate) => candidate.tenantId === tenantId && candidate.name === PROTECTION_PLAN);
  if (!plan) throw new Error(`${clientName}'s tenant has no plan named ${PROTECTION_PLAN}`);
  await call('POST', `/v1/partners/${partnerId}/plans/import`, { tenantId, planId: plan.planId, default: true });
  await call('PUT', `/v1/partners/${partnerId}/agents/policies`, [{ clientId: client.Id, autoDeploy: true, withBackupMonitor: true, defaultPlanId: plan.planId }]);
}

/**
 * The usage loop's first pass runs as billing is switched on, before provisioning has adopted the
 * demo customers' tenants; the next one would come at the interval. Once every mapped company has
 * its tenant, a pass now ("sync now") writes their PAYG usage within a minute of the start.
 */
async function reportUsageOnceProvisioned(call: ApiCall, partnerId: string): Promise<void> {
  const deadline = Date.now() + PROVISIONED_WAIT_MS;
  while (Date.now() < deadline) {
    await delay(POLL_MS);
    const { items } = await call<{ items: { mapping: { tenantId: string | null } | null }[] }>('GET', `/v1/partners/${partnerId}/customers?mapping=mapped`);
    if (items.length > 0 && items.every((customer) => customer.mapping?.tenantId)) {
      await call('POST', `/v1/partners/${partnerId}/sync`, { what: ['usage'] });
      return;
    }
  }
}

/**
 * Registers the demo partners through the admin API, against these simulators. A demo partner of a
 * previous start is removed first: its mappings point at tenants of a simulated world that is gone
 * (simulators start empty), and its removal ends its workflows. Never throws: what fails is in
 * `problems`.
 */
export async function registerDemoPartners(api: { url: string; token: string }, simulators: SimulatorUrls): Promise<DemoPartners> {
  const result: DemoPartners = { partners: [], problems: [] };
  const call: ApiCall = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${api.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${api.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    return (response.status === 204 ? undefined : await response.json()) as T;
  };
  let existing: { id: string; name: string }[];
  try {
    existing = (await call<{ items: { id: string; name: string }[] }>('GET', '/v1/partners')).items;
  } catch (error) {
    result.problems.push(`demo partners: ${problemText(error)}`);
    return result;
  }
  for (const psa of DEMO_PSAS) {
    try {
      const previous = existing.find((partner) => partner.name === psa.partnerName);
      if (previous) await call('DELETE', `/v1/partners/${previous.id}`);
      const { id } = await call<{ id: string }>('POST', '/v1/partners', partnerRegistration(psa, simulators, await demoAcronisCredentials(simulators.acronis, psa)));
      // Mappings first: provisioning's first pass, once switched on, already finds what to provision,
      // and ticket sync the alert mapping for every alert type.
      await call('PUT', `/v1/partners/${id}/product-mappings`, productMappings());
      const fields = await call<TicketFieldChoices>('GET', `/v1/partners/${id}/psa/ticket-fields`);
      await call('PUT', `/v1/partners/${id}/alert-mappings`, [{ alertType: '*', enabled: true, ticket: demoAlertTicket(fields) }]);
      await call('PUT', `/v1/partners/${id}/settings`, demoSettings(psa));
      if (psa.autoDeployClient) await autoDeployAgents(call, id, psa.autoDeployClient, simulators.automate);
      // In the background: the stack is usable while provisioning finishes.
      void reportUsageOnceProvisioned(call, id).catch(() => undefined);
      result.partners.push({ name: psa.partnerName, id, replaced: previous?.id ?? null });
    } catch (error) {
      result.problems.push(`demo partner ${psa.partnerName}: ${problemText(error)}`);
    }
  }
  return result;
}

/** Fills the (empty) simulators through the vendors' APIs. Never throws: a failure is in `problems`, after what was made. */
export async function seedDemoWorld(simulators: SimulatorUrls): Promise<DemoWorld> {
  const world: DemoWorld = { made: [], problems: [] };
  await seedVendors(simulators, world.made).catch((error: unknown) => world.problems.push(`simulated vendors: ${problemText(error)}`));
  return world;
}
