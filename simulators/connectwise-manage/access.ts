import type { MiddlewareHandler } from 'hono';
import { DEFAULT_CREDENTIALS } from '../default-credentials.ts';
import type { SimClock } from '../kit/sim-clock.ts';
import { renderCwError, renderTooManyRequests } from './errors.ts';

const credentials = DEFAULT_CREDENTIALS['connectwise-manage'];

/** The instance's knobs a test can turn through `/_sim`; all back to these defaults on reset. */
export interface AccessSettings {
  /** Ends with `/`, as companyinfo answers it. */
  codebase: string;
  /** Cloud tenants answer bad keys with 404 rather than 401. */
  cloudMode: boolean;
  /** Throttle beyond this many API requests per simulated minute; null is unlimited. */
  requestsPerMinute: number | null;
  /** How long a ticket POST holds its answer after the ticket is stored. */
  ticketCreateDelayMs: number;
  /** The current throttle window. */
  throttle: { startMs: number; count: number };
}

export const DEFAULT_CODEBASE = 'v4_6_release/';

export function defaultAccessSettings(): AccessSettings {
  return { codebase: DEFAULT_CODEBASE, cloudMode: false, requestsPerMinute: null, ticketCreateDelayMs: 0, throttle: { startMs: 0, count: 0 } };
}

/** The API member the default keys belong to. */
export const API_MEMBER = 'SimAPI';

function decodeBasic(header: string | undefined): { company: string; publicKey: string; privateKey: string } | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const plus = decoded.indexOf('+');
  if (colon < 0 || plus < 0 || plus > colon) return undefined;
  return { company: decoded.slice(0, plus), publicKey: decoded.slice(plus + 1, colon), privateKey: decoded.slice(colon + 1) };
}

/**
 * What stands before every API route, in the vendor's order: the throttle, the codebase in the path,
 * the member's keys, then the registered `clientId`.
 */
export function accessControl(settings: () => AccessSettings, clock: SimClock): MiddlewareHandler {
  return async (c, next) => {
    const current = settings();
    const { codebase, cloudMode, requestsPerMinute } = current;
    if (requestsPerMinute !== null) {
      const nowMs = clock.nowMs();
      if (nowMs - current.throttle.startMs >= 60_000) current.throttle = { startMs: nowMs, count: 0 };
      const { startMs, count } = current.throttle;
      if (count >= requestsPerMinute) return renderTooManyRequests(c, Math.max(1, Math.ceil((startMs + 60_000 - nowMs) / 1000)));
      current.throttle.count++;
    }
    if (`${c.req.param('codebase')}/` !== codebase) return renderCwError(c, 404, 'NotFound', `The requested resource was not found (codebase ${c.req.param('codebase')}/ is not served here).`);
    const keys = decodeBasic(c.req.header('authorization'));
    const valid = keys !== undefined && keys.company.toLowerCase() === credentials.companyId && keys.publicKey === credentials.publicKey && keys.privateKey === credentials.privateKey;
    if (!valid) {
      return cloudMode ? renderCwError(c, 404, 'NotFound', 'The requested resource was not found.') : renderCwError(c, 401, 'Unauthorized', 'Authentication failed: check the company id and the API member keys.');
    }
    const clientId = c.req.header('clientid');
    if (!clientId) return renderCwError(c, 401, 'Unauthorized', 'A clientId header is required. Register one at https://developer.connectwise.com/ClientID.');
    if (clientId !== credentials.clientId) return renderCwError(c, 401, 'Unauthorized', `The clientId ${clientId} is not registered.`);
    c.header('api-current-version', '2025.1');
    await next();
    return undefined;
  };
}
