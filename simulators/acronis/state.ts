import { randomBytes, randomUUID } from 'node:crypto';
import type { SimClock } from '../kit/sim-clock.ts';
import { DEFAULT_CREDENTIALS } from '../default-credentials.ts';
import { APPLICATIONS, CATALOGUE, DEFAULT_LOCATION_ID, DEFAULT_STORAGE_ID, type CatalogueItem, type Severity } from './catalogue.ts';

export type TenantKind = 'root' | 'partner' | 'folder' | 'customer' | 'unit';
export type PricingMode = 'trial' | 'production' | 'suspended';

export interface Tenant {
  id: string;
  /** The legacy numeric id the alert, task, resource and agent services use. */
  numericId: number;
  version: number;
  name: string;
  kind: TenantKind;
  parentId: string;
  enabled: boolean;
  customerType: string;
  customerId: string | null;
  internalTag: string | null;
  language: string;
  contact: Record<string, unknown>;
  ownerId: string | null;
  updateLock: { enabled: boolean; owner_id: string | null };
  ancestralAccess: boolean;
  mfaEnabled: boolean;
  pricing: { mode: PricingMode; currency: string | null; version: number; productionStartMs: number | null };
  /** Services bound to this tenant. */
  applications: string[];
  createdAtMs: number;
  updatedAtMs: number;
  deletedAtMs: number | null;
}

export interface ApiClient {
  clientId: string;
  secret: string;
  tenantId: string;
  status: 'enabled' | 'disabled';
  name: string;
  createdAtMs: number;
  createdBy: string | null;
  lastAccessAtMs: number | null;
}

export interface IssuedToken {
  clientId: string;
  expiresAtMs: number;
}

export interface AccessPolicy {
  id: string;
  issuer_id: string;
  trustee_id: string;
  trustee_type: string;
  tenant_id: string;
  role_id: string;
  version: number;
}

export interface User {
  id: string;
  version: number;
  tenantId: string;
  login: string;
  contact: Record<string, unknown>;
  activated: boolean;
  enabled: boolean;
  language: string;
  externalId: string | null;
  personalTenantId: string | null;
  businessTypes: string[];
  notifications: string[];
  accessPolicies: AccessPolicy[];
  createdAtMs: number;
  updatedAtMs: number;
  deletedAtMs: number | null;
}

export interface Quota {
  value: number | null;
  overage: number | null;
  version: number;
}

/** A tenant's setting for one catalogue item (absent = disabled). */
export interface OfferingItemSetting {
  tenantId: string;
  name: string;
  infraId: string | null;
  status: 0 | 1;
  quota: Quota | null;
  updatedAtMs: number;
}

export interface UsageRecord {
  tenantId: string;
  name: string;
  usageName: string;
  infraId: string | null;
  value: number;
  /** The billing period's accumulated figure (the high-water mark for countables). */
  absoluteValue: number;
  periodStartMs: number;
}

export interface RegistrationToken {
  id: number;
  token: string;
  tenantId: string;
  scopes: string[];
  createdAtMs: number;
  expiresAtMs: number;
}

export interface Alert {
  /** Uppercase UUID, as the Alert Manager issues them. */
  id: string;
  type: string;
  category: string;
  severity: Severity;
  details: Record<string, unknown>;
  tenantId: string;
  /** Type, tenant and the type's context keys: a new alert with the same key re-raises this one. */
  key: string;
  /** Unix nanoseconds as decimal strings (they exceed 2^53). */
  createdNs: string;
  receivedNs: string;
  updatedNs: string;
  deletedNs: string | null;
  source: string | null;
  falsePositive: boolean;
}

export interface Resource {
  id: string;
  name: string;
  type: string;
  tenantId: string;
  agentId: string | null;
  os: string;
  createdAtMs: number;
  updatedAtMs: number;
}

export interface Policy {
  id: string;
  type: string;
  name: string;
  tenantId: string;
  enabled: boolean;
  parentIds: string[];
  settings: Record<string, unknown> | null;
  createdAtMs: number;
  updatedAtMs: number;
  deletedAtMs: number | null;
}

/** A protection plan applied to a resource, with its backup schedule's progress. */
export interface PlanApplication {
  id: string;
  planId: string;
  resourceId: string;
  createdAtMs: number;
  nextRunAtMs: number | null;
  runningActivityId: string | null;
  lastRunAtMs: number | null;
  lastSuccessAtMs: number | null;
  lastResult: 'ok' | 'error' | null;
}

export interface Agent {
  id: string;
  hostId: string;
  hostname: string;
  machineKey: string;
  tenantId: string;
  resourceId: string;
  osFamily: 'WINDOWS' | 'LINUX' | 'MACOSX' | 'UNKNOWN';
  osName: string;
  online: boolean;
  /** Index into AGENT_RELEASES. */
  release: number;
  registeredAtMs: number;
  updatedAtMs: number;
}

export interface Activity {
  /** int64 beyond JavaScript's safe integers, kept as a decimal string and written as a bare number. */
  id: string;
  taskId: string;
  uuid: string;
  type: string;
  state: 'enqueued' | 'started' | 'completed';
  resultCode: 'ok' | 'error' | 'cancelled' | null;
  errorText: string | null;
  tenantId: string;
  resourceId: string;
  planId: string;
  policyId: string;
  agentId: string | null;
  createdAtMs: number;
  startedAtMs: number;
  completedAtMs: number | null;
  updatedAtMs: number;
}

export interface AcronisStateData {
  tenants: Record<string, Tenant>;
  nextTenantNumber: number;
  apiClients: Record<string, ApiClient>;
  tokens: Record<string, IssuedToken>;
  users: Record<string, User>;
  offeringItems: OfferingItemSetting[];
  usages: UsageRecord[];
  /** Devices counted at the last usage refresh, per `tenant:usage`, so a refresh only writes what changed. */
  countedDevices: Record<string, number>;
  lastUsageRefreshMs: number;
  registrationTokens: RegistrationToken[];
  nextRegistrationTokenId: number;
  activationEmails: { userId: string; login: string; email: unknown; at: string }[];
  alerts: Record<string, Alert>;
  lastAlertNs: string;
  resources: Record<string, Resource>;
  policies: Record<string, Policy>;
  planApplications: Record<string, PlanApplication>;
  agents: Record<string, Agent>;
  activities: Record<string, Activity>;
  nextTaskId: string;
  backupOutcomes: Record<string, { outcome: 'fail' | 'succeed'; error: string }>;
}

export const ROOT_TENANT_NAME = 'Simulated Cloud';
/** Realistic task ids: larger than Number.MAX_SAFE_INTEGER. */
const FIRST_TASK_ID = 944455285181775872n;

export function newUuid(): string {
  return randomUUID();
}

export function secretToken(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}

/** The simulated cloud's state and the relations every service needs (tree, scope, ids, time). */
export class AcronisStore {
  readonly clock: SimClock;
  data: AcronisStateData;

  constructor(clock: SimClock) {
    this.clock = clock;
    this.data = this.#seed();
  }

  reset(): void {
    this.data = this.#seed();
  }

  now(): number {
    return this.clock.nowMs();
  }

  root(): Tenant {
    return Object.values(this.data.tenants).find((tenant) => tenant.kind === 'root')!;
  }

  tenant(id: string, options: { allowDeleted?: boolean } = {}): Tenant | undefined {
    const tenant = this.data.tenants[id.toLowerCase()];
    return tenant && (options.allowDeleted || tenant.deletedAtMs === null) ? tenant : undefined;
  }

  tenantByNumericId(numericId: string | number): Tenant | undefined {
    return Object.values(this.data.tenants).find((tenant) => String(tenant.numericId) === String(numericId) && tenant.deletedAtMs === null);
  }

  /** Root first, `tenant` last. */
  lineage(tenant: Tenant): Tenant[] {
    const chain = [tenant];
    let current = tenant;
    while (current.parentId !== current.id) {
      const parent = this.data.tenants[current.parentId];
      if (!parent) break;
      chain.unshift(parent);
      current = parent;
    }
    return chain;
  }

  locator(tenant: Tenant): string {
    return `/${this.lineage(tenant).map((node) => node.numericId).join('/')}/`;
  }

  parentOf(tenant: Tenant): Tenant | undefined {
    return tenant.parentId === tenant.id ? undefined : this.data.tenants[tenant.parentId];
  }

  /** Whether `tenant` is `ancestorId` or below it. */
  isWithin(tenant: Tenant, ancestorId: string): boolean {
    return this.lineage(tenant).some((node) => node.id === ancestorId);
  }

  children(tenant: Tenant, options: { allowDeleted?: boolean } = {}): Tenant[] {
    return Object.values(this.data.tenants).filter((child) => child.parentId === tenant.id && child.id !== tenant.id && (options.allowDeleted || child.deletedAtMs === null));
  }

  /** `root` and everything below it, in id order. */
  subtree(root: Tenant, options: { allowDeleted?: boolean } = {}): Tenant[] {
    return Object.values(this.data.tenants)
      .filter((tenant) => (options.allowDeleted || tenant.deletedAtMs === null) && this.isWithin(tenant, root.id))
      .sort((a, b) => a.numericId - b.numericId);
  }

  addTenant(fields: Pick<Tenant, 'name' | 'kind' | 'parentId'> & Partial<Tenant>): Tenant {
    const now = this.now();
    const id = fields.id ?? newUuid();
    const tenant: Tenant = {
      version: 1,
      enabled: true,
      customerType: 'default',
      customerId: null,
      internalTag: null,
      language: 'en',
      contact: {},
      ownerId: null,
      updateLock: { enabled: false, owner_id: null },
      ancestralAccess: true,
      mfaEnabled: false,
      pricing: { mode: 'production', currency: null, version: now, productionStartMs: now },
      applications: [],
      createdAtMs: now,
      updatedAtMs: now,
      deletedAtMs: null,
      ...fields,
      id,
      numericId: this.data.nextTenantNumber++,
    };
    if (fields.kind === 'root') tenant.parentId = id;
    this.data.tenants[id] = tenant;
    return tenant;
  }

  /** Epoch-millisecond versions (pricing, quotas) must still change when two writes share a millisecond. */
  nextMsVersion(previous: number): number {
    return Math.max(this.now(), previous + 1);
  }

  /** Strictly increasing Unix nanoseconds, so `updated_at=gt(<ns>)` never skips or repeats an alert. */
  nextNs(atMs = this.now()): string {
    const fromClock = BigInt(atMs) * 1_000_000n;
    const last = BigInt(this.data.lastAlertNs);
    const next = fromClock > last ? fromClock : last + 1n;
    this.data.lastAlertNs = next.toString();
    return this.data.lastAlertNs;
  }

  nextTaskId(): string {
    const id = this.data.nextTaskId;
    this.data.nextTaskId = (BigInt(id) + 1n).toString();
    return id;
  }

  catalogueItem(name: string): CatalogueItem | undefined {
    return CATALOGUE.find((item) => item.name === name);
  }

  offeringItemSetting(tenantId: string, name: string, infraId: string | null): OfferingItemSetting | undefined {
    return this.data.offeringItems.find((item) => item.tenantId === tenantId && item.name === name && item.infraId === infraId);
  }

  #seed(): AcronisStateData {
    const now = this.clock.nowMs();
    this.data = {
      tenants: {},
      nextTenantNumber: 1,
      apiClients: {},
      tokens: {},
      users: {},
      offeringItems: [],
      usages: [],
      countedDevices: {},
      lastUsageRefreshMs: now,
      registrationTokens: [],
      nextRegistrationTokenId: 1,
      activationEmails: [],
      alerts: {},
      lastAlertNs: '0',
      resources: {},
      policies: {},
      planApplications: {},
      agents: {},
      activities: {},
      nextTaskId: FIRST_TASK_ID.toString(),
      backupOutcomes: {},
    };
    const root = this.addTenant({ name: ROOT_TENANT_NAME, kind: 'root', parentId: '' });
    this.data.nextTenantNumber = 1001;
    const partner = this.addTenant({ name: DEFAULT_CREDENTIALS.acronis.partnerTenantName, kind: 'partner', parentId: root.id });
    for (const tenant of [root, partner]) {
      tenant.applications = APPLICATIONS.map((application) => application.id);
      for (const item of CATALOGUE) {
        this.data.offeringItems.push({ tenantId: tenant.id, name: item.name, infraId: item.type === 'infra' ? DEFAULT_STORAGE_ID : null, status: 1, quota: { value: null, overage: null, version: 0 }, updatedAtMs: now });
      }
    }
    const { clientId, clientSecret } = DEFAULT_CREDENTIALS.acronis;
    this.data.apiClients[clientId] = { clientId, secret: clientSecret, tenantId: partner.id, status: 'enabled', name: 'Simulator default client', createdAtMs: now, createdBy: null, lastAccessAtMs: null };
    return this.data;
  }
}

/** The data centre's one storage and its location (owned by the root tenant, offered to everyone). */
export function defaultStorage(store: AcronisStore) {
  return {
    id: DEFAULT_STORAGE_ID,
    owner_tenant_id: store.root().id,
    location_id: DEFAULT_LOCATION_ID,
    platform_owned: true,
    name: 'Cloud storage',
    url: 'acronis+fes://storage.sim.acronis.local',
    capabilities: ['backup'],
    backend_type: 'fes',
    readonly: false,
    version: 1,
  };
}
