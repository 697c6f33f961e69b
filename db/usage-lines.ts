/**
 * What the engine knows of each usage line (the figure it settled and what the PSA should hold),
 * the Acronis figures it read (F4.9), and the conflicts it found (F4.11).
 */
import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Db } from './connection.ts';
import type { BillingPeriodDays } from './billing-runs.ts';
import { checkedQuantity } from './billing-runs.ts';
import type { Database } from './schema.ts';

type Queryable = Db | Transaction<Database>;

/** A customer's item: the key of a usage line (one PAYG line per company and mapped item). */
export interface LineRef {
  psaCompanyId: string;
  offeringItem: string;
}

export function lineKey(line: LineRef): string {
  return JSON.stringify([line.psaCompanyId, line.offeringItem]);
}

export interface LineState extends LineRef {
  period: BillingPeriodDays;
  agreementId: string;
  lineId: string;
  /** The figure last settled; null: to be written at the next pass (a conflict resolved with "ours"). */
  reportedValue: number | null;
  /** What the PSA holds unless changed by hand. */
  psaValue: number | null;
  updatedAt: Date;
}

const decimal = (value: string | null) => (value === null ? null : Number(value));

const stateColumns = [
  'psa_company_id as psaCompanyId',
  'offering_item as offeringItem',
  'period_start',
  'period_end',
  'agreement_id as agreementId',
  'line_id as lineId',
  'reported_value',
  'psa_value',
  'updated_at as updatedAt',
] as const;

type StateRow = Omit<LineState, 'period' | 'reportedValue' | 'psaValue'> & { period_start: string; period_end: string; reported_value: string | null; psa_value: string | null };

function toState(row: StateRow): LineState {
  const { period_start, period_end, reported_value, psa_value, ...rest } = row;
  return { ...rest, period: { start: period_start, end: period_end }, reportedValue: decimal(reported_value), psaValue: decimal(psa_value) };
}

/**
 * What the PSA holds for each line in the period as far as the engine knows. ConnectWise Manage
 * keeps one quantity per addition, whatever the period: the state written last. Autotask keeps
 * units per period and carries them into the next: the state of the latest period up to this one.
 */
export async function lineStates(db: Queryable, partnerId: string, periodStart: string, carry: 'one-quantity' | 'per-period'): Promise<Map<string, LineState>> {
  let query = db.selectFrom('usage_lines').select(stateColumns).distinctOn(['psa_company_id', 'offering_item']).where('partner_id', '=', partnerId).orderBy('psa_company_id').orderBy('offering_item');
  query = carry === 'per-period' ? query.where('period_start', '<=', periodStart).orderBy('period_start', 'desc').orderBy('updated_at', 'desc') : query.orderBy('updated_at', 'desc');
  const rows = await query.execute();
  return new Map(rows.map((row) => [lineKey(row), toState(row)]));
}

/** Later periods the engine reported for the line, oldest first (Autotask: an earlier write shifts them). */
export async function laterLineStates(db: Queryable, partnerId: string, line: LineRef, periodStart: string): Promise<LineState[]> {
  const rows = await db
    .selectFrom('usage_lines')
    .select(stateColumns)
    .where('partner_id', '=', partnerId)
    .where('psa_company_id', '=', line.psaCompanyId)
    .where('offering_item', '=', line.offeringItem)
    .where('period_start', '>', periodStart)
    .orderBy('period_start')
    .execute();
  return rows.map(toState);
}

export async function saveLineState(db: Queryable, partnerId: string, state: Omit<LineState, 'updatedAt'>): Promise<void> {
  const values = {
    partner_id: partnerId,
    psa_company_id: state.psaCompanyId,
    offering_item: state.offeringItem,
    period_start: state.period.start,
    period_end: state.period.end,
    agreement_id: state.agreementId,
    line_id: state.lineId,
    reported_value: state.reportedValue === null ? null : checkedQuantity(state.reportedValue, 'the reported value'),
    psa_value: state.psaValue === null ? null : checkedQuantity(state.psaValue, 'the PSA value'),
  };
  await db
    .insertInto('usage_lines')
    .values(values)
    .onConflict((conflict) =>
      conflict.columns(['partner_id', 'psa_company_id', 'offering_item', 'period_start']).doUpdateSet({
        period_end: values.period_end,
        agreement_id: values.agreement_id,
        line_id: values.line_id,
        reported_value: values.reported_value,
        psa_value: values.psa_value,
        updated_at: new Date(),
      }),
    )
    .execute();
}

/** An Acronis figure: a tenant's usage of one offering item, in the item's unit, and when it was read. */
export interface UsageFigure {
  tenantId: string;
  offeringItem: string;
  value: number;
  measurementUnit: string;
  readAt: Date;
}

const FIGURE_BATCH = 1_000;

/**
 * Keeps the figures read for the period: the month to date keeps the newest; a closed period keeps
 * what it has unless that was read before `freshFrom` (a month-to-date figure of a month now closed).
 */
export async function storeFigures(db: Queryable, partnerId: string, periodStart: string, figures: readonly UsageFigure[], rule: { closed: boolean; freshFrom: Date }): Promise<void> {
  for (let start = 0; start < figures.length; start += FIGURE_BATCH) {
    const values = figures.slice(start, start + FIGURE_BATCH).map((figure) => {
      if (!Number.isFinite(figure.value) || figure.value < 0 || figure.value >= 1e30) throw new RangeError(`usage figure of ${figure.offeringItem} for tenant ${figure.tenantId} is not a usage: ${figure.value}`);
      return {
        partner_id: partnerId,
        tenant_id: figure.tenantId,
        offering_item: figure.offeringItem,
        period_start: periodStart,
        value: figure.value.toFixed(0),
        measurement_unit: figure.measurementUnit,
        read_at: figure.readAt,
      };
    });
    await db
      .insertInto('usage_figures')
      .values(values)
      .onConflict((conflict) =>
        conflict
          .columns(['partner_id', 'tenant_id', 'offering_item', 'period_start'])
          .doUpdateSet((eb) => ({ value: eb.ref('excluded.value'), measurement_unit: eb.ref('excluded.measurement_unit'), read_at: eb.ref('excluded.read_at') }))
          .where((eb) => (rule.closed ? eb('usage_figures.read_at', '<', rule.freshFrom) : eb('usage_figures.read_at', '<', eb.ref('excluded.read_at')))),
      )
      .execute();
  }
}

/** The period's figures read at or after `freshFrom`, by tenant and item. */
export async function freshFigures(db: Queryable, partnerId: string, periodStart: string, freshFrom: Date): Promise<Map<string, UsageFigure>> {
  const rows = await db
    .selectFrom('usage_figures')
    .select(['tenant_id as tenantId', 'offering_item as offeringItem', 'value', 'measurement_unit as measurementUnit', 'read_at as readAt'])
    .where('partner_id', '=', partnerId)
    .where('period_start', '=', periodStart)
    .where('read_at', '>=', freshFrom)
    .execute();
  return new Map(rows.map((row) => [figureKey(row.tenantId, row.offeringItem), { ...row, value: Number(row.value) }]));
}

export function figureKey(tenantId: string, offeringItem: string): string {
  return JSON.stringify([tenantId, offeringItem]);
}

export interface UsageConflict extends LineRef {
  conflictId: string;
  billingRunId: string;
  period: BillingPeriodDays;
  agreementId: string;
  lineId: string;
  field: string;
  ours: number;
  theirs: number;
  nextValue: number;
  foundAt: Date;
  resolvedAt: Date | null;
  resolution: 'ours' | 'theirs' | null;
}

const conflictColumns = [
  'id as conflictId',
  'billing_run_id as billingRunId',
  'psa_company_id as psaCompanyId',
  'offering_item as offeringItem',
  'period_start',
  'period_end',
  'agreement_id as agreementId',
  'line_id as lineId',
  'field',
  'ours',
  'theirs',
  'next_value',
  'found_at as foundAt',
  'resolved_at as resolvedAt',
  'resolution',
] as const;

type ConflictRow = Omit<UsageConflict, 'period' | 'ours' | 'theirs' | 'nextValue'> & { period_start: string; period_end: string; ours: string; theirs: string; next_value: string };

function toConflict(row: ConflictRow): UsageConflict {
  const { period_start, period_end, ours, theirs, next_value, ...rest } = row;
  return { ...rest, period: { start: period_start, end: period_end }, ours: Number(ours), theirs: Number(theirs), nextValue: Number(next_value) };
}

/** Records the drift unless the line has an open conflict already; the open conflict. */
export async function openConflict(db: Queryable, partnerId: string, conflict: Omit<UsageConflict, 'conflictId' | 'foundAt' | 'resolvedAt' | 'resolution'>): Promise<UsageConflict> {
  await db
    .insertInto('usage_conflicts')
    .values({
      id: randomUUID(),
      partner_id: partnerId,
      billing_run_id: conflict.billingRunId,
      psa_company_id: conflict.psaCompanyId,
      offering_item: conflict.offeringItem,
      period_start: conflict.period.start,
      period_end: conflict.period.end,
      agreement_id: conflict.agreementId,
      line_id: conflict.lineId,
      field: conflict.field,
      ours: checkedQuantity(conflict.ours, 'ours'),
      theirs: checkedQuantity(conflict.theirs, 'theirs'),
      next_value: checkedQuantity(conflict.nextValue, 'the next value'),
    })
    .onConflict((target) => target.columns(['partner_id', 'psa_company_id', 'offering_item']).where('resolved_at', 'is', null).doNothing())
    .execute();
  const open = (await openConflicts(db, partnerId)).get(lineKey(conflict));
  if (!open) throw new Error(`the conflict of ${conflict.offeringItem} of PSA company ${conflict.psaCompanyId} was resolved as it was recorded`);
  return open;
}

export async function openConflicts(db: Queryable, partnerId: string): Promise<Map<string, UsageConflict>> {
  const rows = await db.selectFrom('usage_conflicts').select(conflictColumns).where('partner_id', '=', partnerId).where('resolved_at', 'is', null).orderBy('found_at').execute();
  return new Map(rows.map((row) => [lineKey(row), toConflict(row)]));
}

export async function findConflict(db: Queryable, partnerId: string, conflictId: string, options: { forUpdate?: boolean } = {}): Promise<UsageConflict | undefined> {
  let query = db.selectFrom('usage_conflicts').select(conflictColumns).where('partner_id', '=', partnerId).where('id', '=', conflictId);
  if (options.forUpdate) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  return row && toConflict(row);
}

/**
 * Resolves a conflict: the PSA's value becomes what the engine expects there either way. `theirs`
 * also settles the figure it was about to write, so the hand edit stands until the figure moves;
 * `ours` leaves the line unsettled, so the next pass writes the engine's figure.
 */
export async function resolveConflict(db: Queryable, partnerId: string, conflict: UsageConflict, keep: 'ours' | 'theirs', actor: string): Promise<void> {
  await db.updateTable('usage_conflicts').set({ resolved_at: new Date(), resolution: keep, resolved_by: actor }).where('id', '=', conflict.conflictId).execute();
  await saveLineState(db, partnerId, {
    psaCompanyId: conflict.psaCompanyId,
    offeringItem: conflict.offeringItem,
    period: conflict.period,
    agreementId: conflict.agreementId,
    lineId: conflict.lineId,
    reportedValue: keep === 'theirs' ? conflict.nextValue : null,
    psaValue: conflict.theirs,
  });
}
