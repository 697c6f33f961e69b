import { setTimeout as sleep } from 'node:timers/promises';
import { HttpTransport, TokenCache, VendorApiError, type HttpRequest, type HttpResponse, type VendorErrorReading } from '../http.ts';
import type { RequestLimiter } from '../request-limiter.ts';
import type { Condition } from './condition.ts';
import type {
  AutomateAlert,
  AutomateClient,
  AutomateComputer,
  AutomateLocation,
  AutomateScript,
  AutomateSoftware,
  AutomateTicket,
  BatchScriptResult,
  ClientInput,
  CommandExecution,
  LocationInput,
  RunningScript,
  ScheduledScript,
  ScriptHistoryEntry,
  TokenResult,
} from './models.ts';

export const API_PATH = '/cwa/api/v1';
/** Clients validate page sizes 1–1000; the server documents no larger maximum. */
export const MAX_PAGE_SIZE = 1000;

export interface ConnectWiseAutomateOptions {
  /** The server as a partner enters it, e.g. `https://acme.hostedrmm.com`; `/cwa/api/v1` is added. */
  baseUrl: string;
  username: string;
  password: string;
  /** The integration's ClientId from developer.connectwise.com; required since Automate 2020.11. */
  clientId: string;
  /** For accounts with two-factor sign-in; integrator accounts normally have none. */
  twoFactorPasscode?: string;
  pageSize?: number;
  /** Refresh this long before the token's ExpirationDate. */
  refreshMarginMs?: number;
  timeoutMs?: number;
  limiter?: RequestLimiter;
  fetch?: typeof fetch;
}

export interface ListOptions {
  condition?: Condition;
  /** `Field asc|desc`; defaults to the model's id ascending, so pages do not shift between requests. */
  orderBy?: string;
  pageSize?: number;
  includeFields?: readonly string[];
  excludeFields?: readonly string[];
}

export interface ScriptRunOptions {
  /** Run later instead of now. */
  startAt?: Date;
  /** Report offline computers as unsuccessful instead of queueing until they check in. */
  skipOffline?: boolean;
  priority?: number;
}

export interface CommandPolling {
  pollIntervalMs?: number;
  /** Give up after this long; an offline agent keeps a command Pending indefinitely. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

const SYSTEM = 'connectwise-automate';
const DEFAULT_PAGE_SIZE = 250;
const FINISHED_COMMAND = new Set(['Success', 'Failed']);

/** Automate answers errors ASP.NET style: `{ Message, ModelState? }`. */
function readError(_status: number, body: unknown): VendorErrorReading {
  if (typeof body !== 'object' || body === null) return {};
  const record = body as Record<string, unknown>;
  const message = record.Message ?? record.message;
  const modelState = record.ModelState;
  const details =
    typeof modelState === 'object' && modelState !== null
      ? Object.entries(modelState as Record<string, unknown>).map(([name, problems]) => `${name}: ${Array.isArray(problems) ? problems.join(', ') : String(problems)}`)
      : [];
  return typeof message === 'string' ? { message: details.length > 0 ? `${message} (${details.join('; ')})` : message } : {};
}

/** `name=value|` pairs for ScheduledScripts, refusing what the format cannot carry. */
function pipeParameters(parameters: Record<string, string>): string {
  return Object.entries(parameters)
    .map(([name, value]) => {
      if (/[|=]/.test(name) || name.trim() === '' || value.includes('|')) {
        throw new VendorApiError({ system: SYSTEM, kind: 'validation', operation: 'POST /Computers/{id}/ScheduledScripts', message: `script parameter '${name}' cannot be sent as name=value| text` });
      }
      return `${name}=${value}|`;
    })
    .join('');
}

/**
 * Typed client for the ConnectWise Automate REST API: tokens with refresh, the ClientId header,
 * paged lists, script runs and agent commands, read-only tickets and alerts.
 */
export class ConnectWiseAutomateClient {
  readonly #options: ConnectWiseAutomateOptions;
  readonly #transport: HttpTransport;
  readonly #tokens: TokenCache;
  #session: { token: string; expiresAtMs: number } | undefined;

  constructor(options: ConnectWiseAutomateOptions) {
    this.#options = options;
    const root = options.baseUrl.replace(/\/+$/, '');
    this.#transport = new HttpTransport({
      system: SYSTEM,
      baseUrl: root.toLowerCase().endsWith(API_PATH) ? root : `${root}${API_PATH}`,
      timeoutMs: options.timeoutMs,
      readError,
      limiter: options.limiter,
      fetch: options.fetch,
    });
    this.#tokens = new TokenCache(() => this.#obtainToken(), { refreshMarginMs: options.refreshMarginMs ?? 5 * 60_000 });
  }

  // --- Authentication ---------------------------------------------------------------------------

  #clientIdHeader(): Record<string, string> {
    return this.#options.clientId === '' ? {} : { ClientId: this.#options.clientId };
  }

  /** Refreshes a live token; a refused refresh (expired, past its absolute expiry) falls back to signing in. */
  async #obtainToken(): Promise<{ token: string; expiresAtMs: number }> {
    const current = this.#session;
    if (current && current.expiresAtMs > Date.now()) {
      try {
        return this.#remember(await this.#tokenRequest({ method: 'POST', readOnly: true, path: '/apitoken/refresh', json: current.token, headers: { Authorization: `Bearer ${current.token}` } }));
      } catch (error) {
        if (!(error instanceof VendorApiError && error.kind === 'auth')) throw error;
      }
    }
    const credentials = { UserName: this.#options.username, Password: this.#options.password };
    const first = await this.#tokenRequest({ method: 'POST', readOnly: true, path: '/apitoken', json: credentials });
    if (first.AccessToken || !first.IsTwoFactorRequired) return this.#remember(first);
    if (!this.#options.twoFactorPasscode) {
      throw new VendorApiError({ system: SYSTEM, kind: 'auth', operation: 'POST /apitoken', message: 'the account requires a two-factor passcode; use an integrator account without two-factor sign-in' });
    }
    return this.#remember(await this.#tokenRequest({ method: 'POST', readOnly: true, path: '/apitoken', json: { ...credentials, TwoFactorPasscode: this.#options.twoFactorPasscode } }));
  }

  async #tokenRequest(request: HttpRequest): Promise<TokenResult> {
    const response = await this.#transport.request({ ...request, headers: { ...request.headers, ...this.#clientIdHeader() } });
    return response.body as TokenResult;
  }

  #remember(result: TokenResult): { token: string; expiresAtMs: number } {
    const expiresAtMs = Date.parse(result.ExpirationDate ?? '');
    if (!result.AccessToken || Number.isNaN(expiresAtMs)) {
      throw new VendorApiError({ system: SYSTEM, kind: 'protocol', operation: 'POST /apitoken', message: 'the token answer has no AccessToken or ExpirationDate' });
    }
    this.#session = { token: result.AccessToken, expiresAtMs };
    return this.#session;
  }

  /** One fresh token and one retry on 401: the vendor refused the request before acting on it. */
  async #request(request: HttpRequest): Promise<HttpResponse> {
    const send = async (token: string) => this.#transport.send({ ...request, headers: { ...request.headers, ...this.#clientIdHeader(), Authorization: `Bearer ${token}` } });
    const token = await this.#tokens.get();
    let response = await send(token);
    if (response.status === 401) {
      this.#tokens.invalidate(token);
      response = await send(await this.#tokens.get());
    }
    if (response.status >= 200 && response.status < 300) return response;
    throw this.#transport.errorFor(request, response);
  }

  async #get<T>(path: string, operation: string, query?: HttpRequest['query']): Promise<T> {
    return (await this.#request({ method: 'GET', path, operation, query })).body as T;
  }

  async #post<T>(path: string, operation: string, json: unknown): Promise<T> {
    return (await this.#request({ method: 'POST', path, operation, json })).body as T;
  }

  /** Pages with `page`/`pageSize` until a short or empty page: Automate sends no count or links. */
  async *#list<T>(path: string, operation: string, options: ListOptions, idField = 'Id'): AsyncGenerator<T> {
    const pageSize = Math.min(options.pageSize ?? this.#options.pageSize ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
    for (let page = 1; ; page++) {
      const response = await this.#request({
        method: 'GET',
        path,
        operation,
        query: {
          condition: options.condition?.text,
          orderBy: options.orderBy ?? `${idField} asc`,
          page,
          pageSize,
          includeFields: options.includeFields?.join(','),
          excludeFields: options.excludeFields?.join(','),
        },
      });
      if (!Array.isArray(response.body)) throw new VendorApiError({ system: SYSTEM, kind: 'protocol', operation, status: response.status, message: 'expected a JSON array' });
      for (const item of response.body) yield item as T;
      if (response.body.length < pageSize) return;
    }
  }

  // --- Clients, locations, computers --------------------------------------------------------------

  clients(options: ListOptions = {}): AsyncGenerator<AutomateClient> {
    return this.#list('/Clients', 'GET /Clients', options);
  }

  client(id: number): Promise<AutomateClient> {
    return this.#get(`/Clients/${id}`, 'GET /Clients/{id}');
  }

  createClient(input: ClientInput): Promise<AutomateClient> {
    return this.#post('/Clients', 'POST /Clients', input);
  }

  locations(options: ListOptions = {}): AsyncGenerator<AutomateLocation> {
    return this.#list('/Locations', 'GET /Locations', options);
  }

  createLocation({ ClientId, ...input }: LocationInput): Promise<AutomateLocation> {
    return this.#post('/Locations', 'POST /Locations', { ...input, Client: { Id: ClientId } });
  }

  async *computers(options: ListOptions = {}): AsyncGenerator<AutomateComputer> {
    // Some servers send Id as a string.
    for await (const computer of this.#list<AutomateComputer>('/Computers', 'GET /Computers', options)) yield { ...computer, Id: Number(computer.Id) };
  }

  async computer(id: number): Promise<AutomateComputer> {
    const computer = await this.#get<AutomateComputer>(`/Computers/${id}`, 'GET /Computers/{id}');
    return { ...computer, Id: Number(computer.Id) };
  }

  /** The computer's software inventory (as the agent last reported it). */
  software(computerId: number, options: ListOptions = {}): AsyncGenerator<AutomateSoftware> {
    return this.#list(`/Computers/${computerId}/Software`, 'GET /Computers/{id}/Software', options);
  }

  // --- Scripts --------------------------------------------------------------------------------

  scripts(options: ListOptions = {}): AsyncGenerator<AutomateScript> {
    return this.#list('/Scripts', 'GET /Scripts', options);
  }

  /** Schedules one script on one computer; parameters travel as `name=value|` text. */
  scheduleScript(computerId: number, scriptId: number, parameters: Record<string, string> = {}, options: ScriptRunOptions = {}): Promise<ScheduledScript> {
    const startAt = (options.startAt ?? new Date()).toISOString();
    return this.#post(`/Computers/${computerId}/ScheduledScripts`, 'POST /Computers/{id}/ScheduledScripts', {
      ScriptId: scriptId,
      ComputerId: computerId,
      ClientId: 0,
      LocationId: 0,
      GroupId: 0,
      SearchId: 0,
      Parameters: pipeParameters(parameters),
      ScheduleType: 1,
      EffectiveStartDate: startAt,
      NextRun: startAt,
      Priority: options.priority ?? 15,
      SkipOffline: options.skipOffline ?? false,
      OfflineOnly: false,
      WakeOffline: false,
    });
  }

  /** Runs (or, with `startAt`, schedules) a script on many computers; each gets its own result. */
  executeScript(scriptId: number, computerIds: readonly number[], parameters: Record<string, string> = {}, options: ScriptRunOptions = {}): Promise<BatchScriptResult> {
    const path = options.startAt ? '/Batch/ScriptSchedule' : '/Batch/ScriptExecute';
    return this.#post(path, `POST ${path}`, {
      EntityType: 1,
      EntityIds: computerIds,
      ScriptId: scriptId,
      Parameters: Object.entries(parameters).map(([Key, Value]) => ({ Key, Value })),
      ...(options.startAt ? { StartDate: options.startAt.toISOString() } : {}),
      OfflineActionFlags: { SkipsOfflineAgents: options.skipOffline ?? false, WakesOfflineAgents: false, OnlyRunsOnOfflineAgents: false },
      Priority: options.priority ?? 12,
    });
  }

  scheduledScripts(computerId: number, options: ListOptions = {}): AsyncGenerator<ScheduledScript> {
    return this.#list(`/Computers/${computerId}/ScheduledScripts`, 'GET /Computers/{id}/ScheduledScripts', options);
  }

  runningScripts(computerId: number, options: ListOptions = {}): AsyncGenerator<RunningScript> {
    return this.#list(`/Computers/${computerId}/RunningScripts`, 'GET /Computers/{id}/RunningScripts', options);
  }

  allRunningScripts(options: ListOptions = {}): AsyncGenerator<RunningScript> {
    return this.#list('/Scripting/RunningScripts', 'GET /Scripting/RunningScripts', options);
  }

  scriptHistory(computerId: number, options: ListOptions = {}): AsyncGenerator<ScriptHistoryEntry> {
    return this.#list(`/Computers/${computerId}/ScriptHistory`, 'GET /Computers/{id}/ScriptHistory', options);
  }

  // --- Commands -------------------------------------------------------------------------------

  /** Queues a command on the agent; it answers Pending at once. */
  executeCommand(computerId: number, commandId: number, parameters: readonly string[] = []): Promise<CommandExecution> {
    return this.#post(`/Computers/${computerId}/CommandExecute`, 'POST /Computers/{id}/CommandExecute', { ComputerId: computerId, Command: { Id: commandId }, Parameters: parameters });
  }

  async commandExecution(computerId: number, executionId: number): Promise<CommandExecution> {
    const operation = 'GET /Computers/{id}/CommandExecute';
    const [execution] = await this.#get<CommandExecution[]>(`/Computers/${computerId}/CommandExecute`, operation, { ids: executionId });
    if (!execution) throw new VendorApiError({ system: SYSTEM, kind: 'not-found', operation, status: 200, message: `command execution ${executionId} is not on computer ${computerId}` });
    return execution;
  }

  /** Queues a command and polls until Success or Failed; read `Status` and `Output` from the answer. */
  async runCommand(computerId: number, commandId: number, parameters: readonly string[] = [], polling: CommandPolling = {}): Promise<CommandExecution> {
    const { pollIntervalMs = 3000, timeoutMs = 30_000, signal } = polling;
    const deadline = Date.now() + timeoutMs;
    let execution = await this.executeCommand(computerId, commandId, parameters);
    while (!FINISHED_COMMAND.has(execution.Status)) {
      if (Date.now() + pollIntervalMs > deadline) {
        throw new VendorApiError({
          system: SYSTEM,
          kind: 'timeout',
          operation: 'GET /Computers/{id}/CommandExecute',
          message: `command ${execution.Id} still ${execution.Status} after ${timeoutMs} ms (an offline agent keeps it queued)`,
          // The command stays queued; sending it again would run it twice.
          retryable: false,
        });
      }
      await sleep(pollIntervalMs, undefined, { signal });
      execution = await this.commandExecution(computerId, execution.Id);
    }
    return execution;
  }

  // --- Tickets and alerts (read-only in Automate's API) --------------------------------------

  tickets(options: ListOptions = {}): AsyncGenerator<AutomateTicket> {
    return this.#list('/Tickets', 'GET /Tickets', options, 'TicketId');
  }

  ticket(id: number): Promise<AutomateTicket> {
    return this.#get(`/Tickets/${id}`, 'GET /Tickets/{id}');
  }

  alerts(options: ListOptions = {}): AsyncGenerator<AutomateAlert> {
    return this.#list('/Alerts', 'GET /Alerts', options, 'AlertId');
  }

  computerAlerts(computerId: number, options: ListOptions = {}): AsyncGenerator<AutomateAlert> {
    return this.#list(`/Computers/${computerId}/Alerts`, 'GET /Computers/{id}/Alerts', options, 'AlertId');
  }
}
