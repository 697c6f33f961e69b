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
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { AgentActivities } from '../../activities/agents/types.ts';
import { agentsLoopStateQuery, type AgentsLoopInput, type AgentsLoopState } from '../contracts/agents.ts';
import { CAPABILITY_OFF_FAILURE, configurationChangedSignal, syncNowSignal } from '../contracts/loops.ts';
import { LONG_ACTIVITY_TASK_QUEUE } from '../contracts/task-queues.ts';

/** SPEC F6.4: the scan runs every 6 minutes (and at once on "sync now" or a policy change). */
const SCAN_INTERVAL_MS = 6 * 60 * 1000;
const DEFAULT_SIGNALS_PER_RUN = 1_000;

// A scan reads every computer of the clients with a policy and their tenants' agents: up to
// minutes on a large RMM, so it runs on the long-activity queue and heartbeats; an Automate or
// Acronis outage only delays it.
const { scanAgents } = proxyActivities<AgentActivities>({
  taskQueue: LONG_ACTIVITY_TASK_QUEUE,
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes' },
  summary: 'scan computers: auto-deploy agents, apply default plans',
});

/**
 * `partner/<p>/agents`: every 6 minutes, on "sync now" and when policies or settings changed, one
 * scan: computers without an agent in clients and locations that deploy automatically go into a
 * deployment; computers with an agent but no plan get the default plan. Ends when cancelled (agent
 * management switched off, partner removed) or when a scan finds it should not run.
 */
export async function agentsLoop(input: AgentsLoopInput): Promise<AgentsLoopState> {
  const state: AgentsLoopState = input.carried ?? {
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
  let passDue = !input.carried || (input.passPending ?? false);
  let signalsThisRun = 0;

  const due = () => {
    signalsThisRun++;
    passDue = true;
  };
  setHandler(syncNowSignal, due);
  setHandler(configurationChangedSignal, due);
  setHandler(agentsLoopStateQuery, () => state);

  const describe = (): void => {
    const last = state.lastPass;
    setCurrentDetails(
      [
        `**${state.stopReason ? 'stopped' : 'running'}** · ${state.passes} scans`,
        last
          ? `Last scan ${state.lastPassAt}: ${last.policies} policies, ${last.computers} computers, ${last.queued} queued for install${last.deploymentId ? ` (deployment ${last.deploymentId})` : ''}, default plan applied to ${last.plansApplied}, ${last.skipped} policies with problems`
          : 'No scan yet',
        state.lastError ? `Last error: ${state.lastError}` : '',
        state.stopReason ? `Stopped: ${state.stopReason}` : '',
        state.nextPassAt ? `Next scan ${state.nextPassAt}` : '',
      ].filter(Boolean).join('\n\n'),
    );
  };
  const stop = (reason: string): AgentsLoopState => {
    state.stopReason = reason;
    state.nextPassAt = null;
    describe();
    log.info('agents loop stopped', { partnerId: state.partnerId, reason });
    return state;
  };

  try {
    for (;;) {
      if (passDue) {
        passDue = false;
        try {
          const outcome = await scanAgents({ partnerId: state.partnerId, passId: uuid4() });
          if (outcome.status === 'off') return stop(outcome.reason);
          state.passes++;
          state.lastPass = outcome.summary;
          state.lastPassAt = new Date().toISOString();
          state.lastError = null;
        } catch (error) {
          // No RMM, credentials refused and the like: shown on the loop, tried again at the next scan.
          if (!(error instanceof ActivityFailure && error.cause instanceof ApplicationFailure)) throw error;
          if (error.cause.type === CAPABILITY_OFF_FAILURE) return stop(error.cause.message);
          state.lastError = error.cause.message;
          log.warn('agents scan failed', { partnerId: state.partnerId, error: error.cause.message });
        }
      }
      if (workflowInfo().continueAsNewSuggested || signalsThisRun >= signalsPerRun) {
        await condition(allHandlersFinished);
        return continueAsNew<typeof agentsLoop>({
          v: 1,
          partnerId: state.partnerId,
          carried: { ...state, previousRuns: state.previousRuns + 1 },
          passPending: passDue,
          signalsPerRun: input.signalsPerRun,
        });
      }
      state.nextPassAt = new Date(Date.now() + SCAN_INTERVAL_MS).toISOString();
      describe();
      const woken = await condition(() => passDue || signalsThisRun >= signalsPerRun, SCAN_INTERVAL_MS, { summary: 'wait for "sync now" or the next scan' });
      if (!woken) passDue = true;
    }
  } catch (error) {
    if (isCancellation(error)) return stop('agent management was switched off or the partner removed');
    throw error;
  }
}
