import { setTimeout as delay } from 'node:timers/promises';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { PsaKind } from '../domain/partner.ts';
import { CAPABILITY_LOOPS, configurationChangedSignal, syncNowSignal, type CapabilityName, type LoopDefinition } from '../workflows/contracts/loops.ts';
import { partnerWorkflowId } from '../workflows/contracts/partner.ts';
import { TASK_QUEUE } from '../workflows/contracts/task-queues.ts';
import { CapabilityAttribute, PartnerIdAttribute, PsaKindAttribute } from '../workflows/search-attributes.ts';

/** Who a loop belongs to, for its search attributes and its summary in the Web UI. */
export interface LoopOwner {
  partnerId: string;
  /** Absent where only the id is at hand; the summary then names the loop alone. */
  partnerName?: string;
  psaKind: PsaKind;
}

/** How long ending a capability waits for its workflows to close after asking them to, before terminating the rest. */
const GRACE_MS = 15_000;
const POLL_MS = 500;

function definitionOf(capability: CapabilityName): LoopDefinition {
  const loop = CAPABILITY_LOOPS[capability];
  if (!loop) throw new Error(`the ${capability} capability has no loop`);
  return loop;
}

/**
 * Starting, poking and ending the partner's capability loops, from the registry in
 * workflows/contracts/loops.ts, and ending whatever those loops started. Used by the supervisor's
 * activities and by the API ("sync now").
 */
export class CapabilityLoops {
  readonly #client: Client;

  constructor(client: Client) {
    this.#client = client;
  }

  /** How the loop is started: its id, input, search attributes and summary (also for update-with-start). */
  startOptions(owner: LoopOwner, loop: LoopDefinition) {
    return {
      workflowId: loop.workflowId(owner.partnerId),
      taskQueue: TASK_QUEUE,
      args: [{ v: 1, partnerId: owner.partnerId }] as [{ v: 1; partnerId: string }],
      typedSearchAttributes: [
        { key: PartnerIdAttribute, value: owner.partnerId },
        { key: PsaKindAttribute, value: owner.psaKind },
        { key: CapabilityAttribute, value: loop.attribute },
      ],
      staticSummary: owner.partnerName ? `${owner.partnerName}: ${loop.title}` : loop.title,
    };
  }

  /** Starts the loop unless it runs; `configurationChanged` tells a running one to re-plan. */
  async ensure(owner: LoopOwner, capability: CapabilityName, options: { configurationChanged: boolean }): Promise<void> {
    const loop = definitionOf(capability);
    if (options.configurationChanged) {
      await this.#client.workflow.signalWithStart(loop.workflowType, { ...this.startOptions(owner, loop), signal: configurationChangedSignal, signalArgs: [] });
    } else {
      await this.#client.workflow.start(loop.workflowType, { ...this.startOptions(owner, loop), workflowIdConflictPolicy: 'USE_EXISTING' });
    }
  }

  /** "Sync now": the loop runs its pass at once, started if it was not running. */
  async syncNow(owner: LoopOwner, capability: CapabilityName): Promise<void> {
    const loop = definitionOf(capability);
    await this.#client.workflow.signalWithStart(loop.workflowType, { ...this.startOptions(owner, loop), signal: syncNowSignal, signalArgs: [] });
  }

  /** Ends the capability's loop and every workflow it started (customers, alert lifecycles ...); the number ended. */
  async end(partnerId: string, capability: CapabilityName, reason: string, onProgress?: () => void): Promise<number> {
    const loop = definitionOf(capability);
    const attributes = [loop.attribute, ...loop.entities].map((value) => `"${value}"`).join(', ');
    return this.#endWhere(`PartnerId = "${partnerId}" AND Capability IN (${attributes})`, [loop.workflowId(partnerId)], reason, onProgress);
  }

  /** Ends the capability's loop alone (a pause: the workflows it started keep their timers); the number ended. */
  async pause(partnerId: string, capability: CapabilityName, onProgress?: () => void): Promise<number> {
    const workflowId = definitionOf(capability).workflowId(partnerId);
    return this.#endWhere(`WorkflowId = "${workflowId}"`, [workflowId], `${capability} paused: a system refuses the partner's credentials`, onProgress);
  }

  /** Ends every workflow of a removed partner but its supervisor; the number ended. */
  async endPartner(partnerId: string, reason: string, onProgress?: () => void): Promise<number> {
    const known = Object.values(CAPABILITY_LOOPS).map((loop) => loop.workflowId(partnerId));
    return this.#endWhere(`PartnerId = "${partnerId}" AND WorkflowId != "${partnerWorkflowId(partnerId)}"`, known, reason, onProgress);
  }

  /**
   * Asks every running workflow the query finds (and the known ids, which visibility may not list
   * yet) to cancel: each one ends cleanly at its next step. Waits until none runs; one that has not
   * ended after the grace period (a stuck task) is terminated.
   */
  async #endWhere(query: string, knownIds: readonly string[], reason: string, onProgress?: () => void): Promise<number> {
    const asked = new Set<string>();
    const ask = async (workflowId: string) => {
      if (asked.has(workflowId)) return;
      asked.add(workflowId);
      try {
        await this.#client.workflow.getHandle(workflowId).cancel();
      } catch (error) {
        if (!(error instanceof WorkflowNotFoundError)) throw error;
      }
    };
    for (const workflowId of knownIds) await ask(workflowId);
    const deadline = Date.now() + GRACE_MS;
    for (;;) {
      const running = await this.#running(query);
      for (const workflowId of running) await ask(workflowId);
      onProgress?.();
      if (running.length === 0) return asked.size;
      if (Date.now() > deadline) {
        for (const workflowId of running) await this.#terminate(workflowId, reason);
        return asked.size;
      }
      await delay(POLL_MS);
    }
  }

  async #running(query: string): Promise<string[]> {
    const ids: string[] = [];
    // Partner ids are UUIDs and capability values come from the registry, so they are safe in the quoted values.
    for await (const execution of this.#client.workflow.list({ query: `${query} AND ExecutionStatus = "Running"` })) ids.push(execution.workflowId);
    return ids;
  }

  async #terminate(workflowId: string, reason: string): Promise<void> {
    try {
      await this.#client.workflow.getHandle(workflowId).terminate(`${reason}; it did not end within ${GRACE_MS / 1000} s of being cancelled`);
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
  }
}
