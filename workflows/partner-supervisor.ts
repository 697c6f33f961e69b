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
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { PartnerHealthActivities } from '../activities/partner-health.ts';
import type { PartnerLoopActivities } from '../activities/partner-loops.ts';
import type { PartnerProfileActivities } from '../activities/partner-profile.ts';
import { configurationChangedSignal, LOOP_CAPABILITIES, LOOP_SYSTEMS, loopReportSignal, type CapabilityName } from './contracts/loops.ts';
import {
  credentialsRejectedSignal,
  PARTNER_NOT_FOUND_FAILURE,
  partnerRemovedSignal,
  supervisorStateQuery,
  type PartnerProfile,
  type PartnerSupervisorInput,
  type PartnerSupervisorResult,
  type PartnerSupervisorState,
} from './contracts/partner.ts';
import { PartnerHealthAttribute } from './search-attributes.ts';

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
/**
 * Loops paused while a system refuses the partner's credentials, the PartnerHealth search
 * attribute and the hourly probe of the refused credentials. Only a supervisor whose partner's
 * credentials were refused reaches it, so histories of partners that never had one replay as before.
 */
const CREDENTIALS_PAUSE_PATCH = 'pause-loops-on-rejected-credentials';

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

// One authenticated call per refused system, hourly while paused: credentials fixed at the vendor
// (an API client enabled again) resume the loops without a change through the API. A probe that
// cannot run is simply tried at the next hourly check.
const { probeRejectedCredentials } = proxyActivities<PartnerHealthActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '10 seconds', maximumAttempts: 2 },
  summary: 'probe the refused credentials once',
});

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
    profile.credentialsRejected?.length
      ? `**credentials-rejected** by ${profile.credentialsRejected.join(', ')}; paused: ${state.loopsPaused?.length ? state.loopsPaused.join(', ') : 'none'} (they resume once the credentials are changed with PATCH /v1/partners/{id})`
      : '',
    ...Object.entries(state.loopReports ?? {}).map(([capability, report]) => (report ? `${capability}: ${report.text}` : '')),
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
  setHandler(credentialsRejectedSignal, () => {
    signalsThisRun++;
    reloadDue = true;
  });
  setHandler(partnerRemovedSignal, () => {
    signalsThisRun++;
    removalRequested = true;
  });
  setHandler(supervisorStateQuery, () => state);
  // Not a command: shown in the current details only, so older histories replay unchanged.
  setHandler(loopReportSignal, (report) => {
    signalsThisRun++;
    state.loopReports = { ...state.loopReports, [report.capability]: { at: report.at, text: report.text } };
    if (state.profile) setCurrentDetails(currentDetailsMarkdown(state));
  });

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
    const wanted = LOOP_CAPABILITIES.filter((capability) => profile.capabilities[capability]);
    const rejected = profile.credentialsRejected ?? [];
    const wasPaused = (state.loopsPaused ?? []) as CapabilityName[];
    const healthAware = (rejected.length > 0 || wasPaused.length > 0 || (state.health ?? 'ok') !== 'ok') && patched(CREDENTIALS_PAUSE_PATCH);
    // A loop that needs a system refusing the credentials pauses; the rest run.
    const blocked = healthAware ? wanted.filter((capability) => LOOP_SYSTEMS[capability].some((system) => rejected.includes(system))) : [];
    const run = wanted.filter((capability) => !blocked.includes(capability));
    // Carried from a run before the registry, which did not record its loops: end whatever is off.
    const wasOn: CapabilityName[] = (state.loopsOn as CapabilityName[] | undefined) ?? LOOP_CAPABILITIES;
    const end = [...wasOn, ...wasPaused].filter((capability) => !wanted.includes(capability));
    // Every blocked loop, also one started meanwhile from outside (by hand in the Web UI): ending an ended one costs nothing.
    const pause = blocked;
    const resume = run.filter((capability) => wasPaused.includes(capability));
    const configurationChanged = forwardDue || (state.forwardedSettingsVersion != null && state.forwardedSettingsVersion !== profile.settingsVersion);
    forwardDue = false;
    if (run.length > 0 || end.length > 0 || pause.length > 0) {
      const summary = [run.length ? `run ${run.join(', ')}` : '', end.length ? `end ${end.join(', ')}` : '', pause.length ? `pause ${pause.join(', ')}` : ''].filter(Boolean).join('; ');
      await loopControl.reconcileLoops.executeWithOptions({ summary }, [
        { owner: { partnerId: state.partnerId, partnerName: profile.name, psaKind: profile.psaKind }, run, end, configurationChanged, ...(pause.length > 0 && { pause }), ...(resume.length > 0 && { resume }) },
      ]);
    }
    state.loopsOn = run;
    state.forwardedSettingsVersion = profile.settingsVersion;
    if (!healthAware) return;
    state.loopsPaused = blocked;
    const health = rejected.length > 0 ? 'credentials-rejected' : 'ok';
    if (health !== (state.health ?? 'ok')) upsertSearchAttributes([{ key: PartnerHealthAttribute, value: health }]);
    state.health = health;
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
    if (woken) continue;
    reloadDue = true;
    if (state.profile?.credentialsRejected?.length && patched(CREDENTIALS_PAUSE_PATCH)) {
      try {
        await probeRejectedCredentials({ partnerId: state.partnerId });
      } catch (error) {
        if (!(error instanceof ActivityFailure)) throw error;
        log.warn('could not probe the refused credentials; trying again at the next check', { partnerId: state.partnerId });
      }
    }
  }
}
