/** Account Management: tenants, their pricing mode and MFA. */
import { Hono } from 'hono';
import { z } from 'zod';
import { amError, badRequest } from './errors.ts';
import { tenantInScope } from './idp.ts';
import { offeringItemsOf } from './licensing.ts';
import type { AcronisStore, Tenant, TenantKind } from './state.ts';
import { allOf, bodyOf, cursorsOf, first, flag, isoTime, listRequest, naiveTime, pageOf, parseTime, queryOf, type AcronisContext, type AcronisEnv } from './wire.ts';

const DEFAULT_IDP_ID = '11111111-1111-1111-1111-111111111111';

/** Which kinds may live under which (a unit never directly under a partner). */
const ALLOWED_PARENTS: Record<Exclude<TenantKind, 'root'>, TenantKind[]> = {
  partner: ['root', 'partner', 'folder'],
  folder: ['root', 'partner', 'folder'],
  customer: ['partner', 'folder'],
  unit: ['customer', 'unit'],
};

/** A trial ends after one full calendar month: the first day of the month after next. */
function trialEnd(createdMs: number): number {
  const created = new Date(createdMs);
  return Date.UTC(created.getUTCFullYear(), created.getUTCMonth() + 2, 1);
}

/** Trial switches itself to production when its time is up. */
export function settlePricing(store: AcronisStore, tenant: Tenant): Tenant['pricing'] {
  const { pricing } = tenant;
  if (pricing.mode === 'trial' && pricing.productionStartMs !== null && pricing.productionStartMs <= store.now()) {
    pricing.mode = 'production';
    pricing.version = store.nextMsVersion(pricing.version);
  }
  return pricing;
}

export function tenantView(store: AcronisStore, tenant: Tenant, options: { withOfferingItems?: boolean } = {}) {
  const pricing = settlePricing(store, tenant);
  return {
    id: tenant.id,
    version: tenant.version,
    name: tenant.name,
    kind: tenant.kind,
    parent_id: tenant.parentId,
    enabled: tenant.enabled,
    customer_type: tenant.customerType,
    customer_id: tenant.customerId,
    internal_tag: tenant.internalTag,
    language: tenant.language,
    contact: { ...tenant.contact },
    contacts: [],
    brand_id: null,
    brand_uuid: null,
    owner_id: tenant.ownerId,
    has_children: store.children(tenant).length > 0,
    default_idp_id: DEFAULT_IDP_ID,
    update_lock: tenant.updateLock,
    ancestral_access: tenant.ancestralAccess,
    mfa_status: tenant.mfaEnabled ? 'enabled' : 'disabled',
    pricing_mode: pricing.mode,
    production_start_date: pricing.productionStartMs === null ? null : naiveTime(pricing.productionStartMs),
    external_operation_status: null,
    created_at: naiveTime(tenant.createdAtMs),
    updated_at: naiveTime(tenant.updatedAtMs),
    deleted_at: tenant.deletedAtMs === null ? null : naiveTime(tenant.deletedAtMs),
    ...(options.withOfferingItems ? { offering_items: offeringItemsOf(store, tenant).filter((item) => item.status === 1) } : {}),
  };
}

const contact = z.record(z.string(), z.unknown());
const updateLock = z.object({ enabled: z.boolean(), owner_id: z.string().nullable().optional() });
const tenantPost = z.strictObject({
  name: z.string().trim().min(1).max(255),
  parent_id: z.string(),
  kind: z.enum(['partner', 'folder', 'customer', 'unit']),
  contact: contact.optional(),
  company_billing_contact: contact.optional(),
  enabled: z.boolean().optional(),
  customer_type: z.string().optional(),
  customer_id: z.string().nullable().optional(),
  internal_tag: z.string().max(256).nullable().optional(),
  language: z.string().optional(),
  default_idp_id: z.string().optional(),
  update_lock: updateLock.optional(),
  ancestral_access: z.boolean().optional(),
  settings: z.object({ enhanced_security: z.boolean().optional() }).optional(),
});
const tenantPut = z.strictObject({
  version: z.number().int(),
  name: z.string().trim().min(1).max(255).optional(),
  customer_type: z.string().optional(),
  parent_id: z.string().optional(),
  kind: z.enum(['partner', 'folder', 'customer', 'unit']).optional(),
  contact: contact.optional(),
  enabled: z.boolean().optional(),
  customer_id: z.string().nullable().optional(),
  brand_id: z.number().int().nullable().optional(),
  internal_tag: z.string().max(256).nullable().optional(),
  language: z.string().optional(),
  default_idp_id: z.string().optional(),
  update_lock: updateLock.optional(),
  ancestral_access: z.boolean().optional(),
  external_operation_status: z.enum(['no_operation', 'deleting', 'recovering']).optional(),
});
const pricingPut = z.strictObject({ mode: z.enum(['trial', 'production', 'suspended']).optional(), currency: z.string().nullable().optional(), version: z.number().int() });

export function requireVersion(current: number, given: number | string | undefined, what: string): void {
  if (given === undefined || given === '') throw amError(400, 'bad_request', `version of the ${what} is required`);
  if (Number(given) !== current) throw amError(409, 1001, 'Version mismatch', { current_version: current, given_version: Number(given) });
}

export function tenantRoutes(store: AcronisStore): Hono<AcronisEnv> {
  const app = new Hono<AcronisEnv>();
  const inScope = (c: AcronisContext, id: string, allowDeleted = false) => tenantInScope(store, c, 'account', id, { allowDeleted });

  /** Names are unique within the partner's hierarchy (personal tenants aside). */
  function assertNameFree(name: string, under: Tenant, exceptId?: string): void {
    const partner = [...store.lineage(under)].reverse().find((node) => node.kind === 'partner' || node.kind === 'root')!;
    const taken = store.subtree(partner).some((tenant) => tenant.id !== exceptId && tenant.ownerId === null && tenant.name.toLowerCase() === name.toLowerCase());
    if (taken) throw amError(409, 1004, `Tenant with name '${name}' already exists`, { name });
  }

  function assertPlacement(kind: TenantKind, parent: Tenant): void {
    if (kind === 'root' || !ALLOWED_PARENTS[kind].includes(parent.kind)) throw amError(400, 'bad_request', `A ${kind} tenant cannot be created in a ${parent.kind} tenant`);
  }

  function assertUnlocked(c: AcronisContext, tenant: Tenant): void {
    if (tenant.updateLock.enabled && tenant.updateLock.owner_id !== c.get('caller').tenantId) throw amError(409, 1012, 'Tenant is locked');
  }

  app.post('/tenants', async (c) => {
    const body = await bodyOf(c, 'account', tenantPost);
    const parent = inScope(c, body.parent_id);
    assertPlacement(body.kind, parent);
    if (!parent.enabled) throw amError(400, 1003, 'Parent tenant is disabled');
    assertNameFree(body.name, parent);
    const now = store.now();
    const tenant = store.addTenant({
      name: body.name,
      kind: body.kind,
      parentId: parent.id,
      enabled: body.enabled ?? true,
      customerType: body.customer_type ?? 'default',
      customerId: body.customer_id ?? null,
      internalTag: body.internal_tag ?? null,
      language: body.language ?? 'en',
      contact: body.contact ?? {},
      updateLock: body.update_lock?.enabled ? { enabled: true, owner_id: body.update_lock.owner_id ?? c.get('caller').tenantId } : { enabled: false, owner_id: null },
      ancestralAccess: body.ancestral_access ?? true,
      pricing: body.kind === 'customer' ? { mode: 'trial', currency: null, version: now, productionStartMs: trialEnd(now) } : { ...settlePricing(store, parent) },
    });
    return c.json(tenantView(store, tenant), 201);
  });

  app.get('/tenants', (c) => {
    const request = listRequest(c, 'account');
    const { params } = request;
    const selectors = ['uuids', 'parent_id', 'subtree_root_id'].filter((name) => first(params, name) !== undefined);
    if (selectors.length > 1) throw badRequest('account', `${selectors.join(', ')} are mutually exclusive`);
    const allowDeleted = flag(params, 'allow_deleted');
    const caller = inScope(c, c.get('caller').tenantId);
    let tenants: Tenant[];
    if (first(params, 'uuids') !== undefined) {
      const ids = allOf(params, 'uuids', { commas: true });
      if (ids.length > 100) throw badRequest('account', 'At most 100 uuids per request');
      tenants = store.subtree(caller, { allowDeleted }).filter((tenant) => ids.includes(tenant.id));
    } else if (first(params, 'parent_id') !== undefined) {
      tenants = store.children(inScope(c, first(params, 'parent_id')!), { allowDeleted }).sort((a, b) => a.numericId - b.numericId);
    } else {
      tenants = store.subtree(inScope(c, first(params, 'subtree_root_id') ?? caller.id), { allowDeleted });
    }
    const since = first(params, 'updated_since');
    if (since !== undefined) {
      const sinceMs = parseTime('account', since);
      tenants = tenants.filter((tenant) => tenant.updatedAtMs >= sinceMs);
    }
    const page = pageOf(tenants, request);
    const withOfferingItems = flag(params, 'with_offering_items');
    return c.json({ timestamp: isoTime(store.now()), items: page.items.map((tenant) => tenantView(store, tenant, { withOfferingItems })), paging: { cursors: cursorsOf(page) } });
  });

  app.get('/tenants/:id', (c) => c.json(tenantView(store, inScope(c, c.req.param('id'), flag(queryOf(c), 'allow_deleted')))));

  app.get('/tenants/:id/children', (c) => {
    const params = queryOf(c);
    const children = store.children(inScope(c, c.req.param('id')), { allowDeleted: flag(params, 'allow_deleted') }).sort((a, b) => a.numericId - b.numericId);
    return c.json({ items: flag(params, 'include_details') ? children.map((child) => tenantView(store, child)) : children.map((child) => child.id) });
  });

  app.put('/tenants/:id', async (c) => {
    const tenant = inScope(c, c.req.param('id'));
    const body = await bodyOf(c, 'account', tenantPut);
    requireVersion(tenant.version, body.version, 'tenant');
    const unlockingOwnLock = body.update_lock?.enabled === false && tenant.updateLock.owner_id === c.get('caller').tenantId;
    if (!unlockingOwnLock) assertUnlocked(c, tenant);
    const parent = store.parentOf(tenant);
    if (body.kind !== undefined && body.kind !== tenant.kind && !(['partner', 'folder'].includes(body.kind) && ['partner', 'folder'].includes(tenant.kind))) {
      throw amError(400, 'bad_request', 'kind may only change between partner and folder');
    }
    if (body.parent_id !== undefined && body.parent_id !== tenant.parentId) {
      if (tenant.kind === 'unit') throw amError(400, 'bad_request', 'Units cannot be moved');
      const target = inScope(c, body.parent_id);
      if (store.isWithin(target, tenant.id)) throw amError(400, 1007, 'A tenant cannot be moved under its own child');
      if (!target.enabled) throw amError(400, 1013, 'A tenant cannot be moved under a disabled tenant');
      assertPlacement(body.kind ?? tenant.kind, target);
      tenant.parentId = target.id;
    }
    if (body.name !== undefined && body.name.toLowerCase() !== tenant.name.toLowerCase()) assertNameFree(body.name, parent ?? tenant, tenant.id);
    if (body.enabled === true && !tenant.enabled && parent && !parent.enabled) throw amError(400, 1003, 'Parent tenant is disabled');
    if (body.name !== undefined) tenant.name = body.name;
    if (body.kind !== undefined) tenant.kind = body.kind;
    if (body.customer_type !== undefined) tenant.customerType = body.customer_type;
    if (body.contact !== undefined) tenant.contact = { ...tenant.contact, ...body.contact };
    if (body.enabled !== undefined) tenant.enabled = body.enabled;
    if (body.customer_id !== undefined) tenant.customerId = body.customer_id;
    if (body.internal_tag !== undefined) tenant.internalTag = body.internal_tag;
    if (body.language !== undefined) tenant.language = body.language;
    if (body.ancestral_access !== undefined) tenant.ancestralAccess = body.ancestral_access;
    if (body.update_lock !== undefined) tenant.updateLock = body.update_lock.enabled ? { enabled: true, owner_id: body.update_lock.owner_id ?? c.get('caller').tenantId } : { enabled: false, owner_id: null };
    tenant.version++;
    tenant.updatedAtMs = store.now();
    return c.json(tenantView(store, tenant));
  });

  app.delete('/tenants/:id', (c) => {
    const tenant = inScope(c, c.req.param('id'));
    if (tenant.id === c.get('caller').tenantId) throw amError(403, 1002, 'A client cannot delete its own tenant');
    requireVersion(tenant.version, first(queryOf(c), 'version'), 'tenant');
    assertUnlocked(c, tenant);
    if (tenant.enabled) throw amError(400, 1006, 'Tenant must be disabled before deletion', { tenant_id: tenant.id });
    const now = store.now();
    // Deletion cascades: the whole subtree and its users are soft-deleted, restorable and listed with allow_deleted.
    for (const node of store.subtree(tenant)) {
      node.deletedAtMs = now;
      node.updatedAtMs = now;
      node.version++;
      for (const user of Object.values(store.data.users)) if (user.tenantId === node.id && user.deletedAtMs === null) user.deletedAtMs = now;
    }
    return c.body(null, 204);
  });

  app.get('/tenants/:id/pricing', (c) => c.json(pricingView(store, inScope(c, c.req.param('id')))));
  app.put('/tenants/:id/pricing', async (c) => {
    const tenant = inScope(c, c.req.param('id'));
    const body = await bodyOf(c, 'account', pricingPut);
    const pricing = settlePricing(store, tenant);
    requireVersion(pricing.version, body.version, 'pricing settings');
    if (body.mode === 'trial' && pricing.mode !== 'trial') throw amError(400, 1027, 'A tenant in production mode cannot return to trial');
    if (body.mode === 'production' && pricing.mode === 'trial') pricing.productionStartMs = store.now();
    if (body.mode !== undefined) pricing.mode = body.mode;
    if (body.currency !== undefined) pricing.currency = body.currency;
    pricing.version = store.nextMsVersion(pricing.version);
    tenant.updatedAtMs = store.now();
    return c.json(pricingView(store, tenant));
  });

  app.get('/tenants/:id/mfa/status', (c) => c.json(mfaView(store, inScope(c, c.req.param('id')))));
  app.put('/tenants/:id/mfa/status', async (c) => {
    const tenant = inScope(c, c.req.param('id'));
    const body = await bodyOf(c, 'account', z.strictObject({ enabled: z.boolean() }));
    if (!mfaConfigurable(tenant)) throw amError(400, 1027, `MFA cannot be configured on a ${tenant.kind} tenant; it is inherited`);
    tenant.mfaEnabled = body.enabled;
    tenant.updatedAtMs = store.now();
    return c.json(mfaView(store, tenant));
  });

  return app;
}

const mfaConfigurable = (tenant: Tenant) => tenant.kind !== 'folder' && tenant.kind !== 'unit';

/** Units and folders follow the nearest tenant that can configure MFA. */
export function mfaEnabledFor(store: AcronisStore, tenant: Tenant): boolean {
  return [...store.lineage(tenant)].reverse().find(mfaConfigurable)?.mfaEnabled ?? false;
}

function mfaView(store: AcronisStore, tenant: Tenant) {
  const users = Object.values(store.data.users).filter((user) => user.tenantId === tenant.id && user.deletedAtMs === null);
  return { mfa_status: tenant.mfaEnabled ? 'enabled' : 'disabled', users_count: users.length, users_with_totp_enabled_count: 0, update_allowed: mfaConfigurable(tenant) };
}

function pricingView(store: AcronisStore, tenant: Tenant) {
  const pricing = settlePricing(store, tenant);
  return { mode: pricing.mode, currency: pricing.currency, version: pricing.version, production_start_date: pricing.productionStartMs === null ? null : naiveTime(pricing.productionStartMs) };
}
