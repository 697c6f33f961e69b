/** What the agent activities share: the partner as they may act for it, with its RMM. */
import type { ConnectWiseAutomateClient } from '../../clients/connectwise-automate/client.ts';
import { PartnerNotFoundError, type PartnerClients, type PartnerClientsCache } from '../../clients/partner-clients.ts';
import type { Db } from '../../db/connection.ts';
import type { AgentWorkflows } from '../../temporal/agent-workflows.ts';
import { capabilityOffFailure, capabilityOffReason, capabilityScope } from '../capability-scope.ts';

export interface AgentDeps {
  db: Db;
  clients: PartnerClientsCache;
  workflows: AgentWorkflows;
}

export function agentsScope(db: Db) {
  return capabilityScope(db, 'agents');
}

export type AgentsPartner =
  | { status: 'live'; clients: PartnerClients; automate: ConnectWiseAutomateClient }
  | { status: 'no-rmm'; clients: PartnerClients }
  | { status: 'off'; reason: string };

/** The partner with agent management on, or why its agent workflows should end. */
export async function agentsPartner(deps: Pick<AgentDeps, 'db' | 'clients'>, partnerId: string): Promise<AgentsPartner> {
  const off = await capabilityOffReason(deps.db, partnerId, 'agents');
  if (off) return { status: 'off', reason: off };
  try {
    const clients = await deps.clients.forPartner(partnerId);
    return clients.rmm ? { status: 'live', clients, automate: clients.rmm } : { status: 'no-rmm', clients };
  } catch (error) {
    if (error instanceof PartnerNotFoundError) return { status: 'off', reason: 'the partner was removed' };
    throw error;
  }
}

/** For work the workflow decided on: agent management must still be on, or the step fails as `CapabilityOff`. */
export async function agentsPartnerForStep(deps: Pick<AgentDeps, 'db' | 'clients'>, partnerId: string): Promise<Exclude<AgentsPartner, { status: 'off' }>> {
  const partner = await agentsPartner(deps, partnerId);
  if (partner.status === 'off') throw capabilityOffFailure(partner.reason);
  return partner;
}

export const NO_RMM_REASON = 'the partner has no RMM: register its ConnectWise Automate server (PATCH /v1/partners/{id} with rmm)';
