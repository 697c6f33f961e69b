import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { DateTime } from 'luxon';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PartnerClientsCache } from '../../clients/partner-clients.ts';
import { listWrites, runLines as ledgerOfRun } from '../../db/billing-runs.ts';
import { replaceProductMappings, upsertCompanyMapping } from '../../db/mappings.ts';
import { readSettings, writeSettings } from '../../db/settings.ts';
import { openConflicts, resolveConflict } from '../../db/usage-lines.ts';
import { periodContaining, periodToReport, type BillingPeriod } from '../../domain/billing-periods.ts';
import type { PsaKind } from '../../domain/partner.ts';
import { mergeSettings, settingsSchema, type SettingsPatch } from '../../domain/settings.ts';
import type { RunningSimulators } from '../../simulators/index.ts';
import { createTestDatabase, type TestDatabase } from '../../test/database.ts';
import { testKeyring } from '../../test/fixtures/test-keys.ts';
import { seedPartner } from '../../test/partners.ts';
import { addFault, requestLog, startTestSimulators } from '../../test/simulators.ts';
import { createTenant, daysAgo, psaOf, psaWrites, requestCount, setUsage } from '../../test/usage-world.ts';
import type { UsagePassInput, UsagePassOutcome, UsageRunSummary } from '../../workflows/contracts/usage.ts';
import { createUsageActivities, type UsageActivities } from './index.ts';

/**
 * A usage pass against the simulated vendors over HTTP and a real PostgreSQL, as a worker runs it:
 * what lands in the PSA, what the ledger says, and what a retry or a second pass adds (nothing).
 */

const keyring = testKeyring();
const ZONE = 'Europe/London';
const GIB = 1024 ** 3;
const MINUTE_MS = 60_000;
let sims: RunningSimulators;
let database: TestDatabase;
let activities: UsageActivities;

beforeAll(async () => {
  [sims, database] = await Promise.all([startTestSimulators(), createTestDatabase()]);
  // A lost answer shows within 1.5 s instead of the 30 s a vendor gets in production.
  activities = createUsageActivities({ db: database.db, clients: new PartnerClientsCache(database.db, keyring, { timeoutMs: 1_500 }) });
});
afterAll(async () => {
  await database?.drop();
  await sims?.close();
});
beforeEach(() => sims.reset());

const currentMonth = (): BillingPeriod => periodToReport(Date.now(), { reportingPeriod: 'current-month', billingDay: 1, intervalMinutes: 15 }, ZONE);

async function configure(partnerId: string, patch: SettingsPatch): Promise<void> {
  const current = await readSettings(database.db, partnerId);
  await writeSettings(database.db, partnerId, settingsSchema.parse(mergeSettings(current!.settings, patch)));
}

/** A partner with billing on (month to date, figures fresh at once) and one customer buying servers and storage PAYG. */
async function billingWorld(kind: PsaKind, billing: SettingsPatch['billing'] = {}) {
  const psa = psaOf(sims, kind);
  const partnerId = await seedPartner(database.db, keyring, undefined, { psaKind: kind, timezone: ZONE, urls: { acronis: sims.urls.acronis, psa: psa.url } });
  await configure(partnerId, { billing: { enabled: true, reportingPeriod: 'current-month', refreshLagHours: 0, ...billing } });
  const products = { servers: await psa.seeder.createProduct('Acronis Servers'), storage: await psa.seeder.createProduct('Acronis Cloud Storage (GB)') };
  await replaceProductMappings(database.db, partnerId, [
    { offeringItem: 'pw_base_servers', psaProductId: products.servers, free: false },
    { offeringItem: 'pw_base_storage', psaProductId: products.storage, free: false },
    { offeringItem: 'local_storage', psaProductId: null, free: true },
  ]);
  const customer = await addCustomer(partnerId, psa, products, `Contoso ${partnerId.slice(0, 6)}`);
  return { kind, psa, partnerId, products, ...customer };
}

async function addCustomer(partnerId: string, psa: ReturnType<typeof psaOf>, products: { servers: string; storage: string }, name: string, parentId?: string) {
  const companyId = await psa.seeder.createCompany(name);
  const tenantId = await createTenant(sims, name, { parentId });
  await upsertCompanyMapping(database.db, partnerId, companyId, tenantId);
  const agreement = await psa.seeder.createAgreement(companyId, [
    { productId: products.servers, quantity: 0, billing: 'payg' },
    { productId: products.storage, quantity: 0, billing: 'payg' },
  ], daysAgo(40));
  const [servers, storage] = agreement.lineIds as [string, string];
  return { companyId, tenantId, agreementId: agreement.agreementId, lines: { servers, storage } };
}

type World = Awaited<ReturnType<typeof billingWorld>>;

/** Heartbeats as the server would keep them, so a retry can be given the last one. */
async function pass(world: Pick<World, 'partnerId'>, changes: Partial<UsagePassInput> = {}, resumeFrom?: unknown, using = activities): Promise<{ outcome: UsagePassOutcome; details: unknown }> {
  const environment = new MockActivityEnvironment(resumeFrom === undefined ? {} : { heartbeatDetails: resumeFrom });
  let details: unknown = resumeFrom;
  environment.on('heartbeat', (reported: unknown) => {
    if (reported !== undefined) details = reported;
  });
  const input: UsagePassInput = { partnerId: world.partnerId, runId: randomUUID(), trigger: 'sync-now', period: currentMonth(), dueAtMs: null, force: false, ...changes };
  try {
    return { outcome: await environment.run(using.runUsagePass, input), details };
  } catch (error) {
    throw Object.assign(error as Error, { details });
  }
}

async function summary(world: Pick<World, 'partnerId'>, changes: Partial<UsagePassInput> = {}, using = activities): Promise<UsageRunSummary> {
  const { outcome } = await pass(world, changes, undefined, using);
  if (outcome.status !== 'done') throw new Error(`the pass did not run: ${outcome.reason}`);
  return outcome.summary;
}

const billed = (world: World, line: 'servers' | 'storage', period = currentMonth()) => world.psa.seeder.billedQuantity(world.agreementId, world.lines[line], period);

describe.each<PsaKind>(['connectwise-manage', 'autotask'])('a usage pass on %s', (kind) => {
  it('writes each figure once: the PSA holds it, a second pass writes nothing, a change is one write', async () => {
    const world = await billingWorld(kind);
    await setUsage(sims, world.tenantId, 'pw_base_servers', 3);
    await setUsage(sims, world.tenantId, 'pw_base_storage', Math.round(5.5 * GIB));

    const first = await summary(world);
    expect(first).toMatchObject({ status: 'written', counts: { written: 2, held: 0, conflicts: 0, failed: 0 } });
    expect(await billed(world, 'servers')).toBe(3);
    // Storage is sold in GB: CWM keeps hundredths, Autotask whole units (rounded up).
    expect(await billed(world, 'storage')).toBe(kind === 'autotask' ? 6 : 5.5);
    const ledger = await listWrites(database.db, world.partnerId, { limit: 10 });
    expect(ledger.map((row) => [row.offeringItem, row.oldValue, row.newValue, row.status])).toEqual(
      expect.arrayContaining([['pw_base_servers', 0, 3, 'written'], ['pw_base_storage', 0, kind === 'autotask' ? 6 : 5.5, 'written']]),
    );
    expect(ledger[0]).toMatchObject({ period: { start: currentMonth().start, end: currentMonth().end }, billingRunId: first.runId, workflowRunId: expect.any(String) });

    const before = await requestCount(world.psa.url);
    expect(await summary(world)).toMatchObject({ status: 'written', counts: { written: 0 } });
    expect(await psaWrites(world.psa.url, before)).toEqual([]);

    await setUsage(sims, world.tenantId, 'pw_base_servers', 4);
    const third = await requestCount(world.psa.url);
    expect(await summary(world)).toMatchObject({ counts: { written: 1, unchanged: 1 } });
    expect(await psaWrites(world.psa.url, third)).toHaveLength(1);
    expect(await billed(world, 'servers')).toBe(4);
  });

  it('a write whose answer is lost is written once: the retry resumes and finds it there', async () => {
    const world = await billingWorld(kind);
    await setUsage(sims, world.tenantId, 'pw_base_servers', 7);
    const writePath = kind === 'autotask' ? '/ServiceAdjustments$' : `/additions/${world.lines.servers}$`;
    await addFault(world.psa.url, { match: writePath, method: kind === 'autotask' ? 'POST' : 'PATCH', kind: 'timeout-after-commit', times: 1 });
    const runId = randomUUID();
    const failure = await pass(world, { runId }).catch((error: Error & { details?: unknown }) => error);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ nonRetryable: false });

    const retried = await pass(world, { runId }, (failure as { details?: unknown }).details);
    expect(retried.outcome).toMatchObject({ status: 'done', summary: { runId, counts: { written: 1 } } });
    expect(await billed(world, 'servers')).toBe(7);
    expect((await psaWrites(world.psa.url)).filter((entry) => new RegExp(writePath).test(entry.path))).toHaveLength(1);
    const servers = (await ledgerOfRun(database.db, runId)).find((row) => row.offeringItem === 'pw_base_servers');
    expect(servers).toMatchObject({ oldValue: 0, newValue: 7, status: 'written' });
  });

  it('reports a hand edit in the PSA as a conflict and leaves it; "theirs" keeps it, "ours" writes at the next pass', async () => {
    const world = await billingWorld(kind);
    await setUsage(sims, world.tenantId, 'pw_base_servers', 3);
    await summary(world);
    await world.psa.seeder.changeQuantity(world.agreementId, world.lines.servers, 10);
    await setUsage(sims, world.tenantId, 'pw_base_servers', 5);

    const before = await requestCount(world.psa.url);
    expect(await summary(world)).toMatchObject({ status: 'partly-written', counts: { conflicts: 1, written: 0 } });
    expect(await psaWrites(world.psa.url, before)).toEqual([]);
    expect(await billed(world, 'servers')).toBe(10);
    const [conflict, ...others] = [...(await openConflicts(database.db, world.partnerId)).values()];
    expect(others).toEqual([]);
    expect(conflict).toMatchObject({ psaCompanyId: world.companyId, offeringItem: 'pw_base_servers', field: 'quantity', ours: 3, theirs: 10, nextValue: 5 });
    // Still open: the next pass neither writes nor reports it again.
    expect(await summary(world)).toMatchObject({ counts: { conflicts: 0, written: 0 } });

    await resolveConflict(database.db, world.partnerId, conflict!, 'theirs', 'test');
    expect(await summary(world)).toMatchObject({ counts: { written: 0 } });
    expect(await billed(world, 'servers')).toBe(10);
    // The figure moves on: the PSA's value is the baseline now, so the new figure is written over it.
    await setUsage(sims, world.tenantId, 'pw_base_servers', 6);
    expect(await summary(world)).toMatchObject({ counts: { written: 1 } });
    expect(await billed(world, 'servers')).toBe(6);

    await world.psa.seeder.changeQuantity(world.agreementId, world.lines.servers, 2);
    await setUsage(sims, world.tenantId, 'pw_base_servers', 8);
    await summary(world);
    const [second] = [...(await openConflicts(database.db, world.partnerId)).values()];
    await resolveConflict(database.db, world.partnerId, second!, 'ours', 'test');
    expect(await summary(world)).toMatchObject({ counts: { written: 1 } });
    expect(await billed(world, 'servers')).toBe(8);
  });
});

/** Usage activities whose clock moves with the simulators': `later(ms)` as if the next pass ran that much later. */
function timeline() {
  let offsetMs = 0;
  return {
    activities: createUsageActivities({ db: database.db, clients: new PartnerClientsCache(database.db, keyring), now: () => new Date(Date.now() + offsetMs) }),
    later(ms: number) {
      sims.world.clock.advance(ms);
      offsetMs += ms;
    },
  };
}

/** What the PSA was asked while `work` ran: every request, those listing an agreement's additions, and the additions written. */
async function psaRequestsDuring(world: World, work: () => Promise<unknown>): Promise<{ all: number; additionLists: number; writes: string[] }> {
  const mark = await requestCount(world.psa.url);
  await work();
  const entries = (await requestLog(world.psa.url)).slice(mark);
  return {
    all: entries.length,
    additionLists: entries.filter((entry) => /\/finance\/agreements\/\d+\/additions$/.test(entry.path)).length,
    writes: (await psaWrites(world.psa.url, mark)).map((entry) => entry.path),
  };
}

describe('the PSA lines a usage pass reads on ConnectWise Manage', () => {
  it('reads again only the agreements changed since the previous pass, and still bills a PAYG line that replaced another', async () => {
    const time = timeline();
    const world = await billingWorld('connectwise-manage');
    const fabrikam = await addCustomer(world.partnerId, world.psa, world.products, `Fabrikam ${world.partnerId.slice(0, 6)}`);
    await setUsage(sims, world.tenantId, 'pw_base_servers', 3);
    await setUsage(sims, fabrikam.tenantId, 'pw_base_servers', 2);
    const first = await psaRequestsDuring(world, async () => expect(await summary(world, {}, time.activities)).toMatchObject({ counts: { written: 2 } }));
    expect(first.additionLists).toBe(2);

    // The engine's own writes stamp their agreements: the next pass reads them once more.
    time.later(15 * MINUTE_MS);
    expect(await summary(world, {}, time.activities)).toMatchObject({ counts: { written: 0, unchanged: 4 } });
    time.later(15 * MINUTE_MS);
    const quiet = await psaRequestsDuring(world, async () => expect(await summary(world, {}, time.activities)).toMatchObject({ counts: { written: 0, unchanged: 4 } }));
    expect(quiet).toEqual({ all: 1, additionLists: 0, writes: [] });

    // Contoso's servers move to a new agreement: only Contoso's agreements are read, and the new line is billed.
    time.later(15 * MINUTE_MS);
    await world.psa.seeder.cancelLine(world.agreementId, world.lines.servers);
    const moved = await world.psa.seeder.createAgreement(world.companyId, [{ productId: world.products.servers, quantity: 0, billing: 'payg' }], daysAgo(1));
    const changed = await psaRequestsDuring(world, async () => expect(await summary(world, {}, time.activities)).toMatchObject({ counts: { written: 1, unchanged: 3 } }));
    expect(changed).toMatchObject({ additionLists: 2, writes: [expect.stringContaining(`/finance/agreements/${moved.agreementId}/additions/${moved.lineIds[0]}`)] });
    expect(await world.psa.seeder.billedQuantity(moved.agreementId, moved.lineIds[0]!, currentMonth())).toBe(3);
  });
});

describe('a usage pass', () => {
  it('lets a PSA refusal fail its line only, with the reason in the ledger, and writes the rest', async () => {
    const world = await billingWorld('connectwise-manage');
    await setUsage(sims, world.tenantId, 'pw_base_servers', 2);
    await setUsage(sims, world.tenantId, 'pw_base_storage', 3 * GIB);
    await addFault(world.psa.url, { match: `/additions/${world.lines.servers}$`, method: 'PATCH', kind: 'status', status: 400, times: 1 });
    expect(await summary(world)).toMatchObject({ status: 'partly-written', counts: { written: 1, failed: 1 } });
    const failed = (await listWrites(database.db, world.partnerId, { limit: 10 })).find((row) => row.status === 'failed');
    expect(failed).toMatchObject({ offeringItem: 'pw_base_servers', newValue: 2, reason: expect.stringMatching(/ConnectWise Manage|connectwise-manage/) });
    // A refused line waits for its figure to move, or for "sync now" (force).
    expect(await summary(world)).toMatchObject({ counts: { written: 0, failed: 0 } });
    expect(await summary(world, { force: true })).toMatchObject({ counts: { written: 1 } });
    expect(await billed(world, 'servers')).toBe(2);
  });

  it('rides out a PSA outage: the pass fails retryably and the retry writes every line once', async () => {
    const world = await billingWorld('autotask');
    await setUsage(sims, world.tenantId, 'pw_base_servers', 4);
    await addFault(world.psa.url, { match: '/ServiceAdjustments$', method: 'POST', kind: 'status', status: 503, retryAfterSeconds: 1, times: 2 });
    const runId = randomUUID();
    let failure = await pass(world, { runId }).catch((error: Error & { details?: unknown }) => error);
    expect(failure).toMatchObject({ type: 'autotask.unavailable', nonRetryable: false, nextRetryDelay: 1000 });
    failure = await pass(world, { runId }, (failure as { details?: unknown }).details).catch((error: Error & { details?: unknown }) => error);
    const done = await pass(world, { runId }, (failure as { details?: unknown }).details);
    expect(done.outcome).toMatchObject({ status: 'done', summary: { counts: { written: 1 } } });
    expect(await billed(world, 'servers')).toBe(4);
    const adjustments = (await psaWrites(world.psa.url)).filter((entry) => entry.path.endsWith('/ServiceAdjustments'));
    expect(adjustments.map((entry) => entry.status)).toEqual([503, 503, 200]);
  });

  it('bills storage as the settings choose, the PAYG line carrying the total beside a prepaid one', async () => {
    const world = await billingWorld('connectwise-manage', { storage: { totalAndOverage: false, class1Free: false, class2Billed: true } });
    // 100 GB prepaid on another agreement of the same product: only what lies above it is billed.
    await world.psa.seeder.createAgreement(world.companyId, [{ productId: world.products.storage, quantity: 100, billing: 'prepaid' }], daysAgo(40));
    await setUsage(sims, world.tenantId, 'pw_base_storage', 130 * GIB);
    await setUsage(sims, world.tenantId, 'pw_base_servers', 1);
    await summary(world);
    expect(await billed(world, 'storage')).toBe(30);

    await configure(world.partnerId, { billing: { storage: { totalAndOverage: true } } });
    await summary(world);
    expect(await billed(world, 'storage')).toBe(130);

    await configure(world.partnerId, { billing: { storage: { totalAndOverage: false, class2Billed: false } } });
    await setUsage(sims, world.tenantId, 'pw_base_storage', 150 * GIB);
    const before = await requestCount(world.psa.url);
    await summary(world);
    expect(await psaWrites(world.psa.url, before)).toEqual([]);
  });

  it('reports customers under a sub-partner or folder, their units included', async () => {
    const world = await billingWorld('connectwise-manage');
    const folder = await createTenant(sims, `Reseller ${world.partnerId.slice(0, 6)}`, { kind: 'partner' });
    const nested = await addCustomer(world.partnerId, world.psa, world.products, `Nested ${world.partnerId.slice(0, 6)}`, folder);
    const unit = await createTenant(sims, 'Finance department', { kind: 'unit', parentId: nested.tenantId });
    await setUsage(sims, nested.tenantId, 'pw_base_servers', 2);
    await setUsage(sims, unit, 'pw_base_servers', 3);
    await summary(world);
    expect(await world.psa.seeder.billedQuantity(nested.agreementId, nested.lines.servers, currentMonth())).toBe(5);
  });

  it('holds every change under review, and lines moving beyond the limit in automatic mode', async () => {
    const world = await billingWorld('autotask', { review: 'always' });
    await setUsage(sims, world.tenantId, 'pw_base_servers', 5);
    await setUsage(sims, world.tenantId, 'pw_base_storage', 2 * GIB);
    const before = await requestCount(world.psa.url);
    const held = await summary(world);
    expect(held).toMatchObject({ status: 'awaiting-approval', counts: { held: 2, written: 0 } });
    expect(await psaWrites(world.psa.url, before)).toEqual([]);
    // The next pass finds the same figures held already: no second run holds them.
    expect(await summary(world)).toMatchObject({ status: 'written', counts: { held: 0 } });

    const review = (decision: 'approve' | 'reject', lines?: { psaCompanyId: string; offeringItem: string }[]) =>
      new MockActivityEnvironment().run(activities.reviewLines, { partnerId: world.partnerId, runId: held.runId, decision, lines, decidedBy: 'token:1 (admin)' });
    expect(await review('approve', [{ psaCompanyId: world.companyId, offeringItem: 'pw_base_servers' }])).toEqual({ status: 'done', runStatus: 'awaiting-approval', decided: 1 });
    expect(await billed(world, 'servers')).toBe(5);
    const afterApproval = await requestCount(world.psa.url);
    expect(await review('reject')).toEqual({ status: 'done', runStatus: 'partly-written', decided: 1 });
    expect(await psaWrites(world.psa.url, afterApproval)).toEqual([]);
    expect(await review('reject')).toEqual({ status: 'not-waiting', runStatus: 'partly-written' });
    expect((await ledgerOfRun(database.db, held.runId)).map((row) => [row.offeringItem, row.status, row.approved, row.decidedBy])).toEqual([
      ['pw_base_servers', 'written', true, 'token:1 (admin)'],
      ['pw_base_storage', 'rejected', false, 'token:1 (admin)'],
    ]);

    await configure(world.partnerId, { billing: { review: 'off', holdChangesAbovePercent: 50 } });
    await setUsage(sims, world.tenantId, 'pw_base_servers', 7);
    expect(await summary(world)).toMatchObject({ counts: { written: 1 } });
    await setUsage(sims, world.tenantId, 'pw_base_servers', 20);
    expect(await summary(world)).toMatchObject({ status: 'awaiting-approval', counts: { held: 1 } });
    expect(await billed(world, 'servers')).toBe(7);
  });

  it('approves only lines that are still billed: a line cancelled since the run is not written', async () => {
    const world = await billingWorld('connectwise-manage', { review: 'always' });
    await setUsage(sims, world.tenantId, 'pw_base_servers', 2);
    await setUsage(sims, world.tenantId, 'pw_base_storage', 7 * GIB);
    const held = await summary(world);
    expect(held.counts.held).toBe(2);
    await world.psa.seeder.cancelLine(world.agreementId, world.lines.servers);
    const outcome = await new MockActivityEnvironment().run(activities.reviewLines, { partnerId: world.partnerId, runId: held.runId, decision: 'approve' as const, decidedBy: 'token:1 (admin)' });
    expect(outcome).toEqual({ status: 'done', runStatus: 'partly-written', decided: 2 });
    expect([await billed(world, 'servers'), await billed(world, 'storage')]).toEqual([0, 7]);
    expect((await ledgerOfRun(database.db, held.runId)).map((row) => [row.offeringItem, row.status, row.reason])).toEqual([
      ['pw_base_servers', 'failed', expect.stringMatching(/no longer active/)],
      ['pw_base_storage', 'written', null],
    ]);
  });

  it('backfills last month on Autotask, and puts this month back as it was (adjustments carry forward)', async () => {
    const world = await billingWorld('autotask');
    await setUsage(sims, world.tenantId, 'pw_base_servers', 7);
    await summary(world);
    const dayBefore = DateTime.fromMillis(currentMonth().startMs, { zone: ZONE }).minus({ days: 1 }).toISODate()!;
    const previous = periodContaining(dayBefore, { reportingPeriod: 'current-month', billingDay: 1, intervalMinutes: 15 }, ZONE);
    expect(await billed(world, 'servers', previous)).toBe(0);

    const backfill = await summary(world, { period: previous, trigger: 'backfill' });
    expect(backfill).toMatchObject({ period: { start: previous.start, end: previous.end }, counts: { written: 2 } });
    expect(await billed(world, 'servers', previous)).toBe(7);
    expect(await billed(world, 'servers')).toBe(7);
    const rows = await ledgerOfRun(database.db, backfill.runId);
    expect(rows.filter((row) => row.offeringItem === 'pw_base_servers').map((row) => [row.period.start, row.oldValue, row.newValue])).toEqual([
      [previous.start, 0, 7],
      [currentMonth().start, 14, 7],
    ]);
    const before = await requestCount(world.psa.url);
    expect(await summary(world)).toMatchObject({ counts: { written: 0 } });
    expect(await psaWrites(world.psa.url, before)).toEqual([]);
  });

  it('reports nothing from figures older than the period plus the refresh lag', async () => {
    const world = await billingWorld('connectwise-manage', { refreshLagHours: 48 });
    await setUsage(sims, world.tenantId, 'pw_base_servers', 3);
    const today = new Date().toISOString().slice(0, 10);
    const justOpened: BillingPeriod = { start: today, end: today, startMs: Date.now() - 3_600_000, endMs: Date.now() + 3_600_000 };
    const before = await requestCount(world.psa.url);
    expect(await summary(world, { period: justOpened })).toMatchObject({ counts: { written: 0 }, note: expect.stringMatching(/fresh from .* \(refresh lag 48 h\)/) });
    expect(await psaWrites(world.psa.url, before)).toEqual([]);
  });
});
