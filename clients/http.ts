/**
 * The HTTP layer every vendor client shares: timeouts, JSON, and one error type that tells the
 * caller whether to retry and how long the vendor asked it to wait. Knows nothing of Temporal.
 */
import { vendorCalls } from '../metrics/engine-metrics.ts';
import { currentCallScope } from './call-scope.ts';
import { OutboundAddressError, outboundFetch } from './outbound-guard.ts';
import { RequestHeldBack, type RequestLimiter } from './request-limiter.ts';

export type VendorSystem = 'acronis' | 'connectwise-manage' | 'autotask' | 'connectwise-automate';

export type FailureKind =
  /** Credentials refused (after one fresh token where the vendor uses tokens). */
  | 'auth'
  /** Authenticated, but not allowed to do this. */
  | 'forbidden'
  | 'not-found'
  /** Stale `version`, duplicate name, or a state that forbids the change. */
  | 'conflict'
  /** The vendor rejected the request's content; resending it unchanged cannot succeed. */
  | 'validation'
  | 'rate-limited'
  /** 502, 503, 504: the vendor is away for now. */
  | 'unavailable'
  | 'timeout'
  /** Connection refused or reset, DNS failure. */
  | 'network'
  /** Any other 5xx. */
  | 'server'
  /** An answer the client cannot read. */
  | 'protocol';

const RETRYABLE: ReadonlySet<FailureKind> = new Set(['rate-limited', 'unavailable', 'timeout', 'network', 'server']);

export interface VendorApiErrorDetails {
  system: VendorSystem;
  kind: FailureKind;
  /** What was attempted, without ids or secrets, e.g. `PUT /api/2/tenants/{id}`. */
  operation: string;
  message: string;
  status?: number;
  /** The vendor's own error code (Acronis 1001, an Autotask message id, ...). */
  vendorCode?: string | number;
  /** From `Retry-After` when the vendor sent one. */
  retryAfterMs?: number;
  /** Overrides the kind's default (for example a 500 that is really a validation error). */
  retryable?: boolean;
}

export const VENDOR_SYSTEM_NAMES: Record<VendorSystem, string> = {
  acronis: 'Acronis',
  'connectwise-manage': 'ConnectWise Manage',
  autotask: 'Autotask',
  'connectwise-automate': 'ConnectWise Automate',
};

export class VendorApiError extends Error {
  override readonly name = 'VendorApiError';
  readonly system: VendorSystem;
  readonly kind: FailureKind;
  readonly operation: string;
  readonly status: number | undefined;
  readonly vendorCode: string | number | undefined;
  readonly retryAfterMs: number | undefined;
  /** Whether sending the same request again may succeed. */
  readonly retryable: boolean;

  constructor(details: VendorApiErrorDetails, options?: { cause?: unknown }) {
    super(`${details.system}: ${details.operation}: ${details.message}`, options);
    this.system = details.system;
    this.kind = details.kind;
    this.operation = details.operation;
    this.status = details.status;
    this.vendorCode = details.vendorCode;
    this.retryAfterMs = details.retryAfterMs;
    this.retryable = details.retryable ?? RETRYABLE.has(details.kind);
  }

  /** For people: the system by its name, what it did, the operation and the vendor's own words, e.g. `Acronis refused POST /api/2/idp/token: invalid_client`. */
  get summary(): string {
    const prefix = `${this.system}: ${this.operation}: `;
    const reason = this.message.startsWith(prefix) ? this.message.slice(prefix.length) : this.message;
    return `${VENDOR_SYSTEM_NAMES[this.system]} ${this.retryable ? 'failed' : 'refused'} ${this.operation}: ${reason}`;
  }
}

export function kindOfStatus(status: number): FailureKind {
  if (status === 401) return 'auth';
  if (status === 403) return 'forbidden';
  if (status === 404 || status === 410) return 'not-found';
  if (status === 409 || status === 412) return 'conflict';
  if (status === 408) return 'timeout';
  if (status === 429) return 'rate-limited';
  if (status === 502 || status === 503 || status === 504) return 'unavailable';
  if (status >= 500) return 'server';
  return 'validation';
}

/** `Retry-After` as delta-seconds or an HTTP date, in milliseconds from `nowMs`. */
export function parseRetryAfter(value: string | null, nowMs = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

export type QueryValue = string | number | boolean | undefined | readonly (string | number)[];

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Relative to the base URL (which may carry a path prefix), or an absolute URL the vendor gave us (next-page links). */
  path: string;
  /** Names the call in errors and logs without ids: `GET /api/2/tenants/{id}`. Defaults to method and path. */
  operation?: string;
  query?: Record<string, QueryValue>;
  headers?: Record<string, string>;
  json?: unknown;
  form?: Record<string, string>;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** A POST that changes nothing (a token, a query): sent without the call scope's write check. */
  readOnly?: boolean;
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON, the text for other content types, undefined when empty. */
  body: unknown;
}

/** What a vendor's error body says, in the vendor's own shape. */
export interface VendorErrorReading {
  message?: string;
  vendorCode?: string | number;
  kind?: FailureKind;
  retryable?: boolean;
}

export interface HttpTransportOptions {
  system: VendorSystem;
  baseUrl: string;
  /** Per request; a request may ask for less (a create looked up again rather than waited on), never more. */
  timeoutMs?: number;
  /**
   * Reads the vendor's JSON error body; may reclassify (Autotask answers validation errors with 500).
   * Never sees an answer that is not JSON: that came from something in front of the vendor.
   */
  readError?: (status: number, body: unknown) => VendorErrorReading;
  /** The partner's share of the vendor: concurrency, requests per window, pauses after a rate-limit answer. */
  limiter?: RequestLimiter;
  fetch?: typeof fetch;
}

export const DEFAULT_TIMEOUT_MS = 30_000;

export class HttpTransport {
  readonly system: VendorSystem;
  readonly baseUrl: string;
  readonly #options: HttpTransportOptions;

  constructor(options: HttpTransportOptions) {
    this.#options = options;
    this.system = options.system;
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
  }

  url(path: string, query?: Record<string, QueryValue>): URL {
    const url = /^https?:\/\//.test(path) ? new URL(path) : new URL(`${this.baseUrl}${path.startsWith('/') ? '' : '/'}${path}`);
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value === undefined) continue;
      url.searchParams.set(name, Array.isArray(value) ? value.join(',') : String(value));
    }
    return url;
  }

  /**
   * Sends and answers whatever status came back; network failures and timeouts throw `VendorApiError`.
   * With a limiter, a rate-limit answer pauses every request through it for the vendor's delay and,
   * when that delay is short (or the call scope allows waiting longer), is waited out and sent again
   * (the vendor refused it unprocessed); a longer wait is not spent here: the call fails as
   * `rate-limited` with the wait as `retryAfterMs`.
   */
  async send(request: HttpRequest): Promise<HttpResponse> {
    const limiter = this.#options.limiter;
    if (!limiter) return this.#send(request);
    const scope = currentCallScope();
    const signal = anySignal([request.signal, scope?.signal]);
    const maxWaitMs = Math.max(limiter.limits.maxInlineWaitMs, scope?.maxBudgetWaitMs ?? 0);
    for (let answers = 1; ; answers++) {
      let delay: number | undefined;
      const response = await limiter
        .run(async () => {
          const answer = await this.#send(request);
          // Paused before the slot is released, so no request waiting for it goes out in the meantime.
          if (this.#isRateLimitAnswer(answer)) limiter.pauseFor((delay = this.#retryAfterMs(answer) ?? 0));
          return answer;
        }, signal, maxWaitMs)
        .catch((error: unknown) => {
          if (!(error instanceof RequestHeldBack)) throw error;
          throw new VendorApiError({ system: this.system, kind: 'rate-limited', operation: operationOf(request), message: error.message, retryAfterMs: error.waitMs }, { cause: error });
        });
      if (delay === undefined || answers >= MAX_RATE_LIMIT_ANSWERS || delay > maxWaitMs) return response;
    }
  }

  /** Sends and throws `VendorApiError` unless the answer is 2xx. */
  async request(request: HttpRequest): Promise<HttpResponse> {
    const response = await this.send(request);
    if (response.status >= 200 && response.status < 300) return response;
    throw this.errorFor(request, response);
  }

  /** The failure this answer means; the call scope hears of it (the client has decided it is one). */
  errorFor(request: HttpRequest, response: HttpResponse): VendorApiError {
    const reading = this.#read(response);
    return observed(new VendorApiError({
      system: this.system,
      kind: reading.kind ?? kindOfStatus(response.status),
      operation: operationOf(request),
      status: response.status,
      message: reading.message ?? `HTTP ${response.status}`,
      vendorCode: reading.vendorCode,
      retryAfterMs: this.#retryAfterMs(response),
      retryable: reading.retryable,
    }));
  }

  /**
   * What an error answer says. Only a JSON body is the vendor's own: an HTML page, text or nothing
   * comes from a load balancer, proxy or CDN in front of it and is classified by its status alone. A
   * gateway status (502, 503, 504) means the vendor is away whatever the body says, unless it says
   * "too many requests".
   */
  #read(response: HttpResponse): VendorErrorReading {
    if (response.status < 400) return {};
    if (!isJsonAnswer(response)) return { message: pageSummary(response) };
    const reading = this.#options.readError?.(response.status, response.body) ?? {};
    if (GATEWAY_STATUSES.has(response.status) && reading.kind !== 'rate-limited') return { message: reading.message, vendorCode: reading.vendorCode };
    return reading;
  }

  /** The vendor's `Retry-After`; for a rate-limit answer without one, the limiter's default wait. */
  #retryAfterMs(response: HttpResponse): number | undefined {
    const given = parseRetryAfter(response.headers.get('retry-after'));
    if (given !== undefined || !this.#options.limiter) return given;
    return this.#isRateLimitAnswer(response) ? this.#options.limiter.limits.defaultRetryAfterMs : undefined;
  }

  #isRateLimitAnswer(response: HttpResponse): boolean {
    return response.status >= 400 && (this.#read(response).kind ?? kindOfStatus(response.status)) === 'rate-limited';
  }

  async #send(request: HttpRequest): Promise<HttpResponse> {
    const scope = currentCallScope();
    // Checked as late as possible, once a concurrency slot is ours: the write goes out right after.
    if (scope?.beforeWrite && request.method !== 'GET' && !request.readOnly) await scope.beforeWrite(operationOf(request));
    const timeoutMs = Math.min(request.timeoutMs ?? Infinity, this.#options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const timeout = AbortSignal.timeout(timeoutMs);
    const callerSignals = [request.signal, scope?.signal].filter((given): given is AbortSignal => given !== undefined);
    const signal = callerSignals.length > 0 ? AbortSignal.any([timeout, ...callerSignals]) : timeout;
    const headers = new Headers({ accept: 'application/json', ...request.headers });
    let body: string | undefined;
    if (request.json !== undefined) {
      headers.set('content-type', 'application/json');
      body = JSON.stringify(request.json);
    } else if (request.form) {
      headers.set('content-type', 'application/x-www-form-urlencoded');
      body = new URLSearchParams(request.form).toString();
    }
    const operation = operationOf(request);
    const count = (outcome: string) => vendorCalls.inc({ system: this.system, operation: metricOperation(operation), outcome });
    const fail = (kind: FailureKind, message: string, cause: unknown, retryable?: boolean) => {
      count(kind);
      return observed(new VendorApiError({ system: this.system, kind, operation, message, retryable }, { cause }));
    };
    try {
      const response = await (this.#options.fetch ?? outboundFetch())(this.url(request.path, request.query), { method: request.method, headers, body, signal });
      const text = await response.text();
      const ok = response.status >= 200 && response.status < 300;
      count(ok ? 'ok' : kindOfStatus(response.status));
      if (ok) scope?.observe?.({ system: this.system, operation, error: null });
      return { status: response.status, headers: response.headers, body: parseBody(text, response.headers.get('content-type')) };
    } catch (error) {
      if (callerSignals.some((given) => given.aborted)) throw error;
      if (timeout.aborted) throw fail('timeout', `no answer within ${timeoutMs} ms`, error);
      if (error instanceof VendorApiError) throw error;
      const cause = error instanceof Error && error.cause instanceof Error ? error.cause : undefined;
      // Refused by the outbound policy: the address will not change by trying again.
      if (cause instanceof OutboundAddressError) throw fail('network', `refused to connect: ${cause.message}`, error, false);
      throw fail('network', `could not reach ${this.baseUrl}: ${cause?.message ?? String(error)}`, error);
    }
  }
}

/** A rate-limit answer is waited out and sent again at most this often within one call. */
const MAX_RATE_LIMIT_ANSWERS = 3;
const GATEWAY_STATUSES: ReadonlySet<number> = new Set([502, 503, 504]);

function anySignal(signals: (AbortSignal | undefined)[]): AbortSignal | undefined {
  const given = signals.filter((signal): signal is AbortSignal => signal !== undefined);
  return given.length <= 1 ? given[0] : AbortSignal.any(given);
}

function isJsonAnswer(response: HttpResponse): boolean {
  return /json/i.test(response.headers.get('content-type') ?? '') && response.body !== undefined && typeof response.body !== 'string';
}

/** `HTTP 503: 503 Service Temporarily Unavailable` from an HTML page's title (or its text), without markup. */
function pageSummary(response: HttpResponse): string {
  const text = typeof response.body === 'string' ? response.body : '';
  const title = /<title>([^<]*)<\/title>/i.exec(text)?.[1] ?? text.replace(/<[^>]+>/g, ' ');
  const summary = title.replace(/\s+/g, ' ').trim().slice(0, 200);
  return `HTTP ${response.status}: ${summary || 'no body'}`;
}

/** Tells the call scope of a failure, as it is made. */
function observed(error: VendorApiError): VendorApiError {
  currentCallScope()?.observe?.({ system: error.system, operation: error.operation, error });
  return error;
}

/** Ids left in a default operation (a path) would make one metric series per record. */
function metricOperation(operation: string): string {
  return operation.replace(/\/(?:\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[^/{}]*\d[^/{}]{15,})(?=\/|$)/gi, '/{id}');
}

function operationOf(request: HttpRequest): string {
  return request.operation ?? `${request.method} ${request.path.replace(/^https?:\/\/[^/]+/, '').split('?')[0]}`;
}

function parseBody(text: string, contentType: string | null): unknown {
  if (text === '') return undefined;
  if (contentType && /json/i.test(contentType)) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

/** At most `max` calls in flight; the rest wait in arrival order. */
export class ConcurrencyLimit {
  readonly #max: number;
  #active = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(max: number) {
    if (!(max >= 1)) throw new RangeError('a concurrency limit is at least 1');
    this.#max = max;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#active >= this.#max) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#active++;
    try {
      return await task();
    } finally {
      this.#active--;
      this.#waiting.shift()?.();
    }
  }
}

/**
 * One access token at a time, fetched on first use, refreshed shortly before it expires or when
 * the vendor refuses it; concurrent callers share one fetch.
 */
export class TokenCache {
  readonly #fetchToken: () => Promise<{ token: string; expiresAtMs: number }>;
  readonly #marginMs: number;
  #current: { token: string; expiresAtMs: number } | undefined;
  #pending: Promise<string> | undefined;

  constructor(fetchToken: () => Promise<{ token: string; expiresAtMs: number }>, options: { refreshMarginMs?: number } = {}) {
    this.#fetchToken = fetchToken;
    this.#marginMs = options.refreshMarginMs ?? 60_000;
  }

  async get(): Promise<string> {
    if (this.#current && this.#current.expiresAtMs - this.#marginMs > Date.now()) return this.#current.token;
    this.#pending ??= this.#fetchToken()
      .then((fresh) => {
        this.#current = fresh;
        return fresh.token;
      })
      .finally(() => (this.#pending = undefined));
    return this.#pending;
  }

  /** Forgets `token` if it is still the current one (a 401 said it is dead). */
  invalidate(token: string): void {
    if (this.#current?.token === token) this.#current = undefined;
  }
}
