/**
 * Which Acronis customer tenant an Automate client's computers belong to (SPEC F6.8):
 * 1. the tenant an admin tied to the client (`POST /rmm-clients/:clientId/tenant`);
 * 2. else the tenant of the PSA company the client is linked to (Automate's `ExternalId`, which its
 *    PSA integration fills with the company's id), through that company's mapping;
 * 3. else none, with the reason.
 */
import type { AutomateClient } from '../clients/connectwise-automate/models.ts';
import { listClientLinks } from '../db/agents.ts';
import type { Db } from '../db/connection.ts';
import { listCompanyMappings } from '../db/mappings.ts';

export type ClientTenant =
  | { tenantId: string; via: 'rmm-link' | 'psa-mapping'; reason: null }
  | { tenantId: null; via: null; reason: string };

export type ClientRef = Pick<AutomateClient, 'Id' | 'Name' | 'ExternalId'>;

export async function clientTenants(db: Db, partnerId: string, clients: readonly ClientRef[]): Promise<Map<number, ClientTenant>> {
  const links = new Map((await listClientLinks(db, partnerId)).map((link) => [link.clientId, link.tenantId]));
  const mappings = new Map((await listCompanyMappings(db, partnerId)).map((mapping) => [mapping.psaCompanyId, mapping.tenantId]));
  const tenants = new Map<number, ClientTenant>();
  for (const client of clients) {
    const linked = links.get(client.Id);
    if (linked) {
      tenants.set(client.Id, { tenantId: linked, via: 'rmm-link', reason: null });
      continue;
    }
    const companyId = client.ExternalId === null || client.ExternalId === undefined || client.ExternalId === 0 ? null : String(client.ExternalId);
    const mapped = companyId === null ? undefined : mappings.get(companyId);
    if (companyId !== null && mapped) {
      tenants.set(client.Id, { tenantId: mapped, via: 'psa-mapping', reason: null });
      continue;
    }
    const reason =
      companyId === null
        ? 'it is linked to no PSA company and to no Acronis tenant'
        : mapped === null
          ? `its PSA company ${companyId} is mapped to a new Acronis tenant that provisioning has not made yet`
          : `its PSA company ${companyId} is not mapped to an Acronis tenant`;
    tenants.set(client.Id, { tenantId: null, via: null, reason });
  }
  return tenants;
}

/** "Automate client 7 "Contoso" has no Acronis tenant: <reason>", for errors that name the client. */
export function noTenantMessage(client: Pick<ClientRef, 'Id' | 'Name'>, tenant: ClientTenant): string {
  return `Automate client ${client.Id} "${client.Name}" has no Acronis tenant: ${tenant.reason ?? 'unknown'}; tie one to it with POST /v1/partners/{id}/rmm-clients/${client.Id}/tenant, or map its PSA company`;
}
