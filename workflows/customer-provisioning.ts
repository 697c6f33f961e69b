import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { CustomerRef, ProvisioningActivities } from '../activities/provisioning-types.ts';
import {
  customerStateQuery,
  syncNowSignal,
  type CustomerPhase,
  type CustomerState,
  type CustomerStep,
  type CustomerWorkflowInput,
  type CustomerWorkflowResult,
} from './messages.ts';
import { ProvisioningStateAttribute } from './search-attributes.ts';

/** Without a signal, the customer re-reads its agreement this often (drift, a lost signal). */
const RECHECK_INTERVAL_MS = 24 * 60 * 60 * 1000;
const DEFAULT_SIGNALS_PER_RUN = 1_000;

// Vendor calls (Acronis, the PSA): an outage of any length only delays the customer (F9.1), so
// attempts are unlimited, spaced up to 10 minutes; the activities mark what cannot succeed on
// retry as non-retryable and pass the vendor's Retry-After as the next delay.
const vendor = proxyActivities<ProvisioningActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes' },
});
// Reads of PostgreSQL and settings only.
const local = proxyActivities<ProvisioningActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

function nonRetryableCause(error: unknown): string | undefined {
  if (error instanceof ActivityFailure && error.cause instanceof ApplicationFailure) return error.cause.message;
  return undefined;
}

function describe(state: CustomerState): string {
  const lines = [`**${state.phase}**${state.tenantId ? ` · tenant ${state.tenantId}` : ''}`];
  if (state.reason) lines.push(`Reason: ${state.reason}`);
  if (state.productionAt) lines.push(`Trial until ${state.productionAt}`);
  if (state.nextStep) lines.push(`Next: ${state.nextStep.step} at ${state.nextStep.at}`);
  lines.push(`Last sync ${state.lastSyncAt ?? 'never'} (${state.syncs} in all)`);
  return lines.join('\n\n');
}

/** The earliest timed step still to do. */
function nextStepOf(state: CustomerState): { step: CustomerStep; at: string } | null {
  const candidates: { step: CustomerStep; at: string }[] = [];
  if (state.phase === 'active' && state.productionAt) candidates.push({ step: 'switch-to-production', at: state.productionAt });
  if (state.phase === 'deprovisioning' && state.ladder) {
    if (state.ladder.disableAt && !state.ladder.disabledAt) candidates.push({ step: 'disable-tenant', at: state.ladder.disableAt });
    if (state.ladder.deleteAt) candidates.push({ step: 'delete-tenant', at: state.ladder.deleteAt });
  }
  candidates.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  return candidates[0] ?? null;
}

/**
 * `partner/<p>/customer/<c>`: one PSA company's Acronis customer, for as long as it is mapped.
 * Provisions tenant, user and quotas from the agreement on every sync ("sync now", a changed
 * agreement seen by discovery, or the daily recheck); moves a trial tenant to production after
 * one calendar month; runs the deprovisioning ladder when services end or the mapping goes, and
 * cancels its pending steps when services return. Calendar maths happens in activities, in the
 * partner's time zone; this workflow only sleeps until the instants they return.
 */
export async function customerProvisioning(input: CustomerWorkflowInput): Promise<CustomerWorkflowResult> {
  const customer: CustomerRef = { partnerId: input.partnerId, psaCompanyId: input.psaCompanyId };
  const state: CustomerState = input.carried ?? {
    partnerId: input.partnerId,
    psaCompanyId: input.psaCompanyId,
    phase: 'pending',
    tenantId: null,
    reason: null,
    productionAt: null,
    ladder: null,
    nextStep: null,
    lastSyncAt: null,
    syncs: 0,
    previousRuns: 0,
  };
  const signalsPerRun = input.signalsPerRun ?? DEFAULT_SIGNALS_PER_RUN;
  let syncDue = input.carried ? (input.syncPending ?? false) : true;
  let signalsThisRun = 0;

  setHandler(syncNowSignal, () => {
    signalsThisRun++;
    syncDue = true;
  });
  setHandler(customerStateQuery, () => state);

  let publishedPhase: CustomerPhase | undefined;
  const publish = (): void => {
    state.nextStep = nextStepOf(state);
    if (state.phase !== publishedPhase) {
      upsertSearchAttributes([{ key: ProvisioningStateAttribute, value: state.phase }]);
      publishedPhase = state.phase;
    }
    setCurrentDetails(describe(state));
  };
  const now = (): string => new Date().toISOString();

  const startLadder = async (reason: 'no-active-services' | 'mapping-removed', tenantId: string): Promise<void> => {
    const startedAtMs = Date.now();
    const plan = await local.planDeprovisioning.executeWithOptions({ summary: 'plan the deprovisioning deadlines' }, [{ ...customer, startedAtMs }]);
    state.ladder = {
      reason,
      startedAt: new Date(startedAtMs).toISOString(),
      quotasZeroedAt: null,
      disableAt: plan.disableAtMs === null ? null : new Date(plan.disableAtMs).toISOString(),
      disabledAt: null,
      deleteAt: plan.deleteAtMs === null ? null : new Date(plan.deleteAtMs).toISOString(),
    };
    state.phase = 'deprovisioning';
    state.reason = reason === 'mapping-removed' ? 'the company mapping was removed' : 'no active service left in the agreement';
    if (plan.zeroQuotas) {
      await vendor.zeroQuotas.executeWithOptions({ summary: 'set every quota to zero' }, [{ ...customer, tenantId }]);
      state.ladder.quotasZeroedAt = now();
    }
  };

  /** One assessment and whatever it calls for; false when the workflow should end. */
  const sync = async (): Promise<boolean> => {
    state.syncs++;
    state.lastSyncAt = now();
    const assessment = await local.assessCustomer.executeWithOptions({ summary: 'read mapping and agreement' }, [customer]);
    switch (assessment.status) {
      case 'off':
        state.phase = 'stopped';
        state.reason = assessment.reason;
        return false;
      case 'provision': {
        const outcome = await vendor.provisionCustomer.executeWithOptions({ summary: 'provision tenant, user and quotas' }, [customer]);
        // Services are back (or never left): whatever the ladder had pending is cancelled.
        state.ladder = null;
        if (outcome.status === 'skipped') {
          state.phase = 'skipped';
          state.tenantId = outcome.tenantId;
          state.reason = outcome.reason;
          return true;
        }
        state.phase = 'active';
        state.reason = null;
        state.tenantId = outcome.tenantId;
        state.productionAt = outcome.productionAtMs === null ? null : new Date(outcome.productionAtMs).toISOString();
        return true;
      }
      case 'no-services':
      case 'unmapped': {
        const reason = assessment.status === 'unmapped' ? 'mapping-removed' : 'no-active-services';
        if (!state.tenantId) {
          if (reason === 'mapping-removed') {
            state.phase = 'stopped';
            state.reason = 'the company mapping was removed before a tenant was made';
            return false;
          }
          state.phase = 'waiting-for-services';
          state.reason = 'no active line of a mapped product in the agreement';
          return true;
        }
        if (!state.ladder) {
          await startLadder(reason, state.tenantId);
        } else {
          // Already counting down (possibly after a failed step): keep the deadlines, note the latest cause.
          state.ladder.reason = reason;
          state.phase = 'deprovisioning';
        }
        return true;
      }
    }
  };

  const runStep = async (step: CustomerStep, tenantId: string): Promise<boolean> => {
    const target = { ...customer, tenantId };
    if (step === 'switch-to-production') {
      await vendor.switchToProduction.executeWithOptions({ summary: 'trial ends: switch the tenant to production' }, [target]);
      state.productionAt = null;
      return true;
    }
    if (step === 'disable-tenant') {
      await vendor.disableTenant.executeWithOptions({ summary: 'deprovisioning: disable the tenant' }, [target]);
      if (state.ladder) state.ladder.disabledAt = now();
      return true;
    }
    await vendor.deleteTenant.executeWithOptions({ summary: 'deprovisioning: delete the tenant' }, [target]);
    state.phase = 'deleted';
    state.reason = state.ladder?.reason === 'mapping-removed' ? 'deleted after the mapping was removed' : 'deleted after services ended';
    state.tenantId = null;
    state.ladder = null;
    return false;
  };

  /** Runs `work`; a failure that retrying cannot fix is shown on the customer until the next sync. */
  const attempt = async (work: () => Promise<boolean>): Promise<boolean> => {
    try {
      return await work();
    } catch (error) {
      const cause = nonRetryableCause(error);
      if (cause === undefined) throw error;
      state.phase = 'needs-attention';
      state.reason = cause;
      log.warn('customer needs attention', { partnerId: customer.partnerId, psaCompanyId: customer.psaCompanyId, cause });
      return true;
    }
  };

  const finish = (): CustomerWorkflowResult => {
    publish();
    log.info('customer workflow ended', { partnerId: customer.partnerId, psaCompanyId: customer.psaCompanyId, phase: state.phase });
    return { phase: state.phase, tenantId: state.tenantId, reason: state.reason };
  };

  for (;;) {
    if (syncDue) {
      syncDue = false;
      const goOn = await attempt(sync);
      publish();
      if (!goOn) return finish();
    }
    if (workflowInfo().continueAsNewSuggested || signalsThisRun >= signalsPerRun) {
      await condition(allHandlersFinished);
      return continueAsNew<typeof customerProvisioning>({
        v: 1,
        partnerId: customer.partnerId,
        psaCompanyId: customer.psaCompanyId,
        carried: { ...state, previousRuns: state.previousRuns + 1 },
        syncPending: syncDue,
        signalsPerRun: input.signalsPerRun,
      });
    }
    const next = state.nextStep;
    const stepInMs = next ? Math.max(0, Date.parse(next.at) - Date.now()) : Number.POSITIVE_INFINITY;
    const woken = await condition(() => syncDue || signalsThisRun >= signalsPerRun, Math.min(stepInMs, RECHECK_INTERVAL_MS), {
      summary: next && stepInMs <= RECHECK_INTERVAL_MS ? `wait for ${next.step} at ${next.at}` : 'wait for a sync or the daily recheck',
    });
    if (woken) continue;
    const tenantId = state.tenantId;
    if (next && tenantId && Date.parse(next.at) <= Date.now()) {
      const goOn = await attempt(() => runStep(next.step, tenantId));
      publish();
      if (!goOn) return finish();
    } else {
      syncDue = true;
    }
  }
}
