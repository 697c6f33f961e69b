import { HttpTransport, VendorApiError, type HttpRequest, type HttpResponse, type QueryValue, type VendorErrorReading } from '../http.ts';
import type { RequestLimiter } from '../request-limiter.ts';
import type {
  Agreement,
  AgreementAddition,
  Board,
  BoardItem,
  BoardStatus,
  BoardSubtype,
  BoardType,
  CatalogItem,
  Company,
  CompanyInfo,
  CompanyStatus,
  CompanyType,
  Contact,
  NewAgreement,
  NewAgreementAddition,
  NewCatalogItem,
  NewCompany,
  NewContact,
  NewServiceNote,
  NewTicket,
  PatchOperation,
  Priority,
  ServiceNote,
  SystemInfo,
  Ticket,
} from './types.ts';

export interface ConnectWiseManageConfig {
  /** The site as the partner enters it, e.g. `https://api-na.myconnectwise.net` or `http://localhost:4102`. */
  baseUrl: string;
  companyId: string;
  publicKey: string;
  privateKey: string;
  /** The integration's registered `clientId` (developer.connectwise.com). */
  clientId: string;
  timeoutMs?: number;
  limiter?: RequestLimiter;
  fetch?: typeof fetch;
}

export interface ListQuery {
  conditions?: string;
  childConditions?: string;
  customFieldConditions?: string;
  /** Not with forward-only paging (the vendor rejects it there). */
  orderBy?: string;
  fields?: readonly string[];
  /** Default 25, at most 1000. */
  pageSize?: number;
  /**
   * `forward-only` pages by id (cheap and stable for big lists, results in id order);
   * `navigable` follows `page` numbers and allows `orderBy`. Default: forward-only unless `orderBy` is set.
   */
  paging?: 'forward-only' | 'navigable';
}

const API_PATH = 'apis/3.0';
const DEFAULT_PAGE_SIZE = 100;

/** The `rel="next"` target of an RFC 5988 `Link` header. */
export function nextLink(header: string | null): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(/,(?=\s*<)/)) {
    const match = /<([^>]*)>\s*;(.*)$/.exec(part.trim());
    if (match?.[1] && /\brel="?next"?/i.test(match[2] ?? '')) return match[1];
  }
  return undefined;
}

/** CWM's `{code, message, errors}` body, and the throttle's different `{error, message}`. */
export function readConnectWiseError(status: number, body: unknown): VendorErrorReading {
  if (body === null || typeof body !== 'object') return {};
  const record = body as { code?: unknown; message?: unknown; error?: unknown; errors?: unknown };
  const message = typeof record.message === 'string' ? record.message : undefined;
  const details = Array.isArray(record.errors)
    ? record.errors.flatMap((entry: { field?: unknown; message?: unknown }) => (typeof entry?.message === 'string' ? [`${typeof entry.field === 'string' ? `${entry.field}: ` : ''}${entry.message}`] : []))
    : [];
  const code = typeof record.code === 'string' ? record.code : typeof record.error === 'string' ? record.error : undefined;
  const reading: VendorErrorReading = { message: [message, ...details].filter(Boolean).join('; ') || undefined, vendorCode: code };
  // Refused keys may arrive on another status; the body code still says what happened.
  if (status !== 401 && (code === 'Unauthorized' || message === 'UserNotAuthenticated')) reading.kind = 'auth';
  return reading;
}

/** A ConnectWise datetime (UTC, no milliseconds: the vendor refuses them with `UnsupportedFormat`). */
export function cwDate(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Typed client of the ConnectWise Manage REST API 3.0. Finds the codebase through companyinfo (cached;
 * looked up again once when a 404 suggests a cloud upgrade moved it), authenticates every call with
 * Basic `company+public:private` and the `clientId` header, and throws only `VendorApiError`.
 */
export class ConnectWiseManageClient {
  readonly #transport: HttpTransport;
  readonly #config: ConnectWiseManageConfig;
  readonly #authorization: string;
  #codebase: Promise<string> | undefined;

  constructor(config: ConnectWiseManageConfig) {
    this.#config = config;
    this.#transport = new HttpTransport({ system: 'connectwise-manage', baseUrl: config.baseUrl, timeoutMs: config.timeoutMs, readError: readConnectWiseError, limiter: config.limiter, fetch: config.fetch });
    this.#authorization = `Basic ${Buffer.from(`${config.companyId}+${config.publicKey}:${config.privateKey}`).toString('base64')}`;
  }

  /** The unauthenticated company lookup; an unknown company is a JSON `null`. */
  async companyInfo(): Promise<CompanyInfo | undefined> {
    const response = await this.#transport.request({ method: 'GET', path: `/login/companyinfo/${encodeURIComponent(this.#config.companyId)}`, operation: 'GET /login/companyinfo/{company}' });
    return response.body === null || response.body === undefined ? undefined : (response.body as CompanyInfo);
  }

  /** The codebase the API lives under, e.g. `v2025_1/`. */
  codebase(): Promise<string> {
    this.#codebase ??= this.companyInfo().then(
      (info) => {
        if (!info) throw new VendorApiError({ system: 'connectwise-manage', kind: 'auth', operation: 'GET /login/companyinfo/{company}', message: `no ConnectWise company '${this.#config.companyId}' on ${this.#config.baseUrl}` });
        return info.Codebase.endsWith('/') ? info.Codebase : `${info.Codebase}/`;
      },
      (error: unknown) => {
        this.#codebase = undefined;
        throw error;
      },
    );
    return this.#codebase;
  }

  async #send(request: HttpRequest, codebase: string): Promise<HttpResponse> {
    const absolute = /^https?:\/\//.test(request.path);
    const path = absolute ? request.path : `/${codebase}${API_PATH}${request.path}`;
    return this.#transport.send({ ...request, path, headers: { authorization: this.#authorization, clientId: this.#config.clientId, ...request.headers } });
  }

  /** One API call; throws unless 2xx. A 404 triggers one companyinfo lookup and, if the codebase moved, one retry. */
  async request(request: HttpRequest): Promise<HttpResponse> {
    const codebase = await this.codebase();
    let response = await this.#send(request, codebase);
    if (response.status === 404 && !/^https?:\/\//.test(request.path)) {
      this.#codebase = undefined;
      const fresh = await this.codebase();
      if (fresh !== codebase) response = await this.#send(request, fresh);
    }
    if (response.status >= 200 && response.status < 300) return response;
    throw this.#transport.errorFor({ ...request, operation: request.operation ?? `${request.method} /${API_PATH}${request.path}` }, response);
  }

  async #get<T>(path: string, operation: string, query?: Record<string, QueryValue>): Promise<T> {
    return (await this.request({ method: 'GET', path, operation, query })).body as T;
  }

  async #post<T>(path: string, operation: string, json: unknown, timeoutMs?: number): Promise<T> {
    return (await this.request({ method: 'POST', path, operation, json, timeoutMs })).body as T;
  }

  async #patch<T>(path: string, operation: string, operations: readonly PatchOperation[]): Promise<T> {
    return (await this.request({ method: 'PATCH', path, operation, json: operations })).body as T;
  }

  /** Every record of a collection, page after page, following the vendor's `Link: rel="next"`. */
  async *list<T>(path: string, operation: string, query: ListQuery = {}): AsyncGenerator<T> {
    const forwardOnly = (query.paging ?? (query.orderBy ? 'navigable' : 'forward-only')) === 'forward-only';
    const headers: Record<string, string> = forwardOnly ? { 'pagination-type': 'forward-only' } : {};
    let next: string | undefined = path;
    let first = true;
    while (next !== undefined) {
      const response: HttpResponse = await this.request({
        method: 'GET',
        path: next,
        operation,
        headers,
        query: first
          ? {
              conditions: query.conditions,
              childConditions: query.childConditions,
              customFieldConditions: query.customFieldConditions,
              orderBy: query.orderBy,
              fields: query.fields?.join(','),
              pageSize: query.pageSize ?? DEFAULT_PAGE_SIZE,
              page: forwardOnly ? undefined : 1,
            }
          : undefined,
      });
      first = false;
      if (!Array.isArray(response.body)) throw new VendorApiError({ system: 'connectwise-manage', kind: 'protocol', operation, message: 'a list answer was not a JSON array' });
      for (const record of response.body as T[]) yield record;
      next = response.body.length === 0 ? undefined : nextLink(response.headers.get('link'));
    }
  }

  async #count(path: string, operation: string, conditions?: string): Promise<number> {
    return (await this.#get<{ count: number }>(`${path}/count`, operation, { conditions })).count;
  }

  /** Cheap authenticated call. On cloud, refused keys come back as 404; here that can only mean the keys. */
  async systemInfo(): Promise<SystemInfo> {
    try {
      return await this.#get<SystemInfo>('/system/info', 'GET /system/info');
    } catch (error) {
      if (error instanceof VendorApiError && error.kind === 'not-found') {
        throw new VendorApiError({ system: error.system, kind: 'auth', operation: error.operation, status: error.status, vendorCode: error.vendorCode, message: `credentials refused (the cloud answers bad keys with 404): ${error.message}` }, { cause: error });
      }
      throw error;
    }
  }

  // Companies and contacts

  companies(query?: ListQuery): AsyncGenerator<Company> {
    return this.list<Company>('/company/companies', 'GET /company/companies', query);
  }

  countCompanies(conditions?: string): Promise<number> {
    return this.#count('/company/companies', 'GET /company/companies/count', conditions);
  }

  getCompany(id: number): Promise<Company> {
    return this.#get(`/company/companies/${id}`, 'GET /company/companies/{id}');
  }

  createCompany(company: NewCompany): Promise<Company> {
    return this.#post('/company/companies', 'POST /company/companies', company);
  }

  patchCompany(id: number, operations: readonly PatchOperation[]): Promise<Company> {
    return this.#patch(`/company/companies/${id}`, 'PATCH /company/companies/{id}', operations);
  }

  companyTypes(query?: ListQuery): AsyncGenerator<CompanyType> {
    return this.list('/company/companies/types', 'GET /company/companies/types', query);
  }

  companyStatuses(query?: ListQuery): AsyncGenerator<CompanyStatus> {
    return this.list('/company/companies/statuses', 'GET /company/companies/statuses', query);
  }

  contacts(query?: ListQuery): AsyncGenerator<Contact> {
    return this.list('/company/contacts', 'GET /company/contacts', query);
  }

  createContact(contact: NewContact): Promise<Contact> {
    return this.#post('/company/contacts', 'POST /company/contacts', contact);
  }

  // Catalog

  catalogItems(query?: ListQuery): AsyncGenerator<CatalogItem> {
    return this.list('/procurement/catalog', 'GET /procurement/catalog', query);
  }

  getCatalogItem(id: number): Promise<CatalogItem> {
    return this.#get(`/procurement/catalog/${id}`, 'GET /procurement/catalog/{id}');
  }

  createCatalogItem(item: NewCatalogItem): Promise<CatalogItem> {
    return this.#post('/procurement/catalog', 'POST /procurement/catalog', item);
  }

  // Agreements and their additions

  agreementTypes(query?: ListQuery): AsyncGenerator<{ id: number; name: string; defaultFlag?: boolean }> {
    return this.list('/finance/agreementTypes', 'GET /finance/agreementTypes', query);
  }

  agreements(query?: ListQuery): AsyncGenerator<Agreement> {
    return this.list('/finance/agreements', 'GET /finance/agreements', query);
  }

  getAgreement(id: number): Promise<Agreement> {
    return this.#get(`/finance/agreements/${id}`, 'GET /finance/agreements/{id}');
  }

  createAgreement(agreement: NewAgreement): Promise<Agreement> {
    return this.#post('/finance/agreements', 'POST /finance/agreements', agreement);
  }

  patchAgreement(id: number, operations: readonly PatchOperation[]): Promise<Agreement> {
    return this.#patch(`/finance/agreements/${id}`, 'PATCH /finance/agreements/{id}', operations);
  }

  additions(agreementId: number, query?: ListQuery): AsyncGenerator<AgreementAddition> {
    return this.list(`/finance/agreements/${agreementId}/additions`, 'GET /finance/agreements/{id}/additions', query);
  }

  getAddition(agreementId: number, additionId: number): Promise<AgreementAddition> {
    return this.#get(`/finance/agreements/${agreementId}/additions/${additionId}`, 'GET /finance/agreements/{id}/additions/{id}');
  }

  createAddition(agreementId: number, addition: NewAgreementAddition): Promise<AgreementAddition> {
    return this.#post(`/finance/agreements/${agreementId}/additions`, 'POST /finance/agreements/{id}/additions', addition);
  }

  patchAddition(agreementId: number, additionId: number, operations: readonly PatchOperation[]): Promise<AgreementAddition> {
    return this.#patch(`/finance/agreements/${agreementId}/additions/${additionId}`, 'PATCH /finance/agreements/{id}/additions/{id}', operations);
  }

  // Service boards and their lookups

  boards(query?: ListQuery): AsyncGenerator<Board> {
    return this.list('/service/boards', 'GET /service/boards', query);
  }

  boardStatuses(boardId: number, query?: ListQuery): AsyncGenerator<BoardStatus> {
    return this.list(`/service/boards/${boardId}/statuses`, 'GET /service/boards/{id}/statuses', query);
  }

  boardTypes(boardId: number, query?: ListQuery): AsyncGenerator<BoardType> {
    return this.list(`/service/boards/${boardId}/types`, 'GET /service/boards/{id}/types', query);
  }

  boardSubtypes(boardId: number, query?: ListQuery): AsyncGenerator<BoardSubtype> {
    return this.list(`/service/boards/${boardId}/subtypes`, 'GET /service/boards/{id}/subtypes', query);
  }

  boardItems(boardId: number, query?: ListQuery): AsyncGenerator<BoardItem> {
    return this.list(`/service/boards/${boardId}/items`, 'GET /service/boards/{id}/items', query);
  }

  priorities(query?: ListQuery): AsyncGenerator<Priority> {
    return this.list('/service/priorities', 'GET /service/priorities', query);
  }

  // Tickets and notes

  tickets(query?: ListQuery): AsyncGenerator<Ticket> {
    return this.list('/service/tickets', 'GET /service/tickets', query);
  }

  countTickets(conditions?: string): Promise<number> {
    return this.#count('/service/tickets', 'GET /service/tickets/count', conditions);
  }

  getTicket(id: number): Promise<Ticket> {
    return this.#get(`/service/tickets/${id}`, 'GET /service/tickets/{id}');
  }

  /** Not idempotent: a lost answer may still have created the ticket. Look for `externalXRef` before a retry. */
  createTicket(ticket: NewTicket, options: { timeoutMs?: number } = {}): Promise<Ticket> {
    return this.#post('/service/tickets', 'POST /service/tickets', ticket, options.timeoutMs);
  }

  patchTicket(id: number, operations: readonly PatchOperation[]): Promise<Ticket> {
    return this.#patch(`/service/tickets/${id}`, 'PATCH /service/tickets/{id}', operations);
  }

  notes(ticketId: number, query?: ListQuery): AsyncGenerator<ServiceNote> {
    return this.list(`/service/tickets/${ticketId}/notes`, 'GET /service/tickets/{id}/notes', query);
  }

  addNote(ticketId: number, note: NewServiceNote): Promise<ServiceNote> {
    return this.#post(`/service/tickets/${ticketId}/notes`, 'POST /service/tickets/{id}/notes', note);
  }
}
