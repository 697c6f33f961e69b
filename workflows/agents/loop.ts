import { continueAsNew, proxyActivities, uuid4 } from '@temporalio/workflow';
import type { AgentActivities } from '../../activities/agents/types.ts';
import { agentsLoopStateQuery, type AgentScanSummary, type AgentsLoopInput, type AgentsLoopState } from '../contracts/agents.ts';
import { LONG_ACTIVITY_TASK_QUEUE } from '../contracts/task-queues.ts';
import { runPeriodicLoop } from '../periodic-loop.ts';

/** SPEC F6.4: the scan runs every 6 minutes (and at once on "sync now" or a policy change). */
const SCAN_INTERVAL_MS = 6 * 60 * 1000;

// A scan reads every computer of the clients with a policy and their tenants' agents: up to
// minutes on a large RMM, so it runs on the long-activity queue and heartbeats; an Automate or
// Acronis outage only delays it.
const { scanAgents } = proxyActivities<AgentActivities>({
  taskQueue: LONG_ACTIVITY_TASK_QUEUE,
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes' },
  summary: 'scan computers: auto-deploy agents, apply default plans',
});

/**
 * `partner/<p>/agents`: every 6 minutes, on "sync now" and when policies or settings changed, one
 * scan: computers without an agent in clients and locations that deploy automatically go into a
 * deployment; computers with an agent but no plan get the default plan. Ends when cancelled (agent
 * management switched off, partner removed) or when a scan finds it should not run.
 */
export async function agentsLoop(input: AgentsLoopInput): Promise<AgentsLoopState> {
  return runPeriodicLoop<AgentScanSummary>({
    input,
    stateQuery: agentsLoopStateQuery,
    intervalMs: SCAN_INTERVAL_MS,
    noun: { one: 'scan', many: 'scans' },
    // A fresh id per scan: the deployment a scan starts is named after it, so a retried scan starts no second one.
    pass: (partnerId) => scanAgents({ partnerId, passId: uuid4() }),
    lastPassLine: (state, last) =>
      `Last scan ${state.lastPassAt}: ${last.policies} policies, ${last.computers} computers, ${last.queued} queued for install${last.deploymentId ? ` (deployment ${last.deploymentId})` : ''}, default plan applied to ${last.plansApplied}, ${last.skipped} policies with problems`,
    cancelledBecause: 'agent management was switched off or the partner removed',
    continueAsNew: (next) => continueAsNew<typeof agentsLoop>(next),
  });
}
