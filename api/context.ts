import type { Client } from '@temporalio/client';
import type { Context } from 'hono';
import { PartnerNotFoundError, type PartnerClients, type PartnerClientsCache } from '../clients/partner-clients.ts';
import type { Db } from '../db/connection.ts';
import type { ApiToken } from '../db/api-tokens.ts';
import type { AuditEntry } from '../db/audit-log.ts';
import type { Logger } from '../log.ts';
import type { Keyring } from '../security/keyring.ts';
import { CALL_DEADLINE_MS, type PartnerWorkflows } from '../temporal/partner-workflows.ts';
import type { AgentWorkflows } from '../temporal/agent-workflows.ts';
import type { CapabilityLoops } from '../temporal/capability-loops.ts';
import type { ProvisioningWorkflows } from '../temporal/provisioning-workflows.ts';
import type { UsageWorkflows } from '../temporal/usage-workflows.ts';
import { problems } from './problem.ts';

export interface ApiDeps {
  db: Db;
  keyring: Keyring;
  temporal: Client;
  workflows: PartnerWorkflows;
  /** Customer workflows and the discovery loop; built on `temporal`, so `withTemporalDeadline` bounds its calls. */
  provisioning: ProvisioningWorkflows;
  /** The partners' capability loops ("sync now"); built on `temporal` like `provisioning`. */
  loops: CapabilityLoops;
  /** Agent deployments (F6.2); built on `temporal` like `provisioning`. */
  agents: AgentWorkflows;
  /** Backfills and reviews of the usage loops; built on `temporal` like `provisioning`. */
  usage: UsageWorkflows;
  /** Vendor calls the API makes itself: offering items, PSA products and companies, tenant checks. */
  partnerClients: PartnerClientsCache;
  logger: Logger;
  /** Vendor URLs must be https when true (SPEC F10.3). */
  production: boolean;
  temporalUiUrl: string;
  publicUrl: string;
}

export interface ApiEnv {
  Variables: {
    requestId: string;
    token: ApiToken;
  };
}

/** Who makes this request, as the audit log names them: the token. */
export function actorOf(c: Context<ApiEnv>): string {
  const token = c.get('token');
  return `token:${token.id} (${token.name})`;
}

/** An audit entry for this request: the token that made it and the request id come from the context. */
export function auditEntry(c: Context<ApiEnv>, entry: Omit<AuditEntry, 'actor' | 'requestId'>): AuditEntry {
  return { ...entry, actor: actorOf(c), requestId: c.get('requestId') };
}

/** Runs Temporal calls that carry no deadline of their own (ProvisioningWorkflows) under the API's deadline. */
export function withTemporalDeadline<T>(deps: Pick<ApiDeps, 'temporal'>, operation: () => Promise<T>): Promise<T> {
  return deps.temporal.withDeadline(Date.now() + CALL_DEADLINE_MS, operation);
}

/** The partner's vendor clients, or 404 when the partner does not exist (or was removed). */
export async function partnerClientsOr404(deps: Pick<ApiDeps, 'partnerClients'>, partnerId: string): Promise<PartnerClients> {
  try {
    return await deps.partnerClients.forPartner(partnerId);
  } catch (error) {
    if (error instanceof PartnerNotFoundError) throw problems.notFound(`Partner ${partnerId}`);
    throw error;
  }
}
