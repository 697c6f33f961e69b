import { createRoute, z } from '@hono/zod-openapi';
import { VendorApiError } from '../../clients/http.ts';
import { listImportedPlans, saveImportedPlan } from '../../db/agents.ts';
import { recordAudit } from '../../db/audit-log.ts';
import { findPartner } from '../../db/partners.ts';
import { customerPlan, listPlanChoices, rootOf, type PlanChoice } from '../../rmm/plans.ts';
import { auditEntry, partnerClientsOr404, type ApiDeps } from '../context.ts';
import { problems } from '../problem.ts';
import { newRouter } from '../router.ts';
import { bearerSecurity, commonErrors, jsonBody, jsonResponse, notFound, partnerIdParams, vendorFailure } from '../schemas.ts';

const planSchema = z
  .object({
    planId: z.string(),
    name: z.string(),
    tenantId: z.string().nullable().describe('The customer tenant the plan belongs to; null for an imported plan, which every customer can use'),
    imported: z.boolean(),
    isDefault: z.boolean().describe("The partner's default plan, applied where a policy names none"),
    importedFrom: z.object({ tenantId: z.string(), planId: z.string() }).nullable(),
  })
  .openapi('ProtectionPlan');

const importInput = z
  .strictObject({
    tenantId: z.uuid({ error: 'must be an Acronis tenant id (UUID)' }).describe('The customer tenant the plan was made in'),
    planId: z.uuid({ error: 'must be a protection plan id (UUID)' }),
    default: z.boolean().optional().describe('Make it the partner’s default plan (SPEC F6.7)'),
  })
  .openapi('PlanImport');

export function planRoutes(deps: ApiDeps) {
  const { db } = deps;
  const router = newRouter();

  router.openapi(
    createRoute({
      method: 'get',
      path: '/partners/{id}/plans',
      summary: 'Protection plans the partner can apply: imported ones, and each known customer’s own',
      tags: ['Plans'],
      security: bearerSecurity,
      request: { params: partnerIdParams },
      responses: { 200: jsonResponse(z.object({ items: z.array(planSchema) }), 'The plans'), ...commonErrors, ...notFound, ...vendorFailure },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const clients = await partnerClientsOr404(deps, id);
      return c.json({ items: await listPlanChoices(db, clients.acronis, id) }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/partners/{id}/plans/import',
      summary: "Import a customer's plan so that every customer can use it (SPEC F6.7)",
      description: 'The plan is copied into another customer’s tenant the first time it is applied there. Importing a plan again refreshes it; `default: true` makes it the partner’s default plan.',
      tags: ['Plans'],
      security: bearerSecurity,
      request: { params: partnerIdParams, body: jsonBody(importInput, 'The plan') },
      responses: { 201: jsonResponse(planSchema, 'The imported plan'), ...commonErrors, ...notFound, ...vendorFailure },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { tenantId, planId, default: makeDefault = false } = c.req.valid('json');
      const clients = await partnerClientsOr404(deps, id);
      let tenantKind: string;
      try {
        tenantKind = (await clients.acronis.getTenant(tenantId)).kind;
      } catch (error) {
        if (error instanceof VendorApiError && (error.kind === 'not-found' || error.kind === 'forbidden')) throw problems.field('tenantId', 'is not a tenant under this partner in Acronis');
        throw error;
      }
      if (tenantKind !== 'customer') throw problems.field('tenantId', `is a ${tenantKind} tenant; plans are imported from customer tenants`);
      const plan = await customerPlan(clients.acronis, tenantId, planId);
      const root = plan && rootOf(plan);
      if (!plan || !root) throw problems.field('planId', `is not a protection plan of tenant ${tenantId}`);
      await db.transaction().execute(async (tx) => {
        if (!(await findPartner(tx, id, { forUpdate: true }))) throw problems.notFound(`Partner ${id}`);
        await saveImportedPlan(tx, id, { planId, sourceTenantId: tenantId, name: root.name, policies: plan.policy as unknown as Record<string, unknown>[] }, makeDefault);
        await recordAudit(tx, auditEntry(c, { action: 'plans.import', partnerId: id, target: `partner/${id}/plans/${planId}`, details: { tenantId, planId, name: root.name, default: makeDefault } }));
      });
      const stored = (await listImportedPlans(db, id)).find((candidate) => candidate.planId === planId)!;
      const view: PlanChoice = { planId, name: stored.name, tenantId: null, imported: true, isDefault: stored.isDefault, importedFrom: { tenantId, planId } };
      return c.json(view, 201);
    },
  );

  return router;
}
