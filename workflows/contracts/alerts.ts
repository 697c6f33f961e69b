import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { AlertIdentity } from '../../domain/alert-tickets.ts';

// Alert → ticket sync (SPEC F5): the feed loop, one lifecycle per alert identity, one digest per storm.

/** `partner/<id>/alerts`: follows the Acronis alert feed and hands each change to its lifecycle. */
export function alertsLoopWorkflowId(partnerId: string): string {
  return `partner/${partnerId}/alerts`;
}

/**
 * `partner/<id>/alert/<company>/<alert type>/<resource>`: one alert identity's ticket; the key is
 * ids only (a resource without an id appears as a digest of its name). A storm's digest ticket is
 * `partner/<id>/alert/<company>/storm-<start ms>`.
 */
export function alertWorkflowId(partnerId: string, key: string): string {
  return `partner/${partnerId}/alert/${key}`;
}

/** A change of one Acronis alert, as the feed saw it. Times are Unix nanoseconds as decimal strings (they exceed 2^53). */
export interface AlertChange {
  alertId: string;
  /** `updatedAt`: orders changes; a change not newer than the last one seen is a repeat delivery. */
  updatedNs: string;
  /** `receivedAt`: the occurrence; a re-raise moves it, a dismissal does not. */
  occurrenceNs: string;
  /** Resolved or dismissed in Acronis (`deletedAt` set). */
  resolved: boolean;
}

/** What the lifecycle does next: an alert change, or another try at a ticket the PSA refused (alert mappings changed). */
export type AlertWork = { kind: 'change'; change: AlertChange } | { kind: 'retry' };

export const alertChangeSignal = defineSignal<[AlertChange]>('alertChange');
export const retryTicketSignal = defineSignal<[]>('retryTicket');

/** How the identity's ticket stands after the last piece of work. */
export type TicketPhase = 'waiting' | 'creating' | 'open' | 'closed' | 'failed' | 'in-storm-digest' | 'stopped';

export interface TicketRef {
  generation: number;
  ticketId: string;
  number: string;
}

/** What an activity did to the ticket: counts and ids only. */
export interface TicketOutcome {
  phase: Exclude<TicketPhase, 'stopped'>;
  /** What was done: `created`, `noted`, `reopened`, `new-ticket`, `closed`, `none` ... */
  action: string;
  ticket: TicketRef | null;
  /** The PSA's refusal (failed), or why nothing was done. */
  reason: string | null;
}

export interface AlertLifecycleState {
  partnerId: string;
  identity: AlertIdentity;
  phase: TicketPhase;
  ticket: TicketRef | null;
  lastAction: string | null;
  reason: string | null;
  /** Alert id → the newest `updatedNs` handled, so a change delivered twice is done once. */
  seen: Record<string, string>;
  changes: number;
  lastChangeAt: string | null;
  previousRuns: number;
}

export interface AlertLifecycleInput {
  v: 1;
  partnerId: string;
  identity: AlertIdentity;
  carried?: AlertLifecycleState;
  /** Work that arrived but was not done when the previous run continued as new. */
  pending?: AlertWork[];
  /** Signals one run takes before it continues as new (default 1,000); tests lower it. */
  signalsPerRun?: number;
}

export interface AlertLifecycleResult {
  phase: TicketPhase;
  ticket: TicketRef | null;
  reason: string | null;
}

export const alertLifecycleStateQuery = defineQuery<AlertLifecycleState>('state');

export interface AlertStormState {
  partnerId: string;
  psaCompanyId: string;
  startedAt: string;
  endsAt: string;
  ticket: TicketRef | null;
  /** Alert changes noted on the digest ticket. */
  noted: number;
  reason: string | null;
  /** `<alert id>/<updatedNs>` of the changes noted in this run. */
  seen: Record<string, true>;
  previousRuns: number;
}

export interface AlertStormInput {
  v: 1;
  partnerId: string;
  psaCompanyId: string;
  startedAtMs: number;
  windowMinutes: number;
  carried?: AlertStormState;
  pending?: AlertWork[];
  signalsPerRun?: number;
}

export const alertStormStateQuery = defineQuery<AlertStormState>('state');

export interface AlertFeedStats {
  /** Polls of the Acronis alert feed. */
  polls: number;
  /** Alert changes handed to their lifecycles. */
  handedOn: number;
}

export interface AlertsLoopState extends AlertFeedStats {
  partnerId: string;
  /** Unix ns (decimal string): changes up to here are handed on; null before the first scan. */
  cursor: string | null;
  /** When the feed last looked for newly mapped customers (absent in runs recorded before it did). */
  mappingsSeenAt?: string | null;
  lastPollAt: string | null;
  /** Failed tickets tried again after an alert mapping change. */
  retried: number;
  lastError: string | null;
  previousRuns: number;
  stopReason: string | null;
}

export interface AlertsLoopInput {
  v: 1;
  partnerId: string;
  carried?: AlertsLoopState;
  /** A configuration change arrived but failed tickets were not yet tried again when the previous run continued as new. */
  retryPending?: boolean;
  /** Signals one run takes before it continues as new (default 1,000); tests lower it. */
  signalsPerRun?: number;
}

export const alertsLoopStateQuery = defineQuery<AlertsLoopState>('state');
