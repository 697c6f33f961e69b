import { createRoute, z } from '@hono/zod-openapi';
import { collect } from '../../clients/collect.ts';
import { protectionStatus } from '../../domain/agents.ts';
import { listClients, readFleet, type FleetComputer } from '../../rmm/fleet.ts';
import type { ApiDeps } from '../context.ts';
import { problems } from '../problem.ts';
import { automateIdText, rmmPartner } from '../rmm-partner.ts';
import { newRouter } from '../router.ts';
import { bearerSecurity, commonErrors, conflict, jsonResponse, notFound, partnerIdParams, vendorFailure } from '../schemas.ts';

/** Alert Manager takes several tenants in one `or(...)` filter. */
const TENANTS_PER_ALERT_QUERY = 100;

const computerStatusSchema = z
  .object({
    computerId: z.int(),
    name: z.string(),
    clientId: z.int(),
    locationId: z.int(),
    status: z.enum(['ok', 'error', 'warning', 'not-protected']).describe('From the last backup result of the plans on the machine'),
    reason: z.enum(['no-tenant', 'no-agent', 'no-plan']).nullable().describe('Why a computer is not protected'),
    running: z.boolean().describe('A backup runs now'),
    plans: z.array(z.string()),
    lastBackupAt: z.string().nullable(),
    lastSuccessfulBackupAt: z.string().nullable(),
    nextBackupAt: z.string().nullable(),
  })
  .openapi('ComputerProtection');

const countsSchema = z.object({ ok: z.int(), error: z.int(), warning: z.int(), noPlan: z.int(), noAgent: z.int(), noTenant: z.int().describe('Computers whose client has no Acronis tenant: their agents cannot be seen') });

const clientStatusSchema = z
  .object({
    clientId: z.int(),
    name: z.string(),
    tenantId: z.string().nullable(),
    noTenantReason: z.string().nullable(),
    counts: countsSchema,
    alerts: z.record(z.string(), z.int()).describe("Active Acronis alerts of the client's tenant by severity"),
  })
  .openapi('ClientProtection');

type ComputerStatus = z.infer<typeof computerStatusSchema>;

function statusOf(computer: FleetComputer): ComputerStatus {
  const hasAgent = computer.agent !== null;
  const status = protectionStatus(hasAgent, computer.plans.filter((plan) => plan.status !== 'running').map((plan) => plan.status));
  const reason = !computer.tenant.tenantId ? 'no-tenant' : !hasAgent ? 'no-agent' : computer.plans.length === 0 ? 'no-plan' : null;
  const next = computer.plans.map((plan) => plan.nextRunAt).filter((at): at is string => at !== null).sort((a, b) => Date.parse(a) - Date.parse(b))[0] ?? null;
  return {
    computerId: computer.computerId,
    name: computer.name,
    clientId: computer.clientId,
    locationId: computer.locationId,
    status: reason ? 'not-protected' : status === 'not-protected' ? 'ok' : status,
    reason,
    running: computer.plans.some((plan) => plan.running),
    plans: computer.plans.map((plan) => plan.name),
    lastBackupAt: computer.lastBackupAt,
    lastSuccessfulBackupAt: computer.lastSuccessfulBackupAt,
    nextBackupAt: next,
  };
}

export function protectionRoutes(deps: ApiDeps) {
  const { db } = deps;
  const router = newRouter();

  router.openapi(
    createRoute({
      method: 'get',
      path: '/partners/{id}/protection',
      summary: 'Protection status per computer and per client (SPEC F6.6)',
      description:
        'Read in bulk: Automate’s computers, and per customer tenant its machines, agents and plans from Acronis, with the tenant’s active alerts. A computer is ok, error or warning by the last result of the plans on it, ' +
        'or not protected (no tenant, no agent, no plan).',
      tags: ['Agents'],
      security: bearerSecurity,
      request: { params: partnerIdParams, query: z.object({ clientId: automateIdText('an Automate client').optional() }) },
      responses: {
        200: jsonResponse(z.object({ clients: z.array(clientStatusSchema), computers: z.array(computerStatusSchema) }), 'Per client and per computer'),
        ...commonErrors,
        ...notFound,
        ...conflict,
        ...vendorFailure,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { clientId } = c.req.valid('query');
      const rmm = await rmmPartner(deps, id, { change: false });
      if (clientId !== undefined && (await listClients(rmm.automate, [clientId])).length === 0) throw problems.field('clientId', 'is not a client in Automate');
      const { acronis } = rmm.clients;
      const fleet = await readFleet({ db, partnerId: id, automate: rmm.automate, acronis }, clientId === undefined ? {} : { clientIds: [clientId] }, { plans: 'all', inventory: false });
      const computers = fleet.computers.map(statusOf);

      const tenantIds = [...new Set(fleet.clients.map((client) => client.tenant.tenantId).filter((tenantId): tenantId is string => tenantId !== null))];
      const alerts = new Map<string, Record<string, number>>();
      for (let start = 0; start < tenantIds.length; start += TENANTS_PER_ALERT_QUERY) {
        for (const alert of await collect(acronis.listAlerts({ tenant: tenantIds.slice(start, start + TENANTS_PER_ALERT_QUERY) }))) {
          const bySeverity = alerts.get(alert.tenant.uuid ?? '') ?? {};
          bySeverity[alert.severity] = (bySeverity[alert.severity] ?? 0) + 1;
          alerts.set(alert.tenant.uuid ?? '', bySeverity);
        }
      }

      const clients = fleet.clients.map((client) => {
        const counts = { ok: 0, error: 0, warning: 0, noPlan: 0, noAgent: 0, noTenant: 0 };
        for (const computer of computers.filter((candidate) => candidate.clientId === client.clientId)) {
          if (computer.reason === 'no-tenant') counts.noTenant++;
          else if (computer.reason === 'no-agent') counts.noAgent++;
          else if (computer.reason === 'no-plan') counts.noPlan++;
          else counts[computer.status as 'ok' | 'error' | 'warning']++;
        }
        return { clientId: client.clientId, name: client.name, tenantId: client.tenant.tenantId, noTenantReason: client.tenant.reason, counts, alerts: (client.tenant.tenantId && alerts.get(client.tenant.tenantId)) || {} };
      });
      return c.json({ clients, computers }, 200);
    },
  );

  return router;
}
