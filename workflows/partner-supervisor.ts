import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { PartnerLoopActivities } from '../activities/partner-loops.ts';
import type { PartnerProfileActivities } from '../activities/partner-profile.ts';
import {
  configurationChangedSignal,
  PARTNER_NOT_FOUND_FAILURE,
  partnerRemovedSignal,
  supervisorStateQuery,
  type PartnerProfile,
  type PartnerSupervisorInput,
  type PartnerSupervisorResult,
  type PartnerSupervisorState,
} from './messages.ts';

/** The profile is re-read this often even without a signal, so a lost signal costs at most this delay. */
const RECONCILE_INTERVAL = '1 hour';
/** continueAsNewSuggested ignores signal counts (server cap: 10,000 per run); roll over well before. */
const DEFAULT_SIGNALS_PER_RUN = 1_000;

// Reading PostgreSQL: a database outage of any length only delays the supervisor (SPEC F9.1), so
// attempts are unlimited; the activity itself gives up on a partner row that never appears.
const { loadPartnerProfile } = proxyActivities<PartnerProfileActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
  summary: 'load partner profile from PostgreSQL',
});

// Starting a workflow: Temporal answers in milliseconds, and an outage only delays the loops.
const { ensureProvisioningLoop } = proxyActivities<PartnerLoopActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
  summary: 'start the provisioning loop unless it runs',
});

function isPartnerNotFound(error: unknown): boolean {
  return error instanceof ActivityFailure && error.cause instanceof ApplicationFailure && error.cause.type === PARTNER_NOT_FOUND_FAILURE;
}

function currentDetailsMarkdown(state: PartnerSupervisorState): string {
  const profile = state.profile;
  if (!profile) return `**${state.phase}**`;
  const on = Object.entries(profile.capabilities).filter(([, enabled]) => enabled).map(([name]) => name);
  return [
    `**${state.phase}** · PSA: ${profile.psaKind}${profile.rmmKind ? ` · RMM: ${profile.rmmKind}` : ''}`,
    `Capabilities on: ${on.length ? on.join(', ') : 'none'}`,
    `Settings version ${profile.settingsVersion}, loaded ${state.profileLoadedAt}`,
  ].join('\n\n');
}

/**
 * `partner/<id>`: lives as long as the partner. Keeps the partner's profile current (settings
 * signals plus an hourly check), starts the provisioning loop while that capability is on (the
 * loop ends itself when it is switched off), and ends when the partner is removed.
 */
export async function partnerSupervisor(input: PartnerSupervisorInput): Promise<PartnerSupervisorResult> {
  const state: PartnerSupervisorState = input.carried ?? {
    partnerId: input.partnerId,
    phase: 'starting',
    profile: null,
    profileLoadedAt: null,
    startedAt: new Date().toISOString(),
    profileLoads: 0,
    previousRuns: 0,
    stopReason: null,
  };
  const signalsPerRun = input.signalsPerRun ?? DEFAULT_SIGNALS_PER_RUN;
  let reloadDue = true;
  let removalRequested = false;
  let signalsThisRun = 0;

  setHandler(configurationChangedSignal, () => {
    signalsThisRun++;
    reloadDue = true;
  });
  setHandler(partnerRemovedSignal, () => {
    signalsThisRun++;
    removalRequested = true;
  });
  setHandler(supervisorStateQuery, () => state);

  const stop = (reason: string): PartnerSupervisorResult => {
    state.phase = 'stopped';
    state.stopReason = reason;
    setCurrentDetails(`**stopped**: ${reason}`);
    log.info('partner supervisor stopped', { partnerId: state.partnerId, reason });
    return { partnerId: state.partnerId, stopReason: reason };
  };

  const apply = (profile: PartnerProfile): void => {
    state.profile = profile;
    state.profileLoadedAt = new Date().toISOString();
    state.profileLoads++;
    state.phase = 'running';
    setCurrentDetails(currentDetailsMarkdown(state));
  };

  for (;;) {
    if (removalRequested) return stop('partner removed');
    if (reloadDue) {
      reloadDue = false;
      try {
        const load = await loadPartnerProfile(state.partnerId);
        if (load.status === 'removed') return stop('partner removed');
        apply(load.profile);
        // Every load, not only on a change: a loop that ended (switched off and on again) comes back.
        // Supervisors recorded before the loop existed replay without this step.
        if (load.profile.capabilities.provisioning && patched('start-provisioning-loop')) await ensureProvisioningLoop({ partnerId: state.partnerId, psaKind: load.profile.psaKind });
      } catch (error) {
        if (isPartnerNotFound(error)) return stop('partner not found in the database');
        throw error;
      }
    }
    if (workflowInfo().continueAsNewSuggested || signalsThisRun >= signalsPerRun) {
      await condition(allHandlersFinished);
      return continueAsNew<typeof partnerSupervisor>({
        v: 1,
        partnerId: state.partnerId,
        carried: { ...state, previousRuns: state.previousRuns + 1 },
        signalsPerRun: input.signalsPerRun,
      });
    }
    const woken = await condition(() => removalRequested || reloadDue || signalsThisRun >= signalsPerRun, RECONCILE_INTERVAL, {
      summary: 'wait for a configuration change or the hourly check',
    });
    if (!woken) reloadDue = true;
  }
}
