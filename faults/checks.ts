/**
 * What the vendors hold once the engine is done, read through their own APIs (never the engine's
 * database): the request log of `/_sim` only counts the PSA writes, which no PSA API lists.
 */
import { AcronisClient } from '../clients/acronis/client.ts';
import { collect } from '../clients/collect.ts';
import { ConnectWiseAutomateClient } from '../clients/connectwise-automate/client.ts';
import { identityKey, identityOf, ticketReference } from '../domain/alert-tickets.ts';
import { DEFAULT_CREDENTIALS } from '../simulators/default-credentials.ts';
import type { SimulatedVendor } from '../simulators/ports.ts';
import { each, simControl, ZONE, type Computer, type FaultWorld, type PartnerWorld } from './world.ts';

/** The Acronis plugin's install scripts (with and without the backup monitor). */
const INSTALL_SCRIPT_IDS = new Set([6101, 6102]);
const READ_CONCURRENCY = 8;
/** The simulators keep this many requests in their log: a longer run would lose the writes it counts. */
const REQUEST_LOG_LIMIT = 50_000;

export interface AreaFigures {
  /** What is expected once: usage lines, alert identities, computers, companies. */
  expected: number;
  lost: number;
  duplicated: number;
  wrong: number;
  /** What was found, counted as the vendor shows it (writes, tickets, agents ...). */
  counts: Record<string, number>;
  /** A few of the items that went wrong, for the log. */
  examples: string[];
}

export interface VendorState {
  usage: AreaFigures;
  tickets: AreaFigures;
  agents: AreaFigures;
  tenants: AreaFigures;
}

function area(expected: number, counts: Record<string, number> = {}): AreaFigures {
  return { expected, lost: 0, duplicated: 0, wrong: 0, counts, examples: [] };
}

function note(figures: AreaFigures, example: string): void {
  if (figures.examples.length < 5) figures.examples.push(example);
}

function currentPeriod(): { start: string; end: string } {
  const now = new Date();
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 0));
  if (ZONE !== 'UTC') throw new Error('the period is reckoned in UTC, the partners’ zone');
  return { start: start.toISOString().slice(0, 10), end: end.toISOString().slice(0, 10) };
}

interface LoggedRequest {
  method: string;
  path: string;
  status: number;
  body?: unknown;
}

async function requestLog(url: string): Promise<LoggedRequest[]> {
  const log = (await simControl(url, 'GET', '/requests')) as LoggedRequest[];
  if (log.length >= REQUEST_LOG_LIMIT) throw new Error(`the simulator at ${url} logged ${REQUEST_LOG_LIMIT} requests and dropped the oldest: the writes cannot be counted; run with fewer customers or a shorter fault window`);
  return log;
}

/**
 * The figures each usage line was set to by committed writes, in order, from the PSA's request log
 * (no PSA API lists them): ConnectWise Manage PATCHes the addition's quantity; Autotask adds an
 * adjustment of `unitChange` units to the contract service, from the 0 the line started with.
 */
async function usageWrites(partner: PartnerWorld): Promise<Map<string, number[]>> {
  const written = new Map<string, number[]>();
  const add = (lineId: string, value: number) => written.set(lineId, [...(written.get(lineId) ?? []), value]);
  for (const entry of await requestLog(partner.psaUrl)) {
    if (entry.status < 200 || entry.status >= 300) continue;
    if (partner.psaKind === 'connectwise-manage') {
      const lineId = entry.method === 'PATCH' ? /\/finance\/agreements\/\d+\/additions\/(\d+)$/.exec(entry.path)?.[1] : undefined;
      const operation = Array.isArray(entry.body) ? (entry.body as { path?: string; value?: unknown }[]).find((candidate) => candidate.path === 'quantity') : undefined;
      if (lineId && typeof operation?.value === 'number') add(lineId, operation.value);
    } else if (entry.method === 'POST' && /\/contracts\/\d+\/serviceadjustments$/i.test(entry.path)) {
      const { contractServiceID, unitChange } = entry.body as { contractServiceID: number; unitChange: number };
      const lineId = String(contractServiceID);
      add(lineId, (written.get(lineId)?.at(-1) ?? 0) + unitChange);
    }
  }
  return written;
}

/**
 * Each line must hold Acronis's last figure; a line on an earlier figure lost a change, any other
 * figure is wrong. Each figure is written at most once (a figure the line never had first is skipped
 * when it changed while the PSA was away), and never a figure Acronis did not show.
 */
async function checkUsage(world: FaultWorld, settled: Settled | undefined): Promise<AreaFigures> {
  const lines = world.partners.flatMap((partner) => partner.customers.flatMap((customer) => customer.lines.map((line) => ({ partner, customer, line }))));
  const figures = area(lines.length, { changes: 0, writes: 0 });
  const period = currentPeriod();
  await each(lines, READ_CONCURRENCY, async ({ partner, customer, line }) => {
    const key = `usage ${line.lineId} ${line.values.length}`;
    if (settled?.has(key)) return;
    const billed = await partner.seeder.billedQuantity(customer.agreementId, line.lineId, period);
    const expected = line.values.at(-1)!;
    if (billed === expected) return void settled?.add(key);
    if (billed === 0 || line.values.slice(0, -1).includes(billed)) {
      figures.lost++;
      note(figures, `${customer.name} ${line.item}: the PSA bills ${billed}, Acronis shows ${expected}`);
    } else {
      figures.wrong++;
      note(figures, `${customer.name} ${line.item}: the PSA bills ${billed}, which Acronis never showed (${line.values.join(' → ')})`);
    }
  });
  if (settled) return figures;
  for (const partner of world.partners) {
    const writes = await usageWrites(partner);
    for (const customer of partner.customers) {
      for (const line of customer.lines) {
        const written = writes.get(line.lineId) ?? [];
        figures.counts.changes! += line.values.length;
        figures.counts.writes! += written.length;
        const repeated = written.filter((value, index) => written.indexOf(value) !== index).length;
        const unknown = written.filter((value) => !line.values.includes(value)).length;
        figures.duplicated += repeated;
        figures.wrong += unknown;
        if (repeated + unknown > 0) note(figures, `${customer.name} ${line.item}: written ${written.join(', ')} for figures ${line.values.join(' → ')}`);
      }
    }
  }
  return figures;
}

/** Every alert identity has exactly one ticket carrying the engine's reference. */
async function checkTickets(world: FaultWorld, acronis: AcronisClient, settled: Settled | undefined, references: Map<string, string>): Promise<AreaFigures> {
  const figures = area(world.alerts.length, { tickets: 0 });
  const seeders = new Map(world.partners.map((partner) => [partner.psaKind, partner.seeder]));
  await each(world.alerts, READ_CONCURRENCY, async (raised) => {
    const key = `ticket ${raised.alertId}`;
    if (settled?.has(key)) return;
    let reference = references.get(raised.alertId);
    if (!reference) {
      reference = ticketReference(identityKey(identityOf(await acronis.getAlert(raised.alertId), raised.companyId)), 1);
      references.set(raised.alertId, reference);
    }
    const tickets = await seeders.get(raised.psaKind)!.countTickets(reference);
    figures.counts.tickets! += tickets;
    if (tickets === 1) settled?.add(key);
    if (tickets === 0) figures.lost++;
    if (tickets > 1) figures.duplicated += tickets - 1;
    if (tickets !== 1) note(figures, `alert ${raised.alertId} (${reference}, ${raised.psaKind}): ${tickets} tickets`);
  });
  return figures;
}

/** Every computer has one agent in Acronis and one run of the install script in Automate. */
async function checkAgents(world: FaultWorld, acronis: AcronisClient, automate: ConnectWiseAutomateClient, settled: Settled | undefined): Promise<AreaFigures> {
  const figures = area(world.computers.length, { agents: 0, script_runs: 0 });
  const open = world.computers.filter((computer) => !settled?.has(`computer ${computer.computerId}`));
  if (open.length === 0) return figures;
  const agents = new Map<string, number>();
  for (const agent of await collect(acronis.listAgents())) agents.set(agent.hostname, (agents.get(agent.hostname) ?? 0) + 1);
  await each(open, READ_CONCURRENCY, async (computer: Computer) => {
    const runs = await installRuns(automate, computer.computerId);
    const registered = agents.get(computer.name) ?? 0;
    if (registered === 1 && runs === 1) settled?.add(`computer ${computer.computerId}`);
    figures.counts.agents! += registered;
    figures.counts.script_runs! += runs;
    if (registered === 0 || runs === 0) figures.lost++;
    figures.duplicated += Math.max(0, registered - 1) + Math.max(0, runs - 1);
    if (registered !== 1 || runs !== 1) note(figures, `${computer.name}: ${registered} agents, ${runs} install runs`);
  });
  return figures;
}

/** Runs of the plugin's install scripts on the computer, finished or running (a skipped run never ran). */
async function installRuns(automate: ConnectWiseAutomateClient, computerId: number): Promise<number> {
  const history = await collect(automate.scriptHistory(computerId));
  const finished = new Set(history.map((entry) => entry.Id));
  const running = (await collect(automate.runningScripts(computerId))).filter((run) => !finished.has(run.Id));
  return [...history.filter((entry) => entry.Status !== 'Skipped'), ...running].filter((run) => INSTALL_SCRIPT_IDS.has(run.ScriptId)).length;
}

/** Every company has one customer tenant (the engine made the new ones), and every tenant one admin user. */
async function checkTenants(world: FaultWorld, acronis: AcronisClient, settled: Settled | undefined): Promise<AreaFigures> {
  const companies = world.partners.flatMap((partner) => [...partner.customers, ...partner.newCompanies].map((company) => ({ partner, name: company.name })));
  const figures = area(companies.length, { tenants: 0, admins: 0 });
  const open = companies.filter(({ name }) => !settled?.has(`company ${name}`));
  if (open.length === 0) return figures;
  const tenantsByName = new Map<string, string[]>();
  for (const partner of world.partners) {
    for (const tenant of await collect(acronis.listTenants({ parentId: partner.accountTenantId }))) {
      if (tenant.kind !== 'customer' || tenant.deleted_at !== null) continue;
      tenantsByName.set(tenant.name, [...(tenantsByName.get(tenant.name) ?? []), tenant.id]);
    }
  }
  await each(open, READ_CONCURRENCY, async ({ name }) => {
    const tenants = tenantsByName.get(name) ?? [];
    const users = (await Promise.all(tenants.map(async (tenantId) => (await collect(acronis.listUsers({ tenantId }))).filter((user) => user.deleted_at === null).length))).reduce((sum, count) => sum + count, 0);
    if (tenants.length === 1 && users === 1) settled?.add(`company ${name}`);
    figures.counts.tenants! += tenants.length;
    figures.counts.admins! += users;
    if (tenants.length === 0 || users === 0) figures.lost++;
    figures.duplicated += Math.max(0, tenants.length - 1) + Math.max(0, users - tenants.length);
    if (tenants.length !== 1 || users !== 1) note(figures, `${name}: ${tenants.length} tenants, ${users} users`);
  });
  return figures;
}

/** Items found as they should end (`usage <line> <changes>`, `ticket <alert>` ...): a drain reads each until it is. */
type Settled = Set<string>;

/** Reads the vendors: all of it for the figures, or, while the engine drains, only what has not shown yet. */
export class VendorReader {
  readonly #world: FaultWorld;
  readonly #acronis: AcronisClient;
  readonly #automate: ConnectWiseAutomateClient;
  readonly #references = new Map<string, string>();
  readonly #settled: Settled = new Set();

  constructor(sims: Record<SimulatedVendor, string>, world: FaultWorld) {
    this.#world = world;
    this.#acronis = new AcronisClient({ baseUrl: sims.acronis, ...DEFAULT_CREDENTIALS.acronis });
    this.#automate = new ConnectWiseAutomateClient({ baseUrl: sims.automate, ...DEFAULT_CREDENTIALS.automate });
  }

  /** Whether everything has shown: what showed once is not read again (duplicates are for `figures`). */
  async missing(): Promise<VendorState> {
    return this.#read(this.#settled);
  }

  /** Everything, duplicates and writes counted. */
  figures(): Promise<VendorState> {
    return this.#read(undefined);
  }

  async #read(settled: Settled | undefined): Promise<VendorState> {
    const world = this.#world;
    const [usage, tickets, agents, tenants] = await Promise.all([
      checkUsage(world, settled),
      checkTickets(world, this.#acronis, settled, this.#references),
      checkAgents(world, this.#acronis, this.#automate, settled),
      checkTenants(world, this.#acronis, settled),
    ]);
    return { usage, tickets, agents, tenants };
  }
}

/** Nothing is missing any more (duplicates are counted once the engine has settled). */
export function complete(state: VendorState): boolean {
  return Object.values(state).every((figures) => figures.lost === 0 && figures.wrong === 0);
}
