import {
  ActivityCancellationType,
  ActivityFailure,
  allHandlersFinished,
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
import type { AlertActivities, FollowAlertsResult } from '../../activities/alerts/types.ts';
import { alertsLoopStateQuery, type AlertsLoopInput, type AlertsLoopState } from '../contracts/alerts.ts';
import { configurationChangedSignal, syncNowSignal } from '../contracts/loops.ts';
import { LONG_ACTIVITY_TASK_QUEUE } from '../contracts/task-queues.ts';
import { isCapabilityOff } from './ticket-work.ts';

const DEFAULT_SIGNALS_PER_RUN = 1_000;
/** After a failure retrying cannot mend (credentials refused), the feed is tried again this much later, or on a change or "sync now". */
const AFTER_REFUSAL_MS = 5 * 60 * 1000;

// Polling every few seconds inside one activity keeps the loop's history short: a run of up to an
// hour costs a handful of events. It heartbeats its cursor, so a retry (worker lost, Acronis away)
// resumes where it was; an outage of any length only delays it. Cancelled ("sync now", a rollover),
// it answers its cursor, and the loop waits for that answer.
const { followAlerts } = proxyActivities<AlertActivities>({
  taskQueue: LONG_ACTIVITY_TASK_QUEUE,
  startToCloseTimeout: '70 minutes',
  heartbeatTimeout: '20 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes' },
  summary: 'follow the Acronis alert feed and hand each change to its alert workflow',
});

// PostgreSQL and Temporal only; an outage delays it.
const { retryFailedTickets } = proxyActivities<AlertActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
  summary: 'try again the tickets the PSA refused',
});

function refusal(error: unknown): ApplicationFailure | undefined {
  return error instanceof ActivityFailure && error.cause instanceof ApplicationFailure ? error.cause : undefined;
}

/**
 * `partner/<p>/alerts`: follows the partner's Acronis alert feed from a durable cursor (`updated_at`,
 * Unix ns) every `tickets.pollSeconds` and at once on "sync now", handing each new or changed alert
 * of a mapped customer to its identity's lifecycle. After a configuration change it pokes the
 * tickets the PSA refused, so a fixed alert mapping creates them. Ends when cancelled (ticket sync
 * switched off, partner removed) or when the feed finds ticket sync off; the supervisor starts it again.
 */
export async function alertsLoop(input: AlertsLoopInput): Promise<AlertsLoopState> {
  const state: AlertsLoopState = input.carried ?? {
    partnerId: input.partnerId,
    cursor: null,
    mappingsSeenAt: null,
    polls: 0,
    handedOn: 0,
    lastPollAt: null,
    retried: 0,
    lastError: null,
    previousRuns: 0,
    stopReason: null,
  };
  const signalsPerRun = input.signalsPerRun ?? DEFAULT_SIGNALS_PER_RUN;
  let retryDue = input.retryPending ?? false;
  let syncRequested = false;
  let signalsThisRun = 0;

  setHandler(syncNowSignal, () => {
    signalsThisRun++;
    syncRequested = true;
  });
  setHandler(configurationChangedSignal, () => {
    signalsThisRun++;
    retryDue = true;
  });
  setHandler(alertsLoopStateQuery, () => state);

  const describe = (running: boolean): void => {
    setCurrentDetails(
      [
        `**${state.stopReason ? 'stopped' : running ? 'following the alert feed' : 'between feed runs'}** · ${state.polls} polls, ${state.handedOn} alert changes handed on`,
        state.cursor ? `Cursor ${state.cursor} (Unix ns)${state.lastPollAt ? `, last poll ${state.lastPollAt}` : ''}` : 'First scan of the active alerts',
        state.retried ? `${state.retried} refused tickets tried again` : '',
        state.lastError ? `Last error: ${state.lastError}` : '',
        state.stopReason ? `Stopped: ${state.stopReason}` : '',
      ].filter(Boolean).join('\n\n'),
    );
  };
  const stop = (reason: string): AlertsLoopState => {
    state.stopReason = reason;
    describe(false);
    log.info('alerts loop stopped', { partnerId: state.partnerId, reason });
    return state;
  };
  const rollOverDue = () => workflowInfo().continueAsNewSuggested || signalsThisRun >= signalsPerRun;
  const took = (result: FollowAlertsResult): void => {
    state.cursor = result.cursor;
    state.mappingsSeenAt = result.mappingsSeenAt;
    state.polls += result.polls;
    state.handedOn += result.handedOn;
    state.lastPollAt = result.lastPollAt ?? state.lastPollAt;
    state.lastError = null;
  };

  try {
    for (;;) {
      if (rollOverDue()) {
        await condition(allHandlersFinished);
        return continueAsNew<typeof alertsLoop>({
          v: 1,
          partnerId: state.partnerId,
          carried: { ...state, previousRuns: state.previousRuns + 1 },
          retryPending: retryDue,
          signalsPerRun: input.signalsPerRun,
        });
      }
      syncRequested = false;
      describe(true);
      const feed = new CancellationScope();
      let outcome: { result: FollowAlertsResult } | { error: unknown } | undefined;
      void feed.run(() => followAlerts({ partnerId: state.partnerId, cursor: state.cursor, mappingsSeenAt: state.mappingsSeenAt ?? null })).then(
        (result) => (outcome = { result }),
        (error: unknown) => (outcome = { error }),
      );
      let interrupted = false;
      while (!outcome) {
        await condition(() => outcome !== undefined || retryDue || (!interrupted && (syncRequested || rollOverDue())));
        if (retryDue) {
          // The feed runs on meanwhile.
          retryDue = false;
          try {
            state.retried += await retryFailedTickets({ partnerId: state.partnerId });
          } catch (error) {
            if (isCapabilityOff(error)) return stop(refusal(error)?.message ?? 'ticket sync is switched off');
            throw error;
          }
        } else if (!outcome && !interrupted) {
          interrupted = true;
          feed.cancel();
        }
      }
      if ('result' in outcome) {
        took(outcome.result);
        if (outcome.result.stopped === 'off') return stop('ticket sync is switched off or the partner was removed');
        continue;
      }
      const { error } = outcome;
      // Cancelled before it started: nothing was handed on, the cursor stands.
      if (isCancellation(error) && interrupted) continue;
      if (isCapabilityOff(error)) return stop(refusal(error)?.message ?? 'ticket sync is switched off');
      const refused = refusal(error);
      if (!refused) throw error;
      state.lastError = refused.message;
      log.warn('alert feed refused', { partnerId: state.partnerId, error: refused.message });
      describe(false);
      await condition(() => syncRequested || retryDue || rollOverDue(), AFTER_REFUSAL_MS, { summary: 'wait for a change, "sync now" or the next try of the alert feed' });
    }
  } catch (error) {
    if (isCancellation(error)) return stop('ticket sync was switched off or the partner removed');
    throw error;
  }
}
