/**
 * Writing one usage line to the PSA exactly once (F4.6), shared by a pass and an approval: claim it
 * in the ledger, write it only over the value the engine expects there, settle the claim with what
 * the PSA answered, and record it in the audit log in the same transaction.
 */
import { VendorApiError } from '../../clients/http.ts';
import type { PartnerClients } from '../../clients/partner-clients.ts';
import { recordAudit } from '../../db/audit-log.ts';
import { claimWrite, dropClaim, recordLine, settleLine, storableText, type LineRecord, type UsageWrite } from '../../db/billing-runs.ts';
import type { Db } from '../../db/connection.ts';
import { laterLineStates, openConflict, saveLineState } from '../../db/usage-lines.ts';
import type { LinePolicy } from '../../domain/usage-lines.ts';
import type { RunLine } from './lines.ts';
import { usageCarry } from './lines.ts';

/** Who acts and for which run: the loop's workflow, or an admin approving. */
export interface WriteContext {
  db: Db;
  partnerId: string;
  clients: PartnerClients;
  runId: string;
  workflowRunId: string;
  /** For the audit log: `workflow:partner/<p>/usage`, or the approving admin. */
  actor: string;
  policy: LinePolicy;
  /** Checks, before a database write, that the partner is there and billing on. */
  assertOn(): Promise<void>;
}

export type LineOutcome = 'written' | 'unchanged' | 'conflict' | 'failed';

/** A refusal that concerns this line only (closed agreement, deleted contract service): the rest of the run goes on. */
function lineRefusal(error: unknown): error is VendorApiError {
  return error instanceof VendorApiError && !error.retryable && (error.kind === 'validation' || error.kind === 'not-found' || error.kind === 'conflict');
}

export function ledgerRecord(context: Pick<WriteContext, 'runId' | 'workflowRunId'>, line: RunLine, status: LineRecord['status'], oldValue: number | null, reason: string | null): LineRecord {
  return {
    billingRunId: context.runId,
    psaCompanyId: line.psaCompanyId,
    tenantId: line.tenantId,
    offeringItem: line.offeringItem,
    psaProductId: line.psaProductId,
    agreementId: line.target.agreementId,
    lineId: line.target.lineId,
    period: line.target.period,
    oldValue,
    newValue: line.next,
    status,
    reason,
    figureReadAt: line.figureReadAt,
    workflowRunId: context.workflowRunId,
  };
}

/** The audit entry of a line's fate; one per write, hold, conflict and refusal. */
export async function auditLine(db: Parameters<typeof recordAudit>[0], context: Pick<WriteContext, 'partnerId' | 'actor' | 'runId'>, line: Pick<UsageWrite, 'psaCompanyId' | 'offeringItem' | 'period' | 'oldValue' | 'newValue' | 'reason' | 'lineId'>, action: string): Promise<void> {
  await recordAudit(db, {
    actor: context.actor,
    action,
    partnerId: context.partnerId,
    target: `partner/${context.partnerId}/usage/${line.psaCompanyId}/${line.offeringItem}/${line.period.start}`,
    details: { runId: context.runId, lineId: line.lineId, period: line.period, oldValue: line.oldValue, newValue: line.newValue, reason: storableText(line.reason) },
    requestId: null,
  });
}

/** Records drift instead of writing (F4.11): a conflict to resolve, the ledger line and the audit entry. */
export async function recordConflict(context: WriteContext, line: RunLine, theirs: number, reason: string, claim?: UsageWrite): Promise<void> {
  await context.assertOn();
  await context.db.transaction().execute(async (tx) => {
    const ours = line.baseline.psaExpected ?? claim?.oldValue ?? theirs;
    await openConflict(tx, context.partnerId, { ...line, billingRunId: context.runId, period: line.target.period, agreementId: line.target.agreementId, lineId: line.target.lineId, field: 'quantity', ours, theirs, nextValue: line.next });
    const row = await recordLine(tx, context.partnerId, ledgerRecord(context, line, 'conflict', theirs, reason));
    await auditLine(tx, context, row, 'usage.conflict');
  });
}

/**
 * Writes the line's figure (`line.next`) unless the PSA holds something the engine did not leave
 * there. `psaNow`: what the PSA held when the run looked (undefined when it did not look first).
 */
export async function writeLine(context: WriteContext, line: RunLine, options: { psaNow?: number; approvedBy?: string; reason?: string; restoreLater?: boolean } = {}): Promise<LineOutcome> {
  const { db, partnerId, clients } = context;
  const decided = options.approvedBy ? { decidedBy: options.approvedBy, approved: true } : {};
  await context.assertOn();
  const before = options.psaNow ?? line.baseline.psaExpected ?? null;
  const { write: claim, resumed } = await claimWrite(db, partnerId, ledgerRecord(context, line, 'writing', before, options.reason ?? null));
  const expected = [options.psaNow ?? line.baseline.psaExpected, resumed ? claim.newValue : undefined, line.baseline.inFlight].filter((value): value is number => value !== undefined);
  const expect = context.policy.onDrift === 'engine-owns' || expected.length === 0 ? undefined : expected;
  let result;
  try {
    result = await clients.psa.writeUsage({ ...line.target, quantity: line.next, expect });
  } catch (error) {
    if (!lineRefusal(error)) throw error;
    await context.assertOn();
    await db.transaction().execute(async (tx) => {
      await settleLine(tx, claim.id, { status: 'failed', reason: error.message, ...decided });
      await auditLine(tx, context, { ...claim, reason: error.message }, 'usage.failed');
    });
    return 'failed';
  }
  if (result.drifted) {
    await recordConflict(context, line, result.previous, `the PSA holds ${result.previous}, not what the engine left there: changed by hand`, claim);
    return 'conflict';
  }
  // A claim of an earlier attempt whose write landed before its answer was lost: it is this write.
  const oldValue = resumed ? (claim.oldValue ?? result.previous) : result.previous;
  await context.assertOn();
  const outcome = await db.transaction().execute(async (tx): Promise<LineOutcome> => {
    await saveLineState(tx, partnerId, { psaCompanyId: line.psaCompanyId, offeringItem: line.offeringItem, period: line.target.period, agreementId: line.target.agreementId, lineId: line.target.lineId, reportedValue: line.next, psaValue: result.current });
    if (!result.changed && !resumed) {
      await dropClaim(tx, claim.id);
      return 'unchanged';
    }
    await settleLine(tx, claim.id, { status: 'written', oldValue, newValue: line.next, ...decided });
    await auditLine(tx, context, { ...claim, oldValue, newValue: line.next }, 'usage.written');
    return 'written';
  });
  if (outcome === 'written' && options.restoreLater !== false && usageCarry(clients.psaKind) === 'per-period') await restoreNextReportedPeriod(context, line, line.next - oldValue);
  return outcome;
}

/**
 * Autotask carries an adjustment into every later period. After an earlier period was written (a
 * backfill), the next period the engine reported gets its own value back; that adjustment carries
 * too, so the periods after it are right again.
 */
async function restoreNextReportedPeriod(context: WriteContext, line: RunLine, shift: number): Promise<void> {
  if (shift === 0) return;
  const [later] = await laterLineStates(context.db, context.partnerId, line, line.target.period.start);
  if (!later || later.psaValue === null || later.lineId !== line.target.lineId) return;
  const restored: RunLine = {
    ...line,
    target: { ...line.target, period: later.period },
    next: later.psaValue,
    baseline: { reported: later.reportedValue ?? undefined, psaExpected: later.psaValue + shift, inFlight: later.psaValue },
  };
  const reason = `restores ${later.period.start} – ${later.period.end} after ${line.target.period.start} – ${line.target.period.end} changed: Autotask carries adjustments into later periods`;
  await writeLine(context, restored, { reason, restoreLater: false });
}

/**
 * Claims left `writing` by a run that ended mid-write (billing switched off during a pass): each
 * one's PSA call may have landed. One that landed is settled as written; one that did not is
 * dropped, so the line is free for the next write.
 */
export async function settleInterruptedWrites(context: WriteContext, claims: readonly UsageWrite[]): Promise<void> {
  for (const claim of claims) {
    const target = { agreementId: claim.agreementId, lineId: claim.lineId, period: claim.period };
    const landed = (await context.clients.psa.readUsage(target)) === claim.newValue;
    await context.assertOn();
    await context.db.transaction().execute(async (tx) => {
      if (!landed) return dropClaim(tx, claim.id);
      await settleLine(tx, claim.id, { status: 'written', reason: 'its run ended before the PSA answered; the PSA holds it' });
      await saveLineState(tx, context.partnerId, { psaCompanyId: claim.psaCompanyId, offeringItem: claim.offeringItem, period: claim.period, agreementId: claim.agreementId, lineId: claim.lineId, reportedValue: claim.newValue, psaValue: claim.newValue });
      await auditLine(tx, { ...context, runId: claim.billingRunId }, claim, 'usage.written');
    });
  }
}
