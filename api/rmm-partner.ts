/** What the agent routes (SPEC F6) share: the partner with its RMM, and the Automate ids the admin names. */
import { z } from '@hono/zod-openapi';
import type { ConnectWiseAutomateClient } from '../clients/connectwise-automate/client.ts';
import type { PartnerClients } from '../clients/partner-clients.ts';
import { readSettings } from '../db/settings.ts';
import { partnerClientsOr404, type ApiDeps } from './context.ts';
import { problems } from './problem.ts';
import { partnerIdParams } from './schemas.ts';

/** Automate ids are 32-bit integers; anything larger is refused before it reaches a query. */
export const automateId = (what: string) => z.int({ error: `must be ${what} id` }).min(1, { error: `must be ${what} id` }).max(2_147_483_647, { error: `must be ${what} id` });

/** The same, read from a path or query string. */
export const automateIdText = (what: string) =>
  z
    .string()
    .regex(/^\d{1,10}$/, { error: `must be ${what} id` })
    .transform(Number)
    .pipe(automateId(what));

export const computerParams = partnerIdParams.extend({
  computerId: automateIdText('an Automate computer').openapi({ param: { name: 'computerId', in: 'path' }, description: "The computer's id in Automate" }),
});

export const clientParams = partnerIdParams.extend({
  clientId: automateIdText('an Automate client').openapi({ param: { name: 'clientId', in: 'path' }, description: "The client's id in Automate" }),
});

export interface RmmPartner {
  clients: PartnerClients;
  automate: ConnectWiseAutomateClient;
}

/**
 * The partner's clients, with its Automate: 404 for an unknown partner, 409 without an RMM, and
 * (for `change`) 409 while agent management is off: nothing is written for a switched-off capability.
 */
export async function rmmPartner(deps: ApiDeps, partnerId: string, options: { change: boolean }): Promise<RmmPartner> {
  const clients = await partnerClientsOr404(deps, partnerId);
  if (!clients.rmm) throw problems.conflict('rmm', 'is not set: the partner has no RMM; add its ConnectWise Automate server with PATCH /v1/partners/{id}');
  if (options.change && !(await readSettings(deps.db, partnerId))?.settings.agents.enabled) {
    throw problems.conflict('agents.enabled', 'is off: switch agent management on with PUT /v1/partners/{id}/settings {"agents":{"enabled":true}}');
  }
  return { clients, automate: clients.rmm };
}
