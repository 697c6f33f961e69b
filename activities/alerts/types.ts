import type { AlertIdentity } from '../../domain/alert-tickets.ts';
import type { AlertFeedStats, AlertWork, TicketOutcome } from '../../workflows/contracts/alerts.ts';

export interface FollowAlertsInput {
  partnerId: string;
  /** Where the last run stopped (Unix ns); null for a first scan of the alerts active now. */
  cursor: string | null;
  /** When the last run last looked at the customer mappings (PostgreSQL's clock, ISO); null with a first scan. */
  mappingsSeenAt?: string | null;
}

export interface FollowAlertsResult extends AlertFeedStats {
  /** Null when it was interrupted before its first scan finished. */
  cursor: string | null;
  mappingsSeenAt: string | null;
  lastPollAt: string | null;
  /**
   * Why the run returned: `interrupted` (cancelled: "sync now", a rollover, the loop ending),
   * `run-over` (it ran its time and the loop starts the next), `off` (ticket sync off or partner removed).
   */
  stopped: 'interrupted' | 'run-over' | 'off';
}

export interface AlertWorkInput {
  partnerId: string;
  identity: AlertIdentity;
  work: AlertWork;
  /** The workflow's clock: "closed N days ago" and the storm window are measured in it. */
  atMs: number;
}

export interface StormWorkInput {
  partnerId: string;
  psaCompanyId: string;
  startedAtMs: number;
  windowMinutes: number;
  work: AlertWork;
}

/** The activities of alert → ticket sync (SPEC F5); implemented in activities/alerts/. */
export interface AlertActivities {
  /**
   * Follows the Acronis alert feed from `cursor`: polls every `tickets.pollSeconds`, hands each new or
   * changed alert of a mapped customer to its lifecycle (signal-with-start) and heartbeats its
   * cursor, for up to an hour or until cancelled; then answers where it got to.
   */
  followAlerts(input: FollowAlertsInput): Promise<FollowAlertsResult>;
  /** Pokes the lifecycle of every ticket the PSA refused, after the alert mappings changed (F5.8); the number poked. */
  retryFailedTickets(input: { partnerId: string }): Promise<number>;
  /** One piece of an identity's work on its ticket: create, note, reopen, open anew, close (F5.1–F5.4, F5.6, F5.8, F5.9). */
  handleAlertWork(input: AlertWorkInput): Promise<TicketOutcome>;
  /** A storm's digest ticket: created once, a note per alert change (F5.9). */
  noteStormAlert(input: StormWorkInput): Promise<TicketOutcome>;
}
