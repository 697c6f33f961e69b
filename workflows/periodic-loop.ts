import { ActivityFailure, allHandlersFinished, ApplicationFailure, condition, isCancellation, log, setCurrentDetails, setHandler, workflowInfo, type QueryDefinition } from '@temporalio/workflow';
import { CAPABILITY_OFF_FAILURE, configurationChangedSignal, syncNowSignal } from './contracts/loops.ts';
import type { PeriodicLoopInput, PeriodicLoopState, PeriodicPassOutcome } from './contracts/periodic-loop.ts';

const DEFAULT_SIGNALS_PER_RUN = 1_000;

export interface PeriodicLoop<Summary> {
  input: PeriodicLoopInput<Summary>;
  stateQuery: QueryDefinition<PeriodicLoopState<Summary>>;
  intervalMs: number;
  /** What one pass is called in the Web UI, and many: `pass`/`passes`, `scan`/`scans`. */
  noun: { one: string; many: string };
  /** One pass; `forced` after "sync now" (everything is looked at again, not only what changed). */
  pass(partnerId: string, forced: boolean): Promise<PeriodicPassOutcome<Summary>>;
  /** The last pass in the Web UI's details: `Last pass <at>: 12 companies, ...`. */
  lastPassLine(state: PeriodicLoopState<Summary>, last: Summary): string;
  /** Why the run ended when the supervisor cancelled it. */
  cancelledBecause: string;
  continueAsNew(next: PeriodicLoopInput<Summary>): Promise<never>;
}

/**
 * The shape every periodic capability loop shares: a pass at start, every interval, on "sync now"
 * (forced) and on a configuration change; a failure retrying cannot fix is shown and tried again at
 * the next pass; the loop ends when a pass finds its capability off (or fails as `CapabilityOff`) or
 * when the supervisor cancels it; it continues as new on the server's suggestion or after its signal
 * budget, carrying its state and what was due.
 */
export async function runPeriodicLoop<Summary>(loop: PeriodicLoop<Summary>): Promise<PeriodicLoopState<Summary>> {
  const { input } = loop;
  const state: PeriodicLoopState<Summary> = input.carried ?? {
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
  // Automatic mode switched on, a new policy or mapping: a pass now rather than at the interval.
  setHandler(configurationChangedSignal, () => {
    signalsThisRun++;
    passDue = true;
  });
  setHandler(loop.stateQuery, () => state);

  const describe = (): void => {
    const last = state.lastPass;
    setCurrentDetails(
      [
        `**${state.stopReason ? 'stopped' : 'running'}** · ${state.passes} ${loop.noun.many}`,
        last ? loop.lastPassLine(state, last) : `No ${loop.noun.one} yet`,
        state.lastError ? `Last error: ${state.lastError}` : '',
        state.stopReason ? `Stopped: ${state.stopReason}` : '',
        state.nextPassAt ? `Next ${loop.noun.one} ${state.nextPassAt}` : '',
      ].filter(Boolean).join('\n\n'),
    );
  };
  const stop = (reason: string): PeriodicLoopState<Summary> => {
    state.stopReason = reason;
    state.nextPassAt = null;
    describe();
    log.info(`${workflowInfo().workflowType} stopped`, { partnerId: state.partnerId, reason });
    return state;
  };

  try {
    for (;;) {
      if (passDue) {
        passDue = false;
        const forced = force;
        force = false;
        try {
          const outcome = await loop.pass(state.partnerId, forced);
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
          log.warn(`${loop.noun.one} failed`, { partnerId: state.partnerId, error: error.cause.message });
        }
      }
      if (workflowInfo().continueAsNewSuggested || signalsThisRun >= signalsPerRun) {
        await condition(allHandlersFinished);
        return loop.continueAsNew({
          v: 1,
          partnerId: state.partnerId,
          carried: { ...state, previousRuns: state.previousRuns + 1 },
          forcePending: passDue && force,
          passPending: passDue,
          signalsPerRun: input.signalsPerRun,
        });
      }
      state.nextPassAt = new Date(Date.now() + loop.intervalMs).toISOString();
      describe();
      const woken = await condition(() => passDue || signalsThisRun >= signalsPerRun, loop.intervalMs, { summary: `wait for "sync now" or the next ${loop.noun.one}` });
      if (!woken) passDue = true;
    }
  } catch (error) {
    if (isCancellation(error)) return stop(loop.cancelledBecause);
    throw error;
  }
}
