import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { AgentActivities } from '../../activities/agents/types.ts';
import { DEPLOYMENT_NOT_FOUND_FAILURE, deploymentStateQuery, type DeploymentCounts, type DeploymentState, type DeploymentWorkflowInput } from '../contracts/agents.ts';
import { CAPABILITY_OFF_FAILURE, syncNowSignal } from '../contracts/loops.ts';

/**
 * While outcomes are awaited (an agent registers seconds to minutes after its script), rounds come
 * after 2 s, then twice as long after each round that changed nothing, up to 30 s.
 */
const OUTCOME_POLL_MS = { first: 2_000, max: 30_000 };
/**
 * While only offline computers are waited for, Automate is asked whether they came online after
 * 15 s, then twice as long after each round that changed nothing, up to 5 minutes; the round at the
 * window's end fails those still offline.
 */
const OFFLINE_POLL_MS = { first: 15_000, max: 5 * 60_000 };
/** After a round that could not be retried (credentials refused ...), the next try. */
const FAILED_ROUND_RETRY_MS = 5 * 60_000;
/** Rounds that keep failing end the deployment this long after its window (or, window unknown, after the longest window). */
const GIVE_UP_AFTER_WINDOW_MS = 24 * 3_600_000;
const LONGEST_WINDOW_MS = 7 * 24 * 3_600_000;

// Vendor calls: an Automate or Acronis outage of any length only delays the deployment (F9.1) and
// loses no computer's outcome, which is in PostgreSQL; each round heartbeats, so a dead worker is
// noticed within 30 s and the next attempt re-reads what the last one recorded. Retries are spaced up
// to a minute: a round costs a few reads, and computers waiting on their agents should hear soon
// after a vendor is back (at 5 minutes, an outage of 3 left most of a deployment idle 2 more).
const { advanceDeployment } = proxyActivities<AgentActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '1 minute' },
  summary: 'deployment round: read Automate and Acronis, send due scripts, record outcomes',
});
// PostgreSQL only.
const { endDeployment } = proxyActivities<AgentActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
  summary: 'record the end of the deployment',
});

function describe(state: DeploymentState): void {
  const counts: DeploymentCounts | null = state.counts;
  setCurrentDetails(
    [
      `**${state.endReason ? `ended: ${state.endReason}` : counts && counts.pending + counts.running === 0 ? 'done' : 'running'}** · ${state.rounds} rounds`,
      counts ? `${counts.total} computers: ${counts.succeeded} succeeded, ${counts.failed} failed, ${counts.running} running, ${counts.pending} pending` : '',
      state.lastError ? `Last error: ${state.lastError}` : '',
    ].filter(Boolean).join('\n\n'),
  );
}

/**
 * `partner/<p>/deployment/<id>`: rounds until every computer has its outcome or the window
 * closes. Each computer's progress lives in PostgreSQL, so the history holds counts only. Ends
 * cleanly when cancelled (agent management switched off, partner removed), recording why the
 * computers still waiting have no outcome.
 */
export async function agentDeployment(input: DeploymentWorkflowInput): Promise<DeploymentState> {
  const state: DeploymentState = input.carried ?? {
    partnerId: input.partnerId,
    deploymentId: input.deploymentId,
    rounds: 0,
    counts: null,
    lastError: null,
    windowEndsAt: null,
    previousRuns: 0,
    endReason: null,
  };
  const ref = { partnerId: state.partnerId, deploymentId: state.deploymentId };
  let poked = false;
  // "Sync now": the next round runs at once (a computer came online, an operator is watching).
  setHandler(syncNowSignal, () => {
    poked = true;
  });
  setHandler(deploymentStateQuery, () => state);

  const end = async (reason: string): Promise<DeploymentState> => {
    state.endReason = reason;
    await CancellationScope.nonCancellable(() => endDeployment({ ...ref, reason }));
    describe(state);
    log.info('deployment ended', { ...ref, reason });
    return state;
  };

  let quietRounds = 0;
  try {
    for (;;) {
      let waitMs: number;
      try {
        const progress = await advanceDeployment({ ...ref, at: Date.now() });
        state.rounds++;
        quietRounds = JSON.stringify(progress.counts) === JSON.stringify(state.counts) ? quietRounds + 1 : 0;
        state.counts = progress.counts;
        state.windowEndsAt = progress.windowEndsAt;
        state.lastError = null;
        if (progress.status === 'done') {
          describe(state);
          return state;
        }
        const poll = progress.awaitingOutcome > 0 ? OUTCOME_POLL_MS : OFFLINE_POLL_MS;
        const untilWindowEnd = Date.parse(progress.windowEndsAt) - Date.now();
        waitMs = Math.min(poll.max, poll.first * 2 ** quietRounds, untilWindowEnd > 0 ? untilWindowEnd : poll.max);
      } catch (error) {
        if (!(error instanceof ActivityFailure && error.cause instanceof ApplicationFailure)) throw error;
        if (error.cause.type === CAPABILITY_OFF_FAILURE) return await end(error.cause.message);
        if (error.cause.type === DEPLOYMENT_NOT_FOUND_FAILURE) {
          state.endReason = error.cause.message;
          describe(state);
          return state;
        }
        state.lastError = error.cause.message;
        log.warn('deployment round failed', { ...ref, error: error.cause.message });
        const windowEndMs = state.windowEndsAt ? Date.parse(state.windowEndsAt) : workflowInfo().runStartTime.getTime() + LONGEST_WINDOW_MS;
        if (Date.now() >= windowEndMs + GIVE_UP_AFTER_WINDOW_MS) return await end(`its rounds kept failing past its window: ${error.cause.message}`);
        waitMs = FAILED_ROUND_RETRY_MS;
      }
      describe(state);
      if (workflowInfo().continueAsNewSuggested) {
        return continueAsNew<typeof agentDeployment>({ v: 1, partnerId: state.partnerId, deploymentId: state.deploymentId, carried: { ...state, previousRuns: state.previousRuns + 1 } });
      }
      await condition(() => poked, waitMs, { summary: 'wait for the computers: registrations, offline machines' });
      poked = false;
    }
  } catch (error) {
    if (isCancellation(error)) return await end('agent management was switched off or the partner removed');
    throw error;
  }
}
