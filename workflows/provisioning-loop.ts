import { ActivityFailure, allHandlersFinished, ApplicationFailure, condition, continueAsNew, log, proxyActivities, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import type { ProvisioningActivities } from '../activities/provisioning-types.ts';
import { provisioningLoopStateQuery, syncNowSignal, type ProvisioningLoopInput, type ProvisioningLoopState } from './messages.ts';

/** SPEC F3.6: agreement changes reach quotas within this interval (or at once on "sync now"). */
const PASS_INTERVAL_MS = 15 * 60 * 1000;
const DEFAULT_SIGNALS_PER_RUN = 1_000;

// One pass reads every company of the PSA: long, so it heartbeats; an outage only delays it.
const { discoverCustomers } = proxyActivities<ProvisioningActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes' },
  summary: 'discover PSA companies and their agreements',
});

/**
 * `partner/<p>/provisioning`: every 15 minutes and on "sync now", one discovery pass that keeps a
 * customer workflow for each mapped company and pokes those whose agreement changed. Ends when
 * provisioning is switched off or the partner removed; the supervisor starts it again.
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
  let passDue = !input.carried || (input.forcePending ?? false);
  let force = input.forcePending ?? false;
  let signalsThisRun = 0;

  setHandler(syncNowSignal, () => {
    signalsThisRun++;
    passDue = true;
    force = true;
  });
  setHandler(provisioningLoopStateQuery, () => state);

  const describe = (): void => {
    const last = state.lastPass;
    setCurrentDetails(
      [
        `**${state.stopReason ? 'stopped' : 'running'}** · ${state.passes} passes`,
        last ? `Last pass ${state.lastPassAt}: ${last.companies} companies, ${last.mapped} mapped (${last.newlyMapped} new), ${last.signalled} customers synced` : 'No pass yet',
        state.lastError ? `Last error: ${state.lastError}` : '',
        state.nextPassAt ? `Next pass ${state.nextPassAt}` : '',
      ].filter(Boolean).join('\n\n'),
    );
  };

  for (;;) {
    if (passDue) {
      passDue = false;
      const forced = force;
      force = false;
      try {
        const outcome = await discoverCustomers({ partnerId: state.partnerId, force: forced });
        if (outcome.status === 'off') {
          state.stopReason = outcome.reason;
          state.nextPassAt = null;
          describe();
          log.info('provisioning loop stopped', { partnerId: state.partnerId, reason: outcome.reason });
          return state;
        }
        state.passes++;
        state.lastPass = outcome.summary;
        state.lastPassAt = new Date().toISOString();
        state.lastError = null;
      } catch (error) {
        // Credentials refused and the like: shown on the loop, tried again at the next pass.
        if (!(error instanceof ActivityFailure && error.cause instanceof ApplicationFailure)) throw error;
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
        signalsPerRun: input.signalsPerRun,
      });
    }
    state.nextPassAt = new Date(Date.now() + PASS_INTERVAL_MS).toISOString();
    describe();
    const woken = await condition(() => passDue || signalsThisRun >= signalsPerRun, PASS_INTERVAL_MS, { summary: 'wait for "sync now" or the next pass' });
    if (!woken) passDue = true;
  }
}
