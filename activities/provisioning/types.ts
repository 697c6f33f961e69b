import type { DiscoveryOutcome } from '../../workflows/contracts/provisioning.ts';

/** Which customer an activity works on: the partner and the PSA company. */
export interface CustomerRef {
  partnerId: string;
  psaCompanyId: string;
}

/**
 * Whether a customer should have a provisioned tenant now (read from PostgreSQL and the PSA).
 * - `provision`: mapped (by an admin or by automatic mode) and at least one active line of a mapped
 *   or Free product;
 * - `no-services`: mapped, but no such line;
 * - `unmapped`: no mapping (an admin removed it);
 * - `off`: partner removed or provisioning switched off: the workflow ends, the tenant stays.
 */
export type CustomerAssessment =
  | { status: 'provision' }
  | { status: 'no-services' }
  | { status: 'unmapped' }
  | { status: 'off'; reason: string };

export type ProvisionOutcome =
  | {
      status: 'provisioned';
      tenantId: string;
      tenantCreated: boolean;
      userCreated: boolean;
      /** Offering items whose quota or state this call changed. */
      quotasChanged: number;
      /** Epoch ms at which a trial tenant moves to production (same day next month in the partner's zone); null when in production. */
      productionAtMs: number | null;
    }
  /** The tenant cannot be managed (F3.7) or its mapping is broken (F2.5); nothing was written. */
  | { status: 'skipped'; tenantId: string | null; reason: string }
  /** An admin must supply something first (an activation address, a primary contact); nothing was written. */
  | { status: 'needs-attention'; tenantId: string | null; reason: string };

/** What a deprovisioning step is for: the ladder's cause, so the step can check it still holds. */
export type LadderCause = 'no-active-services' | 'mapping-removed';

/** A ladder step on a tenant, with the cause the ladder was started for. */
export type LadderTarget = CustomerRef & { tenantId: string; cause: LadderCause };

/**
 * Why a deprovisioning step did not act. Checked at the moment it was to act:
 * - `services-back`: the company has an active service again, or was mapped again;
 * - `remapped`: the company (or the tenant) is now mapped elsewhere;
 * - `tenant-gone`: Acronis no longer has the tenant;
 * - `not-ours`: the tenant does not carry the engine's tag for this company;
 * - `unmanageable`: the partner may not manage the tenant (F3.7).
 */
export type LadderCancelCause = 'services-back' | 'remapped' | 'tenant-gone' | 'not-ours' | 'unmanageable';

/** A destructive step's outcome (workflows recorded before these checks received nothing: done). */
export type LadderStepOutcome = { status: 'done' } | { status: 'cancelled'; cause: LadderCancelCause; reason: string };

/** The ladder's deadlines for a start instant, in the partner's time zone and settings (F3.5). */
export interface DeprovisioningPlan {
  zeroQuotas: boolean;
  disableAtMs: number | null;
  deleteAtMs: number | null;
}

/** The activities the provisioning workflows call; implemented in activities/provisioning/. */
export interface ProvisioningActivities {
  /** One discovery pass for the partner (F3.1, F3.2, F3.6): reads PSA companies and lines, makes automatic-mode mappings, starts or signals customer workflows whose lines changed (all of them when `force`). */
  discoverCustomers(input: { partnerId: string; force: boolean }): Promise<DiscoveryOutcome>;
  assessCustomer(customer: CustomerRef): Promise<CustomerAssessment>;
  /** Idempotent: tenant (adopted, found by name, or created), admin user, MFA, enabled, quotas by F3.3. */
  provisionCustomer(customer: CustomerRef): Promise<ProvisionOutcome>;
  /** Trial → production, one way, on a tenant the engine created for this company; a tenant already in production is left alone. */
  switchToProduction(customer: CustomerRef & { tenantId: string }): Promise<void>;
  planDeprovisioning(customer: CustomerRef & { startedAtMs: number }): Promise<DeprovisioningPlan>;
  /** Every offering item's quota to 0 (F3.5, first step), unless the ladder's cause no longer holds. */
  zeroQuotas(target: LadderTarget): Promise<LadderStepOutcome | undefined>;
  /** Disables the tenant, unless the ladder's cause no longer holds. */
  disableTenant(target: LadderTarget): Promise<LadderStepOutcome | undefined>;
  /** Deletes the (disabled) tenant and forgets it in the company mapping, unless the ladder's cause no longer holds; a tenant already gone is fine. */
  deleteTenant(target: LadderTarget): Promise<LadderStepOutcome | undefined>;
}
