import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  isCancellation,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { ProvisioningActivities } from '../../activities/provisioning/types.ts';
import { CAPABILITY_OFF_FAILURE, configurationChangedSignal, syncNowSignal } from '../contracts/loops.ts';
import { DISCOVERY_PASS_INTERVAL_MS, provisioningLoopStateQuery, type DiscoverySummary, type ProvisioningLoopInput, type ProvisioningLoopState } from '../contracts/provisioning.ts';
import { LONG_ACTIVITY_TASK_QUEUE } from '../contracts/task-queues.ts';

const DEFAULT_SIGNALS_PER_RUN = 1_000;

// A full pass reads every company's agreements: minutes on a large PSA, so it runs on the
// long-activity queue and heartbeats (every few seconds, also while a page is slow); an outage only delays it.
const { discoverCustomers } = proxyActivities<ProvisioningActivities>({
  taskQueue: LONG_ACTIVITY_TASK_QUEUE,
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes' },
  summary: 'discover PSA companies and their agreements',
});

/** ` (incremental, 3 companies read)`; nothing for passes recorded before passes had a kind. */
function passKind(summary: DiscoverySummary): string {
  return summary.kind ? ` (${summary.kind}, ${summary.linesRead ?? 0} companies read)` : '';
}

/**
 * `partner/<p>/provisioning`: every 15 minutes, on "sync now" and when the configuration changed,
 * one discovery pass that keeps a customer workflow for each mapped company and pokes those whose
 * agreement changed. Ends when cancelled (the supervisor, when provisioning is switched off or the
 * partner removed) or when a pass finds it should not run; the supervisor starts it again.
 */
export async function provisioningLoop(input: ProvisioningLoopInput): Promise<ProvisioningLoopState> {
  const state: ProvisioningLoopState = input.carried ?? {
    partnerId: input.partnerId,
    passes: 0,
    lastPassAt: null,
    lastPass: null,
    nextPassAt: null,
    lastError: null,
    previousRuns: 0,
    stopReason: null,
  };
  const signalsPerRun = input.signalsPerRun ?? DEFAULT_SIGNALS_PER_RUN;
  let passDue = !input.carried || (input.forcePending ?? false) || (input.passPending ?? false);
  let force = input.forcePending ?? false;
  let signalsThisRun = 0;

  setHandler(syncNowSignal, () => {
    signalsThisRun++;
    passDue = true;
    force = true;
  });
  // Automatic mode switched on, new product mappings: a pass now rather than within 15 minutes.
  setHandler(configurationChangedSignal, () => {
    signalsThisRun++;
    passDue = true;
  });
  setHandler(provisioningLoopStateQuery, () => state);

  const describe = (): void => {
    const last = state.lastPass;
    setCurrentDetails(
      [
        `**${state.stopReason ? 'stopped' : 'running'}** · ${state.passes} passes`,
        last ? `Last pass ${state.lastPassAt}${passKind(last)}: ${last.companies} companies, ${last.mapped} mapped (${last.newlyMapped} new), ${last.signalled} customers synced` : 'No pass yet',
        state.lastError ? `Last error: ${state.lastError}` : '',
        state.stopReason ? `Stopped: ${state.stopReason}` : '',
        state.nextPassAt ? `Next pass ${state.nextPassAt}` : '',
      ].filter(Boolean).join('\n\n'),
    );
  };
  const stop = (reason: string): ProvisioningLoopState => {
    state.stopReason = reason;
    state.nextPassAt = null;
    describe();
    log.info('provisioning loop stopped', { partnerId: state.partnerId, reason });
    return state;
  };

  try {
    for (;;) {
      if (passDue) {
        passDue = false;
        const forced = force;
        force = false;
        try {
          const outcome = await discoverCustomers({ partnerId: state.partnerId, force: forced });
          if (outcome.status === 'off') return stop(outcome.reason);
          state.passes++;
          state.lastPass = outcome.summary;
          state.lastPassAt = new Date().toISOString();
          state.lastError = null;
        } catch (error) {
          // Credentials refused and the like: shown on the loop, tried again at the next pass.
          if (!(error instanceof ActivityFailure && error.cause instanceof ApplicationFailure)) throw error;
          if (error.cause.type === CAPABILITY_OFF_FAILURE) return stop(error.cause.message);
          state.lastError = error.cause.message;
          log.warn('discovery pass failed', { partnerId: state.partnerId, error: error.cause.message });
        }
      }
      if (workflowInfo().continueAsNewSuggested || signalsThisRun >= signalsPerRun) {
        await condition(allHandlersFinished);
        return continueAsNew<typeof provisioningLoop>({
          v: 1,
          partnerId: state.partnerId,
          carried: { ...state, previousRuns: state.previousRuns + 1 },
          forcePending: passDue && force,
          passPending: passDue,
          signalsPerRun: input.signalsPerRun,
        });
      }
      state.nextPassAt = new Date(Date.now() + DISCOVERY_PASS_INTERVAL_MS).toISOString();
      describe();
      const woken = await condition(() => passDue || signalsThisRun >= signalsPerRun, DISCOVERY_PASS_INTERVAL_MS, { summary: 'wait for "sync now" or the next pass' });
      if (!woken) passDue = true;
    }
  } catch (error) {
    if (isCancellation(error)) return stop('provisioning was switched off or the partner removed');
    throw error;
  }
}
