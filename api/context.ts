import type { Client } from '@temporalio/client';
import type { Context } from 'hono';
import type { Db } from '../db/connection.ts';
import type { ApiToken } from '../db/api-tokens.ts';
import type { AuditEntry } from '../db/audit-log.ts';
import type { Logger } from '../log.ts';
import type { Keyring } from '../security/keyring.ts';
import type { PartnerWorkflows } from '../temporal/partner-workflows.ts';

export interface ApiDeps {
  db: Db;
  keyring: Keyring;
  temporal: Client;
  workflows: PartnerWorkflows;
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

/** An audit entry for this request: the token that made it and the request id come from the context. */
export function auditEntry(c: Context<ApiEnv>, entry: Omit<AuditEntry, 'actor' | 'requestId'>): AuditEntry {
  const token = c.get('token');
  return { ...entry, actor: `token:${token.id} (${token.name})`, requestId: c.get('requestId') };
}
