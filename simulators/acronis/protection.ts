/**
 * Resource Management v4 and Policy Management v4: machines, protection plans, their application
 * to machines, and the backups those plans run in simulated time.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { clearAlert, raiseAlert } from './alerts.ts';
import { AcronisError, badRequest, notFound } from './errors.ts';
import { tenantInScope } from './idp.ts';
import { newUuid, type AcronisStore, type PlanApplication, type Policy, type Resource, type Tenant } from './state.ts';
import { BACKUP_POLICY_TYPE, createActivity } from './tasks.ts';
import { allOf, bodyOf, first, flag, isoTime, listRequest, pageOf, queryOf, type AcronisContext, type AcronisEnv, type Page, type QueryParams } from './wire.ts';

export const PROTECTION_PLAN_TYPE = 'policy.protection.total';
/** How long a simulated backup runs. */
export const BACKUP_DURATION_MS = 60_000;
const HOUR_MS = 3_600_000;

/** The simulator's simple schedule, in the backup policy's `settings.scheduling`. */
const scheduleSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('daily'), time: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (UTC)'), enabled: z.boolean().optional() }),
  z.object({ type: z.literal('hourly'), every_hours: z.number().int().min(1).max(24), enabled: z.boolean().optional() }),
]);
type Schedule = z.output<typeof scheduleSchema>;

function scheduleOf(backup: Policy | undefined): Schedule | undefined {
  const parsed = scheduleSchema.safeParse(backup?.settings?.scheduling);
  return parsed.success && parsed.data.enabled !== false ? parsed.data : undefined;
}

function nextRunAfter(schedule: Schedule, fromMs: number): number {
  if (schedule.type === 'hourly') return fromMs + schedule.every_hours * HOUR_MS;
  const [hours, minutes] = schedule.time.split(':').map(Number) as [number, number];
  const day = new Date(fromMs);
  const today = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), hours, minutes);
  return today > fromMs ? today : today + 24 * HOUR_MS;
}

const rpError = (service: 'resources' | 'policies', status: number, code: string, message: string) => new AcronisError(service, status, code, message);

/** Runs backups on their schedules with the SimClock; keeps the clock handles out of the JSON state. */
export class BackupEngine {
  readonly #store: AcronisStore;
  readonly #timers = new Map<string, number>();

  constructor(store: AcronisStore) {
    this.#store = store;
  }

  get #clock() {
    return this.#store.clock;
  }

  plan(id: string): { root: Policy; backup: Policy | undefined } | undefined {
    const root = this.#store.data.policies[id];
    if (!root || root.deletedAtMs !== null) return undefined;
    const backup = Object.values(this.#store.data.policies).find((policy) => policy.type === BACKUP_POLICY_TYPE && policy.parentIds.includes(root.id) && policy.deletedAtMs === null);
    return { root, backup };
  }

  /** Sets the next scheduled run from `fromMs` (none when the plan has no schedule). */
  schedule(application: PlanApplication, fromMs: number): void {
    this.#cancel(`next:${application.id}`);
    const plan = this.plan(application.planId);
    const schedule = plan?.root.enabled && plan.backup?.enabled ? scheduleOf(plan.backup) : undefined;
    application.nextRunAtMs = schedule ? nextRunAfter(schedule, fromMs) : null;
    if (application.nextRunAtMs === null) return;
    const dueMs = application.nextRunAtMs;
    this.#timers.set(
      `next:${application.id}`,
      this.#clock.at(dueMs, () => {
        this.#timers.delete(`next:${application.id}`);
        this.run(application, dueMs);
        this.schedule(application, dueMs);
      }),
    );
  }

  /** Starts one backup at `atMs`; it completes `BACKUP_DURATION_MS` later with the resource's set outcome. */
  run(application: PlanApplication, atMs: number): void {
    const plan = this.plan(application.planId);
    const resource = this.#store.data.resources[application.resourceId];
    if (!plan || !resource) return;
    const activity = createActivity(this.#store, { tenantId: resource.tenantId, resourceId: resource.id, planId: plan.root.id, policyId: plan.backup?.id ?? plan.root.id, agentId: resource.agentId }, atMs);
    application.runningActivityId = activity.id;
    application.lastRunAtMs = atMs;
    const doneMs = atMs + BACKUP_DURATION_MS;
    this.#timers.set(
      `done:${activity.id}`,
      this.#clock.at(doneMs, () => {
        this.#timers.delete(`done:${activity.id}`);
        this.#complete(application, activity.id, doneMs);
      }),
    );
  }

  #complete(application: PlanApplication, activityId: string, atMs: number): void {
    const store = this.#store;
    const activity = store.data.activities[activityId];
    const resource = store.data.resources[application.resourceId];
    const plan = this.plan(application.planId);
    if (!activity || !resource || !plan) return;
    const tenant = store.tenant(resource.tenantId, { allowDeleted: true })!;
    const outcome = store.data.backupOutcomes[resource.id] ?? { outcome: 'succeed', error: '' };
    const failed = outcome.outcome === 'fail';
    Object.assign(activity, { state: 'completed', resultCode: failed ? 'error' : 'ok', errorText: failed ? outcome.error : null, completedAtMs: atMs, updatedAtMs: atMs });
    if (application.runningActivityId === activityId) application.runningActivityId = null;
    application.lastResult = failed ? 'error' : 'ok';
    if (failed) {
      raiseAlert(store, {
        type: 'BackupFailed',
        tenant,
        details: {
          planId: plan.root.id,
          planName: plan.root.name,
          resourceId: resource.id,
          resourceName: resource.name,
          activityId: activity.id,
          activity: { id: activity.uuid },
          backupSourcesType: 'machines',
          startTime: Math.floor(activity.startedAtMs / 1000),
          finishTime: Math.floor(atMs / 1000),
          error: { text: outcome.error },
        },
        source: 'backup',
      }, atMs);
      return;
    }
    application.lastSuccessAtMs = atMs;
    // A successful run clears the plan's failure alert for this machine.
    for (const alert of Object.values(store.data.alerts)) {
      if (alert.type === 'BackupFailed' && alert.details.planId === plan.root.id && alert.details.resourceId === resource.id) clearAlert(store, alert, atMs);
    }
  }

  /** Stops the running backup: its activity ends `cancelled`; the plan's schedule and last result stay as they were. */
  stop(application: PlanApplication, atMs: number): boolean {
    const activityId = application.runningActivityId;
    const activity = activityId === null ? undefined : this.#store.data.activities[activityId];
    if (!activityId || !activity) return false;
    this.#cancel(`done:${activityId}`);
    Object.assign(activity, { state: 'completed', resultCode: 'cancelled', completedAtMs: atMs, updatedAtMs: atMs });
    application.runningActivityId = null;
    return true;
  }

  unschedule(application: PlanApplication): void {
    this.#cancel(`next:${application.id}`);
  }

  #cancel(key: string): void {
    const handle = this.#timers.get(key);
    if (handle !== undefined) this.#clock.cancel(handle);
    this.#timers.delete(key);
  }

  reset(): void {
    for (const handle of this.#timers.values()) this.#clock.cancel(handle);
    this.#timers.clear();
  }
}

export function resourceView(store: AcronisStore, resource: Resource) {
  const tenant = store.tenant(resource.tenantId, { allowDeleted: true })!;
  return {
    id: resource.id,
    name: resource.name,
    user_defined_name: null,
    type: resource.type,
    tenant_id: String(tenant.numericId),
    external_id: `${resource.agentId ?? resource.id}@${tenant.numericId}`,
    agent_id: resource.agentId,
    created_at: isoTime(resource.createdAtMs),
    updated_at: isoTime(resource.updatedAtMs),
  };
}

function policyView(store: AcronisStore, policy: Policy, includeSettings: boolean) {
  const tenant = store.tenant(policy.tenantId, { allowDeleted: true })!;
  return {
    id: policy.id,
    type: policy.type,
    name: policy.name,
    tenant_id: String(tenant.numericId),
    enabled: policy.enabled,
    origin: 'upstream',
    ...(policy.parentIds.length ? { parent_ids: policy.parentIds } : {}),
    created_at: isoTime(policy.createdAtMs),
    updated_at: isoTime(policy.updatedAtMs),
    deleted_at: policy.deletedAtMs === null ? null : isoTime(policy.deletedAtMs),
    ...(includeSettings && policy.settings ? { settings: policy.settings } : {}),
  };
}

/** The RP services' list answer: `total` sits inside `cursors`. */
function rpPage<T, V>(page: Page<T>, view: (item: T) => V) {
  return { items: page.items.map(view), paging: { cursors: { total: page.total, ...(page.after ? { after: page.after } : {}), ...(page.before ? { before: page.before } : {}) } } };
}

/** `tenant_id` filters take numeric ids or UUIDs. */
function tenantFilter(store: AcronisStore, params: QueryParams): ((tenantId: string) => boolean) | undefined {
  const wanted = allOf(params, 'tenant_id', { commas: true });
  if (!wanted.length) return undefined;
  const ids = new Set(wanted.map((ref) => (/^\d+$/.test(ref) ? store.tenantByNumericId(ref)?.id : ref.toLowerCase())).filter((id): id is string => id !== undefined));
  return (tenantId) => ids.has(tenantId);
}

const policyInput = z.object({
  id: z.string().optional(),
  type: z.string().regex(/^policy\./, 'must be a policy type'),
  name: z.string().optional(),
  tenant_id: z.string().optional(),
  enabled: z.boolean().optional(),
  parent_ids: z.array(z.string()).optional(),
  settings: z.record(z.string(), z.unknown()).optional(),
});
const policiesPost = z.object({ subject: z.object({ policy: z.array(policyInput).min(1) }), override_tenant_id: z.string().optional(), ensure_applications: z.boolean().optional() });
const applicationsPost = z.object({ policy_id: z.string(), context: z.object({ items: z.array(z.string()).min(1) }) });
const applicationsRun = z.object({ state: z.enum(['running', 'stopped']), policy_id: z.string(), context_ids: z.array(z.string()).optional() });

export function protectionRoutes(store: AcronisStore, backups: BackupEngine): { resources: Hono<AcronisEnv>; policies: Hono<AcronisEnv> } {
  const resources = new Hono<AcronisEnv>();
  const policies = new Hono<AcronisEnv>();
  const scope = (c: AcronisContext) => c.get('caller').tenantId;
  const inScope = (c: AcronisContext, tenantId: string) => {
    const tenant = store.tenant(tenantId, { allowDeleted: true });
    return tenant !== undefined && store.isWithin(tenant, scope(c));
  };

  function resourceInScope(c: AcronisContext, service: 'resources' | 'policies', id: string): Resource {
    const resource = store.data.resources[id.toLowerCase()];
    if (!resource || !inScope(c, resource.tenantId)) throw rpError(service, 404, 'ResourceNotFound', `Resource ${id} not found`);
    return resource;
  }

  function planInScope(c: AcronisContext, id: string) {
    const policy = store.data.policies[id];
    const rootId = policy?.type === PROTECTION_PLAN_TYPE ? policy.id : policy?.parentIds[0];
    const plan = rootId ? backups.plan(rootId) : undefined;
    if (!plan || !inScope(c, plan.root.tenantId)) throw notFound('policies', `Policy ${id}`);
    return plan;
  }

  const applicationsOf = (planId: string) => Object.values(store.data.planApplications).filter((application) => application.planId === planId);

  // --- resources ---
  resources.get('/resources', (c) => {
    const request = listRequest(c, 'resources');
    const { params } = request;
    const inTenants = tenantFilter(store, params);
    const types = allOf(params, 'type', { commas: true });
    const agents = allOf(params, 'agent_id', { commas: true });
    const ids = [...allOf(params, 'id', { commas: true }), ...allOf(params, 'resource_id', { commas: true })];
    const selected = Object.values(store.data.resources)
      .filter((resource) => inScope(c, resource.tenantId) && (!inTenants || inTenants(resource.tenantId)) && (!types.length || types.includes(resource.type)) && (!agents.length || agents.includes(resource.agentId ?? '')) && (!ids.length || ids.includes(resource.id)))
      .sort((a, b) => a.createdAtMs - b.createdAtMs || a.id.localeCompare(b.id));
    return c.json(rpPage(pageOf(selected, request), (resource) => resourceView(store, resource)));
  });
  resources.get('/resources/:id', (c) => c.json(resourceView(store, resourceInScope(c, 'resources', c.req.param('id')))));
  resources.get('/resource_statuses', (c) => {
    const request = listRequest(c, 'resources');
    const inTenants = tenantFilter(store, request.params);
    const selected = Object.values(store.data.resources)
      .filter((resource) => inScope(c, resource.tenantId) && (!inTenants || inTenants(resource.tenantId)))
      .sort((a, b) => a.createdAtMs - b.createdAtMs || a.id.localeCompare(b.id));
    return c.json(
      rpPage(pageOf(selected, request), (resource) => {
        const applied = Object.values(store.data.planApplications).filter((application) => application.resourceId === resource.id);
        const status = !applied.length ? 'not_protected' : applied.some((application) => application.runningActivityId) ? 'running' : applied.some((application) => application.lastResult === 'error') ? 'error' : 'ok';
        const lastOf = (read: (application: PlanApplication) => number | null) => Math.max(0, ...applied.map((application) => read(application) ?? 0)) || null;
        const lastRun = lastOf((application) => application.lastRunAtMs);
        const lastSuccess = lastOf((application) => application.lastSuccessAtMs);
        return {
          aggregate: { status, names: applied.map((application) => store.data.policies[application.planId]?.name ?? '').join(';') },
          context: resourceView(store, resource),
          policies: applied.length ? [{ type: BACKUP_POLICY_TYPE, last_run: lastRun && isoTime(lastRun), last_success_run: lastSuccess && isoTime(lastSuccess) }] : [],
        };
      }),
    );
  });

  // --- policies ---
  policies.post('/policies', async (c) => {
    const body = await bodyOf(c, 'policies', policiesPost);
    const roots = body.subject.policy.filter((policy) => policy.type === PROTECTION_PLAN_TYPE);
    if (roots.length !== 1) throw rpError('policies', 422, 'SchemaValidationError', `A protection plan has exactly one ${PROTECTION_PLAN_TYPE} policy`);
    const tenantRef = body.override_tenant_id ?? roots[0]!.tenant_id ?? scope(c);
    const tenantId = /^\d+$/.test(tenantRef) ? store.tenantByNumericId(tenantRef)?.id : tenantRef;
    const tenant: Tenant = tenantInScope(store, c, 'policies', tenantId ?? tenantRef);
    const rootId = roots[0]!.id ?? newUuid();
    const now = store.now();
    const created = body.subject.policy.map((input): Policy => {
      const isRoot = input.type === PROTECTION_PLAN_TYPE;
      const parentIds = isRoot ? [] : (input.parent_ids ?? [rootId]);
      if (!isRoot && (parentIds.length !== 1 || parentIds[0] !== rootId)) throw rpError('policies', 422, 'SchemaValidationError', `Policy ${input.type} must have the plan ${rootId} as its parent`);
      if (input.type === BACKUP_POLICY_TYPE && input.settings?.scheduling !== undefined) {
        const parsed = scheduleSchema.safeParse(input.settings.scheduling);
        if (!parsed.success) throw rpError('policies', 422, 'SchemaValidationError', `settings.scheduling: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
      }
      const id = isRoot ? rootId : (input.id ?? newUuid());
      if (store.data.policies[id]) throw rpError('policies', 409, 'DataConflict', `Policy ${id} already exists`);
      return { id, type: input.type, name: input.name ?? roots[0]!.name ?? 'Protection plan', tenantId: tenant.id, enabled: input.enabled ?? true, parentIds, settings: input.settings ?? null, createdAtMs: now, updatedAtMs: now, deletedAtMs: null };
    });
    for (const policy of created) store.data.policies[policy.id] = policy;
    return c.json({ result: created.map((policy) => `${policy.id}@${policy.type}`), issues: [] });
  });

  policies.get('/policies', (c) => {
    const request = listRequest(c, 'policies');
    const { params } = request;
    const inTenants = tenantFilter(store, params);
    const ids = allOf(params, 'policy_id', { commas: true });
    const types = [...allOf(params, 'type', { commas: true }), ...allOf(params, 'types', { commas: true })];
    const enabled = first(params, 'enabled');
    const applicableTo = first(params, 'applicable_to_context_id');
    const applicableTenant = applicableTo ? resourceInScope(c, 'policies', applicableTo).tenantId : undefined;
    const includeSettings = flag(params, 'include_settings');
    const includeContext = flag(params, 'include_applied_context');
    const plans = Object.values(store.data.policies)
      .filter((policy) => policy.type === PROTECTION_PLAN_TYPE && policy.deletedAtMs === null && inScope(c, policy.tenantId))
      .map((root) => backups.plan(root.id)!)
      .filter(({ root, backup }) => {
        const nodes = [root, ...(backup ? [backup] : [])];
        if (inTenants && !inTenants(root.tenantId)) return false;
        if (ids.length && !nodes.some((node) => ids.includes(node.id))) return false;
        if (types.length && !nodes.some((node) => types.includes(node.type))) return false;
        if (enabled !== undefined && String(root.enabled) !== enabled) return false;
        if (applicableTenant && !store.isWithin(store.tenant(applicableTenant, { allowDeleted: true })!, root.tenantId)) return false;
        return true;
      })
      .sort((a, b) => a.root.createdAtMs - b.root.createdAtMs || a.root.id.localeCompare(b.root.id));
    return c.json(
      rpPage(pageOf(plans, request), ({ root }) => {
        const nodes = Object.values(store.data.policies).filter((policy) => (policy.id === root.id || policy.parentIds.includes(root.id)) && policy.deletedAtMs === null);
        return { policy: nodes.map((node) => policyView(store, node, includeSettings)), ...(includeContext ? { context: { items: applicationsOf(root.id).map((application) => application.resourceId) } } : {}) };
      }),
    );
  });

  policies.delete('/policies/:id', (c) => {
    const { root } = planInScope(c, c.req.param('id'));
    for (const application of applicationsOf(root.id)) revoke(application);
    const now = store.now();
    for (const policy of Object.values(store.data.policies)) if (policy.id === root.id || policy.parentIds.includes(root.id)) Object.assign(policy, { deletedAtMs: now, updatedAtMs: now });
    return c.body(null, 204);
  });

  function revoke(application: PlanApplication): void {
    backups.unschedule(application);
    delete store.data.planApplications[application.id];
  }

  policies.post('/applications', async (c) => {
    const body = await bodyOf(c, 'policies', applicationsPost);
    const { root } = planInScope(c, body.policy_id);
    const targets = body.context.items.map((id) => resourceInScope(c, 'policies', id));
    const issues = targets.filter((resource) => !store.isWithin(store.tenant(resource.tenantId)!, root.tenantId)).map((resource) => ({ severity: 'error', type: 'NotApplicable', context_id: resource.id, message: 'The resource is outside the plan tenant' }));
    if (issues.length) return c.json({ issues }, 422);
    for (const resource of targets) applyPlan(store, backups, root.id, resource.id);
    return c.json({ issues: [] });
  });

  policies.delete('/applications', (c) => {
    const params = queryOf(c);
    const policyId = first(params, 'policy_id');
    if (!policyId) throw badRequest('policies', 'policy_id is required');
    const { root } = planInScope(c, policyId);
    const contexts = allOf(params, 'context_id', { commas: true });
    for (const application of applicationsOf(root.id)) if (!contexts.length || contexts.includes(application.resourceId)) revoke(application);
    return c.body(null, 204);
  });

  policies.put('/applications/run', async (c) => {
    const body = await bodyOf(c, 'policies', applicationsRun);
    const plan = planInScope(c, body.policy_id);
    if (body.state === 'stopped') {
      // [INFER] Stopping what does not run is not an error: the state asked for already holds.
      for (const application of applicationsOf(plan.root.id)) if (!body.context_ids || body.context_ids.includes(application.resourceId)) backups.stop(application, store.now());
      return c.body(null, 202);
    }
    if (!plan.root.enabled || (plan.backup && !plan.backup.enabled)) throw rpError('policies', 422, 'FailedEnabledInvariantError', 'The policy is disabled');
    const applied = applicationsOf(plan.root.id).filter((application) => !body.context_ids || body.context_ids.includes(application.resourceId));
    if (!applied.length || (body.context_ids && applied.length !== body.context_ids.length)) throw rpError('policies', 422, 'NoApplicationsError', 'The policy is not applied to the given resources');
    for (const application of applied) backups.run(application, store.now());
    return c.body(null, 202);
  });

  policies.get('/applications', (c) => {
    const request = listRequest(c, 'policies');
    const { params } = request;
    const policyIds = allOf(params, 'policy_id', { commas: true });
    const contexts = allOf(params, 'context_id', { commas: true });
    const agents = allOf(params, 'agent_id', { commas: true });
    const policyTypes = allOf(params, 'policy_type', { commas: true });
    const rows = Object.values(store.data.planApplications)
      .sort((a, b) => a.createdAtMs - b.createdAtMs || a.id.localeCompare(b.id))
      .flatMap((application) => {
        const plan = backups.plan(application.planId);
        const resource = store.data.resources[application.resourceId];
        if (!plan || !resource || !inScope(c, resource.tenantId)) return [];
        return [plan.root, ...(plan.backup ? [plan.backup] : [])].map((policy) => ({ application, policy, resource }));
      })
      .filter(({ application, policy, resource }) => (!policyIds.length || policyIds.includes(policy.id) || policyIds.includes(application.planId)) && (!contexts.length || contexts.includes(resource.id)) && (!agents.length || agents.includes(resource.agentId ?? '')) && (!policyTypes.length || policyTypes.includes(policy.type)));
    return c.json(
      rpPage(pageOf(rows, request), ({ application, policy, resource }) => {
        const plan = store.data.policies[application.planId]!;
        const running = application.runningActivityId !== null;
        return {
          id: `${policy.id}:${resource.id}`,
          agent_id: resource.agentId,
          context: { id: resource.id, type: resource.type },
          context_tenant_id: String(store.tenant(resource.tenantId, { allowDeleted: true })!.numericId),
          tenant_id: String(store.tenant(plan.tenantId, { allowDeleted: true })!.numericId),
          policy: { id: policy.id, name: policy.name, type: policy.type },
          origin_contexts: [],
          enabled: policy.enabled,
          status: running ? 'running' : application.lastResult === 'error' ? 'error' : 'ok',
          running: { state: running ? 'running' : 'idle' },
          last_runtime: application.lastRunAtMs === null ? null : isoTime(application.lastRunAtMs),
          next_run_time: application.nextRunAtMs === null ? null : isoTime(application.nextRunAtMs),
        };
      }),
    );
  });

  return { resources, policies };
}

/** Forgets a machine's plans (its agent left). */
export function revokeResource(store: AcronisStore, backups: BackupEngine, resourceId: string): void {
  for (const application of Object.values(store.data.planApplications)) {
    if (application.resourceId !== resourceId) continue;
    backups.unschedule(application);
    delete store.data.planApplications[application.id];
  }
}

/** Applies a plan to a machine from outside the API (a registration token's auto-apply scope). */
export function applyPlan(store: AcronisStore, backups: BackupEngine, planId: string, resourceId: string): boolean {
  if (!backups.plan(planId) || Object.values(store.data.planApplications).some((application) => application.planId === planId && application.resourceId === resourceId)) return false;
  const application: PlanApplication = { id: newUuid(), planId, resourceId, createdAtMs: store.now(), nextRunAtMs: null, runningActivityId: null, lastRunAtMs: null, lastSuccessAtMs: null, lastResult: null };
  store.data.planApplications[application.id] = application;
  backups.schedule(application, store.now());
  return true;
}
