import type { SimClock } from './kit/sim-clock.ts';

/** Result of an agent installer reaching the Acronis cloud with a registration token. */
export type AgentRegistration =
  | { ok: true; agentId: string; tenantId: string }
  | { ok: false; reason: string };

/**
 * What the simulated Acronis cloud offers the other simulators: the RMM's scripts install,
 * upgrade and remove agents here, as the real installer does against the real cloud.
 * `machineKey` identifies the machine across vendors (the RMM's computer identity).
 */
export interface AcronisAgentHost {
  registerAgent(input: { registrationToken: string; machineKey: string; hostname: string; os: string }): AgentRegistration;
  unregisterAgent(machineKey: string): boolean;
  upgradeAgent(machineKey: string): boolean;
  agentOf(machineKey: string): { agentId: string; tenantId: string; version: string } | undefined;
}

/** The state the four simulators share. */
export interface SimWorld {
  clock: SimClock;
  agents: AcronisAgentHost;
}
