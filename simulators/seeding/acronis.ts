import { AcronisClient } from '../../clients/acronis/client.ts';
import { DEFAULT_CREDENTIALS } from '../default-credentials.ts';

/** An Acronis account for one engine partner: its partner tenant and an API client of that tenant. */
export interface AcronisPartnerAccount {
  tenantId: string;
  clientId: string;
  clientSecret: string;
}

/**
 * A partner tenant under the simulator's `Sim Partner`, offering everything its parent offers, with
 * an API client of its own, made through the public API as a distributor would for a reseller. The
 * engine takes one live partner per Acronis partner tenant, so every partner registered against one
 * simulated Acronis needs an account of its own.
 */
export async function createAcronisPartnerAccount(acronisUrl: string, name: string): Promise<AcronisPartnerAccount> {
  const { clientId, clientSecret } = DEFAULT_CREDENTIALS.acronis;
  const distributor = new AcronisClient({ baseUrl: acronisUrl, clientId, clientSecret });
  const parentId = (await distributor.getApiClient()).tenant_id;
  const tenant = await distributor.createTenant({ name, kind: 'partner', parent_id: parentId });
  const offered = await distributor.offeringItemsAvailableForChild(parentId, { kind: 'partner', edition: '*' });
  await distributor.setOfferingItems(
    tenant.id,
    offered.map((item) => ({ application_id: item.application_id, name: item.name, status: 1 as const, ...(item.infra_id ? { infra_id: item.infra_id } : {}) })),
  );
  const client = await distributor.createApiClient(tenant.id, name);
  return { tenantId: tenant.id, clientId: client.client_id, clientSecret: client.client_secret };
}
