/** Pure rules of agent management (SPEC F6): which policy applies, what a deployment does next for a computer, what protection status a machine has. */
import { createHash } from 'node:crypto';

/**
 * A UUID derived from a source id and a tenant (name-based, RFC 9562 version 5 layout): a copy of
 * an imported plan in a tenant always has the same id, so it is looked up before it is made again.
 */
export function derivedId(sourceId: string, tenantId: string): string {
  const bytes = createHash('sha1').update(`${sourceId.toLowerCase()}|${tenantId.toLowerCase()}`).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** An agent reports its host's name, sometimes fully qualified; Automate the computer's name. */
export function sameHost(agentHostname: string, computerName: string): boolean {
  const short = (name: string) => name.trim().toLowerCase().split('.')[0];
  return short(agentHostname) === short(computerName);
}

/** The policy for a computer: its location's, else its client's. */
export function policyFor<P extends { clientId: number; locationId: number | null }>(policies: readonly P[], clientId: number, locationId: number): P | undefined {
  return policies.find((policy) => policy.clientId === clientId && policy.locationId === locationId) ?? policies.find((policy) => policy.clientId === clientId && policy.locationId === null);
}

export type ProtectionStatus = 'ok' | 'error' | 'warning' | 'not-protected';
export type AgentState = 'none' | 'outdated' | 'current';

const SEVERITY: Record<string, ProtectionStatus> = { ok: 'ok', warning: 'warning', error: 'error', critical: 'error' };

/**
 * F6.6: a machine's status from the last result of each plan on it (the worst one counts). A plan
 * that never ran, or runs now, has failed nothing yet.
 */
export function protectionStatus(hasAgent: boolean, planStatuses: readonly string[]): ProtectionStatus {
  if (!hasAgent || planStatuses.length === 0) return 'not-protected';
  const seen = new Set(planStatuses.map((status) => SEVERITY[status.toLowerCase()] ?? 'ok'));
  if (seen.has('error')) return 'error';
  if (seen.has('warning')) return 'warning';
  return 'ok';
}

// --- deployments -----------------------------------------------------------------------------------

/** How long a deployment waits after a script (or an update request) for its outcome in Acronis. */
export const REGISTRATION_TIMEOUT_S = 15 * 60;

export type DeploymentActionName = 'install' | 'update' | 'uninstall';

/** Where one computer of a deployment stands, as recorded. */
export interface ComputerProgress {
  /** The script (or the update request) was claimed; with `sentAt` null, it is not known whether it reached the vendor. */
  claimedAt: Date | null;
  sentAt: Date | null;
  waitUntil: Date | null;
}

/** What the vendors show of the computer now. */
export interface ComputerObservation {
  inAutomate: boolean;
  /** Automate's view for scripts, Acronis's agent for updates. */
  online: boolean;
  agent: { id: string; upToDate: boolean; online: boolean } | null;
  /** The output of the deployment's script when Automate reports it failed. */
  scriptFailure: string | null;
}

export type ComputerStep =
  | { kind: 'succeed'; agentId: string | null; reason: string | null }
  | { kind: 'fail'; reason: string }
  | { kind: 'wait'; status: 'pending' | 'running'; reason: string | null }
  /** Send the script, or ask Acronis for the update. */
  | { kind: 'act' }
  /** Claimed, outcome of the send unknown (a worker died, a call timed out): ask Automate whether the script is there. */
  | { kind: 'verify-claim' };

function minutes(ms: number): string {
  const value = Math.max(1, Math.round(ms / 60_000));
  return `${value} minute${value === 1 ? '' : 's'}`;
}

/**
 * The next step for one computer of a deployment. `windowEndsAt` bounds how long an offline
 * computer is waited for; `timeoutMs` is the wait after the script for the outcome in Acronis.
 */
export function nextComputerStep(action: DeploymentActionName, progress: ComputerProgress, seen: ComputerObservation, now: Date, windowEndsAt: Date, timeoutMs: number): ComputerStep {
  const { agent } = seen;
  const offline = (): ComputerStep =>
    now >= windowEndsAt
      ? { kind: 'fail', reason: `offline: the computer did not come online before the deployment window closed at ${windowEndsAt.toISOString()}` }
      : { kind: 'wait', status: 'pending', reason: `offline: the ${action} runs when the computer comes online (window closes at ${windowEndsAt.toISOString()})` };

  if (action === 'update') {
    if (!progress.sentAt) {
      if (!agent) return { kind: 'fail', reason: 'no Acronis agent to update on this computer' };
      if (agent.upToDate) return { kind: 'succeed', agentId: agent.id, reason: 'the agent was already up to date' };
      if (!agent.online) return offline();
      return { kind: 'act' };
    }
    if (!agent) return { kind: 'fail', reason: 'the agent left Acronis during the update' };
    if (agent.upToDate) return { kind: 'succeed', agentId: agent.id, reason: null };
    if (progress.waitUntil && now >= progress.waitUntil) return { kind: 'fail', reason: `the agent was not up to date ${minutes(timeoutMs)} after the update was asked of Acronis` };
    return { kind: 'wait', status: 'running', reason: 'waiting for the agent to report the new version' };
  }

  if (!seen.inAutomate) return { kind: 'fail', reason: 'the computer is no longer in Automate' };
  const installing = action === 'install';
  if (!progress.claimedAt) {
    if (installing && agent) return { kind: 'succeed', agentId: agent.id, reason: 'the agent was already installed and registered' };
    if (!installing && !agent) return { kind: 'succeed', agentId: null, reason: 'no agent was registered in Acronis' };
    if (!seen.online) return offline();
    return { kind: 'act' };
  }
  if (!progress.sentAt) return { kind: 'verify-claim' };
  if (installing && agent) return { kind: 'succeed', agentId: agent.id, reason: null };
  if (!installing && !agent) return { kind: 'succeed', agentId: null, reason: null };
  if (seen.scriptFailure !== null) return { kind: 'fail', reason: `script failed: ${seen.scriptFailure}` };
  if (progress.waitUntil && now >= progress.waitUntil) {
    return {
      kind: 'fail',
      reason: installing
        ? `no registration before the deadline: the agent did not register in Acronis within ${minutes(timeoutMs)} of the install script`
        : `the agent was still registered in Acronis ${minutes(timeoutMs)} after the uninstall script`,
    };
  }
  return { kind: 'wait', status: 'running', reason: installing ? 'waiting for the agent to register in Acronis' : 'waiting for the agent to leave Acronis' };
}
