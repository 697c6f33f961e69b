/**
 * Billing runs and the ledger of usage writes (F4.6, F4.8, F4.10). A line is written at most once
 * per run and period (`usage_writes_once_per_run`), and before its PSA call a write is claimed as
 * `writing` (`usage_writes_one_in_flight`: one per line and period at a time), so a retry finds its
 * own claim and a second run cannot write the same line meanwhile.
 */
import { sql, type Transaction } from 'kysely';
import { runStatus, type BillingRunStatus, type LedgerStatus } from '../domain/usage-lines.ts';
import type { Db } from './connection.ts';
import type { Database } from './schema.ts';

type Queryable = Db | Transaction<Database>;

export type RunTrigger = 'scheduled' | 'sync-now' | 'backfill';

export interface BillingPeriodDays {
  start: string;
  end: string;
}

export interface BillingRun {
  runId: string;
  partnerId: string;
  trigger: RunTrigger;
  period: BillingPeriodDays;
  status: BillingRunStatus;
  dueAt: Date | null;
  note: string | null;
  unchanged: number;
  workflowId: string;
  workflowRunId: string;
  createdAt: Date;
  completedAt: Date | null;
}

/** A line of the ledger: what one run did with one customer's item for one period. */
export interface UsageWrite {
  id: string;
  billingRunId: string;
  psaCompanyId: string;
  tenantId: string;
  offeringItem: string;
  psaProductId: string;
  agreementId: string;
  lineId: string;
  period: BillingPeriodDays;
  oldValue: number | null;
  newValue: number;
  status: LedgerStatus;
  reason: string | null;
  figureReadAt: Date | null;
  decidedBy: string | null;
  approved: boolean;
  workflowRunId: string;
  at: Date;
}

/** Everything a ledger row says of its line, as a run records it. */
export type LineRecord = Omit<UsageWrite, 'id' | 'at' | 'decidedBy' | 'approved'>;

/** The largest quantity numeric(18, 2) keeps. */
const MAX_QUANTITY = 1e16;

/** A quantity fit for PostgreSQL: finite, non-negative, within numeric(18, 2). */
export function checkedQuantity(value: number, what: string): number {
  if (!Number.isFinite(value) || value < 0 || value >= MAX_QUANTITY) throw new RangeError(`${what} must be a quantity from 0 to 10^16, not ${value}`);
  return value;
}

const decimal = (value: string | null) => (value === null ? null : Number(value));

const MAX_REASON = 2_000;

/** A vendor's words as PostgreSQL takes them: no NUL characters, and not a page long. */
export function storableText(text: string | null): string | null {
  if (text === null) return null;
  const clean = text.replaceAll('\u0000', '');
  return clean.length > MAX_REASON ? `${clean.slice(0, MAX_REASON - 1)}…` : clean;
}

const runColumns = [
  'id as runId',
  'partner_id as partnerId',
  'trigger',
  'period_start',
  'period_end',
  'status',
  'due_at as dueAt',
  'note',
  'unchanged',
  'workflow_id as workflowId',
  'workflow_run_id as workflowRunId',
  'created_at as createdAt',
  'completed_at as completedAt',
] as const;

function toRun(row: { period_start: string; period_end: string } & Omit<BillingRun, 'period'>): BillingRun {
  const { period_start, period_end, ...rest } = row;
  return { ...rest, period: { start: period_start, end: period_end } };
}

/**
 * Creates the run unless it exists (a retried pass finds its own; a backfill's run is made when the
 * API queues it); while it runs, the workflow run that works on it is noted. The run as stored.
 */
export async function ensureRun(db: Queryable, run: Pick<BillingRun, 'runId' | 'partnerId' | 'trigger' | 'period' | 'dueAt' | 'workflowId' | 'workflowRunId'>): Promise<BillingRun> {
  await db
    .insertInto('billing_runs')
    .values({
      id: run.runId,
      partner_id: run.partnerId,
      trigger: run.trigger,
      period_start: run.period.start,
      period_end: run.period.end,
      status: 'running',
      due_at: run.dueAt,
      workflow_id: run.workflowId,
      workflow_run_id: run.workflowRunId,
    })
    .onConflict((conflict) =>
      conflict
        .column('id')
        .doUpdateSet((eb) => ({ workflow_id: eb.ref('excluded.workflow_id'), workflow_run_id: eb.ref('excluded.workflow_run_id') }))
        .where('billing_runs.status', '=', 'running')
        .where('billing_runs.partner_id', '=', run.partnerId)
        .where((eb) => eb('excluded.workflow_run_id', '!=', '')),
    )
    .execute();
  const stored = await findRun(db, run.partnerId, run.runId);
  if (!stored) throw new Error(`billing run ${run.runId} belongs to another partner`);
  return stored;
}

export async function findRun(db: Queryable, partnerId: string, runId: string, options: { forUpdate?: boolean } = {}): Promise<BillingRun | undefined> {
  let query = db.selectFrom('billing_runs').select(runColumns).where('partner_id', '=', partnerId).where('id', '=', runId);
  if (options.forUpdate) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  return row && toRun(row);
}

export async function listRuns(db: Queryable, partnerId: string, filter: { status?: BillingRunStatus | undefined; limit: number }): Promise<BillingRun[]> {
  let query = db.selectFrom('billing_runs').select(runColumns).where('partner_id', '=', partnerId).orderBy('created_at', 'desc').orderBy('id').limit(filter.limit);
  if (filter.status) query = query.where('status', '=', filter.status);
  return (await query.execute()).map(toRun);
}

/** Ends the run: its status follows from its lines. */
export async function completeRun(db: Queryable, runId: string, outcome: { unchanged: number; note?: string }): Promise<void> {
  const status = runStatus(await runLines(db, runId));
  await db
    .updateTable('billing_runs')
    .set({ status, completed_at: new Date(), unchanged: outcome.unchanged, ...(outcome.note !== undefined ? { note: outcome.note } : {}) })
    .where('id', '=', runId)
    .execute();
}

const writeColumns = [
  'id',
  'billing_run_id as billingRunId',
  'psa_company_id as psaCompanyId',
  'tenant_id as tenantId',
  'offering_item as offeringItem',
  'psa_product_id as psaProductId',
  'agreement_id as agreementId',
  'line_id as lineId',
  'period_start',
  'period_end',
  'old_value',
  'new_value',
  'status',
  'reason',
  'figure_read_at as figureReadAt',
  'decided_by as decidedBy',
  'approved',
  'workflow_run_id as workflowRunId',
  'at',
] as const;

type WriteRow = Omit<UsageWrite, 'period' | 'oldValue' | 'newValue'> & { period_start: string; period_end: string; old_value: string | null; new_value: string };

function toWrite(row: WriteRow): UsageWrite {
  const { period_start, period_end, old_value, new_value, ...rest } = row;
  return { ...rest, period: { start: period_start, end: period_end }, oldValue: decimal(old_value), newValue: Number(new_value) };
}

function rowOf(partnerId: string, line: LineRecord) {
  return {
    partner_id: partnerId,
    billing_run_id: line.billingRunId,
    psa_company_id: line.psaCompanyId,
    tenant_id: line.tenantId,
    offering_item: line.offeringItem,
    psa_product_id: line.psaProductId,
    agreement_id: line.agreementId,
    line_id: line.lineId,
    period_start: line.period.start,
    period_end: line.period.end,
    old_value: line.oldValue === null ? null : checkedQuantity(line.oldValue, 'the old value'),
    new_value: checkedQuantity(line.newValue, 'the new value'),
    status: line.status,
    reason: storableText(line.reason),
    figure_read_at: line.figureReadAt,
    workflow_run_id: line.workflowRunId,
  };
}

/** The run's row for the line and period, if it has one. */
export async function findRunLine(db: Queryable, partnerId: string, runId: string, line: { psaCompanyId: string; offeringItem: string; periodStart: string }): Promise<UsageWrite | undefined> {
  const row = await db
    .selectFrom('usage_writes')
    .select(writeColumns)
    .where('partner_id', '=', partnerId)
    .where('billing_run_id', '=', runId)
    .where('psa_company_id', '=', line.psaCompanyId)
    .where('offering_item', '=', line.offeringItem)
    .where('period_start', '=', line.periodStart)
    .executeTakeFirst();
  return row && toWrite(row);
}

/**
 * Records what the run did with the line (held, conflict, failed, ...), replacing the run's earlier
 * row for it (a retried pass, an approval).
 */
export async function recordLine(db: Queryable, partnerId: string, line: LineRecord): Promise<UsageWrite> {
  const values = rowOf(partnerId, line);
  const row = await db
    .insertInto('usage_writes')
    .values(values)
    .onConflict((conflict) =>
      conflict.constraint('usage_writes_once_per_run').doUpdateSet({ old_value: values.old_value, new_value: values.new_value, status: values.status, reason: values.reason, figure_read_at: values.figure_read_at, at: new Date() }),
    )
    .returning(writeColumns)
    .executeTakeFirstOrThrow();
  return toWrite(row);
}

/** Raised when another run is writing the same line and period right now. */
export class LineBusyError extends Error {}

function isUniqueViolation(error: unknown, constraint: string): boolean {
  const { code, constraint: name } = (error ?? {}) as { code?: string; constraint?: string };
  return code === '23505' && name === constraint;
}

/**
 * Claims the write of the line before the PSA call: a `writing` row (a held line of the run becomes
 * one when approved), or the run's own claim from an attempt that did not finish (`resumed`: its PSA
 * call may have landed). Fails with `LineBusyError` while another run holds a claim on the line and period.
 */
export async function claimWrite(db: Db, partnerId: string, line: Omit<LineRecord, 'status'>): Promise<{ write: UsageWrite; resumed: boolean }> {
  const existing = await findRunLine(db, partnerId, line.billingRunId, { psaCompanyId: line.psaCompanyId, offeringItem: line.offeringItem, periodStart: line.period.start });
  if (existing?.status === 'writing') return { write: existing, resumed: true };
  try {
    return { write: await recordLine(db, partnerId, { ...line, status: 'writing' }), resumed: false };
  } catch (error) {
    if (isUniqueViolation(error, 'usage_writes_one_in_flight')) throw new LineBusyError(`another billing run is writing ${line.offeringItem} of PSA company ${line.psaCompanyId} for ${line.period.start} – ${line.period.end}`);
    throw error;
  }
}

/** A claim whose PSA call found the value already there: nothing was written. */
export async function dropClaim(db: Queryable, id: string): Promise<void> {
  await db.deleteFrom('usage_writes').where('id', '=', id).where('status', '=', 'writing').execute();
}

/** Sets the run's status from its lines (after a pass, an approval, a rejection, a newer figure). */
export async function refreshRunStatus(db: Queryable, runId: string): Promise<BillingRunStatus> {
  const status = runStatus(await runLines(db, runId));
  await db.updateTable('billing_runs').set({ status }).where('id', '=', runId).where('status', '!=', 'running').execute();
  return status;
}

/** The claims a pass left behind for these lines and period: the PSA may hold their value. */
export async function inFlightWrites(db: Queryable, partnerId: string, periodStart: string): Promise<UsageWrite[]> {
  const rows = await db.selectFrom('usage_writes').select(writeColumns).where('partner_id', '=', partnerId).where('period_start', '=', periodStart).where('status', '=', 'writing').execute();
  return rows.map(toWrite);
}

/** Settles a ledger row: written (with the value the PSA held before), held, rejected, failed. */
export async function settleLine(db: Queryable, id: string, outcome: { status: LedgerStatus; oldValue?: number | null; newValue?: number; reason?: string | null; decidedBy?: string; approved?: boolean }): Promise<void> {
  await db
    .updateTable('usage_writes')
    .set({
      status: outcome.status,
      at: new Date(),
      ...(outcome.oldValue !== undefined ? { old_value: outcome.oldValue === null ? null : checkedQuantity(outcome.oldValue, 'the old value') } : {}),
      ...(outcome.newValue !== undefined ? { new_value: checkedQuantity(outcome.newValue, 'the new value') } : {}),
      ...(outcome.reason !== undefined ? { reason: storableText(outcome.reason) } : {}),
      ...(outcome.decidedBy !== undefined ? { decided_by: outcome.decidedBy } : {}),
      ...(outcome.approved !== undefined ? { approved: outcome.approved } : {}),
    })
    .where('id', '=', id)
    .execute();
}

export async function runLines(db: Queryable, runId: string): Promise<UsageWrite[]> {
  const rows = await db.selectFrom('usage_writes').select(writeColumns).where('billing_run_id', '=', runId).orderBy('psa_company_id').orderBy('offering_item').orderBy('period_start').execute();
  return rows.map(toWrite);
}

/** Lines still waiting for approval in the partner's runs, for a period. */
export async function heldLines(db: Queryable, partnerId: string, periodStart: string): Promise<UsageWrite[]> {
  const rows = await db.selectFrom('usage_writes').select(writeColumns).where('partner_id', '=', partnerId).where('period_start', '=', periodStart).where('status', '=', 'held').execute();
  return rows.map(toWrite);
}

/** The last failed write of each line in a period: a line the PSA refused is tried again only when its figure moves (or on "sync now"). */
export async function failedLines(db: Queryable, partnerId: string, periodStart: string): Promise<UsageWrite[]> {
  const rows = await db
    .selectFrom('usage_writes')
    .select(writeColumns)
    .distinctOn(['psa_company_id', 'offering_item'])
    .where('partner_id', '=', partnerId)
    .where('period_start', '=', periodStart)
    .where('status', 'in', ['written', 'failed'])
    .orderBy('psa_company_id')
    .orderBy('offering_item')
    .orderBy('at', 'desc')
    .execute();
  return rows.map(toWrite).filter((row) => row.status === 'failed');
}

/** Lines whose latest write the PSA refused, in any period, newest first: the partner's health lists them until a write goes through. */
export async function refusedLines(db: Queryable, partnerId: string, limit: number): Promise<UsageWrite[]> {
  const latest = await db
    .selectFrom('usage_writes')
    .select(writeColumns)
    .distinctOn(['psa_company_id', 'offering_item', 'period_start'])
    .where('partner_id', '=', partnerId)
    .where('status', 'in', ['written', 'failed'])
    .orderBy('psa_company_id')
    .orderBy('offering_item')
    .orderBy('period_start')
    .orderBy('at', 'desc')
    .execute();
  return latest
    .map(toWrite)
    .filter((row) => row.status === 'failed')
    .sort((a, b) => b.at.getTime() - a.at.getTime())
    .slice(0, limit);
}

/** `usage-writes`: the ledger, newest first; `date` selects the periods that contain it. */
export async function listWrites(db: Queryable, partnerId: string, filter: { date?: string | undefined; psaCompanyId?: string | undefined; limit: number }): Promise<UsageWrite[]> {
  let query = db.selectFrom('usage_writes').select(writeColumns).where('partner_id', '=', partnerId).orderBy('at', 'desc').orderBy('id', 'desc').limit(filter.limit);
  if (filter.date) query = query.where('period_start', '<=', filter.date).where('period_end', '>=', filter.date);
  if (filter.psaCompanyId) query = query.where('psa_company_id', '=', filter.psaCompanyId);
  return (await query.execute()).map(toWrite);
}

/** Lines of the partner waiting for approval. */
export async function countHeld(db: Queryable, partnerId: string): Promise<number> {
  const row = await db.selectFrom('usage_writes').select(sql<string>`count(*)`.as('count')).where('partner_id', '=', partnerId).where('status', '=', 'held').executeTakeFirstOrThrow();
  return Number(row.count);
}

/** Counts of a run's lines by status, for the loop's summary. */
export async function runCounts(db: Queryable, runId: string): Promise<Partial<Record<LedgerStatus, number>>> {
  const rows = await db.selectFrom('usage_writes').select(['status', sql<string>`count(*)`.as('count')]).where('billing_run_id', '=', runId).groupBy('status').execute();
  return Object.fromEntries(rows.map((row) => [row.status, Number(row.count)]));
}
