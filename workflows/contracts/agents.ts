import type { PeriodicLoopInput, PeriodicLoopState, PeriodicPassOutcome } from './periodic-loop.ts';
import { defineQuery } from '@temporalio/workflow';

// Agents and backup plans through the RMM (SPEC F6): the scan loop and one workflow per deployment.

/** `partner/<id>/agents`: every 6 minutes, auto-deploys to new computers and applies default plans (F6.3, F6.4). */
export function agentsLoopWorkflowId(partnerId: string): string {
  return `partner/${partnerId}/agents`;
}

/** `partner/<id>/deployment/<deploymentId>`: one install, update or uninstall run over a set of computers (F6.2). */
export function deploymentWorkflowId(partnerId: string, deploymentId: string): string {
  return `partner/${partnerId}/deployment/${deploymentId}`;
}

/** What one scan did; counts only, so histories stay small (the per-policy notes are in PostgreSQL). */
export interface AgentScanSummary {
  /** Policies the scan applied. */
  policies: number;
  /** Computers of the clients and locations those policies cover. */
  computers: number;
  /** Computers without an agent handed to a new deployment (auto-deploy). */
  queued: number;
  /** That deployment, when the scan started one. */
  deploymentId: string | null;
  /** Computers with an agent but no plan that got their default plan. */
  plansApplied: number;
  /** Policies the scan could not act on (no tenant, unknown plan ...); the reason is on the policy. */
  skipped: number;
}

export type AgentScanOutcome = PeriodicPassOutcome<AgentScanSummary>;

export type AgentsLoopState = PeriodicLoopState<AgentScanSummary>;

export type AgentsLoopInput = PeriodicLoopInput<AgentScanSummary>;

export const agentsLoopStateQuery = defineQuery<AgentsLoopState>('state');

export interface DeploymentCounts {
  total: number;
  pending: number;
  running: number;
  succeeded: number;
  failed: number;
}

/** One round's result: what the deployment waits for decides when the next round runs. */
export interface DeploymentProgress {
  status: 'running' | 'done';
  counts: DeploymentCounts;
  /** Computers whose script (or update) was sent and whose outcome Acronis has not shown yet. */
  awaitingOutcome: number;
  /** When offline computers stop being waited for. */
  windowEndsAt: string;
}

export interface DeploymentState {
  partnerId: string;
  deploymentId: string;
  rounds: number;
  counts: DeploymentCounts | null;
  /** The last round's failure when it could not be retried (credentials refused ...); the next round tries again. */
  lastError: string | null;
  /** When offline computers stop being waited for, as the last round read it. */
  windowEndsAt?: string | null;
  previousRuns: number;
  endReason: string | null;
}

export interface DeploymentWorkflowInput {
  v: 1;
  partnerId: string;
  deploymentId: string;
  carried?: DeploymentState;
}

export const deploymentStateQuery = defineQuery<DeploymentState>('state');

/** ApplicationFailure type of a round whose deployment never appeared in PostgreSQL (the API's transaction rolled back). */
export const DEPLOYMENT_NOT_FOUND_FAILURE = 'DeploymentNotFound';
