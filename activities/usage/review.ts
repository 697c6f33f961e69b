/**
 * Review before write (F4.10): an admin approves the held lines of a run (they are written at once,
 * each re-checked against the PSA as it is then) or rejects them (nothing is written).
 */
import { activityInfo } from '@temporalio/activity';
import { findRun, inFlightWrites, refreshRunStatus, runLines as linesOfRun, settleLine, type UsageWrite } from '../../db/billing-runs.ts';
import { listCompanyMappings } from '../../db/mappings.ts';
import { lineKey, lineStates } from '../../db/usage-lines.ts';
import type { ReviewOutcome, ReviewRequest } from '../../workflows/contracts/usage.ts';
import { usageLoopWorkflowId } from '../../workflows/contracts/usage.ts';
import { partnerWithCapability, capabilityOffFailure } from '../capability-scope.ts';
import { usageCarry, type RunLine } from './lines.ts';
import { linePolicy, usageScope, type UsageDeps } from './pass.ts';
import { auditLine, settleInterruptedWrites, writeLine, type WriteContext } from './writes.ts';

function chosen(request: ReviewRequest, line: UsageWrite): boolean {
  return !request.lines || request.lines.some((wanted) => wanted.psaCompanyId === line.psaCompanyId && wanted.offeringItem === line.offeringItem);
}

export function createReviewActivities(deps: UsageDeps) {
  const { db } = deps;
  const inScope = usageScope(db);
  return {
    /** Approves (writes) or rejects the run's held lines that the request names; a line still `writing` from an interrupted approval is finished. */
    reviewLines: (input: ReviewRequest & { partnerId: string }): Promise<ReviewOutcome> =>
      inScope(input.partnerId, async (context): Promise<ReviewOutcome> => {
        const { partnerId, runId } = input;
        const run = await findRun(db, partnerId, runId);
        if (!run) return { status: 'not-found' };
        if (run.status === 'running') return { status: 'not-waiting', runStatus: run.status };
        // A finished run's `writing` line is an approval whose attempt was interrupted: it is finished here.
        const pending = (await linesOfRun(db, runId)).filter((line) => (line.status === 'held' || (line.status === 'writing' && input.decision === 'approve')) && chosen(input, line));
        if (pending.length === 0) return { status: 'not-waiting', runStatus: run.status };
        const partner = await partnerWithCapability(db, deps.clients, partnerId, 'billing');
        if (partner.status === 'off') throw capabilityOffFailure(partner.reason);
        const { clients, settings } = partner;
        const execution = activityInfo().workflowExecution ?? { workflowId: usageLoopWorkflowId(partnerId), runId: 'none' };
        const writeContext: WriteContext = { db, partnerId, clients, runId, workflowRunId: execution.runId, actor: input.decidedBy, policy: linePolicy(settings.billing), assertOn: context.assertOn };

        if (input.decision === 'reject') {
          await context.assertOn();
          await db.transaction().execute(async (tx) => {
            for (const line of pending) {
              await settleLine(tx, line.id, { status: 'rejected', reason: 'rejected by an admin; nothing was written', decidedBy: input.decidedBy });
              await auditLine(tx, writeContext, line, 'usage.rejected');
            }
          });
          return { status: 'done', runStatus: await refreshRunStatus(db, runId), decided: pending.length };
        }

        // Interrupted writes of other runs on these periods are settled first, so the claims below are free.
        for (const periodStart of new Set(pending.map((line) => line.period.start))) {
          await settleInterruptedWrites(writeContext, (await inFlightWrites(db, partnerId, periodStart)).filter((claim) => claim.billingRunId !== runId));
        }
        // Checked as the approval acts, not as the run found them: the company still has this tenant
        // and this active PAYG line of the product.
        const tenants = new Map((await listCompanyMappings(db, partnerId)).map((mapping) => [mapping.psaCompanyId, mapping.tenantId]));
        const psaLines = await clients.psa.listServiceLinesOf([...new Set(pending.map((line) => line.psaCompanyId))]);
        for (const held of pending) {
          const stillBilled = tenants.get(held.psaCompanyId) === held.tenantId && (psaLines.get(held.psaCompanyId) ?? []).some((candidate) => candidate.lineId === held.lineId && candidate.agreementId === held.agreementId && candidate.active && candidate.billing === 'payg');
          if (!stillBilled) {
            await context.assertOn();
            const reason = `not written: since the run, PSA company ${held.psaCompanyId} no longer has tenant ${held.tenantId} mapped or its PAYG line ${held.lineId} is no longer active`;
            await db.transaction().execute(async (tx) => {
              await settleLine(tx, held.id, { status: 'failed', reason, decidedBy: input.decidedBy });
              await auditLine(tx, writeContext, { ...held, reason }, 'usage.failed');
            });
            continue;
          }
          const states = await lineStates(db, partnerId, held.period.start, usageCarry(clients.psaKind));
          const state = states.get(lineKey(held));
          const sameLine = state && state.lineId === held.lineId ? state : undefined;
          const line: RunLine = {
            psaCompanyId: held.psaCompanyId,
            tenantId: held.tenantId,
            offeringItem: held.offeringItem,
            psaProductId: held.psaProductId,
            target: { agreementId: held.agreementId, lineId: held.lineId, period: held.period },
            next: held.newValue,
            figureReadAt: held.figureReadAt ?? new Date(),
            // What the PSA held when the line was held is what the approval writes over.
            baseline: { reported: sameLine?.reportedValue ?? undefined, psaExpected: sameLine?.psaValue ?? held.oldValue ?? undefined, inFlight: held.status === 'writing' ? held.newValue : undefined },
            conflict: undefined,
          };
          await writeLine(writeContext, line, { approvedBy: input.decidedBy });
        }
        return { status: 'done', runStatus: await refreshRunStatus(db, runId), decided: pending.length };
      }),
  };
}
