/** Acronis Cyber Protect Cloud wire shapes, as the public APIs send and accept them (field names kept). */

export type TenantKind = 'root' | 'partner' | 'folder' | 'customer' | 'unit';
export type PricingMode = 'trial' | 'production' | 'suspended';

export interface Contact {
  email?: string;
  firstname?: string;
  lastname?: string;
  phone?: string;
  address1?: string;
  city?: string;
  country?: string;
  zipcode?: string;
  [field: string]: unknown;
}

export interface Tenant {
  id: string;
  version: number;
  name: string;
  kind: TenantKind;
  parent_id: string;
  enabled: boolean;
  customer_type: string;
  customer_id: string | null;
  internal_tag: string | null;
  language: string;
  contact: Contact;
  owner_id: string | null;
  has_children: boolean;
  update_lock: { enabled: boolean; owner_id: string | null };
  ancestral_access: boolean;
  mfa_status: string;
  pricing_mode: PricingMode;
  production_start_date: string | null;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
  offering_items?: OfferingItem[];
}

export interface TenantCreate {
  name: string;
  kind: Exclude<TenantKind, 'root'>;
  parent_id: string;
  contact?: Contact;
  enabled?: boolean;
  customer_id?: string | null;
  internal_tag?: string | null;
  language?: string;
  update_lock?: { enabled: boolean; owner_id?: string | null };
  ancestral_access?: boolean;
}

export interface TenantUpdate {
  name?: string;
  parent_id?: string;
  contact?: Contact;
  enabled?: boolean;
  customer_id?: string | null;
  internal_tag?: string | null;
  language?: string;
  update_lock?: { enabled: boolean; owner_id?: string | null };
  ancestral_access?: boolean;
}

export interface TenantFilter {
  /** Exactly one selector at most; none means the client's own subtree. */
  subtreeRootId?: string;
  parentId?: string;
  uuids?: string[];
  /** RFC 3339; use the `timestamp` of the previous sync as the watermark. */
  updatedSince?: string;
  allowDeleted?: boolean;
  withOfferingItems?: boolean;
}

export interface TenantPage {
  /** The server's time for this batch: the next `updatedSince`. */
  timestamp: string;
  items: Tenant[];
}

export interface PricingSettings {
  mode: PricingMode;
  currency: string | null;
  /** Epoch milliseconds. */
  version: number;
  production_start_date: string | null;
}

export interface MfaStatus {
  mfa_status: 'disabled' | 'disable_in_progress' | 'enabled';
  users_count: number;
  users_with_totp_enabled_count: number;
  update_allowed: boolean;
}

export interface ApiClientInfo {
  client_id: string;
  tenant_id: string;
  type: string;
  status: 'enabled' | 'disabled';
  token_endpoint_auth_method: string;
  data: { client_name: string };
  created_at: string;
  last_access_at: string | null;
}

export interface CreatedApiClient extends ApiClientInfo {
  /** Returned only on creation. */
  client_secret: string;
}

export interface User {
  id: string;
  version: number;
  tenant_id: string;
  login: string;
  contact: Contact;
  activated: boolean;
  enabled: boolean;
  created_at: string;
  deleted_at: string | null;
  language: string;
  external_id: string | null;
  personal_tenant_id: string | null;
  notifications: string[];
  business_types: string[];
  mfa_status: string;
  access_policies?: AccessPolicy[];
}

export interface UserCreate {
  tenant_id: string;
  login: string;
  contact: Contact & { email: string };
  external_id?: string | null;
  enabled?: boolean;
  language?: string;
  notifications?: string[];
  business_types?: string[];
}

export interface UserUpdate {
  login?: string;
  contact?: Contact;
  enabled?: boolean;
  external_id?: string | null;
  language?: string;
  notifications?: string[];
  business_types?: string[];
}

export interface AccessPolicy {
  id: string;
  issuer_id: string;
  trustee_id: string;
  trustee_type: 'user';
  tenant_id: string;
  role_id: string;
  version: number;
}

export type LoginAvailability = 'available' | 'taken' | 'invalid';

export interface Application {
  id: string;
  name: string;
  type: string;
  api_base_url: string;
  usages: string[];
}

export interface Quota {
  /** `null` with `overage: null` is unlimited. */
  value: number | null;
  overage: number | null;
  /** Echo the version last read; 0 for unlimited or never-set quotas. */
  version: number;
}

export interface OfferingItem {
  application_id: string;
  name: string;
  edition: string | null;
  usage_name: string;
  tenant_id: string;
  status: 0 | 1;
  locked: boolean;
  type: 'count' | 'feature' | 'infra';
  infra_id?: string;
  measurement_unit: 'quantity' | 'bytes' | 'seconds' | 'n/a';
  /** Absent on disabled items. */
  quota?: Quota;
  updated_at: string;
}

export interface OfferingItemChange {
  application_id: string;
  name: string;
  status: 0 | 1;
  infra_id?: string;
  quota?: Quota;
}

export interface Usage {
  application_id: string;
  name: string;
  edition: string | null;
  usage_name: string;
  type: 'count' | 'feature' | 'infra';
  measurement_unit: 'quantity' | 'bytes' | 'seconds' | 'n/a';
  infra_id?: string;
  /** The legacy numeric tenant id. */
  tenant_id: number;
  tenant_uuid: string;
  range_start: string;
  /** Current usage. */
  value: number;
  /** Accumulated over the billing period: what pay-as-you-go bills. */
  absolute_value: number;
  offering_item?: { status: 0 | 1; quota?: Quota };
}

export interface TenantUsages {
  tenant: string;
  usages: Usage[];
}

export interface RegistrationToken {
  id: number;
  token: string;
  /** Numeric tenant id. */
  tenant_id: string;
  tenant_uuid: string;
  created_at: string;
  expires_at: string;
  scopes: string[];
}

export interface Infra {
  id: string;
  name: string;
  owner_tenant_id: string;
  location_id: string;
  platform_owned: boolean;
  capabilities: string[];
  readonly: boolean;
  version: number;
}

export type AlertSeverity = 'ok' | 'information' | 'warning' | 'error' | 'critical';

export interface AlertTenant {
  /** Numeric tenant id. */
  id: string;
  uuid?: string;
  locator: string;
}

export interface Alert {
  /** Uppercase UUID; compare case-insensitively. */
  id: string;
  type: string;
  category: string;
  severity: AlertSeverity;
  details: Record<string, unknown> & { planId?: string; planName?: string; resourceId?: string; resourceName?: string };
  /** RFC 3339 with nanoseconds. */
  createdAt: string;
  receivedAt: string;
  updatedAt: string;
  deletedAt?: string;
  tenant: AlertTenant;
  falsePositive?: boolean;
}

export interface AlertCreate {
  type: string;
  details: Record<string, unknown>;
  /** Tenant UUID; the client's own tenant when absent. */
  tenantId?: string;
  severity?: AlertSeverity;
  category?: string;
}

export interface AlertFilter {
  id?: string[];
  type?: string[];
  category?: string[];
  /** Tenant UUIDs. */
  tenant?: string[];
  /** An enum value or an operator, e.g. `ge(error)`. */
  severity?: string;
  planId?: string;
  resourceId?: string;
  showDeleted?: boolean;
  showDeletedOnly?: boolean;
  /** Unix nanoseconds (as a string or bigint: they exceed 2^53). */
  updatedAfterNs?: string | bigint;
  /** e.g. `asc(updated_at)`. */
  order?: string;
}

export interface AlertType {
  id: string;
  severity: AlertSeverity;
  enabled: boolean;
  category: string;
  contextKeys: string[];
}

export interface Resource {
  id: string;
  name: string;
  type: string;
  /** Numeric tenant id. */
  tenant_id: string;
  external_id: string;
  agent_id: string | null;
  created_at: string;
  updated_at: string;
}

/** `GET /resource_statuses`: a machine and its protection as Acronis aggregates it. */
export interface ResourceStatus {
  /** `ok`, `error`, `warning`, `running`, `not_protected`, `idle` ... */
  aggregate: { status: string; names?: string };
  context: Resource;
  policies: { type: string; last_run?: string | null; last_success_run?: string | null }[];
}

export interface ResourceFilter {
  /** Numeric ids or UUIDs. */
  tenantId?: string;
  type?: string;
  agentId?: string;
}

export interface Policy {
  id: string;
  type: string;
  name: string;
  tenant_id: string;
  enabled: boolean;
  parent_ids?: string[];
  settings?: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

/** A protection plan: the `policy.protection.total` root and its child policies. */
export interface ProtectionPlan {
  policy: Policy[];
  context?: { items: string[] };
}

/** A policy of a plan as `POST /policies` takes it; the root has no `parent_ids`. */
export interface PolicyCreate {
  id: string;
  type: string;
  name: string;
  enabled?: boolean;
  parent_ids?: string[];
  settings?: Record<string, unknown>;
}

/** The simulator-documented simple schedule for a plan's backup policy. */
export type BackupSchedule = { type: 'daily'; time: string } | { type: 'hourly'; every_hours: number };

export interface ProtectionPlanCreate {
  name: string;
  /** Tenant UUID or numeric id; the client's own tenant when absent. */
  tenantId?: string;
  schedule?: BackupSchedule;
}

export interface PolicyApplication {
  id: string;
  agent_id: string | null;
  context: { id: string; type: string };
  context_tenant_id: string;
  tenant_id: string;
  policy: { id: string; name: string; type: string };
  enabled: boolean;
  status: string;
  running: { state: string };
  last_runtime: string | null;
  next_run_time: string | null;
}

export interface PolicyIssue {
  severity?: string;
  type?: string;
  context_id?: string;
  message?: string;
}

export interface AgentVersion {
  current: { build: string; release_id: string };
}

export interface Agent {
  id: string;
  host_id: string;
  hostname: string;
  name: string;
  enabled: boolean;
  online: boolean;
  auto_update: boolean;
  up_to_date?: boolean;
  core_version: AgentVersion;
  platform: { arch: string; family: string; name: string };
  /** RFC 1123. */
  registration_date: string;
  tenant: { id: string; name: string };
  units: { name: string; version: AgentVersion }[];
}

export interface AgentFilter {
  /** Numeric id of the subtree root. */
  tenantNumericId?: string;
  /** `hlike(x)`, `like(x)`, `tlike(x)` or an exact name. */
  hostname?: string;
  online?: boolean;
  upToDate?: boolean;
}

export interface Activity {
  /** From `idString`: task-manager ids exceed Number.MAX_SAFE_INTEGER. */
  id: string;
  taskId: string;
  uuid?: string;
  type: string;
  state: 'enqueued' | 'assigned' | 'started' | 'paused' | 'completed';
  tenant: { id: string; uuid: string; name?: string; locator?: string };
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  completedAt?: string;
  resource?: { id: string; name: string; type: string };
  policy?: { id: string; name: string; type: string };
  result?: { code: 'ok' | 'error' | 'warning' | 'cancelled' | 'abandoned' | 'timedout'; error?: { domain?: string; code?: string; context?: Record<string, unknown> } };
}

export interface ActivityFilter {
  resourceId?: string;
  /** The plan or its backup policy. */
  policyId?: string;
  state?: Activity['state'];
  resultCode?: NonNullable<Activity['result']>['code'];
  /** RFC 3339. */
  completedAfter?: string;
  /** e.g. `desc(completedAt)`. */
  order?: string;
}
