import { continueAsNew, proxyActivities } from '@temporalio/workflow';
import type { ProvisioningActivities } from '../../activities/provisioning/types.ts';
import { DISCOVERY_PASS_INTERVAL_MS, provisioningLoopStateQuery, type DiscoverySummary, type ProvisioningLoopInput, type ProvisioningLoopState } from '../contracts/provisioning.ts';
import { LONG_ACTIVITY_TASK_QUEUE } from '../contracts/task-queues.ts';
import { runPeriodicLoop } from '../periodic-loop.ts';

// A full pass reads every company's agreements: minutes on a large PSA, so it runs on the
// long-activity queue and heartbeats (every few seconds, also while a page is slow); an outage only delays it.
const { discoverCustomers } = proxyActivities<ProvisioningActivities>({
  taskQueue: LONG_ACTIVITY_TASK_QUEUE,
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes' },
  summary: 'discover PSA companies and their agreements',
});

/** ` (incremental, 3 companies read)`; nothing for passes recorded before passes had a kind. */
function passKind(summary: DiscoverySummary): string {
  return summary.kind ? ` (${summary.kind}, ${summary.linesRead ?? 0} companies read)` : '';
}

/**
 * `partner/<p>/provisioning`: every 15 minutes, on "sync now" and when the configuration changed,
 * one discovery pass that keeps a customer workflow for each mapped company and pokes those whose
 * agreement changed. Ends when cancelled (the supervisor, when provisioning is switched off or the
 * partner removed) or when a pass finds it should not run; the supervisor starts it again.
 */
export async function provisioningLoop(input: ProvisioningLoopInput): Promise<ProvisioningLoopState> {
  return runPeriodicLoop<DiscoverySummary>({
    input,
    stateQuery: provisioningLoopStateQuery,
    intervalMs: DISCOVERY_PASS_INTERVAL_MS,
    noun: { one: 'pass', many: 'passes' },
    pass: (partnerId, force) => discoverCustomers({ partnerId, force }),
    lastPassLine: (state, last) =>
      `Last pass ${state.lastPassAt}${passKind(last)}: ${last.companies} companies, ${last.mapped} mapped (${last.newlyMapped} new), ${last.signalled} customers synced`,
    cancelledBecause: 'provisioning was switched off or the partner removed',
    continueAsNew: (next) => continueAsNew<typeof provisioningLoop>(next),
  });
}
