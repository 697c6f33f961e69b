/** Task Manager v2: the activities backup runs leave behind. */
import { Hono } from 'hono';
import { badRequest, notFound } from './errors.ts';
import { newUuid, type AcronisStore, type Activity } from './state.ts';
import { allOf, compare, cursorsOf, first, int64Json, listRequest, nanoTime, pageOf, parseOperator, parseTime, textMatches, type AcronisEnv } from './wire.ts';

export const BACKUP_POLICY_TYPE = 'policy.backup.machine';

export function createActivity(store: AcronisStore, fields: Pick<Activity, 'tenantId' | 'resourceId' | 'planId' | 'policyId' | 'agentId'>, startedAtMs: number): Activity {
  const taskId = store.nextTaskId();
  const activity: Activity = {
    ...fields,
    id: store.nextTaskId(),
    taskId,
    uuid: newUuid(),
    type: 'backup',
    state: 'started',
    resultCode: null,
    errorText: null,
    createdAtMs: startedAtMs,
    startedAtMs,
    completedAtMs: null,
    updatedAtMs: startedAtMs,
  };
  store.data.activities[activity.id] = activity;
  return activity;
}

const nsTime = (ms: number) => nanoTime((BigInt(ms) * 1_000_000n).toString());

function activityView(store: AcronisStore, activity: Activity) {
  const tenant = store.tenant(activity.tenantId, { allowDeleted: true });
  const resource = store.data.resources[activity.resourceId];
  const plan = store.data.policies[activity.planId];
  return {
    id: activity.id,
    idString: activity.id,
    taskId: activity.taskId,
    taskIdString: activity.taskId,
    uuid: activity.uuid,
    type: activity.type,
    state: activity.state,
    tenant: tenant ? { id: String(tenant.numericId), uuid: tenant.id, name: tenant.name, locator: store.locator(tenant) } : { id: '0', uuid: activity.tenantId },
    createdAt: nsTime(activity.createdAtMs),
    updatedAt: nsTime(activity.updatedAtMs),
    startedAt: nsTime(activity.startedAtMs),
    ...(activity.completedAtMs !== null ? { completedAt: nsTime(activity.completedAtMs) } : {}),
    executor: { id: activity.agentId ?? 'cloud' },
    resource: { id: activity.resourceId, name: resource?.name ?? '', type: resource?.type ?? 'resource.machine' },
    policy: { id: activity.policyId, name: plan?.name ?? '', type: BACKUP_POLICY_TYPE },
    context: { title: `Backup of ${resource?.name ?? activity.resourceId}` },
    ...(activity.resultCode !== null
      ? { result: { code: activity.resultCode, ...(activity.errorText !== null ? { error: { domain: 'Backup', code: 'BackupFailed', reason: 'BackupFailed', context: { message: activity.errorText } } } : {}) } }
      : {}),
    progress: activity.state === 'completed' ? { current: 100, total: 100 } : { current: 0, total: 100 },
    tags: [],
  };
}

const TIME_FIELDS = { createdAt: 'createdAtMs', updatedAt: 'updatedAtMs', startedAt: 'startedAtMs', completedAt: 'completedAtMs' } as const;
type TimeField = keyof typeof TIME_FIELDS;
const isTimeField = (field: string): field is TimeField => field in TIME_FIELDS;

export function taskRoutes(store: AcronisStore): Hono<AcronisEnv> {
  const app = new Hono<AcronisEnv>();
  const visible = (activity: Activity, scope: string) => {
    const tenant = store.tenant(activity.tenantId, { allowDeleted: true });
    return tenant !== undefined && store.isWithin(tenant, scope);
  };

  app.get('/activities', (c) => {
    const request = listRequest(c, 'tasks', { limitRequiredForCursor: true });
    const { params } = request;
    const exact: [string, (activity: Activity) => string | null][] = [
      ['id', (activity) => activity.id],
      ['uuid', (activity) => activity.uuid],
      ['taskId', (activity) => activity.taskId],
      ['type', (activity) => activity.type],
      ['state', (activity) => activity.state],
      ['resultCode', (activity) => activity.resultCode],
      ['resourceId', (activity) => activity.resourceId],
      ['policyType', () => BACKUP_POLICY_TYPE],
    ];
    const policyIds = allOf(params, 'policyId');
    const named: [string, (activity: Activity) => string][] = [
      ['resourceName', (activity) => store.data.resources[activity.resourceId]?.name ?? ''],
      ['policyName', (activity) => store.data.policies[activity.planId]?.name ?? ''],
    ];
    const times = Object.keys(TIME_FIELDS).flatMap((field) => (params[field] ?? []).map((raw) => [field as TimeField, raw] as const));
    const scope = c.get('caller').tenantId;
    const selected = Object.values(store.data.activities).filter((activity) => {
      if (!visible(activity, scope)) return false;
      for (const [name, read] of exact) {
        const wanted = allOf(params, name);
        if (wanted.length && !wanted.includes(read(activity) ?? '')) return false;
      }
      if (policyIds.length && !policyIds.includes(activity.policyId) && !policyIds.includes(activity.planId)) return false;
      for (const [name, read] of named) {
        const raw = first(params, name);
        if (raw !== undefined && !textMatches(read(activity), raw)) return false;
      }
      for (const [field, raw] of times) {
        const value = activity[TIME_FIELDS[field]];
        if (value === null || !compare(value, raw, (text) => parseTime('tasks', text), (a, b) => a - b)) return false;
      }
      return true;
    });
    const order = parseOperator(first(params, 'order') ?? 'asc(createdAt)');
    const field = order.args[0] ?? 'createdAt';
    if (field !== 'id' && !isTimeField(field)) throw badRequest('tasks', `Unsupported order field ${field}`);
    const direction = order.op === 'desc' ? -1 : 1;
    const sortKey = (activity: Activity): bigint => (field === 'id' ? BigInt(activity.id) : BigInt(activity[TIME_FIELDS[field]] ?? 0));
    selected.sort((a, b) => {
      const [left, right] = [sortKey(a), sortKey(b)];
      return direction * (left < right ? -1 : left > right ? 1 : a.id < b.id ? -1 : 1);
    });
    const page = pageOf(selected, request);
    return int64Json(c, { items: page.items.map((activity) => activityView(store, activity)), paging: { cursors: cursorsOf(page) } });
  });

  app.get('/activities/:id', (c) => {
    const activity = store.data.activities[c.req.param('id')];
    if (!activity || !visible(activity, c.get('caller').tenantId)) throw notFound('tasks', `Activity ${c.req.param('id')}`);
    return int64Json(c, activityView(store, activity));
  });
  return app;
}
