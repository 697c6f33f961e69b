import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Db } from '../db/connection.ts';
import { resolveTemporalExecutable } from '../dev/temporal-binaries.ts';
import type { Keyring } from '../security/keyring.ts';
import { encryptedDataConverter } from '../temporal/data-converter.ts';
import { bundleEngineWorkflows, createEngineWorker } from '../temporal/engine-worker.ts';
import { registerSearchAttributes } from '../temporal/search-attributes.ts';

/** The engine's worker (its workflows and activities) on a time-skipping test server of its own. */
export interface TimeSkippingEngine {
  env: TestWorkflowEnvironment;
  close(): Promise<void>;
}

/**
 * Starts a time-skipping test server with the engine's search attributes and encrypted payloads,
 * and the engine's worker on it, for timers of hours and days in a test.
 */
export async function startTimeSkippingEngine(db: Db, keyring: Keyring): Promise<TimeSkippingEngine> {
  const testServer = resolveTemporalExecutable('test-server');
  const started = Date.now();
  const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: testServer.executable }, client: { dataConverter: encryptedDataConverter(keyring) } });
  console.log(`[test setup] Temporal time-skipping test server (${testServer.source}) started in ${Date.now() - started} ms`);
  try {
    await registerSearchAttributes(env.connection, 'default');
    const worker = await createEngineWorker({ connection: env.nativeConnection, namespace: 'default', db, keyring, client: env.client, workflowBundle: await bundleEngineWorkflows() });
    const running = worker.run();
    return {
      env,
      async close() {
        worker.shutdown();
        await running;
        await env.teardown();
      },
    };
  } catch (error) {
    await env.teardown();
    throw error;
  }
}
