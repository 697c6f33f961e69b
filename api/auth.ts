import type { MiddlewareHandler } from 'hono';
import { authenticateToken } from '../db/api-tokens.ts';
import type { Db } from '../db/connection.ts';
import type { ApiEnv } from './context.ts';
import { problems } from './problem.ts';

const READ_METHODS = new Set(['GET', 'HEAD']);

export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

/** Every /v1 route: a live token; read-only tokens may only read. */
export function requireToken(db: Db): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const presented = bearerToken(c.req.header('Authorization'));
    if (!presented) throw problems.unauthorized('Send Authorization: Bearer <token>.');
    const token = await authenticateToken(db, presented);
    if (!token) throw problems.unauthorized('The token is unknown or revoked.');
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
