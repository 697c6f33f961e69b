import type { PeriodicLoopInput, PeriodicLoopState, PeriodicPassOutcome } from './periodic-loop.ts';
import { defineQuery } from '@temporalio/workflow';

// Customer provisioning (SPEC F2.3, F3): the discovery loop and one workflow per customer.


/** `partner/<id>/provisioning`: the discovery loop that keeps one customer workflow per mapped company. */
export function provisioningLoopWorkflowId(partnerId: string): string {
  return `partner/${partnerId}/provisioning`;
}

/** `partner/<id>/customer/<psaCompanyId>`: one customer's tenant, user, quotas and lifecycle. */
export function customerWorkflowId(partnerId: string, psaCompanyId: string): string {
  return `partner/${partnerId}/customer/${psaCompanyId}`;
}


/** SPEC F3.6: agreement changes reach quotas within this interval (or at once on "sync now"). */
export const DISCOVERY_PASS_INTERVAL_MS = 15 * 60 * 1000;

/** What one discovery pass did; counts only, so histories stay small. */
export interface DiscoverySummary {
  /** PSA companies discovery watches: the mapped ones, and in automatic mode every active one. */
  companies: number;
  /** Companies with a mapping (made by an admin, or by automatic mode in this pass). */
  mapped: number;
  /** Mappings automatic mode made in this pass. */
  newlyMapped: number;
  /** Customer workflows started or told to re-read their agreement. */
  signalled: number;
  /** `full`: every watched company's lines read; `incremental`: only what the PSA shows as changed (absent in passes recorded before). */
  kind?: 'full' | 'incremental';
  /** Companies whose lines were read from the PSA in this pass (absent in passes recorded before). */
  linesRead?: number;
}

export type DiscoveryOutcome = PeriodicPassOutcome<DiscoverySummary>;

export type ProvisioningLoopState = PeriodicLoopState<DiscoverySummary>;

export type ProvisioningLoopInput = PeriodicLoopInput<DiscoverySummary>;

export const provisioningLoopStateQuery = defineQuery<ProvisioningLoopState>('state');

export type CustomerPhase =
  /** Waiting for its first assessment. */
  | 'pending'
  /** Tenant, user and quotas match the agreement. */
  | 'active'
  /** Mapped, but nothing to provision yet (no active mapped line) and no tenant. */
  | 'waiting-for-services'
  /** The tenant cannot be managed, or its mapping is broken; the reason says why (F3.7, F2.5). */
  | 'skipped'
  /** A vendor refused a request in a way retrying cannot fix (credentials, a required field); tried again at the next sync. */
  | 'needs-attention'
  /** No active service left or mapping removed: the ladder of F3.5 is running. */
  | 'deprovisioning'
  /** The ladder deleted the tenant. */
  | 'deleted'
  /** Provisioning was switched off or the partner removed; the tenant is left as it is. */
  | 'stopped';

/** The deprovisioning ladder's deadlines (ISO instants) and what has been done. */
export interface DeprovisioningLadder {
  reason: 'no-active-services' | 'mapping-removed';
  startedAt: string;
  quotasZeroedAt: string | null;
  disableAt: string | null;
  disabledAt: string | null;
  deleteAt: string | null;
}

export type CustomerStep = 'switch-to-production' | 'disable-tenant' | 'delete-tenant';

export interface CustomerState {
  partnerId: string;
  psaCompanyId: string;
  phase: CustomerPhase;
  tenantId: string | null;
  /** Why the tenant is skipped, or why the last assessment did not provision. */
  reason: string | null;
  /** ISO instant a trial tenant moves to production; null once it is in production. */
  productionAt: string | null;
  ladder: DeprovisioningLadder | null;
  /** The next timed step and when it is due. */
  nextStep: { step: CustomerStep; at: string } | null;
  lastSyncAt: string | null;
  syncs: number;
  previousRuns: number;
}

export interface CustomerWorkflowInput {
  v: 1;
  partnerId: string;
  psaCompanyId: string;
  carried?: CustomerState;
  /** A sync was asked for but not yet run when the previous run continued as new. */
  syncPending?: boolean;
  /** Signals one run takes before it continues as new (default 1,000); tests lower it. */
  signalsPerRun?: number;
}

export interface CustomerWorkflowResult {
  phase: CustomerPhase;
  tenantId: string | null;
  reason: string | null;
}

export const customerStateQuery = defineQuery<CustomerState>('state');

/** What the API's customer list shows of a workflow beside its phase: kept in the run's memo (encrypted, unlike search attributes). */
export interface CustomerMemo {
  reason: string | null;
  nextStep: { step: CustomerStep; at: string } | null;
  tenantId: string | null;
}
