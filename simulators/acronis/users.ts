/** Account Management: users, logins, activation, roles. */
import { Hono } from 'hono';
import { z } from 'zod';
import { amError, badRequest } from './errors.ts';
import { tenantInScope } from './idp.ts';
import { mfaEnabledFor, requireVersion } from './tenants.ts';
import { newUuid, type AcronisStore, type User } from './state.ts';
import { allOf, bodyOf, cursorsOf, first, flag, isoTime, listRequest, microTime, pageOf, parseTime, queryOf, type AcronisContext, type AcronisEnv } from './wire.ts';

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';
const DEFAULT_NOTIFICATIONS = ['quota', 'reports', 'backup_daily_report'];
const ROLES = ['root_admin', 'partner_admin', 'company_admin', 'unit_admin', 'readonly_admin', 'protection_admin', 'protection_ro_admin', 'restore_operator', 'backup_user', 'sync_share_admin', 'sync_share_user'];

/** Logins: at least 3 characters from the documented set, unique across the whole platform. */
const LOGIN_PATTERN = /^[A-Za-z0-9.@_\-+:!#$%^*={}'/?`]{3,}$/;

const contact = z.object({ email: z.string().regex(/^$|\S+@\S+/, 'must be an e-mail address') }).catchall(z.unknown());
const userPost = z.strictObject({
  tenant_id: z.string(),
  login: z.string(),
  contact,
  external_id: z.string().nullable().optional(),
  idp_id: z.string().optional(),
  enabled: z.boolean().optional(),
  language: z.string().optional(),
  business_types: z.array(z.string()).optional(),
  notifications: z.array(z.string()).optional(),
});
const userPut = z.strictObject({
  version: z.number().int(),
  login: z.string().optional(),
  external_id: z.string().nullable().optional(),
  idp_id: z.string().optional(),
  contact: contact.partial().optional(),
  enabled: z.boolean().optional(),
  language: z.string().optional(),
  business_types: z.array(z.string()).optional(),
  notifications: z.array(z.string()).optional(),
});
const accessPoliciesPut = z.object({
  items: z.array(z.object({ id: z.string().optional(), issuer_id: z.string().optional(), trustee_id: z.string(), trustee_type: z.literal('user'), tenant_id: z.string(), role_id: z.string(), version: z.number().int().optional() })),
});

export function userRoutes(store: AcronisStore): Hono<AcronisEnv> {
  const app = new Hono<AcronisEnv>();

  const loginTaken = (login: string, exceptId?: string) => Object.values(store.data.users).some((user) => user.id !== exceptId && user.deletedAtMs === null && user.login.toLowerCase() === login.trim().toLowerCase());

  function assertLogin(login: string, exceptId?: string): string {
    const trimmed = login.trim();
    if (!LOGIN_PATTERN.test(trimmed)) throw amError(400, 1033, `Invalid login '${login}'`);
    if (loginTaken(trimmed, exceptId)) throw amError(409, 'login_already_exists', `Login '${trimmed}' is already taken`);
    return trimmed;
  }

  function userInScope(c: AcronisContext, id: string, allowDeleted = false): User {
    const user = store.data.users[id.toLowerCase()];
    if (!user || (user.deletedAtMs !== null && !allowDeleted)) throw amError(404, 'not_found', `User ${id} not found`);
    tenantInScope(store, c, 'account', user.tenantId, { allowDeleted: true });
    return user;
  }

  function userView(user: User, withAccessPolicies = true) {
    const tenant = store.tenant(user.tenantId, { allowDeleted: true })!;
    return {
      id: user.id,
      version: user.version,
      tenant_id: user.tenantId,
      login: user.login,
      contact: { ...user.contact },
      activated: user.activated,
      enabled: user.enabled,
      created_at: microTime(user.createdAtMs),
      updated_at: microTime(user.updatedAtMs),
      deleted_at: user.deletedAtMs === null ? null : microTime(user.deletedAtMs),
      language: user.language,
      idp_id: '11111111-1111-1111-1111-111111111111',
      external_id: user.externalId,
      personal_tenant_id: user.personalTenantId,
      business_types: user.businessTypes,
      notifications: user.notifications,
      mfa_status: mfaEnabledFor(store, tenant) ? 'setup_required' : 'disabled',
      ...(withAccessPolicies ? { access_policies: user.accessPolicies } : {}),
    };
  }

  app.get('/users/check_login', (c) => {
    const login = first(queryOf(c), 'username') ?? '';
    if (!LOGIN_PATTERN.test(login.trim())) return c.body(null, 406);
    return c.body(null, loginTaken(login) ? 409 : 204);
  });

  app.post('/users', async (c) => {
    const body = await bodyOf(c, 'account', userPost);
    const tenant = tenantInScope(store, c, 'account', body.tenant_id);
    const login = assertLogin(body.login);
    const now = store.now();
    const user: User = {
      id: newUuid(),
      version: 1,
      tenantId: tenant.id,
      login,
      contact: { ...body.contact, id: newUuid(), types: [], email_confirmed: false, created_at: microTime(now) },
      activated: false,
      enabled: body.enabled ?? true,
      language: body.language ?? tenant.language,
      externalId: body.external_id ?? null,
      personalTenantId: null,
      businessTypes: body.business_types ?? [],
      notifications: body.notifications ?? DEFAULT_NOTIFICATIONS,
      accessPolicies: [],
      createdAtMs: now,
      updatedAtMs: now,
      deletedAtMs: null,
    };
    // Users of customers (and below) get a personal unit tenant of their own.
    if (tenant.kind === 'customer' || tenant.kind === 'unit') {
      user.personalTenantId = store.addTenant({ name: login, kind: 'unit', parentId: tenant.id, ownerId: user.id, applications: [...tenant.applications] }).id;
    }
    store.data.users[user.id] = user;
    return c.json(userView(user));
  });

  app.get('/users', (c) => {
    const request = listRequest(c, 'account');
    const { params } = request;
    const allowDeleted = flag(params, 'allow_deleted');
    const caller = tenantInScope(store, c, 'account', c.get('caller').tenantId);
    let tenantIds: Set<string>;
    if (first(params, 'tenant_id') !== undefined) tenantIds = new Set([tenantInScope(store, c, 'account', first(params, 'tenant_id')!).id]);
    else tenantIds = new Set(store.subtree(tenantInScope(store, c, 'account', first(params, 'subtree_root_tenant_id') ?? caller.id), { allowDeleted }).map((tenant) => tenant.id));
    const uuids = allOf(params, 'uuids', { commas: true });
    if (uuids.length > 100) throw badRequest('account', 'At most 100 uuids per request');
    const sinceText = first(params, 'updated_since');
    const since = sinceText === undefined ? undefined : parseTime('account', sinceText);
    const users = Object.values(store.data.users)
      .filter((user) => tenantIds.has(user.tenantId) && (allowDeleted || user.deletedAtMs === null) && (uuids.length === 0 || uuids.includes(user.id)) && (since === undefined || user.updatedAtMs >= since))
      .sort((a, b) => a.createdAtMs - b.createdAtMs || a.id.localeCompare(b.id));
    const page = pageOf(users, request);
    const withAccessPolicies = flag(params, 'with_access_policies');
    return c.json({ timestamp: isoTime(store.now()), items: page.items.map((user) => userView(user, withAccessPolicies)), paging: { cursors: cursorsOf(page) } });
  });

  app.get('/tenants/:id/users', (c) => {
    const tenant = tenantInScope(store, c, 'account', c.req.param('id'));
    return c.json({ items: Object.values(store.data.users).filter((user) => user.tenantId === tenant.id && user.deletedAtMs === null).map((user) => user.id) });
  });

  app.get('/users/:id', (c) => c.json(userView(userInScope(c, c.req.param('id'), flag(queryOf(c), 'allow_deleted')))));

  app.put('/users/:id', async (c) => {
    const user = userInScope(c, c.req.param('id'));
    const body = await bodyOf(c, 'account', userPut);
    requireVersion(user.version, body.version, 'user');
    if (body.login !== undefined && body.login.trim() !== user.login) user.login = assertLogin(body.login, user.id);
    if (body.external_id !== undefined) user.externalId = body.external_id;
    if (body.contact !== undefined) user.contact = { ...user.contact, ...body.contact };
    if (body.enabled !== undefined) user.enabled = body.enabled;
    if (body.language !== undefined) user.language = body.language;
    if (body.business_types !== undefined) user.businessTypes = body.business_types;
    if (body.notifications !== undefined) user.notifications = body.notifications;
    user.version++;
    user.updatedAtMs = store.now();
    return c.json(userView(user));
  });

  app.delete('/users/:id', (c) => {
    const user = userInScope(c, c.req.param('id'));
    requireVersion(user.version, first(queryOf(c), 'version'), 'user');
    const now = store.now();
    user.deletedAtMs = now;
    user.updatedAtMs = now;
    const personal = user.personalTenantId ? store.tenant(user.personalTenantId) : undefined;
    if (personal) personal.deletedAtMs = now;
    return c.body(null, 204);
  });

  app.post('/users/:id/send-activation-email', (c) => {
    const user = userInScope(c, c.req.param('id'));
    if (user.activated) throw amError(400, 'already_activated', 'The user is already activated');
    store.data.activationEmails.push({ userId: user.id, login: user.login, email: user.contact.email, at: isoTime(store.now()) });
    return c.body(null, 204);
  });

  app.post('/users/:id/password', async (c) => {
    const user = userInScope(c, c.req.param('id'));
    await bodyOf(c, 'account', z.strictObject({ password: z.string().min(1) }));
    user.activated = true;
    user.updatedAtMs = store.now();
    return c.body(null, 204);
  });

  app.get('/users/:id/access_policies', (c) => c.json({ items: userInScope(c, c.req.param('id')).accessPolicies }));
  app.put('/users/:id/access_policies', async (c) => {
    const user = userInScope(c, c.req.param('id'));
    const body = await bodyOf(c, 'account', accessPoliciesPut);
    const policies = body.items.map((item) => {
      if (!ROLES.includes(item.role_id)) throw amError(400, 'bad_request', `Unknown role ${item.role_id}`);
      if (item.trustee_id !== user.id) throw amError(400, 'bad_request', 'trustee_id must be the user being changed');
      const tenant = tenantInScope(store, c, 'account', item.tenant_id);
      // The set is replaced: zero ids mean "new", and the server assigns real ones.
      const id = !item.id || item.id === ZERO_UUID ? newUuid() : item.id;
      return { id, issuer_id: c.get('caller').tenantId, trustee_id: user.id, trustee_type: 'user', tenant_id: tenant.id, role_id: item.role_id, version: (item.version ?? 0) + 1 };
    });
    user.accessPolicies = policies;
    user.updatedAtMs = store.now();
    return c.json({ items: policies });
  });

  return app;
}
