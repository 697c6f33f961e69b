import { randomUUID } from 'node:crypto';
import { createRoute, z } from '@hono/zod-openapi';
import { collect } from '../../clients/collect.ts';
import { where } from '../../clients/connectwise-automate/condition.ts';
import type { AutomateComputer } from '../../clients/connectwise-automate/models.ts';
import {
  countsOfDeployments,
  findDeployment,
  insertDeployment,
  listAgentPolicies,
  listDeploymentComputers,
  listDeployments,
  listImportedPlans,
  replaceAgentPolicies,
  type AgentPolicy,
  type Deployment,
  type DeploymentComputer,
} from '../../db/agents.ts';
import { recordAudit } from '../../db/audit-log.ts';
import { REGISTRATION_TIMEOUT_S } from '../../domain/agents.ts';
import { findPartner } from '../../db/partners.ts';
import { readSettings } from '../../db/settings.ts';
import { clientTenants, noTenantMessage, type ClientTenant } from '../../rmm/client-tenants.ts';
import { listClients, listComputers } from '../../rmm/fleet.ts';
import { customerPlan } from '../../rmm/plans.ts';
import { deploymentWorkflowId, type DeploymentCounts } from '../../workflows/contracts/agents.ts';
import { auditEntry, withTemporalDeadline, type ApiDeps } from '../context.ts';
import { fieldPath, ProblemError, problems, type FieldError } from '../problem.ts';
import { automateId, rmmPartner } from '../rmm-partner.ts';
import { newRouter } from '../router.ts';
import { bearerSecurity, commonErrors, conflict, jsonBody, jsonResponse, notFound, partnerIdParams, unavailable, vendorFailure } from '../schemas.ts';

const MAX_COMPUTERS = 1_000;
const MAX_POLICIES = 1_000;
const DEFAULT_WINDOW_MINUTES = 24 * 60;
const DEFAULT_LIST_LIMIT = 50;

function noDuplicates<T>(key: (value: T) => string, message: string) {
  return (values: T[], ctx: z.RefinementCtx) => {
    const seen = new Set<string>();
    values.forEach((value, index) => {
      if (seen.has(key(value))) ctx.addIssue({ code: 'custom', path: [index], message });
      seen.add(key(value));
    });
  };
}

const deploymentInput = z
  .strictObject({
    action: z.enum(['install', 'update', 'uninstall']),
    computerIds: z.array(automateId('an Automate computer')).min(1).max(MAX_COMPUTERS).superRefine(noDuplicates(String, 'is listed twice')).optional(),
    clientId: automateId('an Automate client').optional().describe('Every computer of this client'),
    locationId: automateId('an Automate location').optional().describe('Every computer of this location'),
    withBackupMonitor: z.boolean().optional().describe('install only: the plugin script that also installs the backup monitor'),
    windowMinutes: z.int().min(1).max(7 * 24 * 60).optional().describe(`How long offline computers are waited for (default ${DEFAULT_WINDOW_MINUTES})`),
  })
  .superRefine((body, ctx) => {
    const targets = [body.computerIds, body.clientId, body.locationId].filter((target) => target !== undefined).length;
    if (targets !== 1) ctx.addIssue({ code: 'custom', path: [], message: 'send exactly one of computerIds, clientId and locationId' });
    if (body.withBackupMonitor !== undefined && body.action !== 'install') ctx.addIssue({ code: 'custom', path: ['withBackupMonitor'], message: 'applies to install only' });
  })
  .openapi('DeploymentRequest');

const deploymentComputerSchema = z.object({
  computerId: z.int(),
  name: z.string(),
  clientId: z.int(),
  locationId: z.int(),
  tenantId: z.string(),
  status: z.enum(['pending', 'running', 'succeeded', 'failed']),
  agentId: z.string().nullable(),
  error: z.string().nullable().describe('Why the computer failed, or what a pending one waits for (offline ...)'),
  detail: z.string().nullable().describe('What the engine knows of the computer’s step, also for running and succeeded ones'),
});

const countsSchema = z.object({ total: z.int(), pending: z.int(), running: z.int(), succeeded: z.int(), failed: z.int() });

const deploymentSummarySchema = z.object({
  deploymentId: z.uuid(),
  action: z.enum(['install', 'update', 'uninstall']),
  trigger: z.enum(['api', 'scan']).describe('Asked for through the API, or started by the agents scan (auto-deploy)'),
  status: z.enum(['running', 'done']),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
  windowEndsAt: z.string(),
  endReason: z.string().nullable().describe('Why the deployment ended before every computer had its outcome'),
  counts: countsSchema,
  workflowId: z.string(),
  webUiUrl: z.string(),
});

const deploymentSchema = deploymentSummarySchema.extend({ computers: z.array(deploymentComputerSchema) }).openapi('Deployment');

const policyInput = z.strictObject({
  clientId: automateId('an Automate client'),
  locationId: automateId('an Automate location').nullable().optional().describe('A location of the client; absent or null: the whole client'),
  autoDeploy: z.boolean().describe('Install the agent on computers without one (SPEC F6.3)'),
  withBackupMonitor: z.boolean().describe('Auto-deploy with the backup monitor'),
  defaultPlanId: z.uuid({ error: 'must be a protection plan id (UUID)' }).nullable().optional().describe('Applied to computers with an agent but no plan (SPEC F6.4); the partner’s default plan when absent'),
});

const policiesInput = z
  .array(policyInput)
  .max(MAX_POLICIES)
  .superRefine(noDuplicates((policy) => `${policy.clientId}/${policy.locationId ?? '*'}`, 'names a client or location that an earlier entry names'))
  .openapi('AgentPoliciesInput');

const policySchema = z
  .object({
    clientId: z.int(),
    clientName: z.string().nullable(),
    locationId: z.int().nullable(),
    autoDeploy: z.boolean(),
    withBackupMonitor: z.boolean(),
    defaultPlanId: z.string().nullable(),
    tenantId: z.string().nullable(),
    noTenantReason: z.string().nullable(),
    lastScanAt: z.string().nullable(),
    lastScanNote: z.string().nullable().describe('What the last scan did for this client or location, or why it could not'),
  })
  .openapi('AgentPolicy');

const deploymentParams = partnerIdParams.extend({
  deploymentId: z.uuid({ error: 'must be a deployment id (UUID)' }).openapi({ param: { name: 'deploymentId', in: 'path' } }),
});

export function agentRoutes(deps: ApiDeps) {
  const { db, workflows } = deps;
  const router = newRouter();

  function computerView(computer: DeploymentComputer): z.infer<typeof deploymentComputerSchema> {
    const failedOrWaiting = computer.status === 'failed' || computer.status === 'pending';
    return {
      computerId: computer.computerId,
      name: computer.name,
      clientId: computer.clientId,
      locationId: computer.locationId,
      tenantId: computer.tenantId,
      status: computer.status,
      agentId: computer.agentId,
      error: failedOrWaiting ? computer.reason : null,
      detail: computer.reason,
    };
  }

  function summaryView(deployment: Deployment, counts: DeploymentCounts): z.infer<typeof deploymentSummarySchema> {
    const workflowId = deploymentWorkflowId(deployment.partnerId, deployment.id);
    return {
      deploymentId: deployment.id,
      action: deployment.action,
      trigger: deployment.trigger,
      status: deployment.status,
      createdAt: deployment.createdAt.toISOString(),
      finishedAt: deployment.finishedAt?.toISOString() ?? null,
      windowEndsAt: deployment.windowEndsAt.toISOString(),
      endReason: deployment.endReason,
      counts,
      workflowId,
      webUiUrl: workflows.webUiUrl(workflowId),
    };
  }

  /** The computers the request names, with the index or field to name in errors. */
  async function targetsOf(automate: Parameters<typeof listComputers>[0], body: z.infer<typeof deploymentInput>): Promise<{ computers: AutomateComputer[]; pathOf: (computer: AutomateComputer) => string }> {
    if (body.computerIds) {
      const found = new Map((await listComputers(automate, { computerIds: body.computerIds })).map((computer) => [computer.Id, computer]));
      const missing: FieldError[] = body.computerIds.flatMap((computerId, index) => (found.has(computerId) ? [] : [{ path: fieldPath(['computerIds', index]), message: `computer ${computerId} is not in Automate` }]));
      if (missing.length > 0) throw problems.validation(missing);
      const indexOf = new Map(body.computerIds.map((computerId, index) => [computerId, index]));
      return { computers: body.computerIds.map((computerId) => found.get(computerId)!), pathOf: (computer) => fieldPath(['computerIds', indexOf.get(computer.Id)!]) };
    }
    if (body.clientId !== undefined) {
      if ((await listClients(automate, [body.clientId])).length === 0) throw problems.field('clientId', `client ${body.clientId} is not in Automate`);
      const computers = await listComputers(automate, { clientIds: [body.clientId] });
      if (computers.length === 0) throw problems.field('clientId', `client ${body.clientId} has no computers in Automate`);
      return { computers, pathOf: () => 'clientId' };
    }
    const locationId = body.locationId!;
    const [location] = await collect(automate.locations({ condition: where.eq('Id', locationId) }));
    if (!location) throw problems.field('locationId', `location ${locationId} is not in Automate`);
    const computers = await listComputers(automate, { locationIds: [locationId] });
    if (computers.length === 0) throw problems.field('locationId', `location ${locationId} has no computers in Automate`);
    return { computers, pathOf: () => 'locationId' };
  }

  router.openapi(
    createRoute({
      method: 'post',
      path: '/partners/{id}/agents/deployments',
      summary: 'Install, update or uninstall the Acronis agent on computers, a client or a location (SPEC F6.2)',
      description:
        'Starts `partner/<id>/deployment/<deploymentId>`. Install runs the Acronis plugin’s script through Automate with a registration token of the computer’s tenant (scoped to its default plan when one is set) and waits for the agent to register; ' +
        'uninstall runs the uninstall script and waits for the agent to leave Acronis; update asks Acronis’s Agent Manager. Offline computers are scripted when they come online within `windowMinutes`. ' +
        'Every computer of the deployment must belong to a client with an Acronis tenant (else 409 naming the client).',
      tags: ['Agents'],
      security: bearerSecurity,
      request: { params: partnerIdParams, body: jsonBody(deploymentInput, 'What to do where') },
      responses: {
        202: jsonResponse(z.object({ deploymentId: z.uuid(), workflowId: z.string(), computers: z.int() }), 'The deployment started'),
        ...commonErrors,
        ...notFound,
        ...conflict,
        ...vendorFailure,
        ...unavailable,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      const rmm = await rmmPartner(deps, id, { change: true });
      const { computers, pathOf } = await targetsOf(rmm.automate, body);
      const clients = await listClients(rmm.automate, [...new Set(computers.map((computer) => computer.Client.Id))]);
      const tenants = await clientTenants(db, id, clients);
      const tenantOf = (clientId: number): ClientTenant => tenants.get(clientId) ?? { tenantId: null, via: null, reason: 'the client is not in Automate' };
      const homeless = new Map<string, FieldError>();
      for (const computer of computers) {
        const tenant = tenantOf(computer.Client.Id);
        const path = pathOf(computer);
        if (!tenant.tenantId && !homeless.has(path)) homeless.set(path, { path, message: `${body.computerIds ? `computer ${computer.Id} belongs to ` : ''}${noTenantMessage({ Id: computer.Client.Id, Name: computer.Client.Name ?? '' }, tenant)}` });
      }
      if (homeless.size > 0) throw new ProblemError(409, 'conflict', 'Conflict', 'Some computers belong to Automate clients without an Acronis tenant; nothing was started.', [...homeless.values()]);

      const partner = (await findPartner(db, id))!;
      const deploymentId = randomUUID();
      const windowEndsAt = new Date(Date.now() + (body.windowMinutes ?? DEFAULT_WINDOW_MINUTES) * 60_000);
      const targets = computers.map((computer) => ({
        computerId: computer.Id,
        clientId: computer.Client.Id,
        locationId: computer.Location.Id,
        name: computer.ComputerName,
        tenantId: tenantOf(computer.Client.Id).tenantId!,
        withBackupMonitor: body.withBackupMonitor ?? false,
      }));
      const target = body.computerIds ? `${computers.length} computers` : body.clientId !== undefined ? `client ${body.clientId}` : `location ${body.locationId}`;
      const audit = auditEntry(c, { action: 'agents.deploy', partnerId: id, target: `partner/${id}/deployment/${deploymentId}`, details: { action: body.action, target, computers: computers.length, withBackupMonitor: body.withBackupMonitor ?? false } });
      await db.transaction().execute(async (tx) => {
        await insertDeployment(tx, { id: deploymentId, partnerId: id, action: body.action, trigger: 'api', windowEndsAt, registrationTimeoutSeconds: REGISTRATION_TIMEOUT_S, requestedBy: audit.actor }, targets);
        await recordAudit(tx, audit);
        // Started before the commit: if Temporal does not answer, no deployment is recorded either.
        await withTemporalDeadline(deps, () => deps.agents.startDeployment({ partnerId: id, psaKind: partner.psaKind, partnerName: partner.name, deploymentId, what: `agent ${body.action} on ${target}` }));
      });
      return c.json({ deploymentId, workflowId: deploymentWorkflowId(id, deploymentId), computers: computers.length }, 202);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/partners/{id}/agents/deployments',
      summary: 'The latest deployments, from the API and from the scan',
      tags: ['Agents'],
      security: bearerSecurity,
      request: { params: partnerIdParams, query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(DEFAULT_LIST_LIMIT) }) },
      responses: { 200: jsonResponse(z.object({ items: z.array(deploymentSummarySchema) }), 'Newest first'), ...commonErrors, ...notFound },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { limit } = c.req.valid('query');
      if (!(await findPartner(db, id))) throw problems.notFound(`Partner ${id}`);
      const deployments = await listDeployments(db, id, limit);
      const counts = await countsOfDeployments(db, deployments.map((deployment) => deployment.id));
      return c.json({ items: deployments.map((deployment) => summaryView(deployment, counts.get(deployment.id)!)) }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/partners/{id}/agents/deployments/{deploymentId}',
      summary: "A deployment and each computer's outcome",
      tags: ['Agents'],
      security: bearerSecurity,
      request: { params: deploymentParams },
      responses: { 200: jsonResponse(deploymentSchema, 'The deployment'), ...commonErrors, ...notFound },
    }),
    async (c) => {
      const { id, deploymentId } = c.req.valid('param');
      const deployment = await findDeployment(db, id, deploymentId);
      if (!deployment) throw problems.notFound(`Deployment ${deploymentId}`);
      const computers = await listDeploymentComputers(db, deploymentId);
      const counts = (await countsOfDeployments(db, [deploymentId])).get(deploymentId)!;
      return c.json({ ...summaryView(deployment, counts), computers: computers.map(computerView) }, 200);
    },
  );

  async function policiesView(partnerId: string, automate: Parameters<typeof listClients>[0]): Promise<z.infer<typeof policySchema>[]> {
    const policies = await listAgentPolicies(db, partnerId);
    const clients = policies.length ? await listClients(automate, [...new Set(policies.map((policy) => policy.clientId))]) : [];
    const tenants = await clientTenants(db, partnerId, clients);
    const names = new Map(clients.map((client) => [client.Id, client.Name]));
    return policies.map((policy) => {
      const tenant = tenants.get(policy.clientId);
      return {
        clientId: policy.clientId,
        clientName: names.get(policy.clientId) ?? null,
        locationId: policy.locationId,
        autoDeploy: policy.autoDeploy,
        withBackupMonitor: policy.withBackupMonitor,
        defaultPlanId: policy.defaultPlanId,
        tenantId: tenant?.tenantId ?? null,
        noTenantReason: tenant ? tenant.reason : 'the client is not in Automate any more',
        lastScanAt: policy.lastScanAt?.toISOString() ?? null,
        lastScanNote: policy.lastScanNote,
      };
    });
  }

  router.openapi(
    createRoute({
      method: 'get',
      path: '/partners/{id}/agents/policies',
      summary: 'Agent policies per client and location, with what the last scan did',
      tags: ['Agents'],
      security: bearerSecurity,
      request: { params: partnerIdParams },
      responses: { 200: jsonResponse(z.object({ items: z.array(policySchema) }), 'The policies'), ...commonErrors, ...notFound, ...conflict, ...vendorFailure },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const rmm = await rmmPartner(deps, id, { change: false });
      return c.json({ items: await policiesView(id, rmm.automate) }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'put',
      path: '/partners/{id}/agents/policies',
      summary: 'Replace the agent policies (SPEC F6.3, F6.4)',
      description:
        'One entry per client (no `locationId`) or location; a location’s entry takes precedence over its client’s. Every 6 minutes (and at once after this call) the agents scan installs the agent on computers without one where `autoDeploy` is on, ' +
        'and applies `defaultPlanId` (else the partner’s default plan) to computers that have an agent but no plan.',
      tags: ['Agents'],
      security: bearerSecurity,
      request: { params: partnerIdParams, body: jsonBody(policiesInput, 'The whole set; entries not listed are removed') },
      responses: { 200: jsonResponse(z.object({ items: z.array(policySchema) }), 'The policies'), ...commonErrors, ...notFound, ...conflict, ...vendorFailure },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const input = c.req.valid('json');
      const rmm = await rmmPartner(deps, id, { change: false });
      const clients = new Map((await listClients(rmm.automate, [...new Set(input.map((policy) => policy.clientId))])).map((client) => [client.Id, client]));
      const tenants = await clientTenants(db, id, [...clients.values()]);
      const imported = new Set((await listImportedPlans(db, id)).map((plan) => plan.planId));
      const errors: FieldError[] = [];
      for (const [index, policy] of input.entries()) {
        const client = clients.get(policy.clientId);
        if (!client) {
          errors.push({ path: fieldPath([index, 'clientId']), message: `client ${policy.clientId} is not in Automate` });
          continue;
        }
        if (policy.locationId && !(client.Locations ?? []).some((location) => location.Id === policy.locationId)) {
          errors.push({ path: fieldPath([index, 'locationId']), message: `location ${policy.locationId} is not a location of client ${policy.clientId}` });
        }
        if (policy.defaultPlanId && !imported.has(policy.defaultPlanId)) {
          const tenantId = tenants.get(policy.clientId)?.tenantId;
          if (!tenantId || !(await customerPlan(rmm.clients.acronis, tenantId, policy.defaultPlanId))) {
            errors.push({ path: fieldPath([index, 'defaultPlanId']), message: `plan ${policy.defaultPlanId} is neither an imported plan nor a plan of the client's tenant${tenantId ? '' : ' (the client has no tenant)'}` });
          }
        }
      }
      if (errors.length > 0) throw problems.validation(errors);
      const policies: AgentPolicy[] = input.map((policy) => ({
        clientId: policy.clientId,
        locationId: policy.locationId ?? null,
        autoDeploy: policy.autoDeploy,
        withBackupMonitor: policy.withBackupMonitor,
        defaultPlanId: policy.defaultPlanId ?? null,
      }));
      await db.transaction().execute(async (tx) => {
        if (!(await findPartner(tx, id, { forUpdate: true }))) throw problems.notFound(`Partner ${id}`);
        await replaceAgentPolicies(tx, id, policies);
        await recordAudit(tx, auditEntry(c, { action: 'agents.policies.replace', partnerId: id, target: `partner/${id}/agents/policies`, details: { policies } }));
      });
      await scanNow(id);
      return c.json({ items: await policiesView(id, rmm.automate) }, 200);
    },
  );

  /** The scan runs at once rather than within 6 minutes; only while agent management is on, since the signal starts the loop where it does not run. */
  async function scanNow(partnerId: string): Promise<void> {
    const partner = await findPartner(db, partnerId);
    if (!partner || !(await readSettings(db, partnerId))?.settings.agents.enabled) return;
    try {
      await withTemporalDeadline(deps, () => deps.loops.syncNow({ partnerId, partnerName: partner.name, psaKind: partner.psaKind }, 'agents'));
    } catch (error) {
      deps.logger.warn({ err: error, partnerId }, 'could not ask the agents scan to run now; it runs within 6 minutes');
    }
  }

  return router;
}
