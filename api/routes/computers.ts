import { createRoute, z } from '@hono/zod-openapi';
import { collect } from '../../clients/collect.ts';
import { where } from '../../clients/connectwise-automate/condition.ts';
import { recordAudit } from '../../db/audit-log.ts';
import { derivedId } from '../../domain/agents.ts';
import { readFleet, listClients, type FleetComputer } from '../../rmm/fleet.ts';
import { noTenantMessage } from '../../rmm/client-tenants.ts';
import { planForTenant } from '../../rmm/plans.ts';
import { auditEntry, type ApiDeps } from '../context.ts';
import { problems } from '../problem.ts';
import { automateIdText, computerParams, rmmPartner, type RmmPartner } from '../rmm-partner.ts';
import { newRouter } from '../router.ts';
import { bearerSecurity, commonErrors, conflict, jsonBody, jsonResponse, notFound, partnerIdParams, vendorFailure } from '../schemas.ts';

const COMPUTER_STATES = ['no-agent', 'outdated-agent', 'no-plan', 'protected'] as const;
type ComputerState = (typeof COMPUTER_STATES)[number];

const planSchema = z
  .object({
    planId: z.string(),
    name: z.string(),
    status: z.string().describe('The last result: ok, error, warning; running while it runs'),
    running: z.boolean(),
    lastRunAt: z.string().nullable(),
    nextRunAt: z.string().nullable(),
  })
  .openapi('AppliedPlan');

export const computerSchema = z
  .object({
    computerId: z.int(),
    name: z.string(),
    clientId: z.int(),
    clientName: z.string().nullable(),
    locationId: z.int(),
    locationName: z.string().nullable(),
    os: z.string(),
    type: z.string(),
    online: z.boolean().describe("Automate's agent status"),
    lastContactAt: z.string().nullable(),
    tenantId: z.string().nullable().describe("The client's Acronis customer tenant"),
    tenantSource: z.enum(['rmm-link', 'psa-mapping']).nullable().describe('How the tenant was found: the client tied to it, or the client’s PSA company mapped to it'),
    noTenantReason: z.string().nullable(),
    agent: z.object({
      state: z.enum(['none', 'outdated', 'current']),
      agentId: z.string().nullable(),
      version: z.string().nullable(),
      online: z.boolean().nullable(),
      installedVersion: z.string().nullable().describe("Automate's software inventory lists an Acronis agent that Acronis does not know (installed, not registered)"),
    }),
    plans: z.array(planSchema),
    lastBackupAt: z.string().nullable(),
    nextBackupAt: z.string().nullable(),
    states: z.array(z.enum(COMPUTER_STATES)).describe('The `state` filters the computer matches'),
  })
  .openapi('Computer');

function earliest(values: readonly (string | null)[]): string | null {
  return values.filter((value): value is string => value !== null).sort((a, b) => Date.parse(a) - Date.parse(b))[0] ?? null;
}

function statesOf(computer: FleetComputer): ComputerState[] {
  const { agent, plans } = computer;
  if (!agent) return ['no-agent'];
  return [...(agent.upToDate ? [] : ['outdated-agent' as const]), plans.length ? ('protected' as const) : ('no-plan' as const)];
}

export function computerView(computer: FleetComputer): z.infer<typeof computerSchema> {
  const { agent } = computer;
  return {
    computerId: computer.computerId,
    name: computer.name,
    clientId: computer.clientId,
    clientName: computer.clientName,
    locationId: computer.locationId,
    locationName: computer.locationName,
    os: computer.os,
    type: computer.type,
    online: computer.online,
    lastContactAt: computer.lastContactAt,
    tenantId: computer.tenant.tenantId,
    tenantSource: computer.tenant.via,
    noTenantReason: computer.tenant.reason,
    agent: {
      state: !agent ? 'none' : agent.upToDate ? 'current' : 'outdated',
      agentId: agent?.id ?? null,
      version: agent?.version ?? null,
      online: agent?.online ?? null,
      installedVersion: computer.installedAgentVersion,
    },
    plans: computer.plans,
    lastBackupAt: computer.lastBackupAt,
    nextBackupAt: earliest(computer.plans.map((plan) => plan.nextRunAt)),
    states: statesOf(computer),
  };
}

const listQuery = z.object({
  clientId: automateIdText('an Automate client').optional(),
  locationId: automateIdText('an Automate location').optional(),
  state: z.enum(COMPUTER_STATES).optional(),
  inventory: z
    .enum(['true', 'false'])
    .default('true')
    .transform((value) => value === 'true')
    .describe("Read Automate's software inventory of computers whose agent Acronis does not know (one call each); `false` skips it"),
});

const planInput = z.strictObject({ planId: z.uuid({ error: 'must be a protection plan id (UUID)' }) }).openapi('ComputerPlanInput');
const revokeQuery = z.object({ planId: z.uuid({ error: 'must be a protection plan id (UUID)' }).optional().describe('Only this plan; all plans on the computer when absent') });

export function computerRoutes(deps: ApiDeps) {
  const { db } = deps;
  const router = newRouter();

  /** The computer with its tenant and Acronis machine: 404 unknown, 409 without tenant or agent. */
  async function machineOf(partnerId: string, computerId: number, rmm: RmmPartner): Promise<FleetComputer & { machineId: string; tenant: { tenantId: string } }> {
    const fleet = await readFleet({ db, partnerId, automate: rmm.automate, acronis: rmm.clients.acronis }, { computerIds: [computerId] }, { plans: 'of-these-machines', inventory: false });
    const computer = fleet.computers[0];
    if (!computer) throw problems.notFound(`Computer ${computerId} in Automate`);
    if (!computer.tenant.tenantId) throw problems.conflict('computerId', `belongs to ${noTenantMessage({ Id: computer.clientId, Name: computer.clientName ?? '' }, computer.tenant)}`);
    if (!computer.machineId) throw problems.conflict('computerId', `has no Acronis agent registered in tenant ${computer.tenant.tenantId}: install it with POST /v1/partners/{id}/agents/deployments`);
    return computer as FleetComputer & { machineId: string; tenant: { tenantId: string } };
  }

  router.openapi(
    createRoute({
      method: 'get',
      path: '/partners/{id}/computers',
      summary: "Automate's computers with their agent, plan and backups (SPEC F6.1)",
      description:
        'Each computer of the partner’s Automate, with the Acronis customer tenant of its client, its agent (from Acronis’s Agent Manager, and Automate’s software inventory where Acronis knows none), the plans on it and its last and next backup. ' +
        '`state` selects computers without an agent, with an outdated agent, with an agent but no plan, or protected.',
      tags: ['Agents'],
      security: bearerSecurity,
      request: { params: partnerIdParams, query: listQuery },
      responses: { 200: jsonResponse(z.object({ items: z.array(computerSchema) }), 'The computers'), ...commonErrors, ...notFound, ...conflict, ...vendorFailure },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { clientId, locationId, state, inventory } = c.req.valid('query');
      const rmm = await rmmPartner(deps, id, { change: false });
      if (clientId !== undefined && (await listClients(rmm.automate, [clientId])).length === 0) throw problems.field('clientId', 'is not a client in Automate');
      if (locationId !== undefined) {
        const [location] = await collect(rmm.automate.locations({ condition: where.eq('Id', locationId) }));
        if (!location) throw problems.field('locationId', 'is not a location in Automate');
        if (clientId !== undefined && location.Client.Id !== clientId) throw problems.field('locationId', `is not a location of client ${clientId}`);
      }
      const fleet = await readFleet(
        { db, partnerId: id, automate: rmm.automate, acronis: rmm.clients.acronis },
        { ...(clientId !== undefined ? { clientIds: [clientId] } : {}), ...(locationId !== undefined ? { locationIds: [locationId] } : {}) },
        { plans: 'all', inventory },
      );
      const items = fleet.computers.map(computerView).filter((computer) => !state || computer.states.includes(state));
      return c.json({ items }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'put',
      path: '/partners/{id}/computers/{computerId}/plan',
      summary: 'Apply a protection plan to a computer (SPEC F6.5)',
      description: "The plan is an imported plan (copied into the computer's tenant on first use) or a plan of the computer's own customer tenant.",
      tags: ['Agents'],
      security: bearerSecurity,
      request: { params: computerParams, body: jsonBody(planInput, 'The plan') },
      responses: { 200: jsonResponse(computerSchema, 'The computer with its plans'), ...commonErrors, ...notFound, ...conflict, ...vendorFailure },
    }),
    async (c) => {
      const { id, computerId } = c.req.valid('param');
      const { planId } = c.req.valid('json');
      const rmm = await rmmPartner(deps, id, { change: true });
      const computer = await machineOf(id, computerId, rmm);
      const plan = await planForTenant(db, rmm.clients.acronis, id, planId, computer.tenant.tenantId);
      if (plan.status === 'unknown') throw problems.field('planId', `is neither an imported plan nor a plan of the computer's tenant ${computer.tenant.tenantId}`);
      if (!computer.plans.some((applied) => applied.planId === plan.planId)) {
        const issues = await rmm.clients.acronis.applyPlan(plan.planId, [computer.machineId]);
        if (issues.length > 0) throw problems.conflict('planId', `Acronis did not apply it: ${issues.map((issue) => issue.message ?? issue.type).join('; ')}`);
      }
      await recordAudit(db, auditEntry(c, { action: 'computer.plan.apply', partnerId: id, target: `partner/${id}/computer/${computerId}`, details: { planId, acronisPlanId: plan.planId } }));
      return c.json(computerView(await machineOf(id, computerId, rmm)), 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'delete',
      path: '/partners/{id}/computers/{computerId}/plan',
      summary: 'Revoke the plans (or one plan) from a computer (SPEC F6.5); its backups are kept',
      tags: ['Agents'],
      security: bearerSecurity,
      request: { params: computerParams, query: revokeQuery },
      responses: { 204: { description: 'Revoked' }, ...commonErrors, ...notFound, ...conflict, ...vendorFailure },
    }),
    async (c) => {
      const { id, computerId } = c.req.valid('param');
      const { planId } = c.req.valid('query');
      const rmm = await rmmPartner(deps, id, { change: true });
      const computer = await machineOf(id, computerId, rmm);
      // An imported plan is applied as its copy in the computer's tenant.
      const wanted = planId ? new Set([planId, derivedId(planId, computer.tenant.tenantId)]) : undefined;
      const revoked = computer.plans.filter((plan) => !wanted || wanted.has(plan.planId));
      if (planId && revoked.length === 0) throw problems.notFound(`Plan ${planId} on computer ${computerId}`);
      for (const plan of revoked) await rmm.clients.acronis.revokePlan(plan.planId, [computer.machineId]);
      await recordAudit(db, auditEntry(c, { action: 'computer.plan.revoke', partnerId: id, target: `partner/${id}/computer/${computerId}`, details: { planIds: revoked.map((plan) => plan.planId) } }));
      return c.body(null, 204);
    },
  );

  const backupAnswer = z.object({ computerId: z.int(), plans: z.array(z.string()).describe('The plans whose backup was started or stopped') });

  /** Start or stop: the plans on the computer it concerns, one Acronis call each, audited; 409 when none. */
  const backupRoute = (method: 'post' | 'delete', summary: string, action: 'start' | 'stop') =>
    router.openapi(
      createRoute({
        method,
        path: '/partners/{id}/computers/{computerId}/backup',
        summary,
        tags: ['Agents'],
        security: bearerSecurity,
        request: { params: computerParams },
        responses: { 202: jsonResponse(backupAnswer, action === 'start' ? 'Started' : 'Stopped'), ...commonErrors, ...notFound, ...conflict, ...vendorFailure },
      }),
      async (c) => {
        const { id, computerId } = c.req.valid('param');
        const rmm = await rmmPartner(deps, id, { change: true });
        const computer = await machineOf(id, computerId, rmm);
        const { acronis } = rmm.clients;
        const plans = action === 'start' ? computer.plans : computer.plans.filter((plan) => plan.running);
        if (plans.length === 0) {
          throw problems.conflict('computerId', action === 'start' ? 'has no protection plan: apply one with PUT /v1/partners/{id}/computers/{computerId}/plan' : 'has no backup running');
        }
        for (const plan of plans) await (action === 'start' ? acronis.runPlan(plan.planId, [computer.machineId]) : acronis.stopPlan(plan.planId, [computer.machineId]));
        await recordAudit(db, auditEntry(c, { action: `computer.backup.${action}`, partnerId: id, target: `partner/${id}/computer/${computerId}`, details: { planIds: plans.map((plan) => plan.planId) } }));
        return c.json({ computerId, plans: plans.map((plan) => plan.name) }, 202);
      },
    );
  backupRoute('post', 'Start a backup now with the plans on the computer (SPEC F6.5)', 'start');
  backupRoute('delete', 'Stop the running backup on the computer (SPEC F6.5); the next one runs as scheduled', 'stop');

  return router;
}
