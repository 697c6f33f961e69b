/** Account Management: services, offering items and quotas, usages, registration tokens, storages. */
import { randomInt } from 'node:crypto';
import { Hono } from 'hono';
import { z } from 'zod';
import { APPLICATIONS, CATALOGUE, DEFAULT_STORAGE_ID, PLATFORM_APPLICATION_ID, REPORTING_USAGES, type CatalogueItem } from './catalogue.ts';
import { amError, badRequest } from './errors.ts';
import { tenantInScope } from './idp.ts';
import { defaultStorage, type AcronisStore, type OfferingItemSetting, type Quota, type RegistrationToken, type Tenant, type UsageRecord } from './state.ts';
import { allOf, bodyOf, first, isoTime, naiveTime, queryOf, type AcronisEnv } from './wire.ts';

/** Usages refresh on this period, as the real cloud's do (on average every 5–6 hours). */
export const USAGE_REFRESH_MS = 6 * 3_600_000;

interface EffectiveItem {
  item: CatalogueItem;
  infraId: string | null;
  setting: OfferingItemSetting | undefined;
}

/** A tenant's items: everything its parent has enabled (the root: the whole catalogue), each enabled here or not. */
function effectiveItems(store: AcronisStore, tenant: Tenant): EffectiveItem[] {
  const parent = store.parentOf(tenant);
  const offered = parent
    ? store.data.offeringItems.filter((setting) => setting.tenantId === parent.id && setting.status === 1)
    : store.data.offeringItems.filter((setting) => setting.tenantId === tenant.id);
  return offered.map((offer) => ({ item: store.catalogueItem(offer.name)!, infraId: offer.infraId, setting: store.offeringItemSetting(tenant.id, offer.name, offer.infraId) }));
}

const quotaView = (quota: Quota) => ({ value: quota.value, overage: quota.overage, version: quota.version });

function offeringItemView(tenant: Tenant, { item, infraId, setting }: EffectiveItem) {
  const enabled = setting?.status === 1;
  return {
    application_id: item.application_id,
    name: item.name,
    edition: item.edition,
    usage_name: item.usage_name,
    tenant_id: tenant.id,
    updated_at: naiveTime(setting?.updatedAtMs ?? tenant.createdAtMs),
    deleted_at: null,
    status: enabled ? 1 : 0,
    locked: false,
    type: item.type,
    ...(item.type === 'infra' ? { infra_id: infraId } : {}),
    measurement_unit: item.measurement_unit,
    // Disabled items carry no quota at all.
    ...(enabled && setting.quota ? { quota: quotaView(setting.quota) } : {}),
  };
}

export function offeringItemsOf(store: AcronisStore, tenant: Tenant) {
  return effectiveItems(store, tenant).map((effective) => offeringItemView(tenant, effective));
}

/** `edition` defaults to the legacy `standard`; `*` means all; editionless items always pass. */
function editionFilter(raw: string | undefined): (item: CatalogueItem) => boolean {
  const editions = (raw ?? 'standard').split(',').map((edition) => edition.trim());
  return (item) => item.edition === null || editions.includes('*') || editions.includes(item.edition);
}

const quotaInput = z.object({ value: z.number().int().min(0).nullable(), overage: z.number().int().min(0).nullable(), version: z.number().int() });
const offeringItemsPut = z.object({
  offering_items: z.array(
    z.object({
      application_id: z.string(),
      name: z.string(),
      status: z.union([z.literal(0), z.literal(1)]).optional(),
      infra_id: z.string().nullable().optional(),
      quota: quotaInput.nullable().optional(),
    }),
  ),
  check_usage: z.boolean().optional(),
});
type OfferingItemInput = z.output<typeof offeringItemsPut>['offering_items'][number];

const registrationTokenPost = z.object({ expires_in: z.number().int().min(1).max(365 * 86_400), scopes: z.array(z.string()).default([]) });

const periodStart = (ms: number) => {
  const date = new Date(ms);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
};

/** A new billing period starts the accumulated figure afresh. */
function settlePeriod(store: AcronisStore, record: UsageRecord): UsageRecord {
  const current = periodStart(store.now());
  if (record.periodStartMs < current) {
    record.absoluteValue = record.value;
    record.periodStartMs = current;
  }
  return record;
}

/** Sets a tenant's usage: by offering-item name, or by usage name through the item enabled for it. */
export function setUsage(store: AcronisStore, tenant: Tenant, usageName: string, value: number, options: { infraId?: string; absoluteValue?: number } = {}): UsageRecord {
  const enabled = effectiveItems(store, tenant).filter((effective) => effective.setting?.status === 1);
  // An enabled item wins: `workstations` is both a legacy item name and the usage of `pw_base_workstations`.
  const item = (enabled.find((effective) => effective.item.name === usageName) ?? enabled.find((effective) => effective.item.usage_name === usageName))?.item ?? store.catalogueItem(usageName);
  const reportingOnly = REPORTING_USAGES.some((usage) => usage.usage_name === usageName);
  if (!item && !reportingOnly) throw badRequest('account', `No offering item or usage named ${usageName} for tenant ${tenant.id}`);
  const name = item?.name ?? usageName;
  const infraId = item?.type === 'infra' ? (options.infraId ?? DEFAULT_STORAGE_ID) : null;
  let record = store.data.usages.find((usage) => usage.tenantId === tenant.id && usage.name === name && usage.infraId === infraId);
  if (!record) {
    record = { tenantId: tenant.id, name, usageName: item?.usage_name ?? usageName, infraId, value: 0, absoluteValue: 0, periodStartMs: periodStart(store.now()) };
    store.data.usages.push(record);
  }
  settlePeriod(store, record);
  record.value = value;
  record.absoluteValue = options.absoluteValue ?? Math.max(record.absoluteValue, value);
  return record;
}

/**
 * Device counts reach the usage figures only at the periodic refresh, so usages lag behind
 * registrations as on the real cloud. A refresh writes only counts that changed since the last
 * one, so figures set through `/_sim/usage` stand until devices change.
 */
export function refreshDeviceUsages(store: AcronisStore): void {
  const now = store.now();
  if (now - store.data.lastUsageRefreshMs < USAGE_REFRESH_MS && now >= store.data.lastUsageRefreshMs) return;
  store.data.lastUsageRefreshMs = now;
  const counts: Record<string, number> = Object.fromEntries(Object.keys(store.data.countedDevices).map((key) => [key, 0]));
  for (const agent of Object.values(store.data.agents)) {
    const key = `${agent.tenantId}:${/server/i.test(agent.osName) ? 'servers' : 'workstations'}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  for (const [key, count] of Object.entries(counts)) {
    if (store.data.countedDevices[key] === count) continue;
    const [tenantId, usageName] = key.split(':') as [string, string];
    const tenant = store.tenant(tenantId);
    const hasItem = tenant && effectiveItems(store, tenant).some((effective) => effective.setting?.status === 1 && effective.item.usage_name === usageName);
    if (tenant && hasItem) setUsage(store, tenant, usageName, count);
    store.data.countedDevices[key] = count;
  }
}

/** Tenants by parent and usage records by tenant, built once for a request that reads many tenants' usages. */
interface UsageIndex {
  children: Map<string, Tenant[]>;
  records: Map<string, UsageRecord[]>;
}

/** Brings device counts in first (their periodic refresh), then indexes. */
function usageIndex(store: AcronisStore): UsageIndex {
  refreshDeviceUsages(store);
  const children = new Map<string, Tenant[]>();
  for (const tenant of Object.values(store.data.tenants)) {
    if (tenant.deletedAtMs !== null || tenant.parentId === tenant.id) continue;
    children.set(tenant.parentId, [...(children.get(tenant.parentId) ?? []), tenant]);
  }
  const records = new Map<string, UsageRecord[]>();
  for (const record of store.data.usages) records.set(record.tenantId, [...(records.get(record.tenantId) ?? []), record]);
  return { children, records };
}

/** A tenant's usages, summed over its subtree (a partner sees its customers' totals). */
function usagesOf(store: AcronisStore, tenant: Tenant, filters: { usageNames: string[]; editions: string[] }, index: UsageIndex = usageIndex(store)) {
  const subtree: Tenant[] = [];
  for (let queue = [tenant]; queue.length > 0; ) {
    const next = queue.shift() as Tenant;
    subtree.push(next);
    queue = [...queue, ...(index.children.get(next.id) ?? [])];
  }
  const records = subtree.flatMap((node) => index.records.get(node.id) ?? []).map((record) => settlePeriod(store, record));
  const rows = new Map<string, { item: CatalogueItem | undefined; usageName: string; infraId: string | null; setting: OfferingItemSetting | undefined }>();
  for (const effective of effectiveItems(store, tenant)) {
    if (effective.setting?.status === 1) rows.set(`${effective.item.name}|${effective.infraId}`, { item: effective.item, usageName: effective.item.usage_name, infraId: effective.infraId, setting: effective.setting });
  }
  for (const record of records) {
    const key = `${record.name}|${record.infraId}`;
    if (!rows.has(key)) rows.set(key, { item: store.catalogueItem(record.name), usageName: record.usageName, infraId: record.infraId, setting: store.offeringItemSetting(tenant.id, record.name, record.infraId) });
  }
  const rangeStart = naiveTime(periodStart(store.now()));
  return [...rows.entries()]
    .map(([key, row]) => {
      const matching = records.filter((record) => `${record.name}|${record.infraId}` === key);
      const reporting = REPORTING_USAGES.find((usage) => usage.usage_name === row.usageName);
      return {
        application_id: row.item?.application_id ?? reporting!.application_id,
        name: row.item?.name ?? row.usageName,
        edition: row.item ? row.item.edition : 'mixed',
        usage_name: row.usageName,
        type: row.item?.type ?? 'count',
        measurement_unit: row.item?.measurement_unit ?? reporting!.measurement_unit,
        ...(row.infraId ? { infra_id: row.infraId } : {}),
        tenant_id: tenant.numericId,
        tenant_uuid: tenant.id,
        range_start: rangeStart,
        value: matching.reduce((sum, record) => sum + record.value, 0),
        absolute_value: matching.reduce((sum, record) => sum + record.absoluteValue, 0),
        ...(row.item ? { offering_item: { status: row.setting?.status ?? 0, ...(row.setting?.status === 1 && row.setting.quota ? { quota: quotaView(row.setting.quota) } : {}) } } : {}),
      };
    })
    .filter((usage) => (filters.usageNames.length === 0 || filters.usageNames.includes(usage.usage_name) || filters.usageNames.includes(usage.name)) && (filters.editions.length === 0 || (usage.edition !== null && filters.editions.includes(usage.edition))));
}

function registrationTokenView(store: AcronisStore, token: RegistrationToken) {
  const tenant = store.tenant(token.tenantId, { allowDeleted: true })!;
  return { id: token.id, token: token.token, tenant_id: String(tenant.numericId), tenant_uuid: tenant.id, created_at: isoTime(token.createdAtMs), expires_at: isoTime(token.expiresAtMs), scopes: token.scopes };
}

function newRegistrationCode(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  const group = () => Array.from({ length: 4 }, () => alphabet[randomInt(alphabet.length)]).join('');
  return `${group()}-${group()}-${group()}`;
}

export function licensingRoutes(store: AcronisStore): Hono<AcronisEnv> {
  const app = new Hono<AcronisEnv>();

  // --- services ---
  app.get('/applications', (c) => c.json({ items: APPLICATIONS }));
  app.get('/applications/:id', (c) => {
    const application = APPLICATIONS.find((candidate) => candidate.id === c.req.param('id'));
    if (!application) throw amError(404, 'not_found', `Application ${c.req.param('id')} not found`);
    return c.json(application);
  });
  app.get('/tenants/:id/applications', (c) => c.json({ items: tenantInScope(store, c, 'account', c.req.param('id')).applications }));
  app.post('/applications/:app/bindings/tenants/:tenant', (c) => {
    const tenant = tenantInScope(store, c, 'account', c.req.param('tenant'));
    const applicationId = c.req.param('app');
    if (!APPLICATIONS.some((application) => application.id === applicationId)) throw amError(404, 'not_found', `Application ${applicationId} not found`);
    if (!store.parentOf(tenant)?.applications.includes(applicationId)) throw amError(400, 1026, 'The service is not enabled for the parent tenant');
    if (!tenant.applications.includes(applicationId)) tenant.applications.push(applicationId);
    return c.body(null, 204);
  });
  app.delete('/applications/:app/bindings/tenants/:tenant', (c) => {
    const tenant = tenantInScope(store, c, 'account', c.req.param('tenant'));
    const applicationId = c.req.param('app');
    if (applicationId === PLATFORM_APPLICATION_ID) throw amError(400, 1026, 'The Management Portal service cannot be disabled');
    const now = store.now();
    for (const node of store.subtree(tenant)) {
      node.applications = node.applications.filter((id) => id !== applicationId);
      for (const setting of store.data.offeringItems) {
        if (setting.tenantId === node.id && store.catalogueItem(setting.name)?.application_id === applicationId) Object.assign(setting, { status: 0, quota: null, updatedAtMs: now });
      }
    }
    return c.body(null, 204);
  });

  // --- offering items ---
  app.get('/tenants/:id/offering_items', (c) => {
    const tenant = tenantInScope(store, c, 'account', c.req.param('id'));
    const params = queryOf(c);
    const inEdition = editionFilter(first(params, 'edition'));
    const status = first(params, 'status');
    const type = first(params, 'type');
    const usageNames = allOf(params, 'usage_names', { commas: true });
    const items = effectiveItems(store, tenant)
      .filter(({ item }) => inEdition(item) && (type === undefined || item.type === type) && (usageNames.length === 0 || usageNames.includes(item.usage_name)))
      .map((effective) => offeringItemView(tenant, effective))
      .filter((view) => status === undefined || String(view.status) === status);
    return c.json({ timestamp: isoTime(store.now()), items });
  });

  app.get('/tenants/:id/offering_items/available_for_child', (c) => {
    const tenant = tenantInScope(store, c, 'account', c.req.param('id'));
    const params = queryOf(c);
    const kind = first(params, 'kind');
    if (kind !== undefined && !['partner', 'folder', 'customer', 'unit'].includes(kind)) throw badRequest('account', `Unknown kind ${kind}`);
    const inEdition = editionFilter(first(params, 'edition'));
    const items = effectiveItems(store, tenant)
      .filter((effective) => effective.setting?.status === 1 && inEdition(effective.item))
      .map((effective) => {
        const { quota: _quota, ...view } = offeringItemView(tenant, effective);
        return view;
      });
    return c.json({ timestamp: isoTime(store.now()), items });
  });

  app.put('/tenants/:id/offering_items', async (c) => {
    const tenant = tenantInScope(store, c, 'account', c.req.param('id'));
    const body = await bodyOf(c, 'account', offeringItemsPut);
    const available = effectiveItems(store, tenant);
    const resolved = body.offering_items.map((input) => resolveItem(input, available));
    for (const { input, effective } of resolved) checkChange(tenant, input, effective, resolved, body.check_usage ?? false);
    const now = store.now();
    const changed = resolved.map(({ input, effective }) => applyChange(tenant, input, effective, now));
    tenant.updatedAtMs = now;
    return c.json({ timestamp: isoTime(now), items: changed.map((effective) => offeringItemView(tenant, effective)) });
  });

  function resolveItem(input: OfferingItemInput, available: EffectiveItem[]): { input: OfferingItemInput; effective: EffectiveItem } {
    const item = store.catalogueItem(input.name);
    if (!item || item.application_id !== input.application_id) throw amError(400, 1021, `Offering item ${input.name} is not available`, { name: input.name });
    if (item.type === 'infra' && !input.infra_id) throw amError(400, 'bad_request', `infra_id is required for the infra offering item ${input.name}`);
    const infraId = item.type === 'infra' ? input.infra_id! : null;
    const effective = available.find((candidate) => candidate.item.name === input.name && candidate.infraId === infraId);
    if (!effective) throw amError(400, 1021, `Offering item ${input.name} is not available for this tenant: the parent tenant does not have it`, { name: input.name, infra_id: infraId });
    return { input, effective };
  }

  function checkChange(tenant: Tenant, input: OfferingItemInput, effective: EffectiveItem, batch: { input: OfferingItemInput; effective: EffectiveItem }[], checkUsage: boolean): void {
    const enabling = (input.status ?? 1) === 1;
    const wasEnabled = effective.setting?.status === 1;
    if (tenant.ownerId !== null && enabling !== wasEnabled) throw amError(400, 1027, 'Offering items of a personal tenant cannot be switched on or off');
    if (enabling && input.quota) {
      const expected = wasEnabled ? (effective.setting!.quota?.version ?? 0) : 0;
      if (input.quota.version !== expected) throw amError(409, 1001, 'Version mismatch', { name: input.name, current_version: expected, given_version: input.quota.version });
    }
    // A customer has one edition per service: its editioned items must agree.
    if (enabling && effective.item.edition !== null && (tenant.kind === 'customer' || tenant.kind === 'unit')) {
      const staysEnabled = (name: string) => {
        const inBatch = batch.find((entry) => entry.input.name === name);
        return inBatch ? (inBatch.input.status ?? 1) === 1 : store.data.offeringItems.some((setting) => setting.tenantId === tenant.id && setting.name === name && setting.status === 1);
      };
      const clash = CATALOGUE.find((other) => other.application_id === effective.item.application_id && other.edition !== null && other.edition !== effective.item.edition && staysEnabled(other.name));
      if (clash) throw amError(400, 1023, `Offering item ${input.name} (edition ${effective.item.edition}) conflicts with the enabled ${clash.name} (edition ${clash.edition})`, { name: input.name, conflicts_with: clash.name });
    }
    if (!enabling && wasEnabled && checkUsage) {
      const used = store.data.usages.some((usage) => usage.name === input.name && usage.infraId === effective.infraId && usage.value > 0 && store.isWithin(store.tenant(usage.tenantId) ?? tenant, tenant.id));
      if (used) throw amError(400, 1027, `Offering item ${input.name} is in use and cannot be disabled`, { name: input.name });
    }
  }

  function applyChange(tenant: Tenant, input: OfferingItemInput, effective: EffectiveItem, now: number): EffectiveItem {
    let setting = effective.setting;
    if (!setting) {
      setting = { tenantId: tenant.id, name: effective.item.name, infraId: effective.infraId, status: 0, quota: null, updatedAtMs: now };
      store.data.offeringItems.push(setting);
    }
    if ((input.status ?? 1) === 1) {
      const previous = setting.status === 1 ? setting.quota : null;
      let quota: Quota = previous ?? { value: null, overage: null, version: 0 };
      if (input.quota) {
        const unlimited = input.quota.value === null && input.quota.overage === null;
        quota = { value: input.quota.value, overage: input.quota.overage, version: unlimited ? 0 : store.nextMsVersion(previous?.version ?? 0) };
      }
      Object.assign(setting, { status: 1, quota, updatedAtMs: now });
      // Enabling an item enables its service.
      if (!tenant.applications.includes(effective.item.application_id)) tenant.applications.push(effective.item.application_id);
    } else {
      // What a tenant loses, its subtree loses too.
      for (const node of store.subtree(tenant)) {
        const nodeSetting = store.offeringItemSetting(node.id, effective.item.name, effective.infraId);
        if (nodeSetting) Object.assign(nodeSetting, { status: 0, quota: null, updatedAtMs: now });
      }
    }
    return { ...effective, setting };
  }

  // --- usages ---
  const usageFilters = (params: ReturnType<typeof queryOf>) => ({ usageNames: allOf(params, 'usage_names', { commas: true }), editions: allOf(params, 'editions', { commas: true }) });
  app.get('/tenants/usages', (c) => {
    const params = queryOf(c);
    const ids = allOf(params, 'tenants', { commas: true });
    if (ids.length === 0) throw badRequest('account', 'tenants is required');
    if (ids.length > 100) throw badRequest('account', 'At most 100 tenants per request');
    const filters = usageFilters(params);
    const index = usageIndex(store);
    return c.json({ items: ids.map((id) => ({ tenant: id, usages: usagesOf(store, tenantInScope(store, c, 'account', id), filters, index) })) });
  });
  app.get('/tenants/:id/usages', (c) => c.json({ items: usagesOf(store, tenantInScope(store, c, 'account', c.req.param('id')), usageFilters(queryOf(c))) }));

  // --- registration tokens ---
  app.post('/tenants/:id/registration_tokens', async (c) => {
    const tenant = tenantInScope(store, c, 'account', c.req.param('id'));
    const body = await bodyOf(c, 'account', registrationTokenPost);
    const now = store.now();
    const token: RegistrationToken = { id: store.data.nextRegistrationTokenId++, token: newRegistrationCode(), tenantId: tenant.id, scopes: body.scopes, createdAtMs: now, expiresAtMs: now + body.expires_in * 1000 };
    store.data.registrationTokens.push(token);
    return c.json(registrationTokenView(store, token));
  });
  app.get('/tenants/:id/registration_tokens', (c) => {
    const tenant = tenantInScope(store, c, 'account', c.req.param('id'));
    const live = store.data.registrationTokens.filter((token) => token.tenantId === tenant.id && token.expiresAtMs > store.now());
    return c.json({ items: live.map((token) => registrationTokenView(store, token)) });
  });
  app.delete('/registration_tokens/:id', (c) => {
    const token = store.data.registrationTokens.find((candidate) => String(candidate.id) === c.req.param('id'));
    if (!token) throw amError(404, 'not_found', 'Registration token not found');
    tenantInScope(store, c, 'account', token.tenantId);
    store.data.registrationTokens = store.data.registrationTokens.filter((candidate) => candidate !== token);
    return c.body(null, 204);
  });

  // --- storages ---
  app.get('/tenants/:id/infra', (c) => {
    tenantInScope(store, c, 'account', c.req.param('id'));
    return c.json({ infras: [DEFAULT_STORAGE_ID] });
  });
  app.get('/infra', (c) => {
    const ids = allOf(queryOf(c), 'uuids', { commas: true });
    return c.json({ items: ids.includes(DEFAULT_STORAGE_ID) || ids.length === 0 ? [defaultStorage(store)] : [] });
  });
  app.get('/infra/:id', (c) => {
    if (c.req.param('id') !== DEFAULT_STORAGE_ID) throw amError(404, 'not_found', `Infra ${c.req.param('id')} not found`);
    return c.json(defaultStorage(store));
  });
  app.get('/editions', (c) => c.json({ items: [...new Set(CATALOGUE.map((item) => item.edition).filter((edition) => edition !== null))].map((name) => ({ name })) }));
  return app;
}
