import type { Client } from '@temporalio/client';
import type { Db } from '../db/connection.ts';
import type { ApiToken } from '../db/api-tokens.ts';
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

/** Who did it, as the audit log records it. */
export function actorOf(token: ApiToken): string {
  return `token:${token.id} (${token.name})`;
}
