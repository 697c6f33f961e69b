/** The identity provider: client-credentials tokens, bearer checks for every service, API clients. */
import { Hono, type MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { AcronisError, amError, forbidden, notFound, type AcronisService } from './errors.ts';
import { newUuid, secretToken, type AcronisStore, type ApiClient } from './state.ts';
import { bodyOf, naiveTime, type AcronisContext, type AcronisEnv } from './wire.ts';

/** Real tokens live two hours. */
export const TOKEN_LIFETIME_MS = 7_200_000;

const oauthError = (status: number, code: string, description: string) => new AcronisError('idp', status, code, description);

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** Shaped like the real RS256 JWT (header with `kid`, scope claims); the simulator only looks it up. */
function issueJwt(store: AcronisStore, client: ApiClient, expiresAtMs: number): string {
  const nowSeconds = Math.floor(store.now() / 1000);
  const payload = { iss: 'http://sim.acronis.local', sub: client.clientId, uid: client.clientId, aud: 'sim', iat: nowSeconds, exp: Math.floor(expiresAtMs / 1000), jti: newUuid(), scope: [{ tid: client.tenantId, role: 'partner_admin' }], ver: 2 };
  return `${base64url({ alg: 'RS256', kid: 'sim-key', typ: 'JWT' })}.${base64url(payload)}.${secretToken(32)}`;
}

function clientCredentials(authorization: string | undefined, form: Record<string, string>): { id: string; secret: string } | undefined {
  const basic = /^Basic\s+(.+)$/i.exec(authorization ?? '');
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString();
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    return { id: decodeURIComponent(decoded.slice(0, colon)), secret: decodeURIComponent(decoded.slice(colon + 1)) };
  }
  if (form.client_id && form.client_secret) return { id: form.client_id, secret: form.client_secret };
  return undefined;
}

export function tokenRoutes(store: AcronisStore): Hono<AcronisEnv> {
  const app = new Hono<AcronisEnv>();
  app.post('/token', async (c) => {
    if (!/application\/x-www-form-urlencoded/i.test(c.req.header('content-type') ?? '')) throw oauthError(400, 'invalid_request', 'The request body must be application/x-www-form-urlencoded');
    const form = Object.fromEntries(Object.entries(await c.req.parseBody()).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
    if (form.grant_type !== 'client_credentials') throw oauthError(400, 'invalid_request', `Unsupported grant_type: ${form.grant_type ?? '(none)'}`);
    const credentials = clientCredentials(c.req.header('authorization'), form);
    const client = credentials && store.data.apiClients[credentials.id];
    if (!credentials || !client || client.secret !== credentials.secret) throw oauthError(401, 'invalid_client', 'Client authentication failed');
    if (client.status !== 'enabled' || !store.tenant(client.tenantId)) throw oauthError(401, 'access_denied', 'The client is disabled');
    const expiresAtMs = store.now() + TOKEN_LIFETIME_MS;
    const accessToken = issueJwt(store, client, expiresAtMs);
    store.data.tokens[accessToken] = { clientId: client.clientId, expiresAtMs };
    client.lastAccessAtMs = store.now();
    return c.json({ access_token: accessToken, token_type: 'bearer', expires_on: Math.floor(expiresAtMs / 1000), id_token: issueJwt(store, client, expiresAtMs) });
  });
  return app;
}

/** Bearer check: an unknown or expired token, or one of a disabled client, is a 401 in the service's own shape. */
export function requireToken(store: AcronisStore, service: AcronisService): MiddlewareHandler<AcronisEnv> {
  return async (c, next) => {
    const bearer = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
    const issued = bearer ? store.data.tokens[bearer] : undefined;
    const client = issued ? store.data.apiClients[issued.clientId] : undefined;
    if (!bearer || !issued || !client) throw unauthorized(service, 'Access token is missing or invalid');
    if (issued.expiresAtMs <= store.now()) throw unauthorized(service, 'Access token has expired');
    if (client.status !== 'enabled') throw unauthorized(service, 'The client is disabled');
    c.set('caller', { clientId: client.clientId, tenantId: client.tenantId });
    await next();
  };
}

function unauthorized(service: AcronisService, message: string): AcronisError {
  if (service === 'account') return amError(401, 'unauthorized', message);
  return new AcronisError(service, 401, service === 'agents' ? 'UNAUTHORIZED_REQUEST' : 'UnauthorizedRequest', message);
}

/** The tenant the caller may act on: it must exist (404) and lie in the caller's subtree (403). */
export function tenantInScope(store: AcronisStore, c: AcronisContext, service: AcronisService, tenantId: string, options: { allowDeleted?: boolean } = {}) {
  const tenant = store.tenant(tenantId, options);
  if (!tenant) throw service === 'account' ? amError(404, 1005, `Tenant ${tenantId} not found`) : notFound(service, `Tenant ${tenantId}`);
  if (!store.isWithin(tenant, c.get('caller').tenantId)) throw forbidden(service);
  return tenant;
}

function clientView(client: ApiClient) {
  return {
    client_id: client.clientId,
    tenant_id: client.tenantId,
    type: 'api_client',
    status: client.status,
    token_endpoint_auth_method: 'client_secret_basic',
    data: { client_name: client.name },
    redirect_uris: [],
    origin_id: null,
    created_at: naiveTime(client.createdAtMs),
    created_by: client.createdBy,
    client_secret_expires_at: 0,
    last_access_at: client.lastAccessAtMs === null ? null : naiveTime(client.lastAccessAtMs),
    last_access_from_ip: client.lastAccessAtMs === null ? null : '127.0.0.1',
  };
}

const clientPost = z.object({
  type: z.literal('api_client'),
  tenant_id: z.string(),
  token_endpoint_auth_method: z.enum(['client_secret_basic', 'client_secret_post']).optional(),
  data: z.object({ client_name: z.string().min(1) }),
});
const clientPut = z.object({ status: z.enum(['enabled', 'disabled']).optional(), data: z.object({ client_name: z.string().min(1) }).optional() });

/** `/api/2/clients`: API clients of tenants in the caller's subtree. */
export function clientRoutes(store: AcronisStore): Hono<AcronisEnv> {
  const app = new Hono<AcronisEnv>();
  const clientInScope = (c: AcronisContext, clientId: string) => {
    const client = store.data.apiClients[clientId];
    if (!client) throw amError(404, 'not_found', `Client ${clientId} not found`);
    tenantInScope(store, c, 'account', client.tenantId);
    return client;
  };
  app.post('/clients', async (c) => {
    const body = await bodyOf(c, 'account', clientPost);
    const tenant = tenantInScope(store, c, 'account', body.tenant_id);
    const client: ApiClient = { clientId: newUuid(), secret: secretToken(), tenantId: tenant.id, status: 'enabled', name: body.data.client_name, createdAtMs: store.now(), createdBy: c.get('caller').clientId, lastAccessAtMs: null };
    store.data.apiClients[client.clientId] = client;
    return c.json({ ...clientView(client), client_secret: client.secret, registration_access_token: secretToken() }, 201);
  });
  app.get('/clients/:id', (c) => c.json(clientView(clientInScope(c, c.req.param('id')))));
  app.put('/clients/:id', async (c) => {
    const client = clientInScope(c, c.req.param('id'));
    const body = await bodyOf(c, 'account', clientPut);
    if (body.status) client.status = body.status;
    if (body.data) client.name = body.data.client_name;
    return c.json(clientView(client));
  });
  app.delete('/clients/:id', (c) => {
    const client = clientInScope(c, c.req.param('id'));
    if (client.clientId === c.get('caller').clientId) throw forbidden('account', 'A client cannot delete itself');
    delete store.data.apiClients[client.clientId];
    return c.body(null, 204);
  });
  app.get('/tenants/:id/clients', (c) => {
    const tenant = tenantInScope(store, c, 'account', c.req.param('id'));
    return c.json({ items: Object.values(store.data.apiClients).filter((client) => client.tenantId === tenant.id).map((client) => client.clientId) });
  });
  return app;
}
