import { activityInfo, Context, heartbeat, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { runInCallScope, type VendorCallOutcome } from '../clients/call-scope.ts';
import { VendorApiError } from '../clients/http.ts';
import { PartnerNotFoundError, type PartnerClients, type PartnerClientsCache } from '../clients/partner-clients.ts';
import type { Db } from '../db/connection.ts';
import { recordHealth } from '../db/partner-health.ts';
import { partnerLifecycle } from '../db/partners.ts';
import { readSettings } from '../db/settings.ts';
import { HealthObservations } from '../domain/health.ts';
import { capabilitiesOf, type Settings } from '../domain/settings.ts';
import { credentialsRejected } from '../metrics/engine-metrics.ts';
import { CAPABILITY_OFF_FAILURE, type CapabilityName } from '../workflows/contracts/loops.ts';
import { credentialsRejectedSignal, partnerWorkflowId } from '../workflows/contracts/partner.ts';
import { LONG_ACTIVITY_TASK_QUEUE } from '../workflows/contracts/task-queues.ts';
import { vendorFailure } from './vendor-failure.ts';

/** Short enough that the server hears of a live activity (and the activity of its cancellation) within seconds. */
const HEARTBEAT_EVERY_MS = 5_000;
/**
 * The long passes (discovery, usage, the alert feed) wait out the partner's request budget inside
 * their calls, heartbeating, for up to a ConnectWise Manage window and then some: a pass that reads
 * more than one window's worth would otherwise fail at every full window and start its reads over.
 * Their queue's slots are theirs alone, so no short call waits behind them.
 */
const LONG_PASS_BUDGET_WAIT_MS = 5 * 60_000;

const SETTING_NAMES: Record<CapabilityName, string> = {
  provisioning: 'provisioning.enabled',
  billing: 'billing.enabled',
  tickets: 'tickets.enabled',
  agents: 'agents.enabled',
};

/** The partner's settings while it is there and the capability on, else why the capability may not act now. */
async function settingsWhileOn(db: Db, partnerId: string, capability: CapabilityName): Promise<{ settings: Settings } | { off: string }> {
  if ((await partnerLifecycle(db, partnerId)) !== 'live') return { off: 'the partner was removed' };
  const stored = await readSettings(db, partnerId);
  if (!stored) return { off: 'the partner was removed' };
  return capabilitiesOf(stored.settings)[capability] ? { settings: stored.settings } : { off: `${capability} is switched off for the partner (${SETTING_NAMES[capability]})` };
}

/** Why the partner's capability may not act now, or null when it may. */
export async function capabilityOffReason(db: Db, partnerId: string, capability: CapabilityName): Promise<string | null> {
  const found = await settingsWhileOn(db, partnerId, capability);
  return 'off' in found ? found.off : null;
}

export type PartnerForCapability = { status: 'live'; clients: PartnerClients; settings: Settings } | { status: 'off'; reason: string };

/** The partner's clients and settings while the capability is on, or why its workflows should end. */
export async function partnerWithCapability(db: Db, cache: PartnerClientsCache, partnerId: string, capability: CapabilityName): Promise<PartnerForCapability> {
  const found = await settingsWhileOn(db, partnerId, capability);
  if ('off' in found) return { status: 'off', reason: found.off };
  try {
    return { status: 'live', clients: await cache.forPartner(partnerId), settings: found.settings };
  } catch (error) {
    // Removed between the check and the credentials' load (they go with the partner): off, not a failure.
    const offNow = await capabilityOffReason(db, partnerId, capability);
    if (offNow) return { status: 'off', reason: offNow };
    if (!(error instanceof PartnerNotFoundError)) throw error;
    return { status: 'off', reason: 'the partner was removed' };
  }
}

export function capabilityOffFailure(reason: string): ApplicationFailure {
  return ApplicationFailure.create({ type: CAPABILITY_OFF_FAILURE, message: `nothing was written: ${reason}`, nonRetryable: true });
}

export interface CapabilityContext<P> {
  /** Heartbeat details of the attempt before this one, if it reported progress. */
  resumed: P | undefined;
  /** Reports progress: a retry resumes from the last details reported. */
  report(details: P): void;
  /** Fails as `CapabilityOff` unless the partner is there and the capability on; for writes that are not vendor calls (PostgreSQL, workflow starts). */
  assertOn(): Promise<void>;
}

/**
 * Records what the activity saw of each system (one PostgreSQL statement, and none when it called
 * no vendor), and tells the supervisor when a system refused the credentials, so it pauses the
 * loops that need them. Never fails the activity: health is a report, not part of the work.
 */
export async function reportHealth(db: Db, partnerId: string, observations: HealthObservations): Promise<void> {
  if (observations.empty) return;
  try {
    await recordHealth(db, partnerId, observations.records());
    const rejected = observations.rejected();
    if (rejected.length === 0) return;
    for (const system of rejected) credentialsRejected.inc({ system });
    await Context.current().client.workflow.getHandle(partnerWorkflowId(partnerId)).signal(credentialsRejectedSignal);
  } catch (error) {
    log.warn('could not record the partner health', { partnerId, error: error instanceof Error ? error.message : String(error) });
  }
}

/**
 * Runs the body of an activity that works for one partner's capability:
 * - every vendor write first checks that the partner is still there and the capability still on
 *   (else the activity fails with `CapabilityOff`, having written nothing more);
 * - its HTTP calls are cancelled with the activity;
 * - it heartbeats every few seconds (unless it runs as a local activity), with the last progress
 *   reported, so a slow vendor never looks like a dead worker and a cancellation reaches it;
 * - on the long-activity queue, its calls wait for the partner's request budget instead of failing;
 * - vendor failures become `ApplicationFailure`s (retryable or not, with the vendor's delay);
 * - the last success and failure per system go to the partner's health (reportHealth).
 */
export function capabilityScope(db: Db, capability: CapabilityName) {
  return async function inScope<T, P = unknown>(partnerId: string, body: (context: CapabilityContext<P>) => Promise<T>): Promise<T> {
    const info = activityInfo();
    const resumed = info.heartbeatDetails as P | undefined;
    let details: P | undefined = resumed;
    // Local activities cannot heartbeat: their workflow task keeps them alive and carries their cancellation.
    const beat = info.isLocal ? () => undefined : () => heartbeat(details);
    const timer = setInterval(beat, HEARTBEAT_EVERY_MS);
    const assertOn = async () => {
      const reason = await capabilityOffReason(db, partnerId, capability);
      if (reason) throw capabilityOffFailure(reason);
    };
    const observations = new HealthObservations();
    try {
      const scope = {
        signal: Context.current().cancellationSignal,
        beforeWrite: assertOn,
        observe: (outcome: VendorCallOutcome) => observations.observe(outcome),
        maxBudgetWaitMs: info.taskQueue === LONG_ACTIVITY_TASK_QUEUE ? LONG_PASS_BUDGET_WAIT_MS : undefined,
      };
      return await runInCallScope(scope, () =>
        body({
          resumed,
          report(next) {
            details = next;
            beat();
          },
          assertOn,
        }),
      );
    } catch (error) {
      // Failures a client makes itself (an unknown ConnectWise company) never passed the transport.
      if (error instanceof VendorApiError) observations.observe({ system: error.system, operation: error.operation, error });
      throw vendorFailure(error);
    } finally {
      clearInterval(timer);
      await reportHealth(db, partnerId, observations);
    }
  };
}
