/**
 * The usage loop's activities (F4): when the next pass is due, and one pass: read the Acronis figures
 * of every mapped customer, and bring each PAYG line whose figure moved to that figure, once.
 */
import { activityInfo, ApplicationFailure } from '@temporalio/activity';
import type { PartnerClientsCache } from '../../clients/partner-clients.ts';
import { completeRun, countHeld, ensureRun, failedLines, heldLines, inFlightWrites, LineBusyError, recordLine, refreshRunStatus, runCounts, runLines as ledgerOfRun, settleLine, type BillingRun, type UsageWrite } from '../../db/billing-runs.ts';
import type { Db } from '../../db/connection.ts';
import { findPartner } from '../../db/partners.ts';
import { readSettings } from '../../db/settings.ts';
import { lineKey, openConflicts, saveLineState, storeFigures } from '../../db/usage-lines.ts';
import { freshFrom, nextPass, periodStatus, periodToReport } from '../../domain/billing-periods.ts';
import { capabilitiesOf } from '../../domain/settings.ts';
import { decideLine, figureMoved, type LinePolicy } from '../../domain/usage-lines.ts';
import { usageLoopWorkflowId, type RunCounts, type UsagePassInput, type UsagePassOutcome, type UsagePlan, type UsageRunSummary } from '../../workflows/contracts/usage.ts';
import { capabilityScope, partnerWithCapability, type CapabilityContext } from '../capability-scope.ts';
import { billedCompanyLines, billingScope, itemUnits, lineKnowledge, planLineRead, readFigures, runLines, storedFreshFigures, tenantsToRead, type LineRead, type RunLine } from './lines.ts';
import { auditLine, ledgerRecord, recordConflict, settleInterruptedWrites, writeLine, type WriteContext } from './writes.ts';

export interface UsageDeps {
  db: Db;
  clients: PartnerClientsCache;
  /** The engine's clock for a pass (tests move it along with the simulators'). */
  now?: () => Date;
}

/** Lines asked of the PSA at once: different lines, mostly of different customers; the clients keep within what each PSA allows in flight. */
const PARALLEL_LINES = 8;

/**
 * Heartbeat details of a pass: a retry skips the tenants already read. Lines need no bookmark: a
 * line handled before the retry has its state saved, so its figure no longer counts as moved.
 */
interface PassProgress {
  tenantsRead: number;
  figuresDone: boolean;
  linesHandled: number;
  /** Kept, so that a retry skips the companies whose lines it already read (absent in details of an older worker). */
  lineRead?: LineRead;
}

/** What a pass does with a line before asking the PSA anything. */
type LineFate = 'unchanged' | 'skip' | 'ask-psa';

/**
 * Runs `work` over every item, `concurrency` at a time. The first failure stops the taking of new
 * items; those in flight finish (so no write is abandoned half-way), then the failure is thrown.
 */
async function forEachConcurrently<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  if (failure) throw failure.error;
}

export function usageScope(db: Db) {
  return capabilityScope(db, 'billing');
}

export function linePolicy(billing: LinePolicy): LinePolicy {
  return { review: billing.review, holdChangesAbovePercent: billing.holdChangesAbovePercent, onDrift: billing.onDrift };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export async function runSummary(db: Db, run: BillingRun): Promise<UsageRunSummary> {
  const counts = await runCounts(db, run.runId);
  return {
    runId: run.runId,
    trigger: run.trigger,
    period: run.period,
    status: run.status,
    counts: { written: counts.written ?? 0, held: counts.held ?? 0, conflicts: counts.conflict ?? 0, failed: counts.failed ?? 0, unchanged: run.unchanged },
    note: run.note,
  };
}

export function createPassActivities(deps: UsageDeps) {
  const { db } = deps;
  const inScope = usageScope(db);
  const nowMs = () => deps.now?.().getTime() ?? Date.now();

  /**
   * A line whose figure did not move needs nothing; an open conflict, a hold of the same figure by an
   * earlier run, or a refusal of the same figure (unless forced) leaves it as it is; the rest ask the PSA.
   */
  function lineFate(policy: LinePolicy, runId: string, line: RunLine, known: { held: UsageWrite[]; failed: UsageWrite | undefined; force: boolean }): LineFate {
    if (line.conflict && policy.onDrift === 'report') return 'skip';
    if (!figureMoved(line.next, line.baseline) && line.baseline.inFlight === undefined) return 'unchanged';
    if (known.held.some((held) => held.newValue === line.next && held.billingRunId !== runId)) return 'skip';
    if (!known.force && known.failed?.newValue === line.next && known.failed.lineId === line.target.lineId) return 'skip';
    return 'ask-psa';
  }

  /** A line whose figure moved: written, held or reported as a conflict; or found in the PSA already. */
  async function reportLine(context: WriteContext, line: RunLine, held: UsageWrite[]): Promise<keyof RunCounts> {
    const { policy } = context;
    const mayHold = policy.review === 'always' || policy.holdChangesAbovePercent !== null;
    // Without holds, and with a value the engine knows is there, a guarded write is enough: the adapter
    // reads and writes only over that value. A line written for the first time is read first, so the
    // ledger knows what it replaced even if the write's answer is lost.
    if (!mayHold && line.baseline.psaExpected !== undefined) return outcomeCount(await writeLine(context, line));
    const psaNow = await context.clients.psa.readUsage(line.target);
    const decision = decideLine({ next: line.next, psaNow, baseline: line.baseline, policy });
    switch (decision.action) {
      case 'write':
        return outcomeCount(await writeLine(context, line, { psaNow }));
      case 'conflict':
        await recordConflict(context, line, psaNow, decision.reason ?? 'changed by hand');
        return 'conflicts';
      case 'hold':
        await holdLine(context, line, psaNow, decision.reason, held);
        return 'held';
      case 'unchanged':
        // A claim of this run may have landed: settling it is the write's own business.
        if (line.baseline.inFlight !== undefined) return outcomeCount(await writeLine(context, line, { psaNow }));
        await context.assertOn();
        await saveLineState(db, context.partnerId, { psaCompanyId: line.psaCompanyId, offeringItem: line.offeringItem, period: line.target.period, agreementId: line.target.agreementId, lineId: line.target.lineId, reportedValue: line.next, psaValue: psaNow });
        return 'unchanged';
    }
  }

  /** Waits for approval (F4.10); a line held by an earlier run with another figure is superseded by this one. */
  async function holdLine(context: WriteContext, line: RunLine, psaNow: number, reason: string | null, olderHolds: UsageWrite[]): Promise<void> {
    await context.assertOn();
    const superseded = await db.transaction().execute(async (tx) => {
      const runs: string[] = [];
      for (const older of olderHolds.filter((held) => held.billingRunId !== context.runId)) {
        await settleLine(tx, older.id, { status: 'rejected', reason: `superseded by run ${context.runId}, which holds the newer figure ${line.next}` });
        runs.push(older.billingRunId);
      }
      const row = await recordLine(tx, context.partnerId, ledgerRecord(context, line, 'held', psaNow, reason));
      await auditLine(tx, context, row, 'usage.held');
      return runs;
    });
    for (const runId of superseded) await refreshRunStatus(db, runId);
  }

  async function readAndStoreFigures(context: CapabilityContext<PassProgress>, progress: PassProgress, input: UsagePassInput, clients: Awaited<ReturnType<PartnerClientsCache['forPartner']>>, scope: Awaited<ReturnType<typeof billingScope>>, lagHours: number): Promise<void> {
    const { partnerId, period } = input;
    const now = nowMs();
    const closed = periodStatus(period, now) === 'closed';
    const fresh = new Date(freshFrom(period, now, lagHours));
    const stored = closed ? await storedFreshFigures(db, partnerId, period, now, lagHours) : new Map();
    const tenants = tenantsToRead(scope, period, now, stored).slice(progress.tenantsRead);
    if (tenants.length === 0 || scope.items.size === 0) return;
    const units = await itemUnits(clients.acronis);
    await readFigures(clients.acronis, tenants, scope, units, async (figures) => {
      await context.assertOn();
      await storeFigures(db, partnerId, period.start, figures, { closed, freshFrom: fresh });
      progress.tenantsRead += new Set(figures.map((figure) => figure.tenantId)).size;
      context.report(progress);
    });
  }

  return {
    /**
     * When the next pass is due and what it reports (nextPass of domain/billing-periods.ts, in the
     * partner's zone and billing settings); on demand: now, and the period a pass now reports.
     */
    async planUsagePass(input: { partnerId: string; nowMs: number; lastDueAtMs: number | null; onDemand: boolean }): Promise<UsagePlan> {
      const partner = await findPartner(db, input.partnerId);
      const stored = partner && (await readSettings(db, input.partnerId));
      if (!partner || !stored) return { status: 'off', reason: 'the partner was removed' };
      if (!capabilitiesOf(stored.settings).billing) return { status: 'off', reason: 'billing is switched off for the partner (billing.enabled)' };
      const { billing } = stored.settings;
      try {
        if (input.onDemand) return { status: 'planned', dueAtMs: input.nowMs, period: periodToReport(input.nowMs, billing, partner.timezone) };
        return { status: 'planned', ...nextPass(input.nowMs, input.lastDueAtMs, billing, partner.timezone, billing.refreshLagHours) };
      } catch (error) {
        if (error instanceof RangeError) throw ApplicationFailure.create({ type: 'InvalidBillingCalendar', message: error.message, nonRetryable: true });
        throw error;
      }
    },

    /** One pass for one period: figures, lines, writes. Resumes from its heartbeat details; a repeat of a finished run answers its summary. */
    runUsagePass: (input: UsagePassInput): Promise<UsagePassOutcome> =>
      inScope<UsagePassOutcome, PassProgress>(input.partnerId, async (context) => {
        const { partnerId, period, runId } = input;
        const partner = await partnerWithCapability(db, deps.clients, partnerId, 'billing');
        if (partner.status === 'off') return partner;
        const { clients, settings } = partner;
        // Outside a workflow (a test's mock environment) the run is the loop's all the same.
        const workflowExecution = activityInfo().workflowExecution ?? { workflowId: usageLoopWorkflowId(partnerId), runId: 'none' };
        await context.assertOn();
        let run = await ensureRun(db, { runId, partnerId, trigger: input.trigger, period, dueAt: input.dueAtMs === null ? null : new Date(input.dueAtMs), workflowId: workflowExecution.workflowId, workflowRunId: workflowExecution.runId });
        if (run.status !== 'running') return { status: 'done', summary: await runSummary(db, run) };

        const lagHours = settings.billing.refreshLagHours;
        const freshAt = freshFrom(period, nowMs(), lagHours);
        if (nowMs() < freshAt) {
          await completeRun(db, runId, { unchanged: 0, note: `Acronis figures for ${period.start} – ${period.end} are fresh from ${iso(freshAt)} (refresh lag ${lagHours} h); nothing was reported` });
          return { status: 'done', summary: await runSummary(db, await ensureRun(db, run)) };
        }

        const progress: PassProgress = context.resumed ?? { tenantsRead: 0, figuresDone: false, linesHandled: 0 };
        const scope = await billingScope(db, partnerId);
        if (!progress.figuresDone) {
          await readAndStoreFigures(context, progress, input, clients, scope, lagHours);
          progress.figuresDone = true;
          context.report(progress);
        }

        const figures = await storedFreshFigures(db, partnerId, period, nowMs(), lagHours);
        progress.lineRead ??= await planLineRead(db, partnerId, new Date(nowMs()));
        context.report(progress);
        const psaLines = await billedCompanyLines({ db, partnerId, psa: clients.psa, now: () => new Date(nowMs()), assertOn: context.assertOn }, [...scope.tenants.keys()], progress.lineRead);
        const held = new Map<string, UsageWrite[]>();
        for (const row of await heldLines(db, partnerId, period.start)) held.set(lineKey(row), [...(held.get(lineKey(row)) ?? []), row]);
        const failed = new Map((await failedLines(db, partnerId, period.start)).map((row) => [lineKey(row), row]));
        const writeContext: WriteContext = {
          db,
          partnerId,
          clients,
          runId,
          workflowRunId: workflowExecution.runId,
          actor: `workflow:${workflowExecution.workflowId}`,
          policy: linePolicy(settings.billing),
          assertOn: context.assertOn,
        };
        const claims = await inFlightWrites(db, partnerId, period.start);
        await settleInterruptedWrites(writeContext, claims.filter((claim) => claim.billingRunId !== runId));
        const knowledge = await lineKnowledge(db, partnerId, period, clients.psaKind, claims.filter((claim) => claim.billingRunId === runId));
        const lines = runLines({ scope, period, psaKind: clients.psaKind, storage: settings.billing.storage, psaLines, figures, ...knowledge });

        const fates = lines.map((line) => ({ line, fate: lineFate(writeContext.policy, runId, line, { held: held.get(lineKey(line)) ?? [], failed: failed.get(lineKey(line)), force: input.force }) }));
        const unchanged = new Set(fates.filter(({ fate }) => fate === 'unchanged').map(({ line }) => lineKey(line)));
        await forEachConcurrently(
          fates.filter(({ fate }) => fate === 'ask-psa').map(({ line }) => line),
          PARALLEL_LINES,
          async (line) => {
            try {
              if ((await reportLine(writeContext, line, held.get(lineKey(line)) ?? [])) === 'unchanged') unchanged.add(lineKey(line));
            } catch (error) {
              if (error instanceof LineBusyError) throw ApplicationFailure.create({ type: 'LineBusy', message: error.message, nextRetryDelay: '30 seconds' });
              throw error;
            }
            progress.linesHandled++;
            context.report(progress);
          },
        );

        await context.assertOn();
        // A line an earlier attempt of this run wrote looks unchanged now; it counts as written.
        for (const row of await ledgerOfRun(db, runId)) unchanged.delete(lineKey(row));
        await completeRun(db, runId, { unchanged: unchanged.size });
        run = await ensureRun(db, run);
        return { status: 'done', summary: await runSummary(db, run) };
      }),

    /** Open conflicts and held lines of the partner, for the loop's summary ("in conflict", "held"). */
    async pendingUsageLines(input: { partnerId: string }): Promise<{ held: number; conflicts: number }> {
      return { held: await countHeld(db, input.partnerId), conflicts: (await openConflicts(db, input.partnerId)).size };
    },
  };
}

function outcomeCount(outcome: Awaited<ReturnType<typeof writeLine>>): keyof RunCounts {
  return outcome === 'conflict' ? 'conflicts' : outcome;
}

