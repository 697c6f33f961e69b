import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { CustomerRef, LadderCause, LadderStepOutcome, LadderTarget, ProvisioningActivities } from '../../activities/provisioning/types.ts';
import { CAPABILITY_OFF_FAILURE, syncNowSignal } from '../contracts/loops.ts';
import {
  customerStateQuery,
  type CustomerMemo,
  type CustomerPhase,
  type CustomerState,
  type CustomerStep,
  type CustomerWorkflowInput,
  type CustomerWorkflowResult,
} from '../contracts/provisioning.ts';
import { ProvisioningStateAttribute } from '../search-attributes.ts';
import { untilRecheckMs } from './recheck-slot.ts';

const DEFAULT_SIGNALS_PER_RUN = 1_000;
/**
 * Customers recorded before it started the ladder on a skipped tenant too, and kept their reason
 * in the query alone. Retire with the other patches (README, "Changing a workflow").
 */
const SAFETY_PATCH = 'customer-ladder-safety';

// Vendor calls (Acronis, the PSA): an outage of any length only delays the customer (F9.1), so
// attempts are unlimited, spaced up to 10 minutes; the activities mark what cannot succeed on
// retry as non-retryable and pass the vendor's Retry-After as the next delay. They heartbeat, so a
// dead worker is noticed within 30 seconds and a cancellation reaches their HTTP calls.
const vendor = proxyActivities<ProvisioningActivities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes' },
});
// Reads of PostgreSQL and settings only.
const local = proxyActivities<ProvisioningActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/** A failure retrying cannot fix, as the activity described it. */
function nonRetryableCause(error: unknown): ApplicationFailure | undefined {
  if (error instanceof ActivityFailure && error.cause instanceof ApplicationFailure) return error.cause;
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
 * cancels its pending steps when services return. Each destructive step re-checks at the moment
 * it acts (activities/provisioning/ladder.ts) and is cancelled, with the reason shown, when its
 * cause no longer holds or the tenant is not the engine's to touch. Calendar maths happens in
 * activities, in the partner's time zone; this workflow only sleeps until the instants they
 * return. It ends cleanly when cancelled (provisioning switched off, partner removed).
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
  let publishedMemo: string | undefined;
  const publish = (): void => {
    state.nextStep = nextStepOf(state);
    if (state.phase !== publishedPhase) {
      upsertSearchAttributes([{ key: ProvisioningStateAttribute, value: state.phase }]);
      publishedPhase = state.phase;
    }
    const memo: CustomerMemo = { reason: state.reason, nextStep: state.nextStep, tenantId: state.tenantId };
    if (JSON.stringify(memo) !== publishedMemo && patched(SAFETY_PATCH)) {
      upsertMemo({ ...memo });
      publishedMemo = JSON.stringify(memo);
    }
    setCurrentDetails(describe(state));
  };
  const now = (): string => new Date().toISOString();

  /** A destructive step's outcome: false when the ladder is over and a sync (or nothing) follows. */
  const afterLadderStep = (outcome: LadderStepOutcome | undefined): boolean => {
    if (!outcome || outcome.status === 'done') return true;
    log.info('deprovisioning step cancelled', { partnerId: customer.partnerId, psaCompanyId: customer.psaCompanyId, cause: outcome.cause });
    state.ladder = null;
    if (outcome.cause === 'services-back' || outcome.cause === 'remapped') {
      // Provisioning again enables the tenant and restores its quotas, or follows the new mapping.
      state.phase = 'pending';
      state.reason = `deprovisioning cancelled: ${outcome.reason}`;
      // The tenant is not this company's any more: the sync follows the mapping instead of starting the ladder on it again.
      if (outcome.cause === 'remapped') state.tenantId = null;
      syncDue = true;
    } else {
      state.phase = 'skipped';
      state.reason = `deprovisioning cancelled: ${outcome.reason}`;
    }
    return false;
  };

  const ladderTarget = (tenantId: string, cause: LadderCause): LadderTarget => ({ ...customer, tenantId, cause });

  const startLadder = async (cause: LadderCause, tenantId: string): Promise<void> => {
    const startedAtMs = Date.now();
    const plan = await local.planDeprovisioning.executeWithOptions({ summary: 'plan the deprovisioning deadlines' }, [{ ...customer, startedAtMs }]);
    state.ladder = {
      reason: cause,
      startedAt: new Date(startedAtMs).toISOString(),
      quotasZeroedAt: null,
      disableAt: plan.disableAtMs === null ? null : new Date(plan.disableAtMs).toISOString(),
      disabledAt: null,
      deleteAt: plan.deleteAtMs === null ? null : new Date(plan.deleteAtMs).toISOString(),
    };
    state.phase = 'deprovisioning';
    state.reason = cause === 'mapping-removed' ? 'the company mapping was removed' : 'no active service left in the agreement';
    if (plan.zeroQuotas) {
      const outcome = await vendor.zeroQuotas.executeWithOptions({ summary: 'deprovisioning: set every quota to zero' }, [ladderTarget(tenantId, cause)]);
      if (afterLadderStep(outcome) && state.ladder) state.ladder.quotasZeroedAt = now();
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
        if (outcome.status === 'provisioned') {
          state.phase = 'active';
          state.reason = null;
          state.tenantId = outcome.tenantId;
          state.productionAt = outcome.productionAtMs === null ? null : new Date(outcome.productionAtMs).toISOString();
        } else {
          state.phase = outcome.status;
          state.tenantId = outcome.tenantId;
          state.reason = outcome.reason;
        }
        return true;
      }
      case 'no-services':
      case 'unmapped': {
        const cause: LadderCause = assessment.status === 'unmapped' ? 'mapping-removed' : 'no-active-services';
        if (!state.tenantId) {
          if (cause === 'mapping-removed') {
            state.phase = 'stopped';
            state.reason = 'the company mapping was removed, and the engine has no tenant of it to deprovision';
            return false;
          }
          state.phase = 'waiting-for-services';
          state.reason = 'no active line of a mapped product in the agreement';
          return true;
        }
        // A tenant the engine may not manage is never deprovisioned; it stays skipped with its reason.
        if (state.phase === 'skipped' && !state.ladder && patched(SAFETY_PATCH)) {
          if (cause === 'no-active-services') return true;
          state.phase = 'stopped';
          state.reason = `the company mapping was removed; its tenant was skipped (${state.reason ?? 'not manageable'}) and is left as it is`;
          return false;
        }
        if (!state.ladder) {
          await startLadder(cause, state.tenantId);
        } else {
          // Already counting down (possibly after a failed step): keep the deadlines, note the latest cause.
          state.ladder.reason = cause;
          state.phase = 'deprovisioning';
        }
        return true;
      }
    }
  };

  const runStep = async (step: CustomerStep, tenantId: string): Promise<boolean> => {
    if (step === 'switch-to-production') {
      await vendor.switchToProduction.executeWithOptions({ summary: 'trial ends: switch the tenant to production' }, [{ ...customer, tenantId }]);
      state.productionAt = null;
      return true;
    }
    const ladder = state.ladder;
    if (!ladder) return true;
    const target = ladderTarget(tenantId, ladder.reason);
    if (step === 'disable-tenant') {
      const outcome = await vendor.disableTenant.executeWithOptions({ summary: 'deprovisioning: disable the tenant' }, [target]);
      if (afterLadderStep(outcome)) ladder.disabledAt = now();
      return true;
    }
    const outcome = await vendor.deleteTenant.executeWithOptions({ summary: 'deprovisioning: delete the tenant' }, [target]);
    if (!afterLadderStep(outcome)) return true;
    state.phase = 'deleted';
    state.reason = ladder.reason === 'mapping-removed' ? 'deleted after the mapping was removed' : 'deleted after services ended';
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
      if (cause.type === CAPABILITY_OFF_FAILURE) {
        state.phase = 'stopped';
        state.reason = cause.message;
        return false;
      }
      state.phase = 'needs-attention';
      state.reason = cause.message;
      log.warn('customer needs attention', { partnerId: customer.partnerId, psaCompanyId: customer.psaCompanyId, cause: cause.message });
      return true;
    }
  };

  const finish = (): CustomerWorkflowResult => {
    publish();
    log.info('customer workflow ended', { partnerId: customer.partnerId, psaCompanyId: customer.psaCompanyId, phase: state.phase });
    return { phase: state.phase, tenantId: state.tenantId, reason: state.reason };
  };

  try {
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
      // Without a signal, the customer re-reads its agreement daily (drift, a lost signal), at its own time of day.
      const recheckInMs = untilRecheckMs(workflowInfo().workflowId, Date.now());
      const woken = await condition(() => syncDue || signalsThisRun >= signalsPerRun, Math.min(stepInMs, recheckInMs), {
        summary: next && stepInMs <= recheckInMs ? `wait for ${next.step} at ${next.at}` : 'wait for a sync or the daily recheck',
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
  } catch (error) {
    // Provisioning switched off or the partner removed: the supervisor cancelled this run. The tenant stays as it is.
    if (!isCancellation(error)) throw error;
    state.phase = 'stopped';
    state.reason = 'provisioning was switched off or the partner removed';
    return finish();
  }
}
