/** Alert Manager v1: raise (deduplicated), list with filters and cursors, dismiss, types. */
import { Hono } from 'hono';
import { z } from 'zod';
import { ALERT_CATEGORIES, ALERT_TYPES, SEVERITY_ORDER, type Severity } from './catalogue.ts';
import { AcronisError, badRequest, notFound } from './errors.ts';
import { tenantInScope } from './idp.ts';
import { newUuid, type AcronisStore, type Alert, type Tenant } from './state.ts';
import { allOf, bodyOf, compare, cursorsOf, first, flag, listRequest, nanoTime, pageOf, parseOperator, queryOf, textMatches, type AcronisContext, type AcronisEnv, type QueryParams } from './wire.ts';

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface RaiseAlert {
  type: string;
  tenant: Tenant;
  details: Record<string, unknown>;
  severity?: Severity;
  category?: string;
  source?: string;
}

function keyOf(type: string, tenant: Tenant, details: Record<string, unknown>): string {
  const contextKeys = ALERT_TYPES.find((candidate) => candidate.id === type)?.contextKeys ?? [];
  // Without context keys every raise is its own alert.
  const context = contextKeys.length > 0 ? contextKeys.map((key) => JSON.stringify(details[key] ?? null)).join('|') : newUuid();
  return `${type}|${tenant.id}|${context}`;
}

/**
 * Raises an alert. The same type and context re-raises the existing alert under the same id with
 * fresh details and `updatedAt`, even after it was dismissed, as the real Alert Manager does.
 */
export function raiseAlert(store: AcronisStore, input: RaiseAlert, atMs = store.now()): Alert {
  const type = ALERT_TYPES.find((candidate) => candidate.id === input.type);
  const key = keyOf(input.type, input.tenant, input.details);
  const ns = store.nextNs(atMs);
  const existing = Object.values(store.data.alerts).find((alert) => alert.key === key);
  if (existing) {
    Object.assign(existing, { details: input.details, severity: input.severity ?? existing.severity, receivedNs: ns, updatedNs: ns, deletedNs: null });
    return existing;
  }
  const alert: Alert = {
    id: newUuid().toUpperCase(),
    type: input.type,
    category: input.category ?? type?.category ?? 'Monitoring',
    severity: input.severity ?? type?.severity ?? 'warning',
    details: input.details,
    tenantId: input.tenant.id,
    key,
    createdNs: ns,
    receivedNs: ns,
    updatedNs: ns,
    deletedNs: null,
    source: input.source ?? null,
    falsePositive: false,
  };
  store.data.alerts[alert.id] = alert;
  return alert;
}

/** Clears an alert, as a dismissal or the producer's own recovery does. */
export function clearAlert(store: AcronisStore, alert: Alert, atMs = store.now()): void {
  if (alert.deletedNs !== null) return;
  const ns = store.nextNs(atMs);
  alert.deletedNs = ns;
  alert.updatedNs = ns;
}

export function alertView(store: AcronisStore, alert: Alert) {
  const tenant = store.tenant(alert.tenantId, { allowDeleted: true })!;
  return {
    id: alert.id,
    type: alert.type,
    category: alert.category,
    severity: alert.severity,
    details: alert.details,
    createdAt: nanoTime(alert.createdNs),
    receivedAt: nanoTime(alert.receivedNs),
    updatedAt: nanoTime(alert.updatedNs),
    ...(alert.deletedNs !== null ? { deletedAt: nanoTime(alert.deletedNs) } : {}),
    tenant: { id: String(tenant.numericId), uuid: tenant.id, locator: store.locator(tenant) },
    ...(alert.source !== null ? { _source: alert.source } : {}),
    falsePositive: alert.falsePositive,
  };
}

const nsValue = (text: string) => {
  if (!/^\d+$/.test(text)) throw badRequest('alerts', `Expected Unix nanoseconds, got ${text}`);
  return BigInt(text);
};
const bigintOrder = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);
const severityOrder = (a: Severity, b: Severity) => SEVERITY_ORDER.indexOf(a) - SEVERITY_ORDER.indexOf(b);
const detailText = (alert: Alert, key: string) => String(alert.details[key] ?? '');

const ORDER_FIELDS: Record<string, (alert: Alert) => string | bigint | number> = {
  created_at: (alert) => BigInt(alert.createdNs),
  updated_at: (alert) => BigInt(alert.updatedNs),
  deleted_at: (alert) => BigInt(alert.deletedNs ?? '0'),
  type: (alert) => alert.type,
  severity: (alert) => SEVERITY_ORDER.indexOf(alert.severity),
  category: (alert) => alert.category,
  source: (alert) => alert.source ?? '',
  planId: (alert) => detailText(alert, 'planId'),
  planName: (alert) => detailText(alert, 'planName'),
  resourceId: (alert) => detailText(alert, 'resourceId'),
  resourceName: (alert) => detailText(alert, 'resourceName'),
};

/** The alerts a query selects, in the caller's scope, in the requested order. */
function selectAlerts(store: AcronisStore, c: AcronisContext, params: QueryParams): Alert[] {
  const scope = c.get('caller').tenantId;
  const ids = allOf(params, 'id').map((id) => id.toUpperCase());
  const skip = allOf(params, 'skip').map((id) => id.toUpperCase());
  const types = allOf(params, 'type');
  const categories = allOf(params, 'category');
  const tenants = allOf(params, 'tenant').map((id) => id.toLowerCase());
  const showDeletedOnly = flag(params, 'show_deleted_only');
  const showDeleted = showDeletedOnly || flag(params, 'show_deleted');
  const exactDetail = (key: string) => allOf(params, key);
  const textFilters = ['planName', 'resourceName'].map((key) => [key, first(params, key)] as const).filter((entry): entry is readonly [string, string] => entry[1] !== undefined);
  const query = first(params, 'query')?.toLowerCase();
  const timeFilters = (['created_at', 'updated_at', 'deleted_at'] as const).flatMap((name) => (params[name] ?? []).map((raw) => [name, raw] as const));
  const severities = params.severity ?? [];

  const selected = Object.values(store.data.alerts).filter((alert) => {
    const tenant = store.tenant(alert.tenantId, { allowDeleted: true });
    if (!tenant || !store.isWithin(tenant, scope)) return false;
    if (!ALERT_TYPES.find((type) => type.id === alert.type)?.enabled && !alert.type.startsWith('cti.')) return false;
    if (alert.deletedNs !== null ? !showDeleted : showDeletedOnly) return false;
    if (ids.length && !ids.includes(alert.id)) return false;
    if (skip.includes(alert.id)) return false;
    if (types.length && !types.includes(alert.type)) return false;
    if (categories.length && !categories.includes(alert.category)) return false;
    if (tenants.length && !tenants.includes(tenant.id) && !tenants.includes(String(tenant.numericId))) return false;
    for (const key of ['planId', 'resourceId']) {
      const wanted = exactDetail(key);
      if (wanted.length && !wanted.includes(detailText(alert, key))) return false;
    }
    for (const [key, raw] of textFilters) {
      // A bare value is a substring search; eq() and or() match exactly.
      const matches = /^(eq|or)\(/.test(raw) ? textMatches(detailText(alert, key), raw) : detailText(alert, key).toLowerCase().includes(raw.toLowerCase());
      if (!matches) return false;
    }
    if (query && !['planName', 'resourceName'].some((key) => detailText(alert, key).toLowerCase().includes(query))) return false;
    for (const raw of severities) if (!compare(alert.severity, raw, (text) => text as Severity, severityOrder)) return false;
    for (const [name, raw] of timeFilters) {
      const value = name === 'created_at' ? alert.createdNs : name === 'updated_at' ? alert.updatedNs : alert.deletedNs;
      if (value === null || !compare(BigInt(value), raw, nsValue, bigintOrder)) return false;
    }
    return true;
  });

  const order = parseOperator(first(params, 'order') ?? 'asc(created_at)');
  const field = order.args[0] ?? 'created_at';
  const keyOfAlert = ORDER_FIELDS[field];
  if (!keyOfAlert || !['asc', 'desc', 'eq'].includes(order.op)) throw badRequest('alerts', `Unsupported order ${first(params, 'order')}`);
  const direction = order.op === 'desc' ? -1 : 1;
  return selected.sort((a, b) => {
    const [left, right] = [keyOfAlert(a), keyOfAlert(b)];
    return direction * (left < right ? -1 : left > right ? 1 : a.id.localeCompare(b.id));
  });
}

const alertPost = z.object({
  type: z.string().min(1),
  details: z.record(z.string(), z.unknown()).default({}),
  severity: z.enum(['ok', 'information', 'warning', 'error', 'critical']).optional(),
  category: z.string().optional(),
  tenant: z.object({ id: z.string().optional(), uuid: z.string().optional() }).optional(),
  tenantID: z.string().optional(),
  source: z.string().optional(),
  ResourceID: z.string().optional(),
  ResourceName: z.string().optional(),
});

export function alertRoutes(store: AcronisStore): Hono<AcronisEnv> {
  const app = new Hono<AcronisEnv>();

  function alertInScope(c: AcronisContext, id: string, showDeleted: boolean): Alert {
    if (!UUID_PATTERN.test(id)) throw new AcronisError('alerts', 400, 'BadRequest', `Invalid alert id ${id}`);
    const alert = store.data.alerts[id.toUpperCase()];
    const tenant = alert && store.tenant(alert.tenantId, { allowDeleted: true });
    if (!alert || !tenant || !store.isWithin(tenant, c.get('caller').tenantId) || (alert.deletedNs !== null && !showDeleted)) throw notFound('alerts', `Alert ${id}`);
    return alert;
  }

  app.post('/alerts', async (c) => {
    const body = await bodyOf(c, 'alerts', alertPost);
    if (!body.type.startsWith('cti.') && !ALERT_TYPES.some((type) => type.id === body.type)) throw new AcronisError('alerts', 400, 'UnknownAlertType', `Alert type ${body.type} is not registered`);
    if (body.type.startsWith('cti.') && !body.category) throw badRequest('alerts', 'category is required for CTI alert types');
    const tenantUuid = body.tenant?.uuid ?? body.tenantID ?? (body.tenant?.id ? store.tenantByNumericId(body.tenant.id)?.id : c.get('caller').tenantId);
    if (!tenantUuid) throw notFound('alerts', `Tenant ${body.tenant?.id}`);
    const tenant = tenantInScope(store, c, 'alerts', tenantUuid);
    const details = { ...body.details, ...(body.ResourceID ? { resourceId: body.ResourceID } : {}), ...(body.ResourceName ? { resourceName: body.ResourceName } : {}) };
    const alert = raiseAlert(store, { type: body.type, tenant, details, severity: body.severity, category: body.category, source: body.source ?? c.get('caller').clientId });
    return c.json({ id: alert.id });
  });

  app.get('/alerts', (c) => {
    const request = listRequest(c, 'alerts');
    const page = pageOf(selectAlerts(store, c, request.params), request);
    return c.json({ items: page.items.map((alert) => alertView(store, alert)), paging: { cursors: cursorsOf(page) } });
  });

  // No filter dismisses everything in scope, as documented.
  app.delete('/alerts', (c) => {
    for (const alert of selectAlerts(store, c, queryOf(c))) clearAlert(store, alert);
    return c.body(null, 204);
  });

  app.get('/alerts/:id', (c) => c.json(alertView(store, alertInScope(c, c.req.param('id'), flag(queryOf(c), 'show_deleted')))));
  app.delete('/alerts/:id', (c) => {
    clearAlert(store, alertInScope(c, c.req.param('id'), true));
    return c.body(null, 204);
  });
  app.patch('/alerts/:id/false_positive', async (c) => {
    const alert = alertInScope(c, c.req.param('id'), true);
    alert.falsePositive = (await bodyOf(c, 'alerts', z.object({ falsePositive: z.boolean() }))).falsePositive;
    alert.updatedNs = store.nextNs();
    return c.body(null, 204);
  });

  app.get('/types', (c) => {
    const category = first(queryOf(c), 'category');
    return c.json({ items: ALERT_TYPES.filter((type) => !category || type.category === category).map((type) => ({ ...type, exportable: [], supportedOS: [], cti_name: null })) });
  });
  app.get('/types/:id', (c) => {
    const type = ALERT_TYPES.find((candidate) => candidate.id === c.req.param('id'));
    if (!type) throw notFound('alerts', `Alert type ${c.req.param('id')}`);
    return c.json({ ...type, exportable: [], supportedOS: [], cti_name: null });
  });
  app.get('/categories', (c) => c.json({ items: ALERT_CATEGORIES.map((name) => ({ name })) }));
  app.get('/stats', (c) => {
    const active = selectAlerts(store, c, {});
    const modified = Object.values(store.data.alerts).reduce((latest, alert) => (BigInt(alert.updatedNs) > latest ? BigInt(alert.updatedNs) : latest), 0n);
    return c.json({ count: active.length, modifiedAt: modified === 0n ? null : nanoTime(modified.toString()) });
  });
  return app;
}
