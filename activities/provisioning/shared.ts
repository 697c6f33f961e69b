/** What the provisioning activities share: the partner as they may act for it, and the tenant rules of Acronis. */
import type { AcronisClient } from '../../clients/acronis/client.ts';
import type { OfferingItem, Tenant } from '../../clients/acronis/types.ts';
import { VendorApiError } from '../../clients/http.ts';
import type { PartnerClients, PartnerClientsCache } from '../../clients/partner-clients.ts';
import { findCompanyLines, readLineWatermark, type CompanyLines } from '../../db/company-lines.ts';
import type { Db } from '../../db/connection.ts';
import { quotaChanges, type DesiredQuota } from '../../domain/quotas.ts';
import type { Settings } from '../../domain/settings.ts';
import type { ProvisioningWorkflows } from '../../temporal/provisioning-workflows.ts';
import { DISCOVERY_PASS_INTERVAL_MS } from '../../workflows/contracts/provisioning.ts';
import { capabilityOffFailure, capabilityScope, partnerWithCapability, type PartnerForCapability } from '../capability-scope.ts';

export interface ProvisioningDeps {
  db: Db;
  clients: PartnerClientsCache;
  /** Discovery starts and pokes customer workflows; nothing else is asked of Temporal here. */
  workflows: Pick<ProvisioningWorkflows, 'syncCustomer'>;
  /** The engine's clock for discovery's watermarks (the system's by default); tests and the bench set it apart from the PSA's. */
  now?: () => Date;
}

export const engineNow = (deps: Pick<ProvisioningDeps, 'now'>): Date => deps.now?.() ?? new Date();

export type LivePartner = PartnerForCapability;

export function provisioningScope(db: Db) {
  return capabilityScope(db, 'provisioning');
}

/** The partner with provisioning on, or why the customer's workflows should end. */
export function livePartner(deps: Pick<ProvisioningDeps, 'db' | 'clients'>, partnerId: string): Promise<LivePartner> {
  return partnerWithCapability(deps.db, deps.clients, partnerId, 'provisioning');
}

/**
 * How long what discovery read of a company serves a customer's sync in place of a PSA read. Every
 * pass confirms what it keeps (it reads again what the PSA shows as changed), so this is one pass
 * interval with room for a pass that runs late; beyond it, discovery has stopped and the PSA is asked.
 */
const DISCOVERED_LINES_SERVE_MS = DISCOVERY_PASS_INTERVAL_MS + 5 * 60 * 1000;

/** What discovery last read of the company while a recent pass stands by it, else undefined (ask the PSA). */
export async function discoveredLines(deps: Pick<ProvisioningDeps, 'db' | 'now'>, partnerId: string, psaCompanyId: string): Promise<CompanyLines | undefined> {
  const [known, watermark] = await Promise.all([findCompanyLines(deps.db, partnerId, psaCompanyId), readLineWatermark(deps.db, partnerId, 'discovery')]);
  if (!known) return undefined;
  const confirmedAt = Math.max(known.readAt.getTime(), watermark?.checkedFrom.getTime() ?? 0);
  return engineNow(deps).getTime() - confirmedAt <= DISCOVERED_LINES_SERVE_MS ? known : undefined;
}

/** For a step the workflow has decided on: the partner must still be there with provisioning on, or the step fails as `CapabilityOff`. */
export async function partnerForStep(deps: Pick<ProvisioningDeps, 'db' | 'clients'>, partnerId: string): Promise<{ clients: PartnerClients; settings: Settings }> {
  const partner = await livePartner(deps, partnerId);
  if (partner.status === 'off') throw capabilityOffFailure(partner.reason);
  return partner;
}

/**
 * Marks the tenants the engine manages for one PSA company (Acronis's `internal_tag` is free for
 * integrators): `msp-engine:<psa>:<company>` on a tenant the engine created, with `:adopted` on an
 * existing tenant an admin or the company's name gave it.
 */
export function engineTag(psaKind: string, psaCompanyId: string, origin: 'created' | 'adopted'): string {
  const tag = `msp-engine:${psaKind}:${psaCompanyId}`;
  return origin === 'created' ? tag : `${tag}:adopted`;
}

/** Whether the tenant carries this company's engine tag (created or adopted). */
export function isEngineTenantOf(tenant: Tenant, psaKind: string, psaCompanyId: string): boolean {
  return tenant.internal_tag === engineTag(psaKind, psaCompanyId, 'created') || tenant.internal_tag === engineTag(psaKind, psaCompanyId, 'adopted');
}

export function isVendor(error: unknown, kind: VendorApiError['kind']): error is VendorApiError {
  return error instanceof VendorApiError && error.kind === kind;
}

/** The tenant, or undefined when Acronis no longer has it (deleted tenants answer 404). */
export async function tenantIfExists(acronis: AcronisClient, tenantId: string): Promise<Tenant | undefined> {
  try {
    return await acronis.getTenant(tenantId);
  } catch (error) {
    if (isVendor(error, 'not-found')) return undefined;
    throw error;
  }
}

/** Read-modify-write against Acronis's optimistic versions: one fresh read and retry on a stale version (code 1001). */
export async function retryOnStaleVersion<T>(attempt: () => Promise<T>): Promise<T> {
  try {
    return await attempt();
  } catch (error) {
    if (isVendor(error, 'conflict') && error.vendorCode === 1001) return attempt();
    throw error;
  }
}

/** F3.7: why the engine must leave this tenant alone, or null when it may manage it. */
export function unmanageableReason(tenant: Tenant, partnerTenantId: string): string | null {
  const what = `Acronis tenant "${tenant.name}" (${tenant.id})`;
  if (tenant.kind !== 'customer') return `${what} is a ${tenant.kind} tenant, not a customer tenant`;
  if (!tenant.ancestral_access) return `${what} is in self-service mode: its support access for the partner is disabled`;
  if (tenant.update_lock.enabled && tenant.update_lock.owner_id !== partnerTenantId) return `${what} is locked against changes by another tenant`;
  return null;
}

export async function partnerTenantId(acronis: AcronisClient): Promise<string> {
  return (await acronis.getApiClient()).tenant_id;
}

/** Brings the tenant's offering items to the plan; the number of items changed. */
export async function applyQuotas(acronis: AcronisClient, tenantId: string, desired: readonly DesiredQuota[]): Promise<number> {
  return retryOnStaleVersion(async () => {
    const current: OfferingItem[] = await acronis.listOfferingItems(tenantId);
    const changes = quotaChanges(current, desired);
    if (changes.length > 0) await acronis.setOfferingItems(tenantId, changes);
    return changes.length;
  });
}

export async function setTenantEnabled(acronis: AcronisClient, tenantId: string, enabled: boolean): Promise<Tenant | undefined> {
  return retryOnStaleVersion(async () => {
    const tenant = await tenantIfExists(acronis, tenantId);
    if (!tenant || tenant.enabled === enabled) return tenant;
    return acronis.setTenantEnabled(tenant.id, tenant.version, enabled);
  });
}
