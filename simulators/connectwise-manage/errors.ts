import type { Context } from 'hono';

/** One entry of CWM's `errors[]`. */
export interface CwFieldError {
  code: string;
  message: string;
  resource: string;
  field: string;
}

/** An answer in CWM's standard error shape `{ code, message, errors }`, thrown from deep inside a handler. */
export class CwError extends Error {
  readonly status: 400 | 401 | 404 | 405 | 409;
  readonly code: string;
  readonly errors: CwFieldError[] | null;

  constructor(status: CwError['status'], code: string, message: string, errors: CwFieldError[] | null = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.errors = errors;
  }
}

export function notFound(what: string): CwError {
  return new CwError(404, 'NotFound', `${what} not found`);
}

const CODE_OF_STATUS: Record<number, string> = {
  400: 'InvalidObject',
  401: 'Unauthorized',
  403: 'Security',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  500: 'UnexpectedServerError',
  502: 'BadGateway',
  503: 'ServiceUnavailable',
  504: 'GatewayTimeout',
};

export function renderCwError(c: Context, status: number, code: string, message: string, errors: CwFieldError[] | null = null): Response {
  return c.json({ code, message, errors }, status as 400);
}

/** Throttling answers in a different shape from every other error: `{ error, message }`. */
export function renderTooManyRequests(c: Context, retryAfterSeconds?: number): Response {
  const wait = retryAfterSeconds === undefined ? 'a few' : String(retryAfterSeconds);
  const response = c.json({ error: 'ConnectWiseAPI', message: `Too many requests. Please try again in ${wait} seconds.` }, 429);
  if (retryAfterSeconds !== undefined) response.headers.set('Retry-After', String(retryAfterSeconds));
  return response;
}

/** The kit's renderer (injected faults, unknown routes, simulator bugs). */
export function vendorError(c: Context, status: number, message: string): Response {
  if (status === 429) return renderTooManyRequests(c);
  return renderCwError(c, status, CODE_OF_STATUS[status] ?? (status >= 500 ? 'UnexpectedServerError' : 'InvalidObject'), message);
}
