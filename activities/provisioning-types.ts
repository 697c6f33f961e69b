import type { DiscoveryOutcome } from '../workflows/messages.ts';

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
  | { status: 'skipped'; tenantId: string | null; reason: string };

/** The ladder's deadlines for a start instant, in the partner's time zone and settings (F3.5). */
export interface DeprovisioningPlan {
  zeroQuotas: boolean;
  disableAtMs: number | null;
  deleteAtMs: number | null;
}

/** The activities the provisioning workflows call; implemented in activities/provisioning.ts. */
export interface ProvisioningActivities {
  /** One discovery pass for the partner (F3.1, F3.2, F3.6): reads PSA companies and lines, makes automatic-mode mappings, starts or signals customer workflows whose lines changed (all of them when `force`). */
  discoverCustomers(input: { partnerId: string; force: boolean }): Promise<DiscoveryOutcome>;
  assessCustomer(customer: CustomerRef): Promise<CustomerAssessment>;
  /** Idempotent: tenant (adopted, found by name, or created), admin user, MFA, enabled, quotas by F3.3. */
  provisionCustomer(customer: CustomerRef): Promise<ProvisionOutcome>;
  /** Trial → production, one way; a tenant already in production is left alone. */
  switchToProduction(customer: CustomerRef & { tenantId: string }): Promise<void>;
  planDeprovisioning(customer: CustomerRef & { startedAtMs: number }): Promise<DeprovisioningPlan>;
  /** Every offering item's quota to 0 (F3.5, first step). */
  zeroQuotas(customer: CustomerRef & { tenantId: string }): Promise<void>;
  disableTenant(customer: CustomerRef & { tenantId: string }): Promise<void>;
  /** Deletes the (disabled) tenant and forgets it in the company mapping; a tenant already gone is fine. */
  deleteTenant(customer: CustomerRef & { tenantId: string }): Promise<void>;
}
