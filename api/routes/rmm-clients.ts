import { createRoute, z } from '@hono/zod-openapi';
import type { AcronisClient } from '../../clients/acronis/client.ts';
import type { Tenant } from '../../clients/acronis/types.ts';
import { collect } from '../../clients/collect.ts';
import { VendorApiError } from '../../clients/http.ts';
import type { AutomateClient } from '../../clients/connectwise-automate/models.ts';
import { saveClientLink } from '../../db/agents.ts';
import { recordAudit } from '../../db/audit-log.ts';
import { findPartner } from '../../db/partners.ts';
import { clientTenants } from '../../rmm/client-tenants.ts';
import { listClients } from '../../rmm/fleet.ts';
import { auditEntry, type ApiDeps } from '../context.ts';
import { problems } from '../problem.ts';
import { clientParams, rmmPartner } from '../rmm-partner.ts';
import { newRouter } from '../router.ts';
import { bearerSecurity, commonErrors, conflict, jsonResponse, notFound, vendorFailure } from '../schemas.ts';
import { partnerTenantId } from '../vendor-lookups.ts';

/** Marks a tenant the engine made for an Automate client (Acronis's `internal_tag` is free for integrators), so it is found again. */
const clientTag = (clientId: number) => `msp-engine:automate:${clientId}`;

const answerSchema = z
  .object({
    clientId: z.int(),
    tenantId: z.string(),
    name: z.string(),
    created: z.boolean().describe('The tenant was made now; false when an existing one was found'),
    via: z.enum(['rmm-link', 'psa-mapping']).describe("The client's tenant is tied to it directly, or comes from its PSA company's mapping"),
  })
  .openapi('RmmClientTenant');

function usable(tenant: Tenant | undefined): tenant is Tenant {
  return tenant !== undefined && tenant.deleted_at === null && tenant.kind === 'customer';
}

async function tenantIfLive(acronis: AcronisClient, tenantId: string): Promise<Tenant | undefined> {
  try {
    const tenant = await acronis.getTenant(tenantId);
    return usable(tenant) ? tenant : undefined;
  } catch (error) {
    if (error instanceof VendorApiError && (error.kind === 'not-found' || error.kind === 'forbidden')) return undefined;
    throw error;
  }
}

export function rmmClientRoutes(deps: ApiDeps) {
  const { db } = deps;
  const router = newRouter();

  /** The partner's customer tenant made for the client earlier, else the one of the client's name. */
  async function existingTenantFor(acronis: AcronisClient, parentId: string, client: AutomateClient): Promise<Tenant | undefined> {
    const children = (await collect(acronis.listTenants({ parentId }))).filter(usable);
    return children.find((tenant) => tenant.internal_tag === clientTag(client.Id)) ?? children.find((tenant) => tenant.name === client.Name);
  }

  router.openapi(
    createRoute({
      method: 'post',
      path: '/partners/{id}/rmm-clients/{clientId}/tenant',
      summary: 'Find or make the Acronis customer tenant of an Automate client (SPEC F6.8)',
      description:
        'A client whose PSA company is mapped already has that tenant. Otherwise the tenant made for the client earlier, or the partner’s customer tenant of the client’s name, is tied to it; failing both, a customer tenant of that name is made. ' +
        'Its computers then deploy agents into that tenant. Repeating the call finds the same tenant.',
      tags: ['Agents'],
      security: bearerSecurity,
      request: { params: clientParams },
      responses: { 201: jsonResponse(answerSchema, "The client's tenant"), ...commonErrors, ...notFound, ...conflict, ...vendorFailure },
    }),
    async (c) => {
      const { id, clientId } = c.req.valid('param');
      const rmm = await rmmPartner(deps, id, { change: false });
      const { acronis } = rmm.clients;
      const [client] = await listClients(rmm.automate, [clientId]);
      if (!client) throw problems.notFound(`Automate client ${clientId}`);
      const current = (await clientTenants(db, id, [client])).get(clientId)!;
      const currentTenant = current.tenantId ? await tenantIfLive(acronis, current.tenantId) : undefined;
      if (currentTenant && current.via) return c.json({ clientId, tenantId: currentTenant.id, name: currentTenant.name, created: false, via: current.via }, 201);

      const parentId = await partnerTenantId(acronis);
      let tenant = await existingTenantFor(acronis, parentId, client);
      const created = tenant === undefined;
      if (!tenant) {
        try {
          tenant = await acronis.createTenant({ name: client.Name, kind: 'customer', parent_id: parentId, internal_tag: clientTag(clientId) });
        } catch (error) {
          if (error instanceof VendorApiError && error.kind === 'conflict') throw problems.conflict('clientId', `Acronis has a tenant named "${client.Name}" elsewhere in the partner's hierarchy; rename the client or the tenant`);
          throw error;
        }
      }
      const tenantId = tenant.id;
      await db.transaction().execute(async (tx) => {
        if (!(await findPartner(tx, id, { forUpdate: true }))) throw problems.notFound(`Partner ${id}`);
        await saveClientLink(tx, id, { clientId, tenantId });
        await recordAudit(tx, auditEntry(c, { action: 'rmm-client.tenant', partnerId: id, target: `partner/${id}/rmm-client/${clientId}`, details: { clientId, tenantId, created, replaced: current.tenantId } }));
      });
      return c.json({ clientId, tenantId, name: tenant.name, created, via: 'rmm-link' as const }, 201);
    },
  );

  return router;
}
