import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, Worker, type NativeConnection, type State, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities/index.ts';
import type { PartnerClientsOptions } from '../clients/partner-clients.ts';
import type { Db } from '../db/connection.ts';
import type { Keyring } from '../security/keyring.ts';
import { LONG_ACTIVITY_TASK_QUEUE, TASK_QUEUE } from '../workflows/contracts/task-queues.ts';
import { encryptedDataConverter } from './data-converter.ts';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export interface EngineWorkerDeps {
  connection: NativeConnection;
  namespace: string;
  db: Db;
  keyring: Keyring;
  /** For activities that start or signal workflows; built with the same data converter as the worker. */
  client: Client;
  /** Vendor limits and transport for the partners' clients (tests, benchmarks). */
  partnerClients?: PartnerClientsOptions;
  /** Tests bundle the workflows once and share the bundle between workers. */
  workflowBundle?: WorkerOptions['workflowBundle'];
}

/** Bundles the workflow code; webpack's build report is left out of the logs. */
export function bundleEngineWorkflows(): Promise<NonNullable<WorkerOptions['workflowBundle']>> {
  return bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') });
}

/**
 * The engine's worker: workflows and short activities on one task queue, and the activities that
 * run for minutes (discovery passes, alert polling) on a queue of their own, so that however many
 * partners have a long pass running, a short call always finds a slot.
 */
export class EngineWorker {
  readonly main: Worker;
  readonly long: Worker;

  constructor(main: Worker, long: Worker) {
    this.main = main;
    this.long = long;
  }

  get taskQueues(): string[] {
    return [this.main.options.taskQueue, this.long.options.taskQueue];
  }

  /** Both workers' states; the engine is healthy while both run. */
  get states(): State[] {
    return [this.main.getState(), this.long.getState()];
  }

  /** Runs both until shutdown (SIGINT, SIGTERM, or `shutdown()`); a failure of one stops the other. */
  async run(): Promise<void> {
    const runs = [this.main.run(), this.long.run()];
    try {
      await Promise.all(runs);
    } catch (error) {
      this.shutdown();
      await Promise.allSettled(runs);
      throw error;
    }
  }

  /** Runs both while `body` runs, then shuts them down. */
  async runUntil<T>(body: () => Promise<T>): Promise<T> {
    const running = this.run();
    try {
      return await body();
    } finally {
      this.shutdown();
      await running;
    }
  }

  shutdown(): void {
    for (const worker of [this.main, this.long]) if (worker.getState() === 'RUNNING') worker.shutdown();
  }
}

/** The worker as production runs it; tests build theirs here too, so they test the same wiring. */
export async function createEngineWorker(deps: EngineWorkerDeps): Promise<EngineWorker> {
  const activities = createActivities({ db: deps.db, keyring: deps.keyring, client: deps.client, partnerClients: deps.partnerClients });
  const dataConverter = encryptedDataConverter(deps.keyring);
  const main = await Worker.create({
    connection: deps.connection,
    namespace: deps.namespace,
    taskQueue: TASK_QUEUE,
    workflowBundle: deps.workflowBundle ?? (await bundleEngineWorkflows()),
    activities,
    dataConverter,
    // Idle partner workflows wake once an hour; keep the busy ones cached and let the rest replay.
    maxCachedWorkflows: 1_000,
    maxConcurrentActivityTaskExecutions: 50,
    // In-flight activities get time to finish on SIGTERM before the worker stops.
    shutdownGraceTime: '30 seconds',
  });
  const long = await Worker.create({
    connection: deps.connection,
    namespace: deps.namespace,
    taskQueue: LONG_ACTIVITY_TASK_QUEUE,
    activities,
    dataConverter,
    // Mostly waiting on vendors: one slot per partner's long pass, with room for many partners.
    maxConcurrentActivityTaskExecutions: 200,
    // A cancellation reaches an activity only with a heartbeat's answer: long passes ("sync now" of
    // the alert feed, a capability switched off) hear of it within seconds, not a minute.
    maxHeartbeatThrottleInterval: '3 seconds',
    shutdownGraceTime: '30 seconds',
  });
  return new EngineWorker(main, long);
}
