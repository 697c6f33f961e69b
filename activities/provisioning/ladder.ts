/**
 * The deprovisioning ladder's steps (F3.5): zero quotas, disable, delete. Each one decides at the
 * moment it acts, never on the assessment that started the ladder days before: the partner is
 * there with provisioning on (else it fails as `CapabilityOff`), the ladder's cause still holds
 * (no active service, or still unmapped), the tenant is still this company's and no other's, it
 * carries the engine's tag for this company, and the partner may manage it. Otherwise the step
 * writes nothing and says why.
 */
import type { Tenant } from '../../clients/acronis/types.ts';
import type { PartnerClients } from '../../clients/partner-clients.ts';
import { findCompanyMappedToTenant, findCompanyMapping, listProductMappings, setMappedTenant } from '../../db/mappings.ts';
import { daysLater } from '../../domain/provisioning-calendar.ts';
import { hasActiveServices } from '../../domain/quotas.ts';
import type { CustomerRef, DeprovisioningPlan, LadderStepOutcome, LadderTarget } from './types.ts';
import {
  applyQuotas,
  isEngineTenantOf,
  isVendor,
  partnerForStep,
  partnerTenantId,
  provisioningScope,
  retryOnStaleVersion,
  setTenantEnabled,
  tenantIfExists,
  unmanageableReason,
  type ProvisioningDeps,
} from './shared.ts';

const DONE: LadderStepOutcome = { status: 'done' };

export function createLadderActivities(deps: ProvisioningDeps) {
  const { db } = deps;
  const inScope = provisioningScope(db);

  /** The tenant the step may act on, or why it must not act. */
  async function checkTarget(clients: PartnerClients, target: LadderTarget): Promise<{ tenant: Tenant | undefined } | LadderStepOutcome> {
    const { partnerId, psaCompanyId, tenantId, cause } = target;
    const mapping = await findCompanyMapping(db, partnerId, psaCompanyId);
    if (cause === 'mapping-removed' && mapping) {
      return { status: 'cancelled', cause: mapping.tenantId === null || mapping.tenantId === tenantId ? 'services-back' : 'remapped', reason: 'the company was mapped again' };
    }
    if (mapping && mapping.tenantId !== tenantId) {
      return { status: 'cancelled', cause: 'remapped', reason: `the company is now mapped to tenant ${mapping.tenantId ?? '(a new one)'}` };
    }
    if (mapping && hasActiveServices(await clients.psa.listServiceLines(psaCompanyId), await listProductMappings(db, partnerId))) {
      return { status: 'cancelled', cause: 'services-back', reason: 'the company has an active service again' };
    }
    const owner = await findCompanyMappedToTenant(db, partnerId, tenantId);
    if (owner && owner.psaCompanyId !== psaCompanyId) {
      return { status: 'cancelled', cause: 'remapped', reason: `tenant ${tenantId} is now mapped to PSA company ${owner.psaCompanyId}` };
    }
    const tenant = await tenantIfExists(clients.acronis, tenantId);
    if (!tenant) return { tenant };
    if (!isEngineTenantOf(tenant, clients.psaKind, psaCompanyId)) {
      return { status: 'cancelled', cause: 'not-ours', reason: `Acronis tenant "${tenant.name}" (${tenant.id}) does not carry the engine's tag for this company, so the engine does not deprovision it` };
    }
    const unmanageable = unmanageableReason(tenant, await partnerTenantId(clients.acronis));
    if (unmanageable) return { status: 'cancelled', cause: 'unmanageable', reason: unmanageable };
    return { tenant };
  }

  const gone = (tenantId: string): LadderStepOutcome => ({ status: 'cancelled', cause: 'tenant-gone', reason: `tenant ${tenantId} no longer exists in Acronis` });

  return {
    planDeprovisioning: ({ partnerId, startedAtMs }: CustomerRef & { startedAtMs: number }): Promise<DeprovisioningPlan> =>
      inScope(partnerId, async () => {
        const { clients, settings } = await partnerForStep(deps, partnerId);
        const { zeroQuotas, disableAfterDays, deleteAfterDays } = settings.deprovisioning;
        const after = (days: number | null) => (days === null ? null : daysLater(startedAtMs, days, clients.timezone));
        return { zeroQuotas, disableAtMs: after(disableAfterDays), deleteAtMs: after(deleteAfterDays) };
      }),

    zeroQuotas: (target: LadderTarget): Promise<LadderStepOutcome> =>
      inScope(target.partnerId, async () => {
        const { clients } = await partnerForStep(deps, target.partnerId);
        const checked = await checkTarget(clients, target);
        if ('status' in checked) return checked;
        if (!checked.tenant) return gone(target.tenantId);
        await applyQuotas(clients.acronis, target.tenantId, []);
        return DONE;
      }),

    disableTenant: (target: LadderTarget): Promise<LadderStepOutcome> =>
      inScope(target.partnerId, async () => {
        const { clients } = await partnerForStep(deps, target.partnerId);
        const checked = await checkTarget(clients, target);
        if ('status' in checked) return checked;
        if (!checked.tenant) return gone(target.tenantId);
        await setTenantEnabled(clients.acronis, target.tenantId, false);
        return DONE;
      }),

    deleteTenant: (target: LadderTarget): Promise<LadderStepOutcome> =>
      inScope(target.partnerId, async () => {
        const { partnerId, psaCompanyId, tenantId } = target;
        const { clients } = await partnerForStep(deps, partnerId);
        const checked = await checkTarget(clients, target);
        if ('status' in checked) return checked;
        const { acronis } = clients;
        // A tenant already gone (a retry after a lost answer) is deleted: only the mapping is left to clear.
        if (checked.tenant) {
          await retryOnStaleVersion(async () => {
            // Acronis deletes only disabled tenants.
            const tenant = await setTenantEnabled(acronis, tenantId, false);
            if (!tenant) return;
            try {
              await acronis.deleteTenant(tenant.id, tenant.version);
            } catch (error) {
              if (!isVendor(error, 'not-found')) throw error;
            }
          });
        }
        const mapping = await findCompanyMapping(db, partnerId, psaCompanyId);
        if (mapping?.tenantId === tenantId) await setMappedTenant(db, partnerId, psaCompanyId, null, tenantId);
        return DONE;
      }),
  };
}
