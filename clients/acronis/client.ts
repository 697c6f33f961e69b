/**
 * Typed client for Acronis Cyber Protect Cloud's public APIs (Account Management v2, Alert Manager
 * v1, Resource/Policy Management v4, Agent Manager v2, Task Manager v2). One API client's
 * credentials, one cached token refreshed when it expires or is refused (one retry), pages as
 * async iterators, and every failure a `VendorApiError`.
 */
import { HttpTransport, TokenCache, VendorApiError, type HttpRequest, type HttpResponse, type QueryValue } from '../http.ts';
import type { RequestLimiter } from '../request-limiter.ts';
import { readAcronisError } from './errors.ts';
import type {
  Activity,
  ActivityFilter,
  Agent,
  AgentFilter,
  Alert,
  AlertCreate,
  AlertFilter,
  AlertType,
  ApiClientInfo,
  Application,
  CreatedApiClient,
  Infra,
  LoginAvailability,
  MfaStatus,
  OfferingItem,
  OfferingItemChange,
  PolicyApplication,
  PolicyIssue,
  PricingMode,
  PricingSettings,
  ProtectionPlan,
  ProtectionPlanCreate,
  RegistrationToken,
  PolicyCreate,
  Resource,
  ResourceFilter,
  ResourceStatus,
  Tenant,
  TenantCreate,
  TenantFilter,
  TenantPage,
  TenantUpdate,
  TenantUsages,
  Usage,
  User,
  UserCreate,
  UserUpdate,
} from './types.ts';

export const BACKUP_APPLICATION_ID = '6e6d758d-8e74-3ae3-ac84-50eb0dff12eb';
const ZERO_UUID = '00000000-0000-0000-0000-000000000000';
/** Tokens live two hours when the answer does not say. */
const DEFAULT_TOKEN_LIFETIME_S = 7200;
/** Batch endpoints take at most 100 UUIDs. */
const BATCH_LIMIT = 100;

const AM = '/api/2';
const ALERTS = '/api/alert_manager/v1';
const TASKS = '/api/task_manager/v2';
const RESOURCES = '/api/resource_management/v4';
const POLICIES = '/api/policy_management/v4';
const AGENTS = '/api/agent_manager/v2';

export interface AcronisClientOptions {
  /** The data centre URL, e.g. `https://eu2-cloud.acronis.com`. */
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  /** Per request; defaults to the transport's 30 s. */
  timeoutMs?: number;
  /** Items per page asked of list endpoints (the server may send fewer). */
  pageSize?: number;
  limiter?: RequestLimiter;
  fetch?: typeof fetch;
}

interface TokenAnswer {
  access_token?: unknown;
  expires_on?: unknown;
  expires_in?: unknown;
}

interface PagedAnswer<T> {
  items?: T[];
  timestamp?: string;
  paging?: { cursors?: { after?: string } };
  /** The Task Manager's documented form; real answers use `paging.cursors`. */
  cursors?: { after?: string };
}

type RawActivity = Omit<Activity, 'id' | 'taskId'> & { id: number; idString?: string; taskId: number; taskIdString?: string };

/** Several values of an alert/task/agent filter: `or(a,b)` (comma joining means something else there). */
function anyOf(values: readonly string[] | undefined): string | undefined {
  if (!values?.length) return undefined;
  return values.length === 1 ? values[0] : `or(${values.join(',')})`;
}

function toActivity(raw: RawActivity): Activity {
  const { idString, taskIdString, ...rest } = raw;
  return { ...rest, id: idString ?? String(raw.id), taskId: taskIdString ?? String(raw.taskId) };
}

export class AcronisClient {
  readonly #http: HttpTransport;
  readonly #tokens: TokenCache;
  readonly #options: AcronisClientOptions;

  constructor(options: AcronisClientOptions) {
    this.#options = options;
    this.#http = new HttpTransport({ system: 'acronis', baseUrl: options.baseUrl, timeoutMs: options.timeoutMs, readError: readAcronisError, limiter: options.limiter, fetch: options.fetch });
    this.#tokens = new TokenCache(() => this.#fetchToken());
  }

  // --- transport -------------------------------------------------------------------------------

  async #fetchToken(): Promise<{ token: string; expiresAtMs: number }> {
    const basic = Buffer.from(`${encodeURIComponent(this.#options.clientId)}:${encodeURIComponent(this.#options.clientSecret)}`).toString('base64');
    const response = await this.#http.request({ method: 'POST', readOnly: true, path: `${AM}/idp/token`, headers: { authorization: `Basic ${basic}` }, form: { grant_type: 'client_credentials' } });
    const body = (response.body ?? {}) as TokenAnswer;
    if (typeof body.access_token !== 'string') throw new VendorApiError({ system: 'acronis', kind: 'protocol', operation: `POST ${AM}/idp/token`, status: response.status, message: 'the token answer has no access_token' });
    const expiresAtMs = typeof body.expires_on === 'number' ? body.expires_on * 1000 : Date.now() + (typeof body.expires_in === 'number' ? body.expires_in : DEFAULT_TOKEN_LIFETIME_S) * 1000;
    return { token: body.access_token, expiresAtMs };
  }

  /** Sends with the cached token; a 401 gets one fresh token and one retry. `accept` lists non-2xx statuses that are answers, not failures. */
  async #call(request: HttpRequest, accept: readonly number[] = []): Promise<HttpResponse> {
    const withToken = (token: string): HttpRequest => ({ ...request, headers: { ...request.headers, authorization: `Bearer ${token}` } });
    const token = await this.#tokens.get();
    let response = await this.#http.send(withToken(token));
    if (response.status === 401) {
      this.#tokens.invalidate(token);
      response = await this.#http.send(withToken(await this.#tokens.get()));
    }
    if ((response.status >= 200 && response.status < 300) || accept.includes(response.status)) return response;
    throw this.#http.errorFor(request, response);
  }

  async #json<T>(request: HttpRequest): Promise<T> {
    return (await this.#call(request)).body as T;
  }

  /** Follows `after` cursors: the next request carries only the cursor and the page size. */
  async *#pages<T>(request: HttpRequest): AsyncGenerator<PagedAnswer<T>> {
    const limit = this.#options.pageSize ?? 100;
    let next: HttpRequest | undefined = { ...request, query: { ...request.query, limit } };
    const seen = new Set<string>();
    while (next) {
      const page: PagedAnswer<T> = await this.#json<PagedAnswer<T>>(next);
      yield page;
      const after: string | undefined = page.paging?.cursors?.after ?? page.cursors?.after;
      if (after && seen.has(after)) throw new VendorApiError({ system: 'acronis', kind: 'protocol', operation: request.operation ?? `${request.method} ${request.path}`, message: 'the server repeated a page cursor' });
      if (after) seen.add(after);
      next = after && page.items?.length ? { ...request, query: { limit, after } } : undefined;
    }
  }

  async *#items<T>(request: HttpRequest): AsyncGenerator<T> {
    for await (const page of this.#pages<T>(request)) yield* page.items ?? [];
  }

  // --- API clients and tenants -----------------------------------------------------------------

  /** This client's own record (its `tenant_id` is the partner tenant it acts for). */
  getApiClient(clientId = this.#options.clientId): Promise<ApiClientInfo> {
    return this.#json({ method: 'GET', path: `${AM}/clients/${encodeURIComponent(clientId)}`, operation: `GET ${AM}/clients/{id}` });
  }

  createApiClient(tenantId: string, name: string): Promise<CreatedApiClient> {
    return this.#json({ method: 'POST', path: `${AM}/clients`, json: { type: 'api_client', tenant_id: tenantId, token_endpoint_auth_method: 'client_secret_basic', data: { client_name: name } } });
  }

  setApiClientStatus(clientId: string, status: 'enabled' | 'disabled'): Promise<ApiClientInfo> {
    return this.#json({ method: 'PUT', path: `${AM}/clients/${encodeURIComponent(clientId)}`, operation: `PUT ${AM}/clients/{id}`, json: { status } });
  }

  async deleteApiClient(clientId: string): Promise<void> {
    await this.#call({ method: 'DELETE', path: `${AM}/clients/${encodeURIComponent(clientId)}`, operation: `DELETE ${AM}/clients/{id}` });
  }

  createTenant(tenant: TenantCreate): Promise<Tenant> {
    return this.#json({ method: 'POST', path: `${AM}/tenants`, json: tenant });
  }

  getTenant(id: string, options: { allowDeleted?: boolean } = {}): Promise<Tenant> {
    return this.#json({ method: 'GET', path: `${AM}/tenants/${id}`, operation: `GET ${AM}/tenants/{id}`, query: { allow_deleted: options.allowDeleted } });
  }

  /** Partial update; `version` must be the one last read (a stale one is a `conflict`). */
  updateTenant(id: string, version: number, changes: TenantUpdate): Promise<Tenant> {
    return this.#json({ method: 'PUT', path: `${AM}/tenants/${id}`, operation: `PUT ${AM}/tenants/{id}`, json: { ...changes, version } });
  }

  setTenantEnabled(id: string, version: number, enabled: boolean): Promise<Tenant> {
    return this.updateTenant(id, version, { enabled });
  }

  /** The tenant must be disabled first. */
  async deleteTenant(id: string, version: number): Promise<void> {
    await this.#call({ method: 'DELETE', path: `${AM}/tenants/${id}`, operation: `DELETE ${AM}/tenants/{id}`, query: { version } });
  }

  /** Pages of the tenant batch endpoint, each with the server `timestamp` to use as the next watermark. */
  async *tenantPages(filter: TenantFilter = {}): AsyncGenerator<TenantPage> {
    const query: Record<string, QueryValue> = {
      subtree_root_id: filter.subtreeRootId,
      parent_id: filter.parentId,
      uuids: filter.uuids?.length ? filter.uuids.join(',') : undefined,
      updated_since: filter.updatedSince,
      allow_deleted: filter.allowDeleted,
      with_offering_items: filter.withOfferingItems,
    };
    for await (const page of this.#pages<Tenant>({ method: 'GET', path: `${AM}/tenants`, query })) yield { timestamp: page.timestamp ?? '', items: page.items ?? [] };
  }

  async *listTenants(filter: TenantFilter = {}): AsyncGenerator<Tenant> {
    for await (const page of this.tenantPages(filter)) yield* page.items;
  }

  async childTenantIds(id: string): Promise<string[]> {
    return (await this.#json<{ items: string[] }>({ method: 'GET', path: `${AM}/tenants/${id}/children`, operation: `GET ${AM}/tenants/{id}/children` })).items;
  }

  getPricing(tenantId: string): Promise<PricingSettings> {
    return this.#json({ method: 'GET', path: `${AM}/tenants/${tenantId}/pricing`, operation: `GET ${AM}/tenants/{id}/pricing` });
  }

  /** Trial → production is one way; `version` is the epoch-ms version last read. */
  setPricingMode(tenantId: string, mode: PricingMode, version: number): Promise<PricingSettings> {
    return this.#json({ method: 'PUT', path: `${AM}/tenants/${tenantId}/pricing`, operation: `PUT ${AM}/tenants/{id}/pricing`, json: { mode, version } });
  }

  getTenantMfa(tenantId: string): Promise<MfaStatus> {
    return this.#json({ method: 'GET', path: `${AM}/tenants/${tenantId}/mfa/status`, operation: `GET ${AM}/tenants/{id}/mfa/status` });
  }

  setTenantMfa(tenantId: string, enabled: boolean): Promise<MfaStatus> {
    return this.#json({ method: 'PUT', path: `${AM}/tenants/${tenantId}/mfa/status`, operation: `PUT ${AM}/tenants/{id}/mfa/status`, json: { enabled } });
  }

  // --- users -----------------------------------------------------------------------------------

  async checkLogin(login: string): Promise<LoginAvailability> {
    const response = await this.#call({ method: 'GET', path: `${AM}/users/check_login`, query: { username: login } }, [406, 409]);
    return response.status === 409 ? 'taken' : response.status === 406 ? 'invalid' : 'available';
  }

  createUser(user: UserCreate): Promise<User> {
    return this.#json({ method: 'POST', path: `${AM}/users`, json: user });
  }

  getUser(id: string): Promise<User> {
    return this.#json({ method: 'GET', path: `${AM}/users/${id}`, operation: `GET ${AM}/users/{id}` });
  }

  updateUser(id: string, version: number, changes: UserUpdate): Promise<User> {
    return this.#json({ method: 'PUT', path: `${AM}/users/${id}`, operation: `PUT ${AM}/users/{id}`, json: { ...changes, version } });
  }

  async deleteUser(id: string, version: number): Promise<void> {
    await this.#call({ method: 'DELETE', path: `${AM}/users/${id}`, operation: `DELETE ${AM}/users/{id}`, query: { version } });
  }

  async sendActivationEmail(id: string): Promise<void> {
    await this.#call({ method: 'POST', path: `${AM}/users/${id}/send-activation-email`, operation: `POST ${AM}/users/{id}/send-activation-email`, json: {} });
  }

  /** Replaces the user's roles on `tenantId` (e.g. `company_admin`). */
  async setUserRoles(userId: string, tenantId: string, roles: string[]): Promise<User['access_policies']> {
    const items = roles.map((role_id) => ({ id: ZERO_UUID, issuer_id: ZERO_UUID, trustee_id: userId, trustee_type: 'user', tenant_id: tenantId, role_id, version: 0 }));
    return (await this.#json<{ items: User['access_policies'] }>({ method: 'PUT', path: `${AM}/users/${userId}/access_policies`, operation: `PUT ${AM}/users/{id}/access_policies`, json: { items } })).items;
  }

  listUsers(filter: { tenantId?: string; subtreeRootTenantId?: string; withAccessPolicies?: boolean } = {}): AsyncGenerator<User> {
    return this.#items({ method: 'GET', path: `${AM}/users`, query: { tenant_id: filter.tenantId, subtree_root_tenant_id: filter.subtreeRootTenantId, with_access_policies: filter.withAccessPolicies } });
  }

  // --- services, offering items, usages --------------------------------------------------------

  async listApplications(): Promise<Application[]> {
    return (await this.#json<{ items: Application[] }>({ method: 'GET', path: `${AM}/applications` })).items;
  }

  async tenantApplicationIds(tenantId: string): Promise<string[]> {
    return (await this.#json<{ items: string[] }>({ method: 'GET', path: `${AM}/tenants/${tenantId}/applications`, operation: `GET ${AM}/tenants/{id}/applications` })).items;
  }

  async enableApplication(applicationId: string, tenantId: string): Promise<void> {
    await this.#call({ method: 'POST', path: `${AM}/applications/${applicationId}/bindings/tenants/${tenantId}`, operation: `POST ${AM}/applications/{id}/bindings/tenants/{id}` });
  }

  async disableApplication(applicationId: string, tenantId: string): Promise<void> {
    await this.#call({ method: 'DELETE', path: `${AM}/applications/${applicationId}/bindings/tenants/${tenantId}`, operation: `DELETE ${AM}/applications/{id}/bindings/tenants/{id}` });
  }

  /** All editions unless one is named: the server's own default is the legacy `standard` only. */
  async listOfferingItems(tenantId: string, filter: { edition?: string; status?: 0 | 1; usageNames?: string[] } = {}): Promise<OfferingItem[]> {
    const query = { edition: filter.edition ?? '*', status: filter.status, usage_names: filter.usageNames?.join(',') };
    return (await this.#json<{ items: OfferingItem[] }>({ method: 'GET', path: `${AM}/tenants/${tenantId}/offering_items`, operation: `GET ${AM}/tenants/{id}/offering_items`, query })).items;
  }

  async offeringItemsAvailableForChild(parentId: string, options: { kind?: 'customer' | 'partner' | 'folder' | 'unit'; edition?: string } = {}): Promise<OfferingItem[]> {
    const query = { kind: options.kind ?? 'customer', edition: options.edition ?? '*' };
    return (await this.#json<{ items: OfferingItem[] }>({ method: 'GET', path: `${AM}/tenants/${parentId}/offering_items/available_for_child`, operation: `GET ${AM}/tenants/{id}/offering_items/available_for_child`, query })).items;
  }

  /** Changes only the listed items; quotas must echo the version last read. */
  async setOfferingItems(tenantId: string, items: OfferingItemChange[], options: { checkUsage?: boolean } = {}): Promise<OfferingItem[]> {
    const json = { offering_items: items, ...(options.checkUsage !== undefined ? { check_usage: options.checkUsage } : {}) };
    return (await this.#json<{ items: OfferingItem[] }>({ method: 'PUT', path: `${AM}/tenants/${tenantId}/offering_items`, operation: `PUT ${AM}/tenants/{id}/offering_items`, json })).items;
  }

  async tenantUsages(tenantId: string, filter: { usageNames?: string[] } = {}): Promise<Usage[]> {
    return (await this.#json<{ items: Usage[] }>({ method: 'GET', path: `${AM}/tenants/${tenantId}/usages`, operation: `GET ${AM}/tenants/{id}/usages`, query: { usage_names: filter.usageNames?.join(',') } })).items;
  }

  /** Usages of many tenants, 100 per request. */
  async usagesOfTenants(tenantIds: string[]): Promise<TenantUsages[]> {
    const result: TenantUsages[] = [];
    for (let start = 0; start < tenantIds.length; start += BATCH_LIMIT) {
      const batch = tenantIds.slice(start, start + BATCH_LIMIT);
      result.push(...(await this.#json<{ items: TenantUsages[] }>({ method: 'GET', path: `${AM}/tenants/usages`, query: { tenants: batch.join(',') } })).items);
    }
    return result;
  }

  createRegistrationToken(tenantId: string, options: { expiresInSeconds: number; scopes?: string[] }): Promise<RegistrationToken> {
    return this.#json({ method: 'POST', path: `${AM}/tenants/${tenantId}/registration_tokens`, operation: `POST ${AM}/tenants/{id}/registration_tokens`, json: { expires_in: options.expiresInSeconds, scopes: options.scopes ?? [] } });
  }

  async listRegistrationTokens(tenantId: string): Promise<RegistrationToken[]> {
    return (await this.#json<{ items: RegistrationToken[] }>({ method: 'GET', path: `${AM}/tenants/${tenantId}/registration_tokens`, operation: `GET ${AM}/tenants/{id}/registration_tokens` })).items;
  }

  async tenantStorageIds(tenantId: string): Promise<string[]> {
    return (await this.#json<{ infras: string[] }>({ method: 'GET', path: `${AM}/tenants/${tenantId}/infra`, operation: `GET ${AM}/tenants/{id}/infra` })).infras;
  }

  getStorage(id: string): Promise<Infra> {
    return this.#json({ method: 'GET', path: `${AM}/infra/${id}`, operation: `GET ${AM}/infra/{id}` });
  }

  // --- alerts ----------------------------------------------------------------------------------

  async raiseAlert(alert: AlertCreate): Promise<string> {
    const json = { type: alert.type, details: alert.details, severity: alert.severity, category: alert.category, ...(alert.tenantId ? { tenant: { uuid: alert.tenantId } } : {}) };
    return (await this.#json<{ id: string }>({ method: 'POST', path: `${ALERTS}/alerts`, json })).id;
  }

  listAlerts(filter: AlertFilter = {}): AsyncGenerator<Alert> {
    return this.#items({ method: 'GET', path: `${ALERTS}/alerts`, query: alertQuery(filter) });
  }

  getAlert(id: string, options: { showDeleted?: boolean } = {}): Promise<Alert> {
    return this.#json({ method: 'GET', path: `${ALERTS}/alerts/${id}`, operation: `GET ${ALERTS}/alerts/{id}`, query: { show_deleted: options.showDeleted } });
  }

  async dismissAlert(id: string): Promise<void> {
    await this.#call({ method: 'DELETE', path: `${ALERTS}/alerts/${id}`, operation: `DELETE ${ALERTS}/alerts/{id}` });
  }

  /** Dismisses every alert the filter selects; refuses an empty filter, which would dismiss everything. */
  async dismissAlerts(filter: AlertFilter): Promise<void> {
    const query = alertQuery(filter);
    const selecting = Object.entries(query).some(([name, value]) => value !== undefined && !['show_deleted', 'show_deleted_only', 'order'].includes(name));
    if (!selecting) throw new RangeError('dismissAlerts needs a filter: without one Acronis dismisses every alert');
    await this.#call({ method: 'DELETE', path: `${ALERTS}/alerts`, query });
  }

  /** Active alerts and the newest change to any alert (`modifiedAt`, RFC 3339 with nanoseconds; null before the first): a starting cursor. */
  async alertStats(): Promise<{ count: number; modifiedAt: string | null }> {
    return this.#json({ method: 'GET', path: `${ALERTS}/stats` });
  }

  async alertTypes(): Promise<AlertType[]> {
    return (await this.#json<{ items: AlertType[] }>({ method: 'GET', path: `${ALERTS}/types` })).items;
  }

  // --- resources, protection plans -------------------------------------------------------------

  listResources(filter: ResourceFilter = {}): AsyncGenerator<Resource> {
    return this.#items({ method: 'GET', path: `${RESOURCES}/resources`, query: { tenant_id: filter.tenantId, type: filter.type, agent_id: filter.agentId } });
  }

  /** Each machine's protection as Acronis aggregates it (F6.6): one read per page, not one per machine. */
  listResourceStatuses(filter: { tenantId?: string } = {}): AsyncGenerator<ResourceStatus> {
    return this.#items({ method: 'GET', path: `${RESOURCES}/resource_statuses`, query: { tenant_id: filter.tenantId } });
  }

  getResource(id: string): Promise<Resource> {
    return this.#json({ method: 'GET', path: `${RESOURCES}/resources/${id}`, operation: `GET ${RESOURCES}/resources/{id}` });
  }

  /** Creates a protection plan (a `policy.protection.total` root with a machine-backup child); answers the plan id. */
  async createProtectionPlan(plan: ProtectionPlanCreate): Promise<string> {
    const rootId = crypto.randomUUID();
    const policy = [
      { id: rootId, type: 'policy.protection.total', name: plan.name, ...(plan.tenantId ? { tenant_id: plan.tenantId } : {}) },
      { id: crypto.randomUUID(), type: 'policy.backup.machine', name: plan.name, parent_ids: [rootId], ...(plan.schedule ? { settings: { scheduling: plan.schedule } } : {}) },
    ];
    await this.#json({ method: 'POST', path: `${POLICIES}/policies`, json: { subject: { policy } } });
    return rootId;
  }

  /**
   * Creates a protection plan from its policies as given (ids included: Acronis accepts ids chosen by
   * the client, so a copy made with derived ids is looked up before it is made again).
   */
  async createPolicies(policies: PolicyCreate[], options: { tenantId: string }): Promise<void> {
    await this.#json({ method: 'POST', path: `${POLICIES}/policies`, json: { subject: { policy: policies }, override_tenant_id: options.tenantId } });
  }

  listProtectionPlans(filter: { tenantId?: string; planId?: string; includeSettings?: boolean; includeAppliedContext?: boolean } = {}): AsyncGenerator<ProtectionPlan> {
    const query = { tenant_id: filter.tenantId, policy_id: filter.planId, type: 'policy.protection.total', include_settings: filter.includeSettings, include_applied_context: filter.includeAppliedContext };
    return this.#items({ method: 'GET', path: `${POLICIES}/policies`, query });
  }

  async deleteProtectionPlan(planId: string): Promise<void> {
    await this.#call({ method: 'DELETE', path: `${POLICIES}/policies/${planId}`, operation: `DELETE ${POLICIES}/policies/{id}` });
  }

  async applyPlan(planId: string, resourceIds: string[]): Promise<PolicyIssue[]> {
    return (await this.#json<{ issues?: PolicyIssue[] }>({ method: 'POST', path: `${POLICIES}/applications`, json: { policy_id: planId, context: { items: resourceIds } } })).issues ?? [];
  }

  /** Without resources, revokes the plan from every resource it is applied to. */
  async revokePlan(planId: string, resourceIds?: string[]): Promise<void> {
    await this.#call({ method: 'DELETE', path: `${POLICIES}/applications`, query: { policy_id: planId, context_id: anyOf(resourceIds) } });
  }

  /** Starts the plan now (on the given resources, or everywhere it is applied). */
  async runPlan(planId: string, resourceIds?: string[]): Promise<void> {
    await this.#call({ method: 'PUT', path: `${POLICIES}/applications/run`, json: { state: 'running', policy_id: planId, ...(resourceIds ? { context_ids: resourceIds } : {}) } });
  }

  /** Stops the plan's running backup (on the given resources, or everywhere it runs). */
  async stopPlan(planId: string, resourceIds?: string[]): Promise<void> {
    await this.#call({ method: 'PUT', path: `${POLICIES}/applications/run`, json: { state: 'stopped', policy_id: planId, ...(resourceIds ? { context_ids: resourceIds } : {}) } });
  }

  /** `policyType` `policy.protection.total` lists each plan once per machine instead of once per policy of the plan. */
  listPlanApplications(filter: { planId?: string; resourceId?: string; agentId?: string; policyType?: string } = {}): AsyncGenerator<PolicyApplication> {
    return this.#items({ method: 'GET', path: `${POLICIES}/applications`, query: { policy_id: filter.planId, context_id: filter.resourceId, agent_id: filter.agentId, policy_type: filter.policyType } });
  }

  // --- agents ----------------------------------------------------------------------------------

  listAgents(filter: AgentFilter = {}): AsyncGenerator<Agent> {
    return this.#items({ method: 'GET', path: `${AGENTS}/agents`, query: { tenant_id: filter.tenantNumericId, hostname: filter.hostname, online: filter.online, up_to_date: filter.upToDate } });
  }

  getAgent(id: string): Promise<Agent> {
    return this.#json({ method: 'GET', path: `${AGENTS}/agents/${id}`, operation: `GET ${AGENTS}/agents/{id}` });
  }

  async forceAgentUpdate(agentIds: string[]): Promise<void> {
    await this.#call({ method: 'POST', path: `${AGENTS}/agents/update:force`, json: { agent_ids: agentIds } });
  }

  async deleteAgents(agentIds: string[]): Promise<void> {
    await this.#call({ method: 'DELETE', path: `${AGENTS}/agents`, query: { id: anyOf(agentIds) } });
  }

  // --- task manager ----------------------------------------------------------------------------

  async *listActivities(filter: ActivityFilter = {}): AsyncGenerator<Activity> {
    const query = { resourceId: filter.resourceId, policyId: filter.policyId, state: filter.state, resultCode: filter.resultCode, completedAt: filter.completedAfter && `gt(${filter.completedAfter})`, order: filter.order };
    for await (const raw of this.#items<RawActivity>({ method: 'GET', path: `${TASKS}/activities`, query })) yield toActivity(raw);
  }

  async getActivity(id: string): Promise<Activity> {
    return toActivity(await this.#json<RawActivity>({ method: 'GET', path: `${TASKS}/activities/${id}`, operation: `GET ${TASKS}/activities/{id}` }));
  }
}

function alertQuery(filter: AlertFilter): Record<string, QueryValue> {
  return {
    id: anyOf(filter.id),
    type: anyOf(filter.type),
    category: anyOf(filter.category),
    tenant: anyOf(filter.tenant),
    severity: filter.severity,
    planId: filter.planId,
    resourceId: filter.resourceId,
    show_deleted: filter.showDeleted,
    show_deleted_only: filter.showDeletedOnly,
    updated_at: filter.updatedAfterNs === undefined ? undefined : `gt(${filter.updatedAfterNs.toString()})`,
    order: filter.order,
  };
}
