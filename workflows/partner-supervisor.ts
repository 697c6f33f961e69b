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
import { CAPABILITY_LOOPS, configurationChangedSignal, LOOP_CAPABILITIES, type CapabilityName } from './contracts/loops.ts';
import {
  PARTNER_NOT_FOUND_FAILURE,
  partnerRemovedSignal,
  supervisorStateQuery,
  type PartnerProfile,
  type PartnerSupervisorInput,
  type PartnerSupervisorResult,
  type PartnerSupervisorState,
} from './contracts/partner.ts';

/** The profile is re-read this often even without a signal, so a lost signal costs at most this delay. */
const RECONCILE_INTERVAL_MS = 60 * 60 * 1000;
/** continueAsNewSuggested ignores signal counts (server cap: 10,000 per run); roll over well before. */
const DEFAULT_SIGNALS_PER_RUN = 1_000;
/**
 * Supervisors recorded before the loop registry started the provisioning loop alone and ended
 * without ending anything. Retire (deprecatePatch, then remove the old branch) once no supervisor
 * recorded before it runs: see "Changing a workflow" in the README.
 */
const LOOP_REGISTRY_PATCH = 'capability-loop-registry';

// Reading PostgreSQL: a database outage of any length only delays the supervisor (SPEC F9.1), so
// attempts are unlimited; the activity itself gives up on a partner row that never appears.
const { loadPartnerProfile } = proxyActivities<PartnerProfileActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
  summary: 'load partner profile from PostgreSQL',
});

// Temporal calls only: an outage only delays the loops. Ending a capability waits for its workflows
// to close (terminating stragglers after 15 s), so it heartbeats.
const loopControl = proxyActivities<PartnerLoopActivities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/** Whether this run knows the capability's loop: one added later is started only past its patch marker. */
function loopExistsFor(capability: CapabilityName): boolean {
  const patch = CAPABILITY_LOOPS[capability]?.patch;
  return patch === undefined || patched(patch);
}

function isPartnerNotFound(error: unknown): boolean {
  return error instanceof ActivityFailure && error.cause instanceof ApplicationFailure && error.cause.type === PARTNER_NOT_FOUND_FAILURE;
}

function currentDetailsMarkdown(state: PartnerSupervisorState): string {
  const profile = state.profile;
  if (!profile) return `**${state.phase}**`;
  const on = Object.entries(profile.capabilities).filter(([, enabled]) => enabled).map(([name]) => name);
  return [
    `**${state.phase}**${profile.name ? ` · ${profile.name}` : ''} · PSA: ${profile.psaKind}${profile.rmmKind ? ` · RMM: ${profile.rmmKind}` : ''}`,
    `Capabilities on: ${on.length ? on.join(', ') : 'none'}`,
    state.loopsOn ? `Loops running: ${state.loopsOn.length ? state.loopsOn.join(', ') : 'none'}` : '',
    `Settings version ${profile.settingsVersion}, loaded ${state.profileLoadedAt}`,
  ].filter(Boolean).join('\n\n');
}

/**
 * `partner/<id>`: lives as long as the partner. Keeps the partner's profile current (settings
 * signals plus an hourly check), runs one loop per capability that is on (the registry in
 * contracts/loops.ts), tells the running loops when the configuration changed, ends a capability's
 * loop and everything it started when the capability is switched off, and ends every workflow of
 * the partner, then itself, when the partner is removed.
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
    loopsOn: [],
    forwardedSettingsVersion: null,
  };
  const signalsPerRun = input.signalsPerRun ?? DEFAULT_SIGNALS_PER_RUN;
  const reconcileIntervalMs = input.reconcileIntervalMs ?? RECONCILE_INTERVAL_MS;
  let reloadDue = true;
  let forwardDue = input.forwardPending ?? false;
  let removalRequested = false;
  let signalsThisRun = 0;

  setHandler(configurationChangedSignal, () => {
    signalsThisRun++;
    reloadDue = true;
    forwardDue = true;
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

  /** Removal ends every workflow of the partner first: no loop or customer of a removed partner runs on. */
  const removed = async (reason: string): Promise<PartnerSupervisorResult> => {
    if (patched(LOOP_REGISTRY_PATCH)) {
      state.phase = 'stopping';
      setCurrentDetails(`**stopping**: ${reason}; ending the partner's workflows`);
      await loopControl.endPartnerWorkflows.executeWithOptions({ summary: "end every workflow of the removed partner" }, [{ partnerId: state.partnerId }]);
      state.loopsOn = [];
    }
    return stop(reason);
  };

  const apply = (profile: PartnerProfile): void => {
    state.profile = profile;
    state.profileLoadedAt = new Date().toISOString();
    state.profileLoads++;
    state.phase = 'running';
  };

  const reconcileLoops = async (profile: PartnerProfile): Promise<void> => {
    const run = LOOP_CAPABILITIES.filter((capability) => profile.capabilities[capability] && loopExistsFor(capability));
    // Carried from a run before the registry, which did not record its loops: end whatever is off.
    const wasOn: CapabilityName[] = (state.loopsOn as CapabilityName[] | undefined) ?? LOOP_CAPABILITIES;
    const end = wasOn.filter((capability) => !run.includes(capability));
    const configurationChanged = forwardDue || (state.forwardedSettingsVersion != null && state.forwardedSettingsVersion !== profile.settingsVersion);
    forwardDue = false;
    if (run.length > 0 || end.length > 0) {
      const summary = [run.length ? `run ${run.join(', ')}` : '', end.length ? `end ${end.join(', ')}` : ''].filter(Boolean).join('; ');
      await loopControl.reconcileLoops.executeWithOptions({ summary }, [
        { owner: { partnerId: state.partnerId, partnerName: profile.name, psaKind: profile.psaKind }, run, end, configurationChanged },
      ]);
    }
    state.loopsOn = run;
    state.forwardedSettingsVersion = profile.settingsVersion;
  };

  for (;;) {
    if (removalRequested) return removed('partner removed');
    if (reloadDue) {
      reloadDue = false;
      try {
        const load = await loadPartnerProfile(state.partnerId);
        if (load.status === 'removed') return removed('partner removed');
        apply(load.profile);
        // Every load, not only on a change: a loop that ended (or was ended by hand) comes back.
        if (patched(LOOP_REGISTRY_PATCH)) await reconcileLoops(load.profile);
        else if (load.profile.capabilities.provisioning && patched('start-provisioning-loop')) await loopControl.ensureProvisioningLoop({ partnerId: state.partnerId, psaKind: load.profile.psaKind });
        setCurrentDetails(currentDetailsMarkdown(state));
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
        reconcileIntervalMs: input.reconcileIntervalMs,
        forwardPending: forwardDue,
      });
    }
    const woken = await condition(() => removalRequested || reloadDue || signalsThisRun >= signalsPerRun, reconcileIntervalMs, {
      summary: 'wait for a configuration change or the hourly check',
    });
    if (!woken) reloadDue = true;
  }
}
