/**
 * The fault suite (SPEC F9.1–F9.3): the whole engine (two worker processes, the admin API, the
 * simulators, PostgreSQL, a Temporal dev server) through a billing run, a burst of alerts, new
 * tenants and an agent deployment, while one worker is killed with SIGKILL again and again, each
 * vendor is away for minutes, and every kind of create loses its answer after it committed. Then
 * the vendors' own state must show every piece of work done once.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { SimulatedVendor } from '../simulators/ports.ts';
import { complete, VendorReader, type AreaFigures, type VendorState } from './checks.ts';
import { pendingWork } from './pending-work.ts';
import { startFaultStack, type FaultStackOptions, type WorkerSlot } from './stack.ts';
import { adminApi, buildWorld, changeUsage, simControl, startWork, type WorldSizes } from './world.ts';

export interface Outage {
  vendor: SimulatedVendor;
  /** Seconds after the work has started. */
  startSeconds: number;
  seconds: number;
  /** `html`: the page a load balancer answers with; `vendor`: the vendor's own JSON error. */
  body: 'vendor' | 'html';
}

export interface FaultPlan {
  sizes: WorldSizes;
  /** One of the two workers is killed (SIGKILL) this often, and started again at once ... */
  killEverySeconds: number;
  /** ... while this many seconds have not passed since the work started. */
  killForSeconds: number;
  outages: Outage[];
  /** How many answers each kind of create loses after committing. */
  lostAnswersPerCreate: number;
  /** When half the usage lines change and each partner asks for a usage pass. */
  changeUsageAtSeconds: number;
  /** How long after the last fault the vendors may take to show everything. */
  drainDeadlineSeconds: number;
  /** How long the suite keeps watching after everything showed, for writes made twice. */
  settleSeconds: number;
  vendorTimeoutSeconds: number;
  /** How long Automate takes to run a script. */
  scriptDurationMs: number;
}

/** `npm run faults`: the issue's figures. */
export const FULL_PLAN: FaultPlan = {
  sizes: { customers: 200, newCustomers: 20, alerts: 300, computers: 50, computersPerClient: 5 },
  killEverySeconds: 10,
  killForSeconds: 300,
  outages: [
    { vendor: 'connectwise-manage', startSeconds: 10, seconds: 180, body: 'vendor' },
    { vendor: 'autotask', startSeconds: 40, seconds: 180, body: 'html' },
    { vendor: 'acronis', startSeconds: 70, seconds: 180, body: 'html' },
  ],
  lostAnswersPerCreate: 1,
  changeUsageAtSeconds: 120,
  drainDeadlineSeconds: 600,
  settleSeconds: 30,
  vendorTimeoutSeconds: 30,
  scriptDurationMs: 3_000,
};

/** The version `npm test` runs: one kill, one outage, 20 customers. */
export const SHORT_PLAN: FaultPlan = {
  sizes: { customers: 20, newCustomers: 2, alerts: 6, computers: 4, computersPerClient: 2 },
  killEverySeconds: 4,
  killForSeconds: 4,
  outages: [{ vendor: 'connectwise-manage', startSeconds: 0, seconds: 10, body: 'html' }],
  lostAnswersPerCreate: 1,
  changeUsageAtSeconds: 6,
  drainDeadlineSeconds: 150,
  settleSeconds: 5,
  vendorTimeoutSeconds: 5,
  scriptDurationMs: 300,
};

/** Every kind of create the work makes, by vendor: each loses `lostAnswersPerCreate` answers after committing. */
const CREATES: { vendor: SimulatedVendor; method: string; match: string }[] = [
  { vendor: 'connectwise-manage', method: 'POST', match: '/service/tickets$' },
  { vendor: 'connectwise-manage', method: 'PATCH', match: '/finance/agreements/\\d+/additions/\\d+$' },
  { vendor: 'autotask', method: 'POST', match: '/Tickets$' },
  { vendor: 'autotask', method: 'POST', match: '/ServiceAdjustments$' },
  { vendor: 'acronis', method: 'POST', match: '/api/2/tenants$' },
  { vendor: 'acronis', method: 'POST', match: '/api/2/users$' },
  { vendor: 'acronis', method: 'POST', match: '/registration_tokens$' },
  { vendor: 'automate', method: 'POST', match: '/Batch/ScriptExecute$' },
];

export interface FaultFigures extends VendorState {
  run: { worker_kills: number; worker_starts: number; outages: number; lost_answers: number; lost_answers_planned: number; fault_s: number; drain_s: number; total_s: number; drained: boolean };
}

interface SimFault {
  id: number;
  match: string;
  method?: string;
  kind: string;
  remaining?: number;
}

/** The outage answers first: the lost-answer faults of the vendor go behind it (a vendor that is down commits nothing). */
async function startOutage(url: string, outage: Outage): Promise<number> {
  const before = (await simControl(url, 'GET', '/faults')) as SimFault[];
  // Without Retry-After, as a load balancer's page comes: the engine's own back-off decides.
  const { id } = await simControl(url, 'POST', '/faults', { match: '.*', kind: 'status', status: 503, body: outage.body });
  for (const fault of before.filter((candidate) => candidate.kind === 'timeout-after-commit')) {
    const response = await fetch(`${url}/_sim/faults/${fault.id}`, { method: 'DELETE' });
    if (response.status !== 200) continue;
    const { remaining } = (await response.json()) as SimFault;
    await simControl(url, 'POST', '/faults', { match: fault.match, method: fault.method, kind: fault.kind, ...(remaining === undefined ? {} : { times: remaining }) });
  }
  return id as number;
}

/** The lost-answer faults no request met (that kind of create was never made, or not often enough). */
async function lostAnswersLeft(sims: Record<SimulatedVendor, string>): Promise<{ vendor: SimulatedVendor; match: string; remaining: number }[]> {
  const left = [];
  for (const vendor of Object.keys(sims) as SimulatedVendor[]) {
    for (const fault of (await simControl(sims[vendor], 'GET', '/faults')) as SimFault[]) if (fault.kind === 'timeout-after-commit') left.push({ vendor, match: fault.match, remaining: fault.remaining ?? 0 });
  }
  return left;
}

/** Kills the worker every `everyMs` until `untilMs` after `startedAt`, starting it again after each kill (a start takes seconds: the worker bundles its workflows). */
async function killRepeatedly(worker: WorkerSlot, startedAt: number, everyMs: number, untilMs: number, log: (line: string) => void): Promise<number> {
  let kills = 0;
  for (let at = everyMs; at <= untilMs; at += everyMs) {
    const wait = startedAt + at - Date.now();
    // A start that took a whole interval misses that kill: the kills keep to their times and end on time.
    if (wait <= -everyMs) continue;
    if (wait > 0) await delay(wait);
    await worker.kill();
    kills++;
    await worker.start();
    if (kills % 6 === 0 || at + everyMs > untilMs) log(`${kills} kills of ${worker.name} so far`);
  }
  return kills;
}

export interface FaultSuiteOptions {
  servers?: FaultStackOptions['servers'];
  /** Progress lines (to stderr for `npm run faults`). */
  log: (line: string) => void;
}

export async function runFaultSuite(plan: FaultPlan, options: FaultSuiteOptions): Promise<FaultFigures> {
  const started = Date.now();
  const log = (line: string) => options.log(`[faults ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);
  const stack = await startFaultStack({ servers: options.servers, vendorTimeoutSeconds: plan.vendorTimeoutSeconds, log });
  const call = adminApi(stack.apiUrl, stack.adminToken);
  try {
    log('the engine is up: two workers, the admin API, the simulators; seeding the world through the vendors’ APIs');
    await simControl(stack.sims.automate, 'PATCH', '/settings', { scriptDurationMs: plan.scriptDurationMs });
    const world = await buildWorld(call, stack.sims, plan.sizes, log);

    for (const url of Object.values(stack.sims)) await simControl(url, 'DELETE', '/requests');
    for (const create of CREATES) await simControl(stack.sims[create.vendor], 'POST', '/faults', { match: create.match, method: create.method, kind: 'timeout-after-commit', times: plan.lostAnswersPerCreate });
    const { deploymentId } = await startWork(call, stack.sims, world, plan.sizes);
    const workStarted = Date.now();
    log(`work started: billing and provisioning on, ${world.alerts.length} alerts raised, deployment ${deploymentId} over ${world.computers.length} computers`);
    const at = (seconds: number) => delay(Math.max(0, workStarted + seconds * 1000 - Date.now()));
    const [victim] = stack.workers.slice(-1);
    const kills = killRepeatedly(victim!, workStarted, plan.killEverySeconds * 1000, plan.killForSeconds * 1000, log);
    const outages = plan.outages.map(async (outage): Promise<void> => {
      await at(outage.startSeconds);
      const id = await startOutage(stack.sims[outage.vendor], outage);
      log(`${outage.vendor} answers 503 (${outage.body}) for ${outage.seconds} s`);
      await at(outage.startSeconds + outage.seconds);
      await simControl(stack.sims[outage.vendor], 'DELETE', `/faults/${id}`);
      log(`${outage.vendor} is back`);
    });
    const faults = Promise.all([kills, ...outages]);
    // Handled now, thrown where it is awaited: a failure of the kills or outages is the run's, however early it comes.
    faults.catch(() => undefined);
    await at(plan.changeUsageAtSeconds);
    log(`${await changeUsage(call, stack.sims, world)} usage lines changed; usage passes asked for`);
    const [killCount] = await faults;
    const faultsEnded = Date.now();
    log('the faults are over; waiting for the vendors to show the work done');

    const vendors = new VendorReader(stack.sims, world);
    let drained = false;
    for (let round = 0; ; round++) {
      const missing = await vendors.missing();
      drained = complete(missing);
      if (drained || Date.now() > faultsEnded + plan.drainDeadlineSeconds * 1000) break;
      if (round % 5 === 0) log(`still missing: ${describeMissing(missing)}`);
      await delay(2_000);
    }
    const drainS = (Date.now() - faultsEnded) / 1000;
    if (!drained) for (const line of await pendingWork(stack.temporalAddress)) log(`still in hand: ${line}`);
    if (drained) {
      log(`everything shows; watching ${plan.settleSeconds} s more for writes made twice`);
      await delay(plan.settleSeconds * 1000);
    }
    const state = await vendors.figures();
    const planned = CREATES.length * plan.lostAnswersPerCreate;
    const unmet = await lostAnswersLeft(stack.sims);
    for (const fault of unmet) log(`${fault.remaining} lost answer(s) of ${fault.vendor} ${fault.match} met no request`);
    const run = {
      worker_kills: killCount,
      worker_starts: stack.workers.reduce((sum, worker) => sum + worker.starts, 0),
      outages: plan.outages.length,
      lost_answers: planned - unmet.reduce((sum, fault) => sum + fault.remaining, 0),
      lost_answers_planned: planned,
      fault_s: Math.round((faultsEnded - workStarted) / 1000),
      drain_s: Math.round(drainS * 10) / 10,
      total_s: Math.round((Date.now() - started) / 1000),
      drained,
    };
    // Removing the partners ends their workflows, so none outlives the run on a shared Temporal server.
    for (const partner of world.partners) await call('DELETE', `/v1/partners/${partner.partnerId}`).catch((error: unknown) => log(String(error)));
    return { ...state, run };
  } finally {
    await stack.close();
  }
}

function describeMissing(state: VendorState): string {
  return (Object.entries(state) as [string, AreaFigures][])
    .filter(([, figures]) => figures.lost + figures.wrong > 0)
    .map(([name, figures]) => `${name} ${figures.lost + figures.wrong}/${figures.expected}`)
    .join(', ');
}

/**
 * Lines for the figures: one per area (`faults usage: expected=... lost=... duplicated=...`), one for
 * the run, then one per figure (`faults lost: 0 (usage 0, ...)`, duplicated, wrong, `faults
 * drain_seconds: 41.4`); and whether the run lost, duplicated or got anything wrong.
 */
export function reportLines(figures: FaultFigures): { lines: string[]; examples: string[]; failed: boolean } {
  const areas = ['usage', 'tickets', 'agents', 'tenants'] as const;
  const lines: string[] = [];
  const examples: string[] = [];
  for (const name of areas) {
    const area = figures[name];
    lines.push(`faults ${name}: expected=${area.expected} ${Object.entries(area.counts).map(([key, value]) => `${key}=${value}`).join(' ')} lost=${area.lost} duplicated=${area.duplicated} wrong=${area.wrong}`);
    examples.push(...area.examples.map((example) => `${name}: ${example}`));
  }
  const { drained, drain_s, ...run } = figures.run;
  lines.push(`faults run: ${Object.entries(run).map(([key, value]) => `${key}=${value}`).join(' ')} drained=${drained ? 'yes' : 'no'}`);
  let failed = false;
  for (const figure of ['lost', 'duplicated', 'wrong'] as const) {
    const total = areas.reduce((sum, name) => sum + figures[name][figure], 0);
    failed ||= total > 0;
    lines.push(`faults ${figure}: ${total} (${areas.map((name) => `${name} ${figures[name][figure]}`).join(', ')})`);
  }
  lines.push(`faults drain_seconds: ${drain_s}${drained ? '' : ' (the deadline passed with work missing)'}`);
  return { lines, examples, failed };
}
