import { ActivityFailure, ApplicationFailure, isCancellation, proxyActivities, proxyLocalActivities, setHandler } from '@temporalio/workflow';
import type { AlertActivities, AlertWorkInput, StormWorkInput } from '../../activities/alerts/types.ts';
import { alertChangeSignal, retryTicketSignal, type AlertWork, type TicketOutcome } from '../contracts/alerts.ts';
import { CAPABILITY_OFF_FAILURE } from '../contracts/loops.ts';

// The first try runs in the worker, with no round trip through the server (a local activity): in a
// burst of alerts each ticket costs one workflow task. One attempt, kept short because it holds the
// workflow task; what fails or takes longer goes on as a regular activity. The work is idempotent
// either way (looked up by our reference before every write).
const firstTry = proxyLocalActivities<AlertActivities>({
  startToCloseTimeout: '20 seconds',
  retry: { maximumAttempts: 1 },
});

// A PSA or Acronis outage: retried without limit, spaced up to 5 minutes or as the vendor's
// Retry-After asks, so alerts raised during an outage of any length all become tickets after it.
// As a regular activity its attempts and the vendor's error show in the Web UI; it heartbeats,
// so a dead worker is noticed within 30 seconds.
const untilDone = proxyActivities<AlertActivities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

/** A failure that trying again cannot mend (the activity reports the PSA's refusals as outcomes, so this is "ticket sync off"). */
function isFinal(error: unknown): boolean {
  return error instanceof ActivityFailure && error.cause instanceof ApplicationFailure && error.cause.nonRetryable === true;
}

export function isCapabilityOff(error: unknown): boolean {
  return error instanceof ActivityFailure && error.cause instanceof ApplicationFailure && error.cause.type === CAPABILITY_OFF_FAILURE;
}

/** In the worker first, then as a retried activity until it is done. */
async function firstTryThenUntilDone<R>(first: () => Promise<R>, then: () => Promise<R>): Promise<R> {
  try {
    return await first();
  } catch (error) {
    if (isCancellation(error) || isFinal(error)) throw error;
    return then();
  }
}

export function handleAlertWork(summary: string, input: AlertWorkInput): Promise<TicketOutcome> {
  return firstTryThenUntilDone(
    () => firstTry.handleAlertWork.executeWithOptions({ summary }, [input]),
    () => untilDone.handleAlertWork.executeWithOptions({ summary: `${summary} (retrying)` }, [input]),
  );
}

export function noteStormAlert(summary: string, input: StormWorkInput): Promise<TicketOutcome> {
  return firstTryThenUntilDone(
    () => firstTry.noteStormAlert.executeWithOptions({ summary }, [input]),
    () => untilDone.noteStormAlert.executeWithOptions({ summary: `${summary} (retrying)` }, [input]),
  );
}

/** An alert workflow's work, in the order it is signalled: alert changes, and tries again at a refused ticket. */
export function receiveAlertWork(pending: readonly AlertWork[] | undefined): { queue: AlertWork[]; signalsThisRun: () => number } {
  const queue = [...(pending ?? [])];
  let signals = 0;
  setHandler(alertChangeSignal, (change) => {
    signals++;
    queue.push({ kind: 'change', change });
  });
  setHandler(retryTicketSignal, () => {
    signals++;
    queue.push({ kind: 'retry' });
  });
  return { queue, signalsThisRun: () => signals };
}
