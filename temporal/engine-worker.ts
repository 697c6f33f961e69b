import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities/index.ts';
import { TASK_QUEUE } from '../config.ts';
import type { Db } from '../db/connection.ts';
import type { Keyring } from '../security/keyring.ts';
import { encryptedDataConverter } from './data-converter.ts';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export interface EngineWorkerDeps {
  connection: NativeConnection;
  namespace: string;
  db: Db;
  keyring: Keyring;
  /** For activities that start or signal workflows; built with the same data converter as the worker. */
  client: Client;
  /** Tests bundle the workflows once and share the bundle between workers. */
  workflowBundle?: WorkerOptions['workflowBundle'];
}

/** Bundles the workflow code; webpack's build report is left out of the logs. */
export function bundleEngineWorkflows(): Promise<NonNullable<WorkerOptions['workflowBundle']>> {
  return bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') });
}

/** The worker as production runs it; tests build theirs here too, so they test the same wiring. */
export async function createEngineWorker(deps: EngineWorkerDeps): Promise<Worker> {
  return Worker.create({
    connection: deps.connection,
    namespace: deps.namespace,
    taskQueue: TASK_QUEUE,
    workflowBundle: deps.workflowBundle ?? (await bundleEngineWorkflows()),
    activities: createActivities({ db: deps.db, keyring: deps.keyring, client: deps.client }),
    dataConverter: encryptedDataConverter(deps.keyring),
    // Idle partner workflows wake once an hour; keep the busy ones cached and let the rest replay.
    maxCachedWorkflows: 1_000,
    maxConcurrentActivityTaskExecutions: 50,
    // In-flight activities get time to finish on SIGTERM before the worker stops.
    shutdownGraceTime: '30 seconds',
  });
}
