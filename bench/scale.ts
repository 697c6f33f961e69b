/**
 * `npm run bench -- scale`: 10,000 customers of 20 partners in steady state on one worker.
 *
 * The stack: an embedded PostgreSQL, a Temporal dev server (in memory), the simulated vendors in this
 * process (one Acronis; a PSA and an Automate per partner, half ConnectWise Manage, half Autotask) and
 * the engine's worker in a process of its own (`npm run worker`), as production runs it. Every
 * capability is on: provisioning (automatic mode), billing (the month to date every 15 minutes),
 * tickets (every alert type, auto-close) and agents (every fifth customer is an Automate client with
 * two computers and an auto-deploy policy).
 *
 * Onboarding (not measured): the partners' supervisors start; discovery maps every company and
 * provisions its customer; the agents are deployed; a first usage pass settles every line.
 *
 * Then the steady-state window: every loop runs at its production cadence (provisioning passes every
 * 15 minutes, agent scans every 6, usage passes every 15, the alert feed every 10 s, the supervisors'
 * hourly check), and one simulated day's worth of the events that come daily is brought into it:
 * every customer's daily recheck at its own time of day (the bench's `syncNow` signal stands in for
 * the daily timer, the day pressed into the first 60 % of the window: 160 times the real rate in a
 * 15-minute window), a backup failure on 1 % of the customers (half
 * of them resolved later, so their tickets close), a new computer per partner to deploy to, and the
 * storage figures of a tenth of the tenants moving.
 *
 * Figures:
 * - `rss_mib`: the worker process's largest resident memory during the window;
 * - `task_latency_p95_ms`: workflow task schedule-to-start, p95 over the window (the worker's metrics);
 * - `actions_per_customer_month`: Temporal actions (bench/histories.ts says which) counted in the
 *   histories over the window, extrapolated to 30 days: the daily events' workflows (customers,
 *   alert lifecycles, deployments) × 30, less the bench's stand-in signals; the loops (supervisor,
 *   provisioning, agents, usage, alerts) by their passes in the window at their cadence (`loopMonth`);
 * - `late_loops`: loops with a timer-driven pass in the window that started more than 30 s after it
 *   was due.
 * And what explains them: `customer_actions_per_customer_month` and `loop_actions_per_partner_month`
 * (the two parts of the actions: a partner's loops cost the same for 200 customers as for 500),
 * `onboard_s`, `window_min`, `recheck_p95_s` (a customer's recheck, from its signal until it waits
 * again), `alert_ticket_p95_s`, `passes`, `pass_delay_max_s`, `rss_onboarding_mib`, `histories`.
 *
 * SCALE_PARTNERS, SCALE_CUSTOMERS (per partner) and SCALE_WINDOW_MINUTES change the size.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { ConcurrencyLimit } from '../clients/http.ts';
import type { Db } from '../db/connection.ts';
import { listCompanyMappings } from '../db/mappings.ts';
import { CapabilityLoops } from '../temporal/capability-loops.ts';
import { PartnerWorkflows } from '../temporal/partner-workflows.ts';
import { syncNowSignal } from '../workflows/contracts/loops.ts';
import { customerWorkflowId } from '../workflows/contracts/provisioning.ts';
import { recheckSlotMs } from '../workflows/provisioning/recheck-slot.ts';
import type { Figures } from './benchmark.ts';
import { countActions, longestTimerMs, millisOf, signalToRest, timedPasses, timeOf, totalActions, type Span } from './histories.ts';
import { bucketsBetween, histogramBuckets, observations, quantile } from './prometheus.ts';
import { buildScaleWorld, partnerAcronis, type ScalePartner, type ScaleWorld } from './scale-world.ts';
import { progress, startBenchServices } from './stack.ts';
import { startWorkerProcess, type WorkerProcess } from './worker-process.ts';

function envNumber(name: string, fallback: number): number {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!(parsed > 0)) throw new Error(`${name} must be a positive number`);
  return parsed;
}

const PARTNERS = envNumber('SCALE_PARTNERS', 20);
const CUSTOMERS_PER_PARTNER = envNumber('SCALE_CUSTOMERS', 500);
const WINDOW_MS = envNumber('SCALE_WINDOW_MINUTES', 15) * 60_000;
const AUTOMATE_EVERY = 5;
const COMPUTERS_PER_CLIENT = 2;
/** The day's events are spread over this share of the window, so the window sees them through. */
const EVENTS_SHARE = 0.6;
const ALERT_SHARE = 0.01;
const USAGE_CHANGE_SHARE = 0.1;
const LATE_TOLERANCE_MS = 30_000;
const ONBOARD_DEADLINE_MS = 45 * 60_000;
const HISTORY_CONCURRENCY = 16;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const MONTH_DAYS = 30;
const GIB = 1024 ** 3;

/** Workflow types that run at a cadence (their window's actions scale with time), and those the day's events start or wake. */
const LOOP_TYPES = new Set(['partnerSupervisor', 'provisioningLoop', 'agentsLoop', 'usageLoop', 'alertsLoop']);
const DAILY_TYPES = new Set(['customerProvisioning', 'alertLifecycle', 'agentDeployment']);
const SCHEDULE_TO_START = 'temporal_workflow_task_schedule_to_start_latency';

/** Waits until `count` reaches `target`, printing each new count. */
async function until(what: string, target: number, count: () => Promise<number>): Promise<void> {
  const started = Date.now();
  const deadline = started + ONBOARD_DEADLINE_MS;
  let last = -1;
  for (;;) {
    const now = await count();
    if (now !== last) progress(`  ${what}: ${now} of ${target} (${round((Date.now() - started) / 1000, 0)} s)`);
    last = now;
    if (now >= target) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${now} of ${target}`);
    await delay(5_000);
  }
}

function quantileOf(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

async function countOpen(temporal: Client, query: string): Promise<number> {
  return (await temporal.workflow.count(`ExecutionStatus = "Running" AND ${query}`)).count;
}

/** Onboarding: every customer provisioned, every computer with its agent, a first usage pass written. */
async function onboard(world: ScaleWorld, db: Db, temporal: Client, loops: CapabilityLoops): Promise<void> {
  const customers = PARTNERS * CUSTOMERS_PER_PARTNER;
  const supervisors = new PartnerWorkflows(temporal, 'http://localhost:8233');
  for (const partner of world.partners) await supervisors.startSupervisor({ id: partner.id, name: partner.name, psaKind: partner.psaKind });
  await until('customers provisioned', customers, () => countOpen(temporal, 'WorkflowType = "customerProvisioning" AND ProvisioningState = "active"'));

  // Usage figures for every tenant, as Acronis would have them; then billing and the agents' scan at once rather than at their next pass.
  const usageSince = Date.now();
  for (const partner of world.partners) {
    const tenants = (await listCompanyMappings(db, partner.id)).flatMap((mapping) => (mapping.tenantId ? [mapping.tenantId] : []));
    await world.control(world.acronisUrl, 'PUT', '/usage', { items: tenants.map((tenantId, index) => ({ tenantId, usageName: 'storage', value: (20 + (index % 50)) * GIB })) });
    const owner = { partnerId: partner.id, partnerName: partner.name, psaKind: partner.psaKind };
    await loops.syncNow(owner, 'billing');
    await loops.syncNow(owner, 'agents');
  }
  const computers = world.partners.reduce((sum, partner) => sum + partner.customers.filter((customer) => customer.automate).length * COMPUTERS_PER_CLIENT, 0);
  await until('computers with their agent', computers, async () => {
    const { n } = await db.selectFrom('agent_deployment_computers').select((eb) => eb.fn.countAll<string>().as('n')).where('status', '=', 'succeeded').executeTakeFirstOrThrow();
    return Number(n);
  });
  await until('partners with a usage pass written', world.partners.length, async () => {
    const { n } = await db.selectFrom('billing_runs').select((eb) => eb.fn.count<string>('partner_id').distinct().as('n')).where('completed_at', '>=', new Date(usageSince)).executeTakeFirstOrThrow();
    return Number(n);
  });
}

interface DayEvents {
  /** Alerts raised (Acronis id → raised at, ms). */
  alerts: Map<string, { raisedMs: number; partner: ScalePartner }>;
}

/** One day's events, spread over the first part of the window. */
async function runDay(world: ScaleWorld, db: Db, temporal: Client, windowStart: number): Promise<DayEvents> {
  const span = WINDOW_MS * EVENTS_SHARE;
  const alerts = new Map<string, { raisedMs: number; partner: ScalePartner }>();
  const at = async (offsetMs: number) => {
    const wait = windowStart + offsetMs - Date.now();
    if (wait > 0) await delay(wait);
  };

  // Each customer's daily recheck at its own time of day (workflows/provisioning/recheck-slot.ts), the day pressed into the span.
  let rechecked = 0;
  const rechecks = world.partners.flatMap((partner) =>
    partner.customers.map(async (customer) => {
      const workflowId = customerWorkflowId(partner.id, customer.companyId);
      await at((span * recheckSlotMs(workflowId)) / DAY_MS);
      await temporal.workflow.getHandle(workflowId).signal(syncNowSignal);
      if (++rechecked % 1_000 === 0) progress(`  ${rechecked} daily rechecks`);
    }),
  );

  // Backup failures on 1 % of the customers, spread over the span; half are resolved a while later.
  const tenants = new Map<string, Map<string, string>>();
  for (const partner of world.partners) tenants.set(partner.id, new Map((await listCompanyMappings(db, partner.id)).map((mapping) => [mapping.psaCompanyId, mapping.tenantId ?? ''])));
  const failing = world.partners.flatMap((partner) => partner.customers.filter((_, index) => index % Math.round(1 / ALERT_SHARE) === 7).map((customer) => ({ partner, customer })));
  const raising = failing.map(async ({ partner, customer }, index) => {
    await at((span * index) / failing.length);
    const acronis = partnerAcronis(world, partner);
    const id = await acronis.raiseAlert({
      type: 'BackupFailed',
      tenantId: tenants.get(partner.id)!.get(customer.companyId)!,
      details: { planId: 'daily', planName: 'Daily backup', resourceId: randomUUID(), resourceName: `${customer.name} server`, error: { text: 'The backup location is not reachable' } },
    });
    alerts.set(id, { raisedMs: Date.now(), partner });
    if (index % 2 === 0) {
      await at(span + (span * index) / failing.length / 3);
      await world.control(world.acronisUrl, 'POST', `/alerts/${id}/resolve`);
    }
  });

  // A new computer per partner, for a client that deploys automatically; a tenth of the storage figures move.
  const growing = world.partners.map(async (partner, index) => {
    await at((span * index) / world.partners.length);
    const client = partner.customers.find((customer) => customer.automate)?.automate;
    if (client) await world.control(partner.automateUrl, 'POST', '/computers', { clientId: client.clientId, locationId: client.locationId, name: `${partner.name.slice(-3)}-NEW-PC`, os: 'Microsoft Windows 11 Pro x64' });
    const moved = [...tenants.get(partner.id)!.values()].filter((tenantId, tenant) => tenantId && tenant % Math.round(1 / USAGE_CHANGE_SHARE) === 3);
    await world.control(world.acronisUrl, 'PUT', '/usage', { items: moved.map((tenantId) => ({ tenantId, usageName: 'storage', value: 80 * GIB })) });
  });

  await Promise.all([...rechecks, ...raising, ...growing]);
  return { alerts };
}

interface HistoryFigures {
  actionsPerCustomerMonth: number;
  /** The two parts of it: the customers' own workflows per customer, the loops per partner (a partner's share falls with its customers). */
  customerActionsPerCustomerMonth: number;
  loopActionsPerPartnerMonth: number;
  lateLoops: number;
  passes: number;
  passDelayMaxS: number;
  recheckP95S: number;
  histories: number;
  breakdown: string;
}

/**
 * A loop's actions over 30 days, by kind: its timer-driven passes (those due in the window, else its
 * last one), each from its timer's firing to its next timer, at the cadence of its longest timer. A loop without
 * such a pass (the alert feed, one activity of up to an hour; a supervisor before its first hourly
 * check) at the rate of its whole run so far, counted as at least an hour long: that overstates it.
 */
function loopMonth(events: Parameters<typeof countActions>[0], window: Span): Record<string, number> {
  const all = timedPasses(events, { fromMs: 0, toMs: window.toMs }).filter((pass) => pass.restMs !== undefined);
  const inWindow = all.filter((pass) => pass.dueMs >= window.fromMs);
  const passes = inWindow.length > 0 ? inWindow : all.slice(-1);
  const scaled = (counts: Record<string, number>, factor: number) => Object.fromEntries(Object.entries(counts).map(([kind, n]) => [kind, n * factor]));
  if (passes.length === 0) {
    const startedMs = events.length > 0 ? timeOf(events[0]!) : window.fromMs;
    return scaled(countActions(events, { fromMs: 0, toMs: window.toMs }), (MONTH_DAYS * DAY_MS) / Math.max(window.toMs - startedMs, HOUR_MS));
  }
  const month: Record<string, number> = {};
  const cadenceMs = longestTimerMs(events, window.toMs);
  for (const pass of passes) {
    const counts = scaled(countActions(events, { fromMs: pass.dueMs, toMs: pass.restMs! + 1 }), (MONTH_DAYS * DAY_MS) / cadenceMs / passes.length);
    for (const [kind, n] of Object.entries(counts)) month[kind] = (month[kind] ?? 0) + n;
  }
  return month;
}

/** Every run that was open during the window: its actions there, and the loops' passes. */
async function readHistories(temporal: Client, window: Span): Promise<HistoryFigures> {
  const runs: WorkflowExecutionInfo[] = [];
  for await (const info of temporal.workflow.list({ query: `StartTime < "${new Date(window.toMs).toISOString()}"` })) {
    if (!info.closeTime || info.closeTime.getTime() >= window.fromMs) runs.push(info);
  }
  progress(`reading ${runs.length} histories`);
  const limit = new ConcurrencyLimit(HISTORY_CONCURRENCY);
  const daily: Record<string, number> = {};
  const monthly: Record<string, number> = {};
  let standInSignals = 0;
  const passDelays: { workflowId: string; delayMs: number }[] = [];
  const rechecks: number[] = [];
  let read = 0;
  await Promise.all(
    runs.map((info) =>
      limit.run(async () => {
        const handle = temporal.workflow.getHandle(info.workflowId, info.runId);
        const events = (await handle.fetchHistory()).events ?? [];
        if (++read % 2_000 === 0) progress(`  ${read} of ${runs.length}`);
        const counts = LOOP_TYPES.has(info.type) ? loopMonth(events, window) : countActions(events, window);
        const into = LOOP_TYPES.has(info.type) ? monthly : DAILY_TYPES.has(info.type) ? daily : undefined;
        if (!into) throw new Error(`the bench does not know how ${info.type} scales`);
        for (const [kind, n] of Object.entries(counts)) into[`${info.type}.${kind}`] = (into[`${info.type}.${kind}`] ?? 0) + n;
        if (info.type === 'customerProvisioning') {
          standInSignals += counts.signals ?? 0;
          rechecks.push(...signalToRest(events, window));
        }
        if (!LOOP_TYPES.has(info.type)) return;
        const passes = timedPasses(events, window);
        let pending: Map<string, number | undefined> | undefined;
        for (const pass of passes) {
          if (pass.startedMs === undefined) {
            pending ??= new Map((await handle.describe()).raw.pendingActivities?.map((activity) => [activity.activityId ?? '', activity.lastStartedTime ? millisOf(activity.lastStartedTime) : undefined]) ?? []);
            pass.startedMs = pending.get(pass.activityId) ?? Date.now();
          }
          passDelays.push({ workflowId: info.workflowId, delayMs: pass.startedMs - pass.dueMs });
        }
      }),
    ),
  );
  const sum = (counts: Record<string, number>) => totalActions(counts);
  const customers = PARTNERS * CUSTOMERS_PER_PARTNER;
  const perMonth = (MONTH_DAYS * (sum(daily) - standInSignals) + sum(monthly)) / customers;
  const customerPart = (MONTH_DAYS * (sum(daily) - standInSignals)) / customers;
  const lateLoops = new Set(passDelays.filter((pass) => pass.delayMs > LATE_TOLERANCE_MS).map((pass) => pass.workflowId));
  const top = (counts: Record<string, number>) =>
    Object.entries(counts)
      .sort(([, a], [, b]) => b - a)
      .map(([kind, n]) => `${kind}=${round(n, 0)}`)
      .join(' ');
  return {
    actionsPerCustomerMonth: perMonth,
    customerActionsPerCustomerMonth: customerPart,
    loopActionsPerPartnerMonth: sum(monthly) / PARTNERS,
    lateLoops: lateLoops.size,
    passes: passDelays.length,
    passDelayMaxS: Math.max(0, ...passDelays.map((pass) => pass.delayMs)) / 1000,
    recheckP95S: quantileOf(rechecks, 0.95) / 1000,
    histories: runs.length,
    breakdown: `daily (×${MONTH_DAYS}, less ${standInSignals} stand-in signals): ${top(daily)}\nloops (a month at their cadence): ${top(monthly)}`,
  };
}

/** From each alert's raising to its ticket's creation in the partner's PSA (by the PSA's own record, found by the engine's reference). */
async function alertTicketSeconds(world: ScaleWorld, db: Db, day: DayEvents): Promise<number[]> {
  const latencies: number[] = [];
  let links = 0;
  for (const partner of world.partners) {
    const state = (await (await fetch(`${partner.psaUrl}/_sim/state`)).json()) as {
      tickets?: { externalXRef?: string | null; enteredAtMs: number }[];
      entities?: { Tickets?: { externalID?: string | null; createDate: string }[] };
    };
    const madeAt = new Map<string, number>();
    for (const ticket of state.tickets ?? []) if (ticket.externalXRef) madeAt.set(ticket.externalXRef, ticket.enteredAtMs);
    for (const ticket of state.entities?.Tickets ?? []) if (ticket.externalID) madeAt.set(ticket.externalID, Date.parse(ticket.createDate));
    const partnerLinks = await db.selectFrom('ticket_links').select(['alert_id', 'external_ref']).where('partner_id', '=', partner.id).where('generation', '=', 1).execute();
    links += partnerLinks.length;
    for (const link of partnerLinks) {
      const raised = link.alert_id ? day.alerts.get(link.alert_id) : undefined;
      const ticketMs = madeAt.get(link.external_ref);
      if (raised && ticketMs !== undefined) latencies.push((ticketMs - raised.raisedMs) / 1000);
    }
  }
  progress(`alerts raised: ${day.alerts.size}; ticket links: ${links}; tickets found in the PSAs: ${latencies.length}`);
  return latencies;
}

export async function run(): Promise<Figures> {
  const services = await startBenchServices();
  const stops: (() => Promise<unknown> | void)[] = [() => services.close()];
  try {
    const { db, keyring, temporal } = services;
    const loops = new CapabilityLoops(temporal);

    const seedStarted = Date.now();
    progress(`seeding ${PARTNERS} partners × ${CUSTOMERS_PER_PARTNER} customers through the vendors' APIs`);
    const world = await buildScaleWorld(db, keyring, { partners: PARTNERS, customersPerPartner: CUSTOMERS_PER_PARTNER, automateEvery: AUTOMATE_EVERY, computersPerClient: COMPUTERS_PER_CLIENT }, progress);
    stops.push(() => world.close());
    progress(`  seeded in ${round((Date.now() - seedStarted) / 1000, 0)} s`);

    const worker: WorkerProcess = await startWorkerProcess({ databaseUrl: services.databaseUrl, temporalAddress: services.temporalAddress, encryptionKey: services.encryptionKey });
    stops.push(() => worker.stop());
    progress(`worker process ${worker.pid} up; onboarding`);
    const onboardStarted = Date.now();
    await onboard(world, db, temporal, loops);
    const onboardS = (Date.now() - onboardStarted) / 1000;
    const onboardingPeak = worker.memory().peakMib;
    progress(`onboarded in ${round(onboardS, 0)} s (worker peak ${round(onboardingPeak, 0)} MiB)`);

    progress(`steady state for ${WINDOW_MS / 60_000} minutes, with one day's daily events`);
    const before = histogramBuckets(await worker.metrics(), SCHEDULE_TO_START);
    const windowStart = Date.now();
    let rssMax = 0;
    const sampler = setInterval(() => {
      rssMax = Math.max(rssMax, worker.memory().rssMib);
    }, 1_000);
    stops.push(() => clearInterval(sampler));
    const dayDone = runDay(world, db, temporal, windowStart);
    const reporter = setInterval(() => progress(`  ${round((Date.now() - windowStart) / 60_000, 1)} min: worker ${round(worker.memory().rssMib, 0)} MiB`), 60_000);
    stops.push(() => clearInterval(reporter));
    const day = await dayDone;
    await delay(Math.max(0, windowStart + WINDOW_MS - Date.now()));
    const window: Span = { fromMs: windowStart, toMs: Date.now() };
    clearInterval(sampler);
    clearInterval(reporter);
    const during = bucketsBetween(before, histogramBuckets(await worker.metrics(), SCHEDULE_TO_START));
    const figures = await readHistories(temporal, window);
    const alertLatencies = await alertTicketSeconds(world, db, day);
    progress(`workflow tasks in the window: ${observations(during)}; actions:\n${figures.breakdown}`);
    return {
      rss_mib: round(rssMax, 0),
      task_latency_p95_ms: round(quantile(during, 0.95) * 1000, 0),
      actions_per_customer_month: round(figures.actionsPerCustomerMonth, 1),
      customer_actions_per_customer_month: round(figures.customerActionsPerCustomerMonth, 1),
      loop_actions_per_partner_month: round(figures.loopActionsPerPartnerMonth, 0),
      late_loops: figures.lateLoops,
      customers: PARTNERS * CUSTOMERS_PER_PARTNER,
      partners: PARTNERS,
      window_min: round((window.toMs - window.fromMs) / 60_000, 1),
      onboard_s: round(onboardS, 0),
      rss_onboarding_mib: round(onboardingPeak, 0),
      recheck_p95_s: round(figures.recheckP95S, 1),
      alert_ticket_p95_s: round(quantileOf(alertLatencies, 0.95), 1),
      passes: figures.passes,
      pass_delay_max_s: round(figures.passDelayMaxS, 1),
      histories: figures.histories,
    };
  } finally {
    for (const step of stops.reverse()) await Promise.resolve(step()).catch((error: unknown) => progress(`cleanup: ${String(error)}`));
  }
}
