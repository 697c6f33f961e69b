import { AcronisClient } from '../../clients/acronis/client.ts';
import { DEFAULT_CREDENTIALS } from '../default-credentials.ts';

/** An Acronis account for one engine partner: its partner tenant and an API client of that tenant. */
export interface AcronisPartnerAccount {
  tenantId: string;
  clientId: string;
  clientSecret: string;
}

/** The simulator's default API client, of `Sim Partner`: the distributor above the partners' own tenants. */
export function acronisDistributor(acronisUrl: string): AcronisClient {
  const { clientId, clientSecret } = DEFAULT_CREDENTIALS.acronis;
  return new AcronisClient({ baseUrl: acronisUrl, clientId, clientSecret });
}

/** A partner tenant under `Sim Partner`, offering everything its parent offers, made through the public API as a distributor would for a reseller. */
export async function createAcronisPartnerTenant(acronisUrl: string, name: string): Promise<string> {
  const distributor = acronisDistributor(acronisUrl);
  const parentId = (await distributor.getApiClient()).tenant_id;
  const tenant = await distributor.createTenant({ name, kind: 'partner', parent_id: parentId });
  const offered = await distributor.offeringItemsAvailableForChild(parentId, { kind: 'partner', edition: '*' });
  await distributor.setOfferingItems(
    tenant.id,
    offered.map((item) => ({ application_id: item.application_id, name: item.name, status: 1 as const, ...(item.infra_id ? { infra_id: item.infra_id } : {}) })),
  );
  return tenant.id;
}

/** A new API client of the partner tenant: its credentials, shown only now. */
export async function createAcronisApiClient(acronisUrl: string, tenantId: string, name: string): Promise<Omit<AcronisPartnerAccount, 'tenantId'>> {
  const client = await acronisDistributor(acronisUrl).createApiClient(tenantId, name);
  return { clientId: client.client_id, clientSecret: client.client_secret };
}

/**
 * A partner tenant with an API client of its own. The engine takes one live partner per Acronis
 * partner tenant, so every partner registered against one simulated Acronis needs an account of its own.
 */
export async function createAcronisPartnerAccount(acronisUrl: string, name: string): Promise<AcronisPartnerAccount> {
  const tenantId = await createAcronisPartnerTenant(acronisUrl, name);
  return { tenantId, ...(await createAcronisApiClient(acronisUrl, tenantId, name)) };
}
