import { createHash } from 'node:crypto';
import { createRoute, z } from '@hono/zod-openapi';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { recordAudit } from '../../db/audit-log.ts';
import { findRun, listRuns, runLines, type BillingRun } from '../../db/billing-runs.ts';
import { findConflict, openConflicts, resolveConflict, type UsageConflict } from '../../db/usage-lines.ts';
import type { ReviewOutcome } from '../../workflows/contracts/usage.ts';
import { billingPartnerOr404, lineRefSchema, periodView, requireBillingOn } from '../billing-partner.ts';
import { actorOf, auditEntry, type ApiDeps } from '../context.ts';
import { ProblemError, problems } from '../problem.ts';
import { newRouter } from '../router.ts';
import { bearerSecurity, commonErrors, conflict, jsonBody, jsonResponse, notFound, partnerIdParams, unavailable } from '../schemas.ts';
import { usageWriteView } from './usage.ts';

const DEFAULT_RUNS = 20;
const MAX_RUNS = 500;
/** Approving writes every chosen line to the PSA before the answer: longer than the usual Temporal deadline. */
const REVIEW_DEADLINE_MS = 120_000;
const RUN_STATUSES = ['running', 'written', 'awaiting-approval', 'approved', 'rejected', 'partly-written'] as const;

const runLineSchema = z
  .object({
    psaCompanyId: z.string(),
    offeringItem: z.string(),
    period: periodView.describe('A backfill on Autotask also restores the next period it reported: those lines name their own period'),
    oldValue: z.number().nullable(),
    newValue: z.number(),
    status: z.enum(['written', 'held', 'rejected', 'conflict', 'failed', 'writing']),
    reason: z.string().nullable(),
  })
  .openapi('BillingRunLine');

const runSchema = z
  .object({
    runId: z.string(),
    trigger: z.enum(['scheduled', 'sync-now', 'backfill']),
    period: periodView,
    status: z.enum(RUN_STATUSES),
    dueAt: z.iso.datetime().nullable(),
    note: z.string().nullable(),
    unchanged: z.int().describe('Lines whose figure the PSA held already (not listed)'),
    createdAt: z.iso.datetime(),
    completedAt: z.iso.datetime().nullable(),
    workflowRunId: z.string(),
    lines: z.array(runLineSchema).describe('Every line the run wrote, held, had rejected, found in conflict or saw refused'),
  })
  .openapi('BillingRun');

const runParams = partnerIdParams.extend({ runId: z.uuid({ error: 'must be a billing run id (UUID)' }).openapi({ param: { name: 'runId', in: 'path' } }) });
const conflictParams = partnerIdParams.extend({ conflictId: z.uuid({ error: 'must be a conflict id (UUID)' }).openapi({ param: { name: 'conflictId', in: 'path' } }) });

const reviewInput = z
  .strictObject({ lines: z.array(lineRefSchema).min(1).max(20_000).optional().describe('The held lines decided; all held lines of the run when absent') })
  .openapi('BillingRunReview');

const conflictSchema = z
  .object({
    conflictId: z.string(),
    psaCompanyId: z.string(),
    offeringItem: z.string(),
    field: z.string().describe('What someone changed in the PSA: the quantity (CWM) or the units of the period (Autotask)'),
    ours: z.number().describe('What the engine last left in the PSA'),
    theirs: z.number().describe('What the PSA held instead'),
    next: z.number().describe('The figure the engine was about to write'),
    period: periodView,
    foundAt: z.iso.datetime(),
    resolvedAt: z.iso.datetime().nullable(),
    resolution: z.enum(['ours', 'theirs']).nullable(),
  })
  .openapi('UsageConflict');

const resolveInput = z
  .strictObject({ keep: z.enum(['ours', 'theirs']).describe('`ours`: the next pass writes the engine’s figure; `theirs`: the PSA’s value stands until the figure moves') })
  .openapi('UsageConflictResolution');

function conflictView(conflict: UsageConflict): z.infer<typeof conflictSchema> {
  return {
    conflictId: conflict.conflictId,
    psaCompanyId: conflict.psaCompanyId,
    offeringItem: conflict.offeringItem,
    field: conflict.field,
    ours: conflict.ours,
    theirs: conflict.theirs,
    next: conflict.nextValue,
    period: conflict.period,
    foundAt: conflict.foundAt.toISOString(),
    resolvedAt: conflict.resolvedAt?.toISOString() ?? null,
    resolution: conflict.resolution,
  };
}

function reviewFailure(error: WorkflowUpdateFailedError): ProblemError {
  const reason = error.cause?.message ?? error.message;
  return new ProblemError(502, 'review-failed', 'The review could not be completed', `Lines already written stay written; the rest still wait: ${reason}. Try again.`);
}

export function billingRunRoutes(deps: ApiDeps) {
  const { db } = deps;
  const router = newRouter();

  async function runView(run: BillingRun): Promise<z.infer<typeof runSchema>> {
    const lines = await runLines(db, run.runId);
    return {
      runId: run.runId,
      trigger: run.trigger,
      period: run.period,
      status: run.status,
      dueAt: run.dueAt?.toISOString() ?? null,
      note: run.note,
      unchanged: run.unchanged,
      createdAt: run.createdAt.toISOString(),
      completedAt: run.completedAt?.toISOString() ?? null,
      workflowRunId: run.workflowRunId,
      lines: lines.map((line) => {
        const { psaCompanyId, offeringItem, period, oldValue, newValue, status, reason } = usageWriteView(line);
        return { psaCompanyId, offeringItem, period, oldValue, newValue, status, reason };
      }),
    };
  }

  async function runOr404(partnerId: string, runId: string): Promise<BillingRun> {
    const run = await findRun(db, partnerId, runId);
    if (!run) throw problems.notFound(`Billing run ${runId}`);
    return run;
  }

  router.openapi(
    createRoute({
      method: 'get',
      path: '/partners/{id}/billing-runs',
      summary: "The partner's billing runs, newest first",
      tags: ['Billing'],
      security: bearerSecurity,
      request: {
        params: partnerIdParams,
        query: z.object({ status: z.enum(RUN_STATUSES).optional(), limit: z.coerce.number().int().min(1).max(MAX_RUNS).default(DEFAULT_RUNS) }),
      },
      responses: { 200: jsonResponse(z.object({ items: z.array(runSchema) }), 'Runs with their lines'), ...commonErrors, ...notFound },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { status, limit } = c.req.valid('query');
      await billingPartnerOr404(db, id);
      const runs = await listRuns(db, id, { status, limit });
      const items = [];
      for (const run of runs) items.push(await runView(run));
      return c.json({ items }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/partners/{id}/billing-runs/{runId}',
      summary: 'One billing run: its lines, old → new',
      tags: ['Billing'],
      security: bearerSecurity,
      request: { params: runParams },
      responses: { 200: jsonResponse(runSchema, 'The run'), ...commonErrors, ...notFound },
    }),
    async (c) => {
      const { id, runId } = c.req.valid('param');
      await billingPartnerOr404(db, id);
      return c.json(await runView(await runOr404(id, runId)), 200);
    },
  );

  for (const decision of ['approve', 'reject'] as const) {
    router.openapi(
      createRoute({
        method: 'post',
        path: `/partners/{id}/billing-runs/{runId}/${decision}`,
        summary: decision === 'approve' ? 'Approve held lines: they are written at once, each re-checked against the PSA (F4.10)' : 'Reject held lines: nothing is written',
        tags: ['Billing'],
        security: bearerSecurity,
        request: { params: runParams, body: jsonBody(reviewInput, 'The lines decided (all held lines when absent)') },
        responses: { 200: jsonResponse(runSchema, 'The run after the decision'), ...commonErrors, ...notFound, ...conflict, ...unavailable },
      }),
      async (c) => {
        const { id, runId } = c.req.valid('param');
        const { lines } = c.req.valid('json');
        const { settings, owner } = await billingPartnerOr404(db, id);
        requireBillingOn(settings, 'runId');
        const run = await runOr404(id, runId);
        const held = (await runLines(db, runId)).filter((line) => line.status === 'held');
        if (run.status !== 'awaiting-approval' || held.length === 0) throw problems.conflict('runId', `is ${run.status}, not awaiting approval`);
        const unknown = (lines ?? []).findIndex((wanted) => !held.some((line) => line.psaCompanyId === wanted.psaCompanyId && line.offeringItem === wanted.offeringItem));
        if (unknown >= 0) throw problems.conflict(`lines.${unknown}`, 'is not a line of this run waiting for approval');

        const chosen = lines ? JSON.stringify(lines.map((line) => [line.psaCompanyId, line.offeringItem]).sort()) : 'all';
        const updateId = `${decision}:${runId}:${createHash('sha256').update(chosen).digest('base64url')}`;
        let outcome: ReviewOutcome;
        try {
          outcome = await deps.temporal.withDeadline(Date.now() + REVIEW_DEADLINE_MS, () => deps.usage.review(owner, { runId, decision, ...(lines ? { lines } : {}), decidedBy: actorOf(c) }, updateId));
        } catch (error) {
          if (error instanceof WorkflowUpdateFailedError) throw reviewFailure(error);
          throw error;
        }
        if (outcome.status === 'not-found') throw problems.notFound(`Billing run ${runId}`);
        if (outcome.status === 'not-waiting') throw problems.conflict('runId', `is ${outcome.runStatus}, not awaiting approval`);
        await recordAudit(db, auditEntry(c, { action: `usage.${decision}`, partnerId: id, target: `partner/${id}/billing-runs/${runId}`, details: { lines: lines ?? 'all held lines', decided: outcome.decided, runStatus: outcome.runStatus } }));
        return c.json(await runView(await runOr404(id, runId)), 200);
      },
    );
  }

  router.openapi(
    createRoute({
      method: 'get',
      path: '/partners/{id}/conflicts',
      summary: 'Drift found before a write: PSA values changed by hand since the engine wrote them (F4.11)',
      tags: ['Billing'],
      security: bearerSecurity,
      request: { params: partnerIdParams },
      responses: { 200: jsonResponse(z.object({ items: z.array(conflictSchema) }), 'Open conflicts, oldest first'), ...commonErrors, ...notFound },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      await billingPartnerOr404(db, id);
      return c.json({ items: [...(await openConflicts(db, id)).values()].map(conflictView) }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/partners/{id}/conflicts/{conflictId}/resolve',
      summary: 'Resolve a conflict: keep ours (written at the next pass) or theirs (the PSA value stands)',
      tags: ['Billing'],
      security: bearerSecurity,
      request: { params: conflictParams, body: jsonBody(resolveInput, 'Which value stays') },
      responses: { 200: jsonResponse(conflictSchema, 'The resolved conflict'), ...commonErrors, ...notFound, ...conflict },
    }),
    async (c) => {
      const { id, conflictId } = c.req.valid('param');
      const { keep } = c.req.valid('json');
      await billingPartnerOr404(db, id);
      const resolved = await db.transaction().execute(async (tx) => {
        const found = await findConflict(tx, id, conflictId, { forUpdate: true });
        if (!found) throw problems.notFound(`Conflict ${conflictId}`);
        if (found.resolvedAt) throw problems.conflict('conflictId', `was resolved already (${found.resolution})`);
        await resolveConflict(tx, id, found, keep, actorOf(c));
        await recordAudit(tx, auditEntry(c, { action: 'usage.conflict.resolve', partnerId: id, target: `partner/${id}/conflicts/${conflictId}`, details: { keep, psaCompanyId: found.psaCompanyId, offeringItem: found.offeringItem, ours: found.ours, theirs: found.theirs } }));
        return (await findConflict(tx, id, conflictId))!;
      });
      return c.json(conflictView(resolved), 200);
    },
  );

  return router;
}
