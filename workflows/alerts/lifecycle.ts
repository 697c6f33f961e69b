import { allHandlersFinished, condition, continueAsNew, isCancellation, log, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import {
  alertLifecycleStateQuery,
  type AlertLifecycleInput,
  type AlertLifecycleResult,
  type AlertLifecycleState,
  type AlertWork,
  type TicketOutcome,
} from '../contracts/alerts.ts';
import { handleAlertWork, isCapabilityOff, receiveAlertWork } from './ticket-work.ts';

/**
 * With nothing to do for this long, the lifecycle ends: its ticket and state stay in PostgreSQL
 * (ticket_links), and the next change of the identity starts it again. So thousands of alerts
 * leave no thousands of idle workflows behind.
 */
const IDLE_WINDOW_MS = 24 * 60 * 60 * 1000;
const DEFAULT_SIGNALS_PER_RUN = 1_000;
/** Alerts whose last change the run remembers (an identity may see many alert ids); PostgreSQL has the rest. */
const SEEN_ALERTS = 50;

function describe(state: AlertLifecycleState): string {
  const { identity, ticket } = state;
  return [
    `**${state.phase}**${ticket ? ` · ticket ${ticket.number}${ticket.generation > 1 ? ` (ticket ${ticket.generation} of this alert)` : ''}` : ''}`,
    `PSA company ${identity.psaCompanyId} · ${identity.alertType} · resource ${identity.resourceKey}`,
    state.lastAction ? `Last: ${state.lastAction}${state.lastChangeAt ? ` at ${state.lastChangeAt}` : ''} (${state.changes} alert changes in all)` : '',
    state.reason ? `Reason: ${state.reason}` : '',
  ].filter(Boolean).join('\n\n');
}

/**
 * `partner/<p>/alert/<company>/<type>/<resource>`: one alert identity's ticket (SPEC F5). Does the
 * work the feed hands it, one piece at a time, so one identity never races itself: the first
 * occurrence creates the ticket by the mapping; a repeat while open adds a note; a repeat while
 * closed reopens it, or opens a new one after `newTicketAfterDays`; the resolve closes it (auto-close).
 * Past the storm guard, the alert goes to the customer's digest ticket instead. A ticket the PSA
 * refuses is `failed` with the PSA's reason until the mappings change (`retryTicket`). Ends after
 * a day without work, when ticket sync is switched off, or with the partner.
 */
export async function alertLifecycle(input: AlertLifecycleInput): Promise<AlertLifecycleResult> {
  const state: AlertLifecycleState = input.carried ?? {
    partnerId: input.partnerId,
    identity: input.identity,
    phase: 'waiting',
    ticket: null,
    lastAction: null,
    reason: null,
    seen: {},
    changes: 0,
    lastChangeAt: null,
    previousRuns: 0,
  };
  const signalsPerRun = input.signalsPerRun ?? DEFAULT_SIGNALS_PER_RUN;
  const { queue, signalsThisRun } = receiveAlertWork(input.pending);
  setHandler(alertLifecycleStateQuery, () => state);

  /** A change not newer than one already handled for its alert (the feed may deliver twice). */
  const isRepeat = (work: AlertWork): boolean => {
    if (work.kind !== 'change') return false;
    const seen = state.seen[work.change.alertId];
    return seen !== undefined && BigInt(work.change.updatedNs) <= BigInt(seen);
  };

  const apply = (outcome: TicketOutcome): void => {
    state.phase = outcome.phase;
    state.ticket = outcome.ticket ?? state.ticket;
    state.lastAction = outcome.action;
    state.reason = outcome.reason;
  };

  const finish = (reason: string): AlertLifecycleResult => {
    if (reason !== 'idle') {
      state.phase = 'stopped';
      state.reason = reason;
    }
    setCurrentDetails(describe(state));
    log.info('alert lifecycle ended', { partnerId: state.partnerId, identity: state.identity, phase: state.phase, reason });
    return { phase: state.phase, ticket: state.ticket, reason: state.reason };
  };

  try {
    for (;;) {
      const work = queue.shift();
      if (work) {
        if (isRepeat(work)) continue;
        if (work.kind === 'change') {
          const { [work.change.alertId]: _previous, ...others } = state.seen;
          state.seen = Object.fromEntries([...Object.entries(others).slice(-(SEEN_ALERTS - 1)), [work.change.alertId, work.change.updatedNs]]);
          state.changes++;
          state.lastChangeAt = new Date().toISOString();
        }
        if (state.phase === 'waiting') state.phase = 'creating';
        const summary = work.kind === 'retry' ? 'try the refused ticket again' : work.change.resolved ? 'alert resolved: close or note the ticket' : 'alert occurred: create, note or reopen the ticket';
        try {
          apply(await handleAlertWork(summary, { partnerId: state.partnerId, identity: state.identity, work, atMs: Date.now() }));
        } catch (error) {
          if (isCapabilityOff(error)) return finish('ticket sync was switched off or the partner removed');
          throw error;
        }
        setCurrentDetails(describe(state));
        continue;
      }
      if (workflowInfo().continueAsNewSuggested || signalsThisRun() >= signalsPerRun) {
        await condition(allHandlersFinished);
        return continueAsNew<typeof alertLifecycle>({
          v: 1,
          partnerId: state.partnerId,
          identity: state.identity,
          carried: { ...state, previousRuns: state.previousRuns + 1 },
          pending: queue,
          signalsPerRun: input.signalsPerRun,
        });
      }
      setCurrentDetails(describe(state));
      const woken = await condition(() => queue.length > 0 || signalsThisRun() >= signalsPerRun, IDLE_WINDOW_MS, { summary: 'wait for the alert to occur again or resolve' });
      if (!woken) return finish('idle');
    }
  } catch (error) {
    if (isCancellation(error)) return finish('ticket sync was switched off or the partner removed');
    throw error;
  }
}
