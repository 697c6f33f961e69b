import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { UsageActivities } from '../../activities/usage/index.ts';
import { CAPABILITY_OFF_FAILURE, configurationChangedSignal, loopReportSignal, syncNowSignal } from '../contracts/loops.ts';
import { partnerWorkflowId } from '../contracts/partner.ts';
import { LONG_ACTIVITY_TASK_QUEUE } from '../contracts/task-queues.ts';
import {
  backfillUpdate,
  reviewUpdate,
  usageLoopStateQuery,
  type ReviewOutcome,
  type ReviewRequest,
  type UsageLoopInput,
  type UsageLoopState,
  type UsagePassInput,
  type UsagePlan,
} from '../contracts/usage.ts';

const DEFAULT_SIGNALS_PER_RUN = 1_000;
/** After a failed pass the loop waits 1 minute, doubling up to an hour, and tries the same run again. */
const FIRST_RETRY_MS = 60_000;
const LONGEST_RETRY_MS = 60 * 60_000;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

// Planning and counting read PostgreSQL only: an outage of any length only delays the loop.
const { planUsagePass, pendingUsageLines } = proxyActivities<UsageActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

// A pass reads every mapped customer: minutes for a large partner, so it heartbeats and runs on the
// long-activity queue. A few quick retries ride out a blip (a retry resumes from the heartbeat);
// an outage that outlasts them is retried by the loop itself, backing off, so the loop stays free
// for approvals and configuration changes meanwhile.
const { runUsagePass } = proxyActivities<UsageActivities>({
  taskQueue: LONG_ACTIVITY_TASK_QUEUE,
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5 },
});

// An admin waits for the answer: a few retries, then the update fails and the admin tries again.
const { reviewLines } = proxyActivities<UsageActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 4 },
});

interface ReviewJob {
  request: ReviewRequest;
  outcome?: ReviewOutcome;
  error?: string;
}

function failureMessage(error: unknown): { capabilityOff: boolean; message: string } | undefined {
  if (!(error instanceof ActivityFailure)) return undefined;
  const cause = error.cause;
  if (cause instanceof ApplicationFailure) return { capabilityOff: cause.type === CAPABILITY_OFF_FAILURE, message: cause.message };
  return { capabilityOff: false, message: cause?.message ?? error.message };
}

function days(period: { start: string; end: string }): string {
  return `${period.start} – ${period.end}`;
}

function describeRun(state: UsageLoopState): string {
  const run = state.lastRun;
  if (!run) return 'No run yet';
  const { written, held, conflicts, failed, unchanged } = run.counts;
  return `Last run ${state.lastRunAt} (${run.trigger}, ${days(run.period)}): **${run.status}**; written ${written}, held ${held}, conflicts ${conflicts}, failed ${failed}, unchanged ${unchanged}${run.note ? `. ${run.note}` : ''}`;
}

/**
 * `partner/<p>/usage` (SPEC F4): sleeps until the next due instant an activity computes from the
 * billing settings in the partner's zone, then runs one pass; wakes early for "sync now", a
 * backfill, an approval or a configuration change. Every request is served here, one at a time, so
 * two passes never write the same line at once. Ends when cancelled (billing switched off or the
 * partner removed) or when it finds billing off; the supervisor starts it again.
 */
export async function usageLoop(input: UsageLoopInput): Promise<UsageLoopState> {
  const state: UsageLoopState = input.carried ?? {
    partnerId: input.partnerId,
    passes: 0,
    lastDueAtMs: null,
    lastRun: null,
    lastRunAt: null,
    next: null,
    queued: [],
    lastError: null,
    pending: { held: 0, conflicts: 0 },
    consecutiveFailures: 0,
    retryAt: null,
    previousRuns: 0,
    stopReason: null,
  };
  const signalsPerRun = input.signalsPerRun ?? DEFAULT_SIGNALS_PER_RUN;
  let syncDue = input.syncPending ?? false;
  let replan = true;
  let plan: Extract<UsagePlan, { status: 'planned' }> | null = null;
  let current: UsagePassInput | null = input.pendingPass ?? null;
  let signalsThisRun = 0;
  const reviews: ReviewJob[] = [];
  const reviewWaiting = () => reviews.some((job) => job.outcome === undefined && job.error === undefined);

  setHandler(syncNowSignal, () => {
    signalsThisRun++;
    syncDue = true;
  });
  setHandler(configurationChangedSignal, () => {
    signalsThisRun++;
    replan = true;
  });
  setHandler(usageLoopStateQuery, () => state);
  setHandler(
    backfillUpdate,
    (request) => {
      signalsThisRun++;
      const runId = uuid4();
      state.queued.push({ runId, period: request.period });
      log.info('backfill queued', { partnerId: state.partnerId, runId, period: days(request.period), requestedBy: request.requestedBy });
      return { runId };
    },
    {
      validator: (request) => {
        const { period } = request;
        if (!ISO_DATE.test(period.start) || !ISO_DATE.test(period.end) || period.start > period.end || !(period.startMs < period.endMs)) throw new Error('period must be a billing period with start ≤ end');
      },
    },
  );
  setHandler(
    reviewUpdate,
    async (request) => {
      signalsThisRun++;
      const job: ReviewJob = { request };
      reviews.push(job);
      await condition(() => job.outcome !== undefined || job.error !== undefined);
      reviews.splice(reviews.indexOf(job), 1);
      if (job.error !== undefined) throw ApplicationFailure.create({ type: 'ReviewFailed', message: job.error, nonRetryable: true });
      return job.outcome as ReviewOutcome;
    },
    {
      validator: (request) => {
        if (!request.runId || (request.decision !== 'approve' && request.decision !== 'reject')) throw new Error('a review names a run and a decision (approve or reject)');
      },
    },
  );

  const describe = (): void => {
    const next = state.next;
    setCurrentDetails(
      [
        `**${state.stopReason ? 'stopped' : 'running'}** · ${state.passes} passes`,
        describeRun(state),
        `Waiting for approval: ${state.pending.held} lines · open conflicts: ${state.pending.conflicts}`,
        state.queued.length ? `Backfills queued: ${state.queued.map((queued) => days(queued.period)).join(', ')}` : '',
        next ? `Next pass due ${next.dueAt} for ${days(next.period)}` : '',
        state.lastError ? `Last error: ${state.lastError}${state.retryAt ? ` (tried again at ${state.retryAt})` : ''}` : '',
        state.stopReason ? `Stopped: ${state.stopReason}` : '',
      ]
        .filter(Boolean)
        .join('\n\n'),
    );
  };

  const stop = (reason: string): UsageLoopState => {
    state.stopReason = reason;
    state.next = null;
    for (const job of reviews) job.error ??= `nothing was decided: ${reason}`;
    describe();
    log.info('usage loop stopped', { partnerId: state.partnerId, reason });
    return state;
  };

  /** Best effort: the supervisor shows the last run in its details; one that is not running misses it. */
  const report = async (): Promise<void> => {
    try {
      await getExternalWorkflowHandle(partnerWorkflowId(state.partnerId)).signal(loopReportSignal, {
        capability: 'billing',
        at: state.lastRunAt ?? new Date().toISOString(),
        text: `${describeRun(state)}. Waiting for approval: ${state.pending.held}; open conflicts: ${state.pending.conflicts}${state.next ? `; next pass ${state.next.dueAt}` : ''}`,
      });
    } catch (error) {
      log.debug('the supervisor did not take the usage report', { error: String(error) });
    }
  };

  const refreshPending = async (): Promise<void> => {
    state.pending = await pendingUsageLines.executeWithOptions({ summary: 'count held lines and open conflicts' }, [{ partnerId: state.partnerId }]);
  };

  try {
    for (;;) {
      // Admins wait on their approvals and rejections: those come first.
      for (const job of reviews.filter((candidate) => candidate.outcome === undefined && candidate.error === undefined)) {
        try {
          const { request } = job;
          job.outcome = await reviewLines.executeWithOptions({ summary: `${request.decision} held lines of run ${request.runId}` }, [{ ...request, partnerId: state.partnerId }]);
          await refreshPending();
        } catch (error) {
          const failure = failureMessage(error);
          if (!failure) throw error;
          job.error = failure.message;
          if (failure.capabilityOff) return stop(failure.message);
        }
      }

      if (replan || plan === null) {
        const planned = await planUsagePass.executeWithOptions({ summary: 'plan the next usage pass' }, [{ partnerId: state.partnerId, nowMs: Date.now(), lastDueAtMs: state.lastDueAtMs, onDemand: false }]);
        if (planned.status === 'off') return stop(planned.reason);
        plan = planned;
        replan = false;
        state.next = { dueAt: new Date(plan.dueAtMs).toISOString(), period: { start: plan.period.start, end: plan.period.end } };
      }

      if (current === null) {
        if (syncDue) {
          syncDue = false;
          const now = await planUsagePass.executeWithOptions({ summary: 'the period a pass now reports' }, [{ partnerId: state.partnerId, nowMs: Date.now(), lastDueAtMs: state.lastDueAtMs, onDemand: true }]);
          if (now.status === 'off') return stop(now.reason);
          current = { partnerId: state.partnerId, runId: uuid4(), trigger: 'sync-now', period: now.period, dueAtMs: now.dueAtMs, force: true };
        } else if (state.queued.length > 0) {
          const [backfill] = state.queued;
          current = { partnerId: state.partnerId, runId: backfill!.runId, trigger: 'backfill', period: backfill!.period, dueAtMs: null, force: true };
        } else if (Date.now() >= plan.dueAtMs) {
          current = { partnerId: state.partnerId, runId: uuid4(), trigger: 'scheduled', period: plan.period, dueAtMs: plan.dueAtMs, force: false };
        }
      }

      const retryAtMs = state.retryAt === null ? null : Date.parse(state.retryAt);
      if (current !== null && (retryAtMs === null || Date.now() >= retryAtMs || syncDue)) {
        const pass = current;
        try {
          const outcome = await runUsagePass.executeWithOptions({ summary: `${pass.trigger} usage pass for ${days(pass.period)}` }, [pass]);
          if (outcome.status === 'off') return stop(outcome.reason);
          state.passes++;
          state.lastRun = outcome.summary;
          state.lastRunAt = new Date().toISOString();
          state.lastError = null;
          state.consecutiveFailures = 0;
          state.retryAt = null;
          if (pass.trigger === 'backfill') state.queued = state.queued.filter((queued) => queued.runId !== pass.runId);
          // A pass on demand counts as due when it ran, so the schedule goes on from there.
          else if (pass.dueAtMs !== null && (state.lastDueAtMs === null || pass.dueAtMs > state.lastDueAtMs)) {
            state.lastDueAtMs = pass.dueAtMs;
            replan = true;
          }
          current = null;
          await refreshPending();
          await report();
        } catch (error) {
          const failure = failureMessage(error);
          if (!failure) throw error;
          if (failure.capabilityOff) return stop(failure.message);
          state.consecutiveFailures++;
          state.lastError = failure.message;
          state.retryAt = new Date(Date.now() + Math.min(FIRST_RETRY_MS * 2 ** (state.consecutiveFailures - 1), LONGEST_RETRY_MS)).toISOString();
          log.warn('usage pass failed; the loop tries the same run again later', { partnerId: state.partnerId, runId: pass.runId, error: failure.message, retryAt: state.retryAt });
        }
      }
      describe();

      if (workflowInfo().continueAsNewSuggested || signalsThisRun >= signalsPerRun) {
        // An approval that arrives meanwhile is served before the run hands over.
        await condition(() => allHandlersFinished() || reviewWaiting());
        if (!reviewWaiting()) {
          return continueAsNew<typeof usageLoop>({
            v: 1,
            partnerId: state.partnerId,
            carried: { ...state, previousRuns: state.previousRuns + 1 },
            syncPending: syncDue,
            pendingPass: current ?? undefined,
            signalsPerRun: input.signalsPerRun,
          });
        }
        continue;
      }

      const wakeAt = current !== null && state.retryAt !== null ? Date.parse(state.retryAt) : plan.dueAtMs;
      const workWaiting = () => syncDue || replan || reviewWaiting() || (current === null && state.queued.length > 0) || signalsThisRun >= signalsPerRun;
      const waitMs = wakeAt - Date.now();
      if (waitMs > 0 && !workWaiting()) {
        await condition(workWaiting, waitMs, { summary: current !== null ? 'wait to retry the failed usage pass' : 'wait for the next usage pass, "sync now", a backfill or an approval' });
      }
    }
  } catch (error) {
    if (isCancellation(error)) return stop('billing was switched off or the partner removed');
    throw error;
  }
}
