import { createRoute, z } from '@hono/zod-openapi';
import { billingScope, itemUnits, lineKnowledge, readFigures, runLines, storedFreshFigures, tenantsToRead } from '../../activities/usage/lines.ts';
import { recordAudit } from '../../db/audit-log.ts';
import { ensureRun, heldLines, listWrites, type UsageWrite } from '../../db/billing-runs.ts';
import { figureKey, lineKey } from '../../db/usage-lines.ts';
import { freshFrom, nextPass, periodContaining, periodStatus, type BillingPeriod } from '../../domain/billing-periods.ts';
import type { Settings } from '../../domain/settings.ts';
import { decideLine, figureMoved, type LineAction } from '../../domain/usage-lines.ts';
import { billingPartnerOr404, calendarDate, periodView, requireBillingOn } from '../billing-partner.ts';
import { actorOf, auditEntry, partnerClientsOr404, withTemporalDeadline, type ApiDeps } from '../context.ts';
import { problems } from '../problem.ts';
import { newRouter } from '../router.ts';
import { bearerSecurity, commonErrors, conflict, jsonBody, jsonResponse, notFound, partnerIdParams, unavailable, vendorFailure } from '../schemas.ts';
import { mapConcurrently } from '../vendor-lookups.ts';
import { usageLoopWorkflowId } from '../../workflows/contracts/usage.ts';

const DEFAULT_LIST_LIMIT = 500;
const MAX_LIST_LIMIT = 5_000;
/** PSA reads in flight at once for one preview. */
const READ_CONCURRENCY = 8;

const usageWriteSchema = z
  .object({
    psaCompanyId: z.string(),
    tenantId: z.string(),
    offeringItem: z.string(),
    psaProductId: z.string(),
    period: periodView,
    oldValue: z.number().nullable().describe('What the PSA held before (null: unknown)'),
    newValue: z.number(),
    status: z.enum(['written', 'held', 'rejected', 'conflict', 'failed', 'writing']).describe('`writing`: the write is in flight; `failed`: the PSA refused it (reason)'),
    reason: z.string().nullable(),
    at: z.iso.datetime(),
    workflowRunId: z.string(),
    runId: z.string().describe('The billing run'),
    decidedBy: z.string().nullable().describe('The admin who approved or rejected a held line'),
  })
  .openapi('UsageWrite');

export function usageWriteView(row: UsageWrite): z.infer<typeof usageWriteSchema> {
  return {
    psaCompanyId: row.psaCompanyId,
    tenantId: row.tenantId,
    offeringItem: row.offeringItem,
    psaProductId: row.psaProductId,
    period: row.period,
    oldValue: row.oldValue,
    newValue: row.newValue,
    status: row.status,
    reason: row.reason,
    at: row.at.toISOString(),
    workflowRunId: row.workflowRunId,
    runId: row.billingRunId,
    decidedBy: row.decidedBy,
  };
}

const writesQuery = z.object({
  period: calendarDate.optional().describe('Only the periods that contain this day'),
  psaCompanyId: z.string().regex(/^[\w-]{1,64}$/, { error: 'must be a PSA company id' }).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_LIST_LIMIT).default(DEFAULT_LIST_LIMIT),
});

const previewItemSchema = z
  .object({
    psaCompanyId: z.string(),
    offeringItem: z.string(),
    psaProductId: z.string(),
    current: z.number().nullable().describe('What the PSA holds for the line and period (read now where the figure moved, else what the engine left there)'),
    next: z.number().describe('The figure the run would bill'),
    action: z.enum(['write', 'unchanged', 'hold', 'conflict']),
    reason: z.string().nullable(),
  })
  .openapi('UsagePreviewItem');

const previewSchema = z
  .object({
    period: periodView,
    dueAt: z.iso.datetime().nullable().describe('When the next run is due; null while billing is off'),
    note: z.string().nullable().describe('Why nothing can be reported yet (figures not fresh)'),
    items: z.array(previewItemSchema),
  })
  .openapi('UsagePreview');

const backfillInput = z.strictObject({ period: calendarDate.describe('A day of the period to report again (YYYY-MM-DD, partner’s time zone)') }).openapi('UsageBackfillRequest');

/** The period a backfill of `date` reports, or why it may not be reported (F4.7, F4.9). */
function backfillPeriod(date: string, settings: Settings, timeZone: string, nowMs: number): BillingPeriod {
  let period: BillingPeriod;
  try {
    period = periodContaining(date, settings.billing, timeZone);
  } catch (error) {
    if (error instanceof RangeError) throw problems.field('period', error.message);
    throw error;
  }
  const status = periodStatus(period, nowMs);
  const days = `${period.start} – ${period.end}`;
  if (status === 'future') throw problems.field('period', `lies in the future (${days}); only past periods can be reported again`);
  if (status === 'open' && settings.billing.reportingPeriod !== 'current-month') throw problems.field('period', `lies in the billing period still running (${days}); it is reported once it has ended`);
  const freshAt = freshFrom(period, nowMs, settings.billing.refreshLagHours);
  if (nowMs < freshAt) throw problems.field('period', `${days} can be reported from ${new Date(freshAt).toISOString()}, once Acronis has refreshed its figures (billing.refreshLagHours)`);
  return period;
}

export function usageRoutes(deps: ApiDeps) {
  const { db } = deps;
  const router = newRouter();

  router.openapi(
    createRoute({
      method: 'get',
      path: '/partners/{id}/usage-writes',
      summary: 'What was written to the PSA, per item and period (the ledger, newest first)',
      tags: ['Billing'],
      security: bearerSecurity,
      request: { params: partnerIdParams, query: writesQuery },
      responses: { 200: jsonResponse(z.object({ items: z.array(usageWriteSchema) }), 'Ledger lines'), ...commonErrors, ...notFound },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { period, psaCompanyId, limit } = c.req.valid('query');
      await billingPartnerOr404(db, id);
      const rows = await listWrites(db, id, { date: period, psaCompanyId, limit });
      return c.json({ items: rows.map(usageWriteView) }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/partners/{id}/usage/preview',
      summary: 'What the next billing run would write; writes nothing (F4.8)',
      tags: ['Billing'],
      security: bearerSecurity,
      request: { params: partnerIdParams },
      responses: { 200: jsonResponse(previewSchema, 'The next run, line by line'), ...commonErrors, ...notFound, ...vendorFailure, ...unavailable },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { partner, settings } = await billingPartnerOr404(db, id);
      const clients = await partnerClientsOr404(deps, id);
      const now = Date.now();
      const state = settings.billing.enabled ? await withTemporalDeadline(deps, () => deps.usage.loopState(id)) : undefined;
      const planned = state?.next
        ? { period: periodContaining(state.next.period.start, settings.billing, partner.timezone), dueAtMs: Date.parse(state.next.dueAt) }
        : nextPass(now, null, settings.billing, partner.timezone, settings.billing.refreshLagHours);
      const { period } = planned;
      const dueAt = settings.billing.enabled ? new Date(planned.dueAtMs).toISOString() : null;
      const freshAt = freshFrom(period, now, settings.billing.refreshLagHours);
      if (now < freshAt) return c.json({ period, dueAt, note: `Acronis figures for ${period.start} – ${period.end} are fresh from ${new Date(freshAt).toISOString()}`, items: [] }, 200);

      const scope = await billingScope(db, id);
      const stored = periodStatus(period, now) === 'closed' ? await storedFreshFigures(db, id, period, now, settings.billing.refreshLagHours) : new Map();
      const toRead = tenantsToRead(scope, period, now, stored);
      const read = toRead.length > 0 && scope.items.size > 0 ? await readFigures(clients.acronis, toRead, scope, await itemUnits(clients.acronis)) : [];
      const figures = new Map([...stored, ...read.map((figure) => [figureKey(figure.tenantId, figure.offeringItem), figure] as const)]);
      const psaLines = await clients.psa.listServiceLinesOf([...scope.tenants.keys()]);
      const knowledge = await lineKnowledge(db, id, period, clients.psaKind, []);
      const lines = runLines({ scope, period, psaKind: clients.psaKind, storage: settings.billing.storage, psaLines, figures, ...knowledge });
      const held = await heldLines(db, id, period.start);
      const policy = settings.billing;
      const items = await mapConcurrently(lines, READ_CONCURRENCY, async (line) => {
        const base = { psaCompanyId: line.psaCompanyId, offeringItem: line.offeringItem, psaProductId: line.psaProductId, next: line.next };
        const decided = (action: LineAction, current: number | null, reason: string | null) => ({ ...base, action, current, reason });
        if (line.conflict && policy.onDrift === 'report') return decided('conflict', line.conflict.theirs, `open conflict ${line.conflict.conflictId}: the PSA holds ${line.conflict.theirs}, the engine left ${line.conflict.ours}`);
        if (!figureMoved(line.next, line.baseline)) return decided('unchanged', line.baseline.psaExpected ?? line.next, null);
        const waiting = held.find((row) => lineKey(row) === lineKey(line) && row.newValue === line.next);
        if (waiting) return decided('hold', waiting.oldValue, `waiting for approval in billing run ${waiting.billingRunId}`);
        const psaNow = await clients.psa.readUsage(line.target);
        const decision = decideLine({ next: line.next, psaNow, baseline: line.baseline, policy });
        return decided(decision.action, psaNow, decision.reason);
      });
      return c.json({ period: { start: period.start, end: period.end }, dueAt, note: null, items }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/partners/{id}/usage/backfill',
      summary: 'Report a past period again, changed values only (F4.7)',
      tags: ['Billing'],
      security: bearerSecurity,
      request: { params: partnerIdParams, body: jsonBody(backfillInput, 'A day of the period') },
      responses: {
        202: jsonResponse(z.object({ runId: z.string().describe('The billing run that reports it: GET .../billing-runs/{runId}') }), 'The run is queued'),
        ...commonErrors,
        ...notFound,
        ...conflict,
        ...unavailable,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { period: date } = c.req.valid('json');
      const { partner, settings, owner } = await billingPartnerOr404(db, id);
      requireBillingOn(settings, 'period');
      const period = backfillPeriod(date, settings, partner.timezone, Date.now());
      const requestedBy = actorOf(c);
      const { runId } = await db.transaction().execute(async (tx) => {
        // Queued before the commit: if Temporal does not answer, the audit entry is not written either.
        const queued = await withTemporalDeadline(deps, () => deps.usage.backfill(owner, { period, requestedBy }, `backfill:${period.start}:${c.get('requestId')}`));
        // Listed at once (running), before the loop gets to it.
        await ensureRun(tx, { runId: queued.runId, partnerId: id, trigger: 'backfill', period, dueAt: null, workflowId: usageLoopWorkflowId(id), workflowRunId: '' });
        await recordAudit(tx, auditEntry(c, { action: 'usage.backfill', partnerId: id, target: `partner/${id}/usage`, details: { date, period: { start: period.start, end: period.end }, runId: queued.runId } }));
        return queued;
      });
      return c.json({ runId }, 202);
    },
  );

  return router;
}
