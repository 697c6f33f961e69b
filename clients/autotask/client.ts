/**
 * Typed client for the Autotask PSA REST API: zone discovery (cached; looked up again once when
 * the API answers 401, as after a zone move), the three credential headers, query iterators that
 * follow `nextPageUrl`, creates and updates that answer the new `itemId`, and at most a few
 * requests in flight per entity endpoint (Autotask refuses the rest with `Itgenatr005`).
 * Throws only `VendorApiError`. Knows nothing of Temporal.
 */
import { ConcurrencyLimit, HttpTransport, VendorApiError, type HttpRequest, type HttpResponse } from '../http.ts';
import type { RequestLimiter } from '../request-limiter.ts';
import { readAutotaskError } from './errors.ts';
import type {
  AutotaskEntities,
  AutotaskFilter,
  ContractService,
  ContractServiceAdjustment,
  FieldInfo,
  NewEntity,
  QueryableEntity,
  RootCreatableEntity,
  ServiceBundleService,
  ThresholdInformation,
  TicketNote,
  UpdatableEntity,
  UserDefinedFieldInfo,
  ZoneInformation,
} from './types.ts';

export interface AutotaskClientOptions {
  /** Where zone lookups go: `https://webservices.autotask.net`, or the simulator's base URL. */
  baseUrl: string;
  username: string;
  secret: string;
  integrationCode: string;
  /** Sent on writes to attribute them to a resource. */
  impersonationResourceId?: number;
  timeoutMs?: number;
  /** Requests in flight per entity endpoint; Autotask allows 3 per integration code. */
  maxConcurrentPerEndpoint?: number;
  /** The database's request budget (zone lookups are exempt from Autotask's limits, so not counted). */
  limiter?: RequestLimiter;
  fetch?: typeof fetch;
}

export interface QueryOptions {
  /** 1 to 500 records a page (Autotask's default and maximum: 500). */
  maxRecords?: number;
  includeFields?: string[];
  /** GET with `?search=` unless the URL would grow too long; POST sends the query as the body. */
  method?: 'GET' | 'POST';
}

interface Zone {
  information: ZoneInformation;
  /** `{zone url}v1.0`, without a trailing slash. */
  apiBase: string;
  transport: HttpTransport;
}

interface ListPage<T> {
  items: T[];
  pageDetails?: { nextPageUrl?: string | null };
}

/** Past this URL length Autotask's clients switch to POST queries. */
const MAX_SEARCH_URL_LENGTH = 2_000;

export class AutotaskClient {
  readonly #options: AutotaskClientOptions;
  readonly #lookup: HttpTransport;
  readonly #limiters = new Map<string, ConcurrencyLimit>();
  #zone: Promise<Zone> | undefined;
  #resolvedZone: Zone | undefined;

  constructor(options: AutotaskClientOptions) {
    this.#options = options;
    this.#lookup = new HttpTransport({ system: 'autotask', baseUrl: options.baseUrl, timeoutMs: options.timeoutMs, readError: readAutotaskError, fetch: options.fetch });
  }

  /** The zone this database lives in (looked up once, then cached). */
  async zone(): Promise<ZoneInformation> {
    return (await this.#currentZone()).information;
  }

  async *query<E extends QueryableEntity>(entity: E, filter: AutotaskFilter[], options: QueryOptions = {}): AsyncGenerator<AutotaskEntities[E]> {
    const search = { filter, ...(options.maxRecords ? { MaxRecords: options.maxRecords } : {}), ...(options.includeFields ? { IncludeFields: options.includeFields } : {}) };
    const searchLength = encodeURIComponent(JSON.stringify(search)).length;
    const post = options.method === 'POST' || (options.method === undefined && searchLength > MAX_SEARCH_URL_LENGTH);
    const operation = `${post ? 'POST' : 'GET'} /${entity}/query`;
    let request: HttpRequest = post ? { method: 'POST', readOnly: true, path: `/${entity}/query`, json: search, operation } : { method: 'GET', path: `/${entity}/query`, query: { search: JSON.stringify(search) }, operation };
    for (;;) {
      const page = await this.#list<AutotaskEntities[E]>(entity, request);
      yield* page.items;
      const next = page.pageDetails?.nextPageUrl;
      if (!next) return;
      // A POST-origin query posts the same body to the next page; a GET-origin one gets it.
      request = post ? { method: 'POST', readOnly: true, path: next, json: search, operation } : { method: 'GET', path: next, operation };
    }
  }

  async queryAll<E extends QueryableEntity>(entity: E, filter: AutotaskFilter[], options?: QueryOptions): Promise<AutotaskEntities[E][]> {
    const items: AutotaskEntities[E][] = [];
    for await (const item of this.query(entity, filter, options)) items.push(item);
    return items;
  }

  async count(entity: QueryableEntity, filter: AutotaskFilter[]): Promise<number> {
    const body = await this.#json(entity, { method: 'POST', readOnly: true, path: `/${entity}/query/count`, json: { filter } });
    return readNumber(body, 'queryCount', `POST /${entity}/query/count`);
  }

  /** The record, or undefined when Autotask answers `{item: null}`. */
  async get<E extends QueryableEntity>(entity: E, id: number): Promise<AutotaskEntities[E] | undefined> {
    const body = await this.#json(entity, { method: 'GET', path: `/${entity}/${id}`, operation: `GET /${entity}/{id}` });
    return ((body as { item?: AutotaskEntities[E] | null } | undefined)?.item ?? undefined) as AutotaskEntities[E] | undefined;
  }

  /** `POST /{Entity}`; the new record's id. */
  async create<E extends RootCreatableEntity>(entity: E, fields: NewEntity<AutotaskEntities[E]>, options: { timeoutMs?: number } = {}): Promise<number> {
    return this.#itemId(entity, { method: 'POST', path: `/${entity}`, json: fields, timeoutMs: options.timeoutMs });
  }

  /** `PATCH /{Entity}` with the id in the body: only the given fields change. */
  async update<E extends UpdatableEntity>(entity: E, id: number, changes: NewEntity<AutotaskEntities[E]>): Promise<number> {
    return this.#itemId(entity, { method: 'PATCH', path: `/${entity}`, json: { ...changes, id } });
  }

  async delete(entity: 'Contacts', id: number): Promise<number> {
    return this.#itemId(entity, { method: 'DELETE', path: `/${entity}/${id}`, operation: `DELETE /${entity}/{id}` });
  }

  /** Adds a service to a Recurring Service contract (`POST /Contracts/{id}/Services`). */
  async createContractService(contractId: number, fields: NewEntity<ContractService>): Promise<number> {
    return this.#itemId('Contracts', { method: 'POST', path: `/Contracts/${contractId}/Services`, json: fields, operation: 'POST /Contracts/{id}/Services' });
  }

  async deleteContractService(contractId: number, contractServiceId: number): Promise<number> {
    return this.#itemId('Contracts', { method: 'DELETE', path: `/Contracts/${contractId}/Services/${contractServiceId}`, operation: 'DELETE /Contracts/{id}/Services/{id}' });
  }

  /** Changes a contract service's units by a whole-number delta from `effectiveDate` on. Create-only: it cannot be read back. */
  async createContractServiceAdjustment(adjustment: ContractServiceAdjustment): Promise<number> {
    if (!Number.isInteger(adjustment.unitChange)) {
      throw new VendorApiError({ system: 'autotask', kind: 'validation', operation: 'POST /Contracts/{id}/ServiceAdjustments', message: `unitChange must be a whole number, not ${adjustment.unitChange}` });
    }
    return this.#itemId('Contracts', { method: 'POST', path: `/Contracts/${adjustment.contractID}/ServiceAdjustments`, json: adjustment, operation: 'POST /Contracts/{id}/ServiceAdjustments' });
  }

  async addServiceToBundle(serviceBundleId: number, serviceId: number): Promise<number> {
    const fields: NewEntity<ServiceBundleService> = { serviceID: serviceId };
    return this.#itemId('ServiceBundles', { method: 'POST', path: `/ServiceBundles/${serviceBundleId}/Services`, json: fields, operation: 'POST /ServiceBundles/{id}/Services' });
  }

  /** Notes are created under their ticket; `POST /TicketNotes` does not exist. */
  async createTicketNote(ticketId: number, note: NewEntity<TicketNote>): Promise<number> {
    return this.#itemId('Tickets', { method: 'POST', path: `/Tickets/${ticketId}/Notes`, json: note, operation: 'POST /Tickets/{id}/Notes' });
  }

  /** Field metadata, picklists included (their IDs differ per Autotask instance). */
  async fields(entity: QueryableEntity): Promise<FieldInfo[]> {
    const body = await this.#json(entity, { method: 'GET', path: `/${entity}/entityInformation/fields` });
    return readArray<FieldInfo>(body, 'fields', `GET /${entity}/entityInformation/fields`);
  }

  async userDefinedFields(entity: QueryableEntity): Promise<UserDefinedFieldInfo[]> {
    const body = await this.#json(entity, { method: 'GET', path: `/${entity}/entityInformation/userDefinedFields` });
    return readArray<UserDefinedFieldInfo>(body, 'fields', `GET /${entity}/entityInformation/userDefinedFields`);
  }

  /** Counts against the hourly threshold itself: poll it sparingly. */
  async thresholdInformation(): Promise<ThresholdInformation> {
    return (await this.#json('ThresholdInformation', { method: 'GET', path: '/ThresholdInformation' })) as ThresholdInformation;
  }

  #currentZone(): Promise<Zone> {
    this.#zone ??= this.#discover().then(
      (zone) => (this.#resolvedZone = zone),
      (error: unknown) => {
        this.#zone = undefined;
        throw error;
      },
    );
    return this.#zone;
  }

  async #discover(): Promise<Zone> {
    const operation = 'GET /atservicesrest/v1.0/zoneInformation';
    const response = await this.#lookup.request({ method: 'GET', path: '/atservicesrest/v1.0/zoneInformation', query: { user: this.#options.username }, operation });
    const information = response.body as Partial<ZoneInformation> | undefined;
    if (typeof information?.url !== 'string') throw new VendorApiError({ system: 'autotask', kind: 'protocol', operation, status: response.status, message: 'zone information without a url' });
    const apiBase = `${information.url.replace(/\/+$/, '')}/v1.0`;
    return {
      information: information as ZoneInformation,
      apiBase,
      transport: new HttpTransport({ system: 'autotask', baseUrl: apiBase, timeoutMs: this.#options.timeoutMs, readError: readAutotaskError, limiter: this.#options.limiter, fetch: this.#options.fetch }),
    };
  }

  /** Forgets `stale` unless someone already did, and looks the zone up again; concurrent callers share one lookup. */
  #rediscover(stale: Zone): Promise<Zone> {
    if (this.#resolvedZone === stale) {
      this.#zone = undefined;
      this.#resolvedZone = undefined;
    }
    return this.#currentZone();
  }

  #limiter(endpoint: string): ConcurrencyLimit {
    const key = endpoint.toLowerCase();
    let limiter = this.#limiters.get(key);
    if (!limiter) {
      limiter = new ConcurrencyLimit(this.#options.maxConcurrentPerEndpoint ?? 3);
      this.#limiters.set(key, limiter);
    }
    return limiter;
  }

  #headers(method: HttpRequest['method']): Record<string, string> {
    const { username, secret, integrationCode, impersonationResourceId } = this.#options;
    const headers: Record<string, string> = { ApiIntegrationCode: integrationCode, UserName: username, Secret: secret };
    if (impersonationResourceId !== undefined && method !== 'GET') headers.ImpersonationResourceId = String(impersonationResourceId);
    return headers;
  }

  async #send(zone: Zone, endpoint: string, request: HttpRequest): Promise<HttpResponse> {
    return this.#limiter(endpoint).run(() => zone.transport.send({ ...request, headers: { ...request.headers, ...this.#headers(request.method) } }));
  }

  /** Sends through the endpoint's limiter; a 401 looks the zone up again and, when it moved, retries there once. */
  async #call(endpoint: string, request: HttpRequest): Promise<HttpResponse> {
    let zone = await this.#currentZone();
    let response = await this.#send(zone, endpoint, request);
    if (response.status === 401) {
      const fresh = await this.#rediscover(zone);
      if (fresh.apiBase !== zone.apiBase) {
        const path = request.path.startsWith(zone.apiBase) ? fresh.apiBase + request.path.slice(zone.apiBase.length) : request.path;
        response = await this.#send(fresh, endpoint, { ...request, path });
        zone = fresh;
      }
    }
    if (response.status >= 200 && response.status < 300) return response;
    throw zone.transport.errorFor(request, response);
  }

  async #json(endpoint: string, request: HttpRequest): Promise<unknown> {
    return (await this.#call(endpoint, request)).body;
  }

  async #itemId(endpoint: string, request: HttpRequest): Promise<number> {
    const body = await this.#json(endpoint, request);
    return readNumber(body, 'itemId', request.operation ?? `${request.method} ${request.path}`);
  }

  async #list<T>(endpoint: string, request: HttpRequest): Promise<ListPage<T>> {
    const body = await this.#json(endpoint, request);
    return { items: readArray<T>(body, 'items', request.operation ?? request.path), pageDetails: (body as ListPage<T>).pageDetails };
  }
}

function readNumber(body: unknown, key: string, operation: string): number {
  const value = (body as Record<string, unknown> | undefined)?.[key];
  if (typeof value !== 'number') throw new VendorApiError({ system: 'autotask', kind: 'protocol', operation, message: `answer without a numeric ${key}` });
  return value;
}

function readArray<T>(body: unknown, key: string, operation: string): T[] {
  const value = (body as Record<string, unknown> | undefined)?.[key];
  if (!Array.isArray(value)) throw new VendorApiError({ system: 'autotask', kind: 'protocol', operation, message: `answer without an array ${key}` });
  return value as T[];
}
