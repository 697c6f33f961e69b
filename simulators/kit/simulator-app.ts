import { setTimeout as delay } from 'node:timers/promises';
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import type { SimClock } from './sim-clock.ts';

/** Renders an error the way this vendor does (body shape, content type), for injected faults too. */
export type VendorErrorRenderer = (c: Context, status: number, message: string) => Response | Promise<Response>;

export interface SimulatorDefinition {
  /** Short name used in logs and `/_sim/state`. */
  name: string;
  /** The vendor's API: real paths, methods, headers, bodies. */
  api: Hono;
  vendorError: VendorErrorRenderer;
  /** The whole state of this simulator, JSON-safe, including its default credentials. */
  state(): unknown;
  /** Back to an empty world; the documented default credentials stay valid. */
  reset(): void;
  /** Vendor-specific `/_sim/*` routes (for example `PUT /_sim/usage`). */
  control?: (control: Hono) => void;
  /** The vendor routes paths case-insensitively (Autotask, Automate), so fault `match` patterns ignore case too. */
  caseInsensitivePaths?: boolean;
}

export interface RequestLogEntry {
  method: string;
  path: string;
  query: string;
  status: number;
  at: string;
  /** A write's JSON body (up to 4 KB), so that a test can tell what each write wrote. */
  body?: unknown;
}

const LOGGED_BODY_LIMIT = 4_096;

/** The JSON body of a write, read from a copy so that the route still reads the original. */
async function loggedBody(request: Request): Promise<unknown> {
  if (request.method === 'GET' || !request.headers.get('content-type')?.includes('json')) return undefined;
  const text = await request.clone().text();
  if (text.length > LOGGED_BODY_LIMIT) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

const faultSchema = z.strictObject({
  match: z.string().min(1).refine((source) => {
    try {
      new RegExp(source);
      return true;
    } catch {
      return false;
    }
  }, 'must be a valid regular expression'),
  method: z.string().min(1).transform((method) => method.toUpperCase()).optional(),
  kind: z.enum(['status', 'latency', 'timeout-after-commit', 'rate-limit']),
  status: z.number().int().min(400).max(599).optional(),
  retryAfterSeconds: z.number().int().min(0).optional(),
  delayMs: z.number().int().min(0).optional(),
  times: z.number().int().min(1).optional(),
  /**
   * What a `status` or `rate-limit` fault answers with: the vendor's own error (`vendor`, the
   * default), the HTML page a load balancer or CDN in front of the vendor serves in an outage
   * (`html`), or nothing at all (`empty`).
   */
  body: z.enum(['vendor', 'html', 'empty']).optional(),
});

export type FaultInput = z.input<typeof faultSchema>;
type Fault = z.output<typeof faultSchema> & { id: number; pattern: RegExp; remaining: number | undefined };

const REQUEST_LOG_LIMIT = 50_000;

const REASONS: Record<number, string> = { 401: 'Authorization Required', 429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Temporarily Unavailable', 504: 'Gateway Time-out' };

/**
 * What a front server's error pages say beneath the title. The words matter: a client that read
 * this text as the vendor's message would see "invalid" or "cannot" and might take an outage for
 * a refusal of its request.
 */
const EXPLANATIONS: Record<number, string> = {
  500: 'There is a problem with the resource you are looking for, and it cannot be displayed.',
  502: 'The proxy server received an invalid response from an upstream server.',
  503: 'The server is temporarily unable to service your request due to maintenance downtime or capacity problems. Please try again later.',
  504: 'The gateway did not receive a timely response from the upstream server.',
};

/** What an nginx in front of a vendor answers on its own (the service behind it is away, or it checks auth itself): an HTML page, not the vendor's JSON. */
export function nginxPage(status: number, contentType = 'text/html'): Response {
  const line = `${status} ${REASONS[status] ?? 'Error'}`;
  const explanation = EXPLANATIONS[status] === undefined ? '' : `<p>${EXPLANATIONS[status]}</p>\r\n`;
  const page = `<html>\r\n<head><title>${line}</title></head>\r\n<body>\r\n<center><h1>${line}</h1></center>\r\n${explanation}<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
  return new Response(page, { status, headers: { 'content-type': contentType } });
}

/** How long a `timeout-after-commit` answer is held when the client does not give up first. */
const HANG_MS = 300_000;

export interface SimulatorApp {
  app: Hono;
  /** What `POST /_sim/reset` does: empty state, empty request log, no faults. */
  reset(): void;
  /** Aborts held connections, so a server can close. */
  shutdown(): void;
}

/** Wraps a vendor API with the request log, fault injection and the CONTRACT's `/_sim/*` control surface. */
export function createSimulatorApp(definition: SimulatorDefinition, clock: SimClock): SimulatorApp {
  const requests: RequestLogEntry[] = [];
  let faults: Fault[] = [];
  let nextFaultId = 1;
  const closing = new AbortController();

  function reset(): void {
    definition.reset();
    requests.length = 0;
    faults = [];
  }

  const control = new Hono();
  control.post('/reset', (c) => {
    reset();
    return c.body(null, 204);
  });
  control.get('/state', (c) => c.json(definition.state() as object));
  control.get('/requests', (c) => c.json(requests));
  control.delete('/requests', (c) => {
    requests.length = 0;
    return c.body(null, 204);
  });
  control.get('/faults', (c) => c.json(faults.map(({ pattern: _pattern, ...fault }) => fault)));
  control.post('/faults', async (c) => {
    const parsed = faultSchema.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) {
      return c.json({ title: 'invalid fault', errors: parsed.error.issues.map((issue) => ({ path: issue.path.join('.') || '(body)', message: issue.message })) }, 400);
    }
    const fault: Fault = { ...parsed.data, id: nextFaultId++, pattern: new RegExp(parsed.data.match, definition.caseInsensitivePaths ? 'i' : ''), remaining: parsed.data.times };
    faults.push(fault);
    return c.json({ id: fault.id }, 201);
  });
  control.delete('/faults', (c) => {
    faults = [];
    return c.body(null, 204);
  });
  // One fault ends (an outage is over) while the others go on; the answer says how many times it had left.
  control.delete('/faults/:id', (c) => {
    const fault = faults.find((candidate) => String(candidate.id) === c.req.param('id'));
    if (!fault) return c.json({ title: 'no such fault', errors: [{ path: 'id', message: 'is not an active fault (ended, cleared or never added)' }] }, 404);
    faults = faults.filter((candidate) => candidate !== fault);
    const { pattern: _pattern, ...shown } = fault;
    return c.json(shown);
  });
  control.get('/clock', (c) => c.json({ now: clock.now().toISOString() }));
  control.post('/clock', async (c) => {
    const parsed = z.strictObject({ advanceMs: z.number().int().min(0) }).safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) return c.json({ title: 'invalid clock change', errors: [{ path: 'advanceMs', message: 'must be a non-negative integer' }] }, 400);
    clock.advance(parsed.data.advanceMs);
    return c.json({ now: clock.now().toISOString() });
  });
  definition.control?.(control);

  function takeFault(method: string, path: string): Fault | undefined {
    const fault = faults.find((candidate) => (!candidate.method || candidate.method === method) && candidate.pattern.test(path));
    if (!fault) return undefined;
    if (fault.remaining !== undefined && --fault.remaining === 0) faults = faults.filter((candidate) => candidate !== fault);
    return fault;
  }

  async function hold(): Promise<void> {
    await delay(HANG_MS, undefined, { signal: closing.signal }).catch(() => undefined);
  }

  const app = new Hono();
  app.route('/_sim', control);
  app.use('*', async (c, next) => {
    const url = new URL(c.req.url);
    const entry: RequestLogEntry = { method: c.req.method, path: url.pathname, query: url.search, status: 0, at: clock.now().toISOString(), body: await loggedBody(c.req.raw) };
    if (requests.length >= REQUEST_LOG_LIMIT) requests.shift();
    requests.push(entry);

    const fault = takeFault(c.req.method, url.pathname);
    if (fault?.kind === 'status' || fault?.kind === 'rate-limit') {
      const status = fault.status ?? (fault.kind === 'rate-limit' ? 429 : 503);
      const message = fault.kind === 'rate-limit' ? 'Too many requests' : 'Service temporarily unavailable (simulated fault)';
      c.res = fault.body === 'html' ? nginxPage(status) : fault.body === 'empty' ? new Response(null, { status }) : await definition.vendorError(c, status, message);
      const retryAfter = fault.retryAfterSeconds ?? (fault.kind === 'rate-limit' ? 1 : undefined);
      if (retryAfter !== undefined) c.res.headers.set('Retry-After', String(retryAfter));
      entry.status = c.res.status;
      return c.res;
    }
    if (fault?.kind === 'latency') await delay(fault.delayMs ?? 1_000, undefined, { signal: closing.signal }).catch(() => undefined);
    await next();
    entry.status = c.res.status;
    if (fault?.kind === 'timeout-after-commit') {
      // The write is done; the answer never arrives in time, as when a load balancer drops it.
      await Promise.race([hold(), new Promise((resolve) => c.req.raw.signal.addEventListener('abort', resolve, { once: true }))]);
    }
    return undefined;
  });
  app.route('/', definition.api);
  app.notFound(async (c) => definition.vendorError(c, 404, `No route for ${c.req.method} ${new URL(c.req.url).pathname}`));
  app.onError(async (error, c) => {
    // A simulator bug must be loud in test output, yet answer like the vendor's own 500.
    console.error(`[${definition.name} simulator] ${c.req.method} ${c.req.path} failed:`, error);
    return definition.vendorError(c, 500, 'Internal server error');
  });
  return { app, reset, shutdown: () => closing.abort() };
}
