/**
 * Protection plans a partner can apply (SPEC F6.5, F6.7): each customer's own plans, and plans
 * imported from one customer for all. An imported plan is copied into a customer's tenant the first
 * time it is used there, under ids derived from the original and the tenant, so a copy is found
 * again instead of being made twice.
 */
import type { AcronisClient } from '../clients/acronis/client.ts';
import type { Policy, PolicyCreate, ProtectionPlan } from '../clients/acronis/types.ts';
import { collect } from '../clients/collect.ts';
import { VendorApiError } from '../clients/http.ts';
import { listClientLinks, listImportedPlans, type ImportedPlan } from '../db/agents.ts';
import type { Db } from '../db/connection.ts';
import { listCompanyMappings } from '../db/mappings.ts';
import { derivedId } from '../domain/agents.ts';
import { mapConcurrently } from '../api/vendor-lookups.ts';

const PROTECTION_PLAN_TYPE = 'policy.protection.total';
const CONCURRENCY = 8;

export interface PlanChoice {
  planId: string;
  name: string;
  /** The customer tenant the plan belongs to; null for an imported plan, which every customer can use. */
  tenantId: string | null;
  imported: boolean;
  /** The partner's default plan (an imported plan). */
  isDefault: boolean;
  /** Where an imported plan came from. */
  importedFrom: { tenantId: string; planId: string } | null;
}

export function rootOf(plan: ProtectionPlan): Policy | undefined {
  return plan.policy.find((policy) => policy.type === PROTECTION_PLAN_TYPE);
}

/** The customer tenants the engine knows: mapped PSA companies and linked Automate clients. */
export async function knownCustomerTenants(db: Db, partnerId: string): Promise<string[]> {
  const mapped = (await listCompanyMappings(db, partnerId)).map((mapping) => mapping.tenantId);
  const linked = (await listClientLinks(db, partnerId)).map((link) => link.tenantId);
  return [...new Set([...mapped, ...linked].filter((id): id is string => id !== null))];
}

/** A customer's plan by id, read with its settings; undefined when the tenant has no such plan. */
export async function customerPlan(acronis: AcronisClient, tenantId: string, planId: string): Promise<ProtectionPlan | undefined> {
  const plans = await collect(acronis.listProtectionPlans({ tenantId, planId, includeSettings: true }));
  return plans.find((plan) => rootOf(plan)?.id === planId);
}

/** Every plan the partner can apply: the imported ones, then each known customer's own (copies of imported plans left out). */
export async function listPlanChoices(db: Db, acronis: AcronisClient, partnerId: string): Promise<PlanChoice[]> {
  const imported = await listImportedPlans(db, partnerId);
  const choices: PlanChoice[] = imported.map((plan) => ({
    planId: plan.planId,
    name: plan.name,
    tenantId: null,
    imported: true,
    isDefault: plan.isDefault,
    importedFrom: { tenantId: plan.sourceTenantId, planId: plan.planId },
  }));
  const importedIds = new Set(imported.map((plan) => plan.planId));
  const tenants = await knownCustomerTenants(db, partnerId);
  const perTenant = await mapConcurrently(tenants, CONCURRENCY, async (tenantId) => {
    const copies = new Set(imported.map((plan) => derivedId(plan.planId, tenantId)));
    const plans = await collect(acronis.listProtectionPlans({ tenantId }));
    return plans.flatMap((plan): PlanChoice[] => {
      const root = rootOf(plan);
      if (!root || copies.has(root.id) || importedIds.has(root.id)) return [];
      return [{ planId: root.id, name: root.name, tenantId, imported: false, isDefault: false, importedFrom: null }];
    });
  });
  return [...choices, ...perTenant.flat()];
}

/** The plan's copy in the tenant (the original in its own tenant), made if it is not there yet. */
export async function ensureImportedPlanIn(acronis: AcronisClient, plan: ImportedPlan, tenantId: string): Promise<string> {
  if (tenantId === plan.sourceTenantId) return plan.planId;
  const copyId = derivedId(plan.planId, tenantId);
  if (await customerPlan(acronis, tenantId, copyId)) return copyId;
  const stored = plan.policies as unknown as Policy[];
  const policies: PolicyCreate[] = stored.map((policy) => ({
    id: derivedId(policy.id, tenantId),
    type: policy.type,
    name: policy.name,
    enabled: policy.enabled,
    ...(policy.parent_ids?.length ? { parent_ids: policy.parent_ids.map((parentId) => derivedId(parentId, tenantId)) } : {}),
    ...(policy.settings ? { settings: policy.settings } : {}),
  }));
  try {
    await acronis.createPolicies(policies, { tenantId });
  } catch (error) {
    // Made meanwhile by another pass: the derived id is the copy either way.
    if (!(error instanceof VendorApiError && error.kind === 'conflict')) throw error;
  }
  return copyId;
}

export type PlanForTenant = { status: 'ok'; planId: string; name: string } | { status: 'unknown' };

/**
 * The Acronis plan that applies `planId` to a machine of `tenantId`: an imported plan's copy in the
 * tenant (made if needed), or the customer's own plan; `unknown` when it is neither.
 */
export async function planForTenant(db: Db, acronis: AcronisClient, partnerId: string, planId: string, tenantId: string): Promise<PlanForTenant> {
  const imported = (await listImportedPlans(db, partnerId)).find((plan) => plan.planId === planId);
  if (imported) return { status: 'ok', planId: await ensureImportedPlanIn(acronis, imported, tenantId), name: imported.name };
  const own = await customerPlan(acronis, tenantId, planId);
  return own ? { status: 'ok', planId, name: rootOf(own)?.name ?? planId } : { status: 'unknown' };
}

/** The partner's default plan (an imported plan marked default), if any. */
export async function partnerDefaultPlan(db: Db, partnerId: string): Promise<string | null> {
  return (await listImportedPlans(db, partnerId)).find((plan) => plan.isDefault)?.planId ?? null;
}
