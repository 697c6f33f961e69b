import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { BillingPeriod } from '../../domain/billing-periods.ts';
import type { BillingRunStatus } from '../../domain/usage-lines.ts';

// Usage reporting (SPEC F4): one loop per partner writes PAYG usage to the PSA, once per period.

/** `partner/<id>/usage`: the partner's billing loop. */
export function usageLoopWorkflowId(partnerId: string): string {
  return `partner/${partnerId}/usage`;
}

/** Why a run was made: the schedule, "sync now", or an admin's backfill of a past period. */
export type RunTrigger = 'scheduled' | 'sync-now' | 'backfill';

/** When the next pass is due and what it reports, as the planning activity computes it. */
export type UsagePlan = { status: 'planned'; dueAtMs: number; period: BillingPeriod } | { status: 'off'; reason: string };

export interface UsagePassInput {
  partnerId: string;
  /** The billing run's id, chosen by the loop, so a retried pass finds its own run. */
  runId: string;
  trigger: RunTrigger;
  period: BillingPeriod;
  /** The due instant of a scheduled pass (null on demand). */
  dueAtMs: number | null;
  /** "Sync now": lines the PSA refused before are tried again even if their figure did not move. */
  force: boolean;
}

/** Line counts of a run, by what happened to them. */
export interface RunCounts {
  written: number;
  held: number;
  conflicts: number;
  failed: number;
  unchanged: number;
}

/** A finished run, for the loop's state and the supervisor's details: ids, period and counts only. */
export interface UsageRunSummary {
  runId: string;
  trigger: RunTrigger;
  period: { start: string; end: string };
  status: BillingRunStatus;
  counts: RunCounts;
  /** Why the run wrote nothing it could have (figures not fresh yet ...). */
  note: string | null;
}

export type UsagePassOutcome = { status: 'done'; summary: UsageRunSummary } | { status: 'off'; reason: string };

/** Approving or rejecting the held lines of a run (F4.10); `lines` absent: all of them. */
export interface ReviewRequest {
  runId: string;
  decision: 'approve' | 'reject';
  lines?: { psaCompanyId: string; offeringItem: string }[];
  /** The admin, as the audit log names them (`token:<id> (<name>)`). */
  decidedBy: string;
}

export type ReviewOutcome =
  | { status: 'done'; runStatus: BillingRunStatus; decided: number }
  /** The run has no held line (left) that the request names. */
  | { status: 'not-waiting'; runStatus: BillingRunStatus }
  | { status: 'not-found' };

/** Re-reporting a past period (F4.7); the API has checked the period against the settings. */
export interface BackfillRequest {
  period: BillingPeriod;
  requestedBy: string;
}

/** A request waiting for the loop: backfills survive continue-as-new. */
export interface QueuedBackfill {
  runId: string;
  period: BillingPeriod;
}

export interface UsageLoopState {
  partnerId: string;
  /** Passes completed (scheduled, on demand and backfills). */
  passes: number;
  /** The due instant of the last scheduled or on-demand pass that completed; the next one is planned from it. */
  lastDueAtMs: number | null;
  lastRun: UsageRunSummary | null;
  lastRunAt: string | null;
  /** The next scheduled pass: when it is due and the period it reports. */
  next: { dueAt: string; period: { start: string; end: string } } | null;
  /** Backfills accepted and not yet run. */
  queued: QueuedBackfill[];
  /** The last pass's failure; cleared by a good pass. */
  lastError: string | null;
  /** Lines of the partner waiting for approval, and open conflicts, after the last pass or review. */
  pending: { held: number; conflicts: number };
  /** Passes that failed in a row: the loop waits longer after each before it tries again. */
  consecutiveFailures: number;
  retryAt: string | null;
  previousRuns: number;
  stopReason: string | null;
}

export interface UsageLoopInput {
  v: 1;
  partnerId: string;
  carried?: UsageLoopState;
  /** "Sync now" arrived but had not run when the previous run continued as new. */
  syncPending?: boolean;
  /** A pass that failed and waits for its retry, with its run id, so the retry resumes the same run. */
  pendingPass?: UsagePassInput;
  /** Signals and updates one run takes before it continues as new (default 1,000); tests lower it. */
  signalsPerRun?: number;
}

export const usageLoopStateQuery = defineQuery<UsageLoopState>('state');
/** Answers with the new run's id as soon as the backfill is queued; the run follows. */
export const backfillUpdate = defineUpdate<{ runId: string }, [BackfillRequest]>('backfill');
/** Answers once the decided lines are written (approve) or marked (reject). */
export const reviewUpdate = defineUpdate<ReviewOutcome, [ReviewRequest]>('review');
