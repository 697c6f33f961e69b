/**
 * The lines of a billing run, shared by the pass (which then writes) and the API's preview (which
 * does not): the Acronis figures of the mapped customers' tenants, and for every customer whose
 * agreement/contract has an active PAYG line of a mapped product, the quantity that line is to carry
 * and what the engine knows of it. Knows nothing of Temporal.
 */
import type { AcronisClient } from '../../clients/acronis/client.ts';
import type { TenantUsages, Usage } from '../../clients/acronis/types.ts';
import { VendorApiError } from '../../clients/http.ts';
import type { PartnerClients } from '../../clients/partner-clients.ts';
import type { UsageWrite } from '../../db/billing-runs.ts';
import { forgetLineSnapshots, readLineSnapshots, readLineWatermark, saveLineSnapshots, saveLineWatermark } from '../../db/company-lines.ts';
import type { Db } from '../../db/connection.ts';
import { listCompanyMappings, listProductMappings } from '../../db/mappings.ts';
import { figureKey, freshFigures, lineKey, lineStates, openConflicts, type LineState, type UsageConflict, type UsageFigure } from '../../db/usage-lines.ts';
import { freshFrom, periodStatus, type BillingPeriod } from '../../domain/billing-periods.ts';
import type { Settings } from '../../domain/settings.ts';
import { billedQuantity, reportedQuantity, type LineBaseline, type MeasurementUnit } from '../../domain/usage-lines.ts';
import type { PsaPort, ServiceLine, UsageTarget } from '../../psa/port.ts';
import { changesSince, fullReadDue, linesToReread, readLinesInBatches, watermarkAfter } from '../psa-lines.ts';

/** Acronis answers usages of at most 100 tenants per request. */
export const TENANTS_PER_USAGE_CALL = 100;

/** What a billable item is measured in, from the partner's catalogue; usages carry it too. */
export type ItemUnits = ReadonlyMap<string, MeasurementUnit>;

/** The partner's mapped customers and billed items, as a run needs them. */
export interface BillingScope {
  /** PSA company → its Acronis customer tenant (companies still waiting for a tenant have no usage). */
  tenants: Map<string, string>;
  /** PSA product → the offering items billed through it, sorted (usually one). */
  products: Map<string, string[]>;
  items: Set<string>;
}

export async function billingScope(db: Db, partnerId: string): Promise<BillingScope> {
  const products = new Map<string, string[]>();
  for (const mapping of await listProductMappings(db, partnerId)) {
    if (mapping.free || mapping.psaProductId === null) continue;
    products.set(mapping.psaProductId, [...(products.get(mapping.psaProductId) ?? []), mapping.offeringItem].sort());
  }
  const tenants = new Map((await listCompanyMappings(db, partnerId)).flatMap((mapping) => (mapping.tenantId ? [[mapping.psaCompanyId, mapping.tenantId] as const] : [])));
  return { tenants, products, items: new Set([...products.values()].flat()) };
}

/** Units of the billed items, from what the partner can give its customers (one call). */
export async function itemUnits(acronis: AcronisClient): Promise<ItemUnits> {
  const parentId = (await acronis.getApiClient()).tenant_id;
  return new Map((await acronis.offeringItemsAvailableForChild(parentId)).map((item) => [item.name, item.measurement_unit]));
}

/**
 * Usages of up to 100 tenants in one call. Acronis refuses the whole call when one tenant is gone
 * (deleted since it was mapped): then each is read alone, and a tenant that is gone has no figures.
 */
async function usagesOf(acronis: AcronisClient, tenantIds: readonly string[]): Promise<TenantUsages[]> {
  try {
    return await acronis.usagesOfTenants([...tenantIds]);
  } catch (error) {
    if (!(error instanceof VendorApiError && error.kind === 'not-found')) throw error;
    if (tenantIds.length === 1) return [];
    const answers: TenantUsages[] = [];
    for (const tenantId of tenantIds) answers.push(...(await usagesOf(acronis, [tenantId])));
    return answers;
  }
}

/**
 * Reads the usages of these tenants, 100 per call, as figures of the billed items: Acronis's
 * `absolute_value` (what pay-as-you-go bills), summed over storages; an item without usage is 0.
 * A tenant Acronis no longer has gets no figures, so its lines are left out.
 */
export async function readFigures(acronis: AcronisClient, tenantIds: readonly string[], scope: Pick<BillingScope, 'items'>, units: ItemUnits, onBatch?: (figures: UsageFigure[]) => Promise<void>): Promise<UsageFigure[]> {
  const all: UsageFigure[] = [];
  for (let start = 0; start < tenantIds.length; start += TENANTS_PER_USAGE_CALL) {
    const batch = tenantIds.slice(start, start + TENANTS_PER_USAGE_CALL);
    const answers = await usagesOf(acronis, batch);
    const readAt = new Date();
    const byTenant = new Map(answers.map((answer) => [answer.tenant, answer.usages]));
    const figures = batch.flatMap((tenantId) => {
      const usages: Usage[] | undefined = byTenant.get(tenantId);
      if (!usages) return [];
      return [...scope.items].map((item) => {
        const matching = usages.filter((usage) => usage.name === item);
        const unit = units.get(item) ?? matching[0]?.measurement_unit ?? 'quantity';
        return { tenantId, offeringItem: item, value: matching.reduce((sum, usage) => sum + usage.absolute_value, 0), measurementUnit: unit, readAt };
      });
    });
    await onBatch?.(figures);
    all.push(...figures);
  }
  return all;
}

/**
 * Tenants whose figures must be read for the period now: every one while it is open (the month to
 * date moves), only those without a fresh figure once it is closed (a closed period keeps its own).
 */
export function tenantsToRead(scope: Pick<BillingScope, 'tenants'>, period: BillingPeriod, nowMs: number, stored: ReadonlyMap<string, UsageFigure>): string[] {
  const tenants = [...new Set(scope.tenants.values())].sort();
  if (periodStatus(period, nowMs) !== 'closed') return tenants;
  const known = new Set([...stored.values()].map((figure) => figure.tenantId));
  return tenants.filter((tenantId) => !known.has(tenantId));
}

/** The stored figures of the period that may be reported now (F4.9). */
export function storedFreshFigures(db: Db, partnerId: string, period: BillingPeriod, nowMs: number, refreshLagHours: number): Promise<Map<string, UsageFigure>> {
  return freshFigures(db, partnerId, period.start, new Date(freshFrom(period, nowMs, refreshLagHours)));
}

/** How a pass reads the PSA's lines: the instant it began (the PSA's changes before it are read) and whether it reads every company. */
export interface LineRead {
  startedAt: string;
  full: boolean;
}

/** A full read on the first pass and then at least daily (activities/psa-lines.ts); an incremental one otherwise, "sync now" included. */
export async function planLineRead(db: Db, partnerId: string, now: Date): Promise<LineRead> {
  return { startedAt: now.toISOString(), full: fullReadDue(await readLineWatermark(db, partnerId, 'billing'), now) };
}

/**
 * The PSA lines of the billed companies (mapped, with a tenant), from billing's own snapshot of them:
 * the PSA is asked again only for the companies whose lines may have changed since the previous pass
 * began (activities/psa-lines.ts), or for all of them on a full read. Billing keeps its snapshot
 * apart from discovery's, so it reads the same with provisioning off. The lines say which PAYG line
 * to write; the value in it is read from the PSA at the moment of the write.
 */
export async function billedCompanyLines(
  { db, partnerId, psa, now, assertOn }: { db: Db; partnerId: string; psa: PsaPort; now: () => Date; assertOn: () => Promise<void> },
  companyIds: readonly string[],
  read: LineRead,
): Promise<Map<string, ServiceLine[]>> {
  const startedAt = new Date(read.startedAt);
  const watermark = await readLineWatermark(db, partnerId, 'billing');
  const kept = await readLineSnapshots(db, partnerId, 'billing');
  const toRead = read.full ? companyIds : await linesToReread(psa, companyIds, kept, changesSince(watermark), startedAt);
  await readLinesInBatches(psa, toRead, kept, startedAt, now, async (rows) => {
    await assertOn();
    await saveLineSnapshots(db, partnerId, 'billing', rows);
    for (const row of rows) kept.set(row.psaCompanyId, row);
  });
  await assertOn();
  const billed = new Set(companyIds);
  await forgetLineSnapshots(db, partnerId, 'billing', [...kept.keys()].filter((companyId) => !billed.has(companyId)));
  await saveLineWatermark(db, partnerId, 'billing', watermarkAfter(watermark, { startedAt, full: read.full, fullAutomatic: false }));
  return new Map(companyIds.map((companyId) => [companyId, kept.get(companyId)?.lines ?? []]));
}

/** A line of the run: one customer's PAYG line of one mapped product, and the quantity it is to carry. */
export interface RunLine {
  psaCompanyId: string;
  tenantId: string;
  /** The offering item billed through the product (items sharing a product are joined with `,`). */
  offeringItem: string;
  psaProductId: string;
  target: UsageTarget;
  next: number;
  figureReadAt: Date;
  /** The engine's knowledge of this very PSA line; a line that replaced another starts afresh. */
  baseline: LineBaseline;
  /** Open drift on the line, found by an earlier run. */
  conflict: UsageConflict | undefined;
}

/** How a PSA keeps usage: one quantity per addition (CWM), or units per period carried forward (Autotask). */
export function usageCarry(psaKind: PartnerClients['psaKind']): 'one-quantity' | 'per-period' {
  return psaKind === 'autotask' ? 'per-period' : 'one-quantity';
}

/** What the engine knows of each line for the period: its states, open conflicts and writes in flight. */
export async function lineKnowledge(db: Db, partnerId: string, period: BillingPeriod, psaKind: PartnerClients['psaKind'], inFlight: readonly UsageWrite[]) {
  return {
    states: await lineStates(db, partnerId, period.start, usageCarry(psaKind)),
    conflicts: await openConflicts(db, partnerId),
    inFlight: new Map(inFlight.map((write) => [lineKey(write), write])),
  };
}

/**
 * The run's lines, sorted by company and item: for each mapped company with a tenant and each mapped
 * product it has an active PAYG line of, the figure (storage per the settings, F4.4) rounded as the
 * PSA keeps it. A product with prepaid and PAYG lines bills the whole usage on the PAYG line (F4.2);
 * prepaid-only products are not usage-synced. Lines without a fresh figure are left out.
 */
export function runLines(input: {
  scope: BillingScope;
  period: BillingPeriod;
  psaKind: PartnerClients['psaKind'];
  storage: Settings['billing']['storage'];
  psaLines: ReadonlyMap<string, readonly ServiceLine[]>;
  figures: ReadonlyMap<string, UsageFigure>;
  states: ReadonlyMap<string, LineState>;
  conflicts: ReadonlyMap<string, UsageConflict>;
  inFlight: ReadonlyMap<string, UsageWrite>;
}): RunLine[] {
  const lines: RunLine[] = [];
  for (const [psaCompanyId, tenantId] of [...input.scope.tenants.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const active = (input.psaLines.get(psaCompanyId) ?? []).filter((line) => line.active);
    for (const [psaProductId, items] of [...input.scope.products.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      const payg = active.find((line) => line.productId === psaProductId && line.billing === 'payg');
      if (!payg) continue;
      const figures = items.map((item) => input.figures.get(figureKey(tenantId, item)));
      if (figures.some((figure) => figure === undefined)) continue;
      const prepaid = active.filter((line) => line.productId === psaProductId && line.billing === 'prepaid').reduce((sum, line) => sum + line.quantity, 0);
      let quantity: number | null = null;
      for (const figure of figures as UsageFigure[]) {
        const part = reportedQuantity({ usage: figure.value, unit: figure.measurementUnit as MeasurementUnit, prepaid, storage: input.storage });
        if (part !== null) quantity = (quantity ?? 0) + part;
      }
      if (quantity === null) continue;
      const offeringItem = items.join(',');
      const key = lineKey({ psaCompanyId, offeringItem });
      const known = input.states.get(key);
      const state = known && known.lineId === payg.lineId && known.agreementId === payg.agreementId ? known : undefined;
      const inFlight = input.inFlight.get(key);
      lines.push({
        psaCompanyId,
        tenantId,
        offeringItem,
        psaProductId,
        target: { agreementId: payg.agreementId, lineId: payg.lineId, period: { start: input.period.start, end: input.period.end } },
        next: billedQuantity(quantity, input.psaKind),
        figureReadAt: new Date(Math.min(...(figures as UsageFigure[]).map((figure) => figure.readAt.getTime()))),
        baseline: {
          reported: state?.reportedValue ?? undefined,
          psaExpected: state?.psaValue ?? undefined,
          inFlight: inFlight && inFlight.lineId === payg.lineId ? inFlight.newValue : undefined,
        },
        conflict: input.conflicts.get(key),
      });
    }
  }
  return lines;
}
