/**
 * Acronis answers errors in a different shape per service (reference §3.7); a client must read
 * all of them, so the simulator renders each one the way its service does.
 */
import { nginxPage } from '../kit/simulator-app.ts';

export type AcronisService = 'idp' | 'account' | 'alerts' | 'tasks' | 'resources' | 'policies' | 'agents';

export class AcronisError extends Error {
  readonly service: AcronisService;
  readonly status: number;
  readonly code: string | number;
  readonly context: Record<string, unknown>;

  constructor(service: AcronisService, status: number, code: string | number, message: string, context: Record<string, unknown> = {}) {
    super(message);
    this.service = service;
    this.status = status;
    this.code = code;
    this.context = context;
  }
}

const FLAT_DOMAINS: Partial<Record<AcronisService, string>> = {
  alerts: 'AlertManager',
  tasks: 'TaskManager',
  resources: 'ResourceManagement',
  policies: 'PolicyManagement',
};

export function renderError(error: AcronisError): Response {
  const json = (body: unknown) => new Response(JSON.stringify(body), { status: error.status, headers: { 'content-type': 'application/json' } });
  switch (error.service) {
    case 'idp':
      return json({ error: error.code, error_description: error.message });
    case 'account':
      return json({ error: { code: error.code, message: error.message, details: { info: error.message }, context: error.context, domain: 'PlatformAccountServer' } });
    case 'agents':
      return json({ code: error.code, domain: error.status === 401 || error.status === 403 ? 'GENERAL' : 'AGENT_MANAGER', debug: { msg: error.message } });
    default:
      // Alert Manager's 401 comes from its nginx front, as an HTML page labelled text/plain.
      if (error.service === 'alerts' && error.status === 401) return nginxPage(401, 'text/plain');
      return json({ domain: FLAT_DOMAINS[error.service], code: error.code, reason: error.code, context: error.context, debug: { msg: error.message } });
  }
}

const SERVICE_PREFIXES: [RegExp, AcronisService][] = [
  [/^\/(api\/2|bc)\/idp\//, 'idp'],
  [/^\/api\/alert_manager\//, 'alerts'],
  [/^\/api\/task_manager\//, 'tasks'],
  [/^\/api\/resource_management\//, 'resources'],
  [/^\/api\/policy_management\//, 'policies'],
  [/^\/api\/agent_manager\//, 'agents'],
];

export function serviceOfPath(path: string): AcronisService {
  return SERVICE_PREFIXES.find(([pattern]) => pattern.test(path))?.[1] ?? 'account';
}

const CAMEL_CODES: Record<number, string> = {
  400: 'BadRequest',
  401: 'UnauthorizedRequest',
  403: 'AccessDenied',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'DataConflict',
  422: 'ValidationError',
  429: 'TooManyRequests',
  503: 'ServiceUnavailable',
};
const UPPER_CODES: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED_REQUEST',
  403: 'ACCESS_DENIED',
  404: 'NOT_FOUND',
  429: 'TOO_MANY_REQUESTS',
  503: 'SERVICE_UNAVAILABLE',
};

/** The code a service puts on an error that only has a status (injected faults, unknown routes). */
export function codeForStatus(service: AcronisService, status: number): string | number {
  if (service === 'idp') return status === 401 ? 'invalid_client' : status === 403 ? 'access_denied' : 'invalid_request';
  if (service === 'agents') return UPPER_CODES[status] ?? (status >= 500 ? 'INTERNAL_ERROR' : 'BAD_REQUEST');
  if (service === 'account' && status === 500) return 1000;
  return CAMEL_CODES[status] ?? (status >= 500 ? 'InternalServerError' : 'BadRequest');
}

export function errorForStatus(path: string, status: number, message: string): Response {
  const service = serviceOfPath(path);
  return renderError(new AcronisError(service, status, codeForStatus(service, status), message));
}

/** Shorthands per service, so handlers read like the vendor's documented codes. */
export const amError = (status: number, code: string | number, message: string, context?: Record<string, unknown>) => new AcronisError('account', status, code, message, context);
export const notFound = (service: AcronisService, what: string) => new AcronisError(service, 404, codeForStatus(service, 404), `${what} not found`);
export const badRequest = (service: AcronisService, message: string) => new AcronisError(service, 400, codeForStatus(service, 400), message);
export const forbidden = (service: AcronisService, message = 'Access to this object is denied') =>
  new AcronisError(service, 403, service === 'account' ? 1002 : codeForStatus(service, 403), message);
