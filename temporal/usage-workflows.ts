import { WithStartWorkflowOperation, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { CAPABILITY_LOOPS } from '../workflows/contracts/loops.ts';
import { backfillUpdate, reviewUpdate, usageLoopStateQuery, usageLoopWorkflowId, type BackfillRequest, type ReviewOutcome, type ReviewRequest, type UsageLoopState } from '../workflows/contracts/usage.ts';
import type { usageLoop } from '../workflows/usage/loop.ts';
import type { CapabilityLoops, LoopOwner } from './capability-loops.ts';

/**
 * The API's side of the usage loop: backfills and reviews go to the loop as updates (started with
 * it when it is not running), so they are served one at a time with its passes, and the answer
 * comes when the loop has done them. Update ids make a retried request a repeat, not a second one.
 */
export class UsageWorkflows {
  readonly #client: Client;
  readonly #loops: CapabilityLoops;

  constructor(client: Client, loops: CapabilityLoops) {
    this.#client = client;
    this.#loops = loops;
  }

  #withStart(owner: LoopOwner): WithStartWorkflowOperation<typeof usageLoop> {
    const loop = CAPABILITY_LOOPS.billing;
    if (!loop) throw new Error('the billing capability has no loop');
    return new WithStartWorkflowOperation<typeof usageLoop>(loop.workflowType, { ...this.#loops.startOptions(owner, loop), workflowIdConflictPolicy: 'USE_EXISTING' });
  }

  /** Queues the backfill; answers its run id at once (the run follows). */
  backfill(owner: LoopOwner, request: BackfillRequest, updateId: string): Promise<{ runId: string }> {
    return this.#client.workflow.executeUpdateWithStart(backfillUpdate, { args: [request], updateId, startWorkflowOperation: this.#withStart(owner) });
  }

  /** Approves (writes) or rejects held lines; answers once done. */
  review(owner: LoopOwner, request: ReviewRequest, updateId: string): Promise<ReviewOutcome> {
    return this.#client.workflow.executeUpdateWithStart(reviewUpdate, { args: [request], updateId, startWorkflowOperation: this.#withStart(owner) });
  }

  /** The loop's state, or undefined when it is not running. */
  async loopState(partnerId: string): Promise<UsageLoopState | undefined> {
    const handle = this.#client.workflow.getHandle(usageLoopWorkflowId(partnerId));
    try {
      if ((await handle.describe()).status.name !== 'RUNNING') return undefined;
      return await handle.query(usageLoopStateQuery);
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return undefined;
      throw error;
    }
  }
}
