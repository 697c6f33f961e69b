import { allHandlersFinished, condition, continueAsNew, isCancellation, log, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import { alertStormStateQuery, type AlertStormInput, type AlertStormState } from '../contracts/alerts.ts';
import { isCapabilityOff, noteStormAlert, receiveAlertWork } from './ticket-work.ts';

/** After its window, the digest takes late changes this long before it ends; later ones start it again. */
const LINGER_MS = 60 * 60 * 1000;
const DEFAULT_SIGNALS_PER_RUN = 1_000;

function describe(state: AlertStormState): string {
  return [
    `**${state.ticket ? `digest ticket ${state.ticket.number}` : 'no digest ticket yet'}** · ${state.noted} alert changes noted`,
    `PSA company ${state.psaCompanyId} · storm window ${state.startedAt} – ${state.endsAt}`,
    state.reason ? `Reason: ${state.reason}` : '',
  ].filter(Boolean).join('\n\n');
}

/**
 * `partner/<p>/alert/<company>/storm-<start>`: the storm guard's digest (SPEC F5.9). Past
 * `tickets.storm.maxAlerts` new tickets of one customer within the window, each further alert of
 * the window is a note here rather than a ticket of its own. One at a time, like a lifecycle, so
 * the digest ticket is made once.
 */
export async function alertStorm(input: AlertStormInput): Promise<AlertStormState> {
  const endsAtMs = input.startedAtMs + input.windowMinutes * 60_000;
  const state: AlertStormState = input.carried ?? {
    partnerId: input.partnerId,
    psaCompanyId: input.psaCompanyId,
    startedAt: new Date(input.startedAtMs).toISOString(),
    endsAt: new Date(endsAtMs).toISOString(),
    ticket: null,
    noted: 0,
    reason: null,
    seen: {},
    previousRuns: 0,
  };
  const signalsPerRun = input.signalsPerRun ?? DEFAULT_SIGNALS_PER_RUN;
  const { queue, signalsThisRun } = receiveAlertWork(input.pending);
  setHandler(alertStormStateQuery, () => state);

  const finish = (reason: string | null): AlertStormState => {
    if (reason) state.reason = reason;
    setCurrentDetails(describe(state));
    log.info('alert storm digest ended', { partnerId: state.partnerId, psaCompanyId: state.psaCompanyId, noted: state.noted });
    return state;
  };

  try {
    for (;;) {
      const work = queue.shift();
      if (work) {
        if (work.kind === 'change') {
          const seen = state.seen[`${work.change.alertId}/${work.change.updatedNs}`];
          if (seen) continue;
          state.seen[`${work.change.alertId}/${work.change.updatedNs}`] = true;
        }
        try {
          const outcome = await noteStormAlert('note the alert on the storm digest ticket', {
            partnerId: state.partnerId,
            psaCompanyId: state.psaCompanyId,
            startedAtMs: input.startedAtMs,
            windowMinutes: input.windowMinutes,
            work,
          });
          state.ticket = outcome.ticket ?? state.ticket;
          state.reason = outcome.reason;
          if (outcome.action === 'noted') state.noted++;
        } catch (error) {
          if (isCapabilityOff(error)) return finish('ticket sync was switched off or the partner removed');
          throw error;
        }
        setCurrentDetails(describe(state));
        continue;
      }
      if (workflowInfo().continueAsNewSuggested || signalsThisRun() >= signalsPerRun) {
        await condition(allHandlersFinished);
        return continueAsNew<typeof alertStorm>({ ...input, carried: { ...state, seen: {}, previousRuns: state.previousRuns + 1 }, pending: queue });
      }
      setCurrentDetails(describe(state));
      const waitMs = Math.max(endsAtMs - Date.now(), 0) + LINGER_MS;
      const woken = await condition(() => queue.length > 0 || signalsThisRun() >= signalsPerRun, waitMs, { summary: `wait for more alerts of the storm (window ends ${state.endsAt})` });
      if (!woken) return finish(null);
    }
  } catch (error) {
    if (isCancellation(error)) return finish('ticket sync was switched off or the partner removed');
    throw error;
  }
}
