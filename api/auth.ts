import type { MiddlewareHandler } from 'hono';
import { authenticateToken, type ApiToken } from '../db/api-tokens.ts';
import type { Db } from '../db/connection.ts';
import type { ApiEnv } from './context.ts';
import { problems } from './problem.ts';

const READ_METHODS = new Set(['GET', 'HEAD']);

export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

/** A partner's own routes: `/v1/partners/<id>` and everything below it, whoever adds them later. */
const PARTNER_ROUTE = /^\/v1\/partners\/([^/]+)(?:\/|$)/;
/** The routes outside one partner that a partner-scoped token may call; their handlers narrow the answer to its partner. */
const SCOPED_LISTS = new Set(['GET /v1/partners', 'GET /v1/audit-log']);

/**
 * The rule of partner-scoped tokens (SPEC F10.2), in one place for every route: another partner's
 * routes answer 404, as a partner that does not exist would (existence does not leak); routes
 * outside a partner are refused, but for the lists that show only the token's own partner.
 */
function enforcePartnerScope(token: ApiToken, method: string, path: string): void {
  if (token.partnerId === null) return;
  const partnerId = PARTNER_ROUTE.exec(path)?.[1];
  if (partnerId !== undefined) {
    if (decodeURIComponent(partnerId).toLowerCase() !== token.partnerId.toLowerCase()) throw problems.notFound(`Partner ${decodeURIComponent(partnerId)}`);
    return;
  }
  const route = `${method === 'HEAD' ? 'GET' : method} ${path.replace(/\/+$/, '')}`;
  if (!SCOPED_LISTS.has(route)) throw problems.forbidden('A partner-scoped token may use only its own partner\'s routes; this needs a token without a partner.');
}

/** Every /v1 route: a live token; read-only tokens may only read; partner-scoped tokens see only their partner. */
export function requireToken(db: Db): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const presented = bearerToken(c.req.header('Authorization'));
    if (!presented) throw problems.unauthorized('Send Authorization: Bearer <token>.');
    const token = await authenticateToken(db, presented);
    if (!token) throw problems.unauthorized('The token is unknown or revoked.');
    enforcePartnerScope(token, c.req.method, c.req.path);
    if (token.role !== 'admin' && !READ_METHODS.has(c.req.method)) {
      throw problems.forbidden(`A ${token.role} token may only read; this needs an admin token.`);
    }
    c.set('token', token);
    await next();
  };
}

export const requireAdmin: MiddlewareHandler<ApiEnv> = async (c, next) => {
  if (c.get('token').role !== 'admin') throw problems.forbidden('This needs an admin token.');
  await next();
};
