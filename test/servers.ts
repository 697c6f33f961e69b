import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { startPostgresServer } from '../dev/postgres-server.ts';
import { resolveTemporalExecutable } from '../dev/temporal-binaries.ts';
import { ENGINE_SEARCH_ATTRIBUTES } from '../workflows/search-attributes.ts';
import { freePort } from './free-port.ts';

export interface TestServers {
  /** The `postgres` database of the server; each user makes its own database there. */
  postgresAdminUrl: string;
  temporalAddress: string;
  stop(): Promise<void>;
}

/** One real PostgreSQL and one real Temporal dev server (with the engine's search attributes), state in a temporary folder. */
export async function startTestServers(log: (line: string) => void = console.log): Promise<TestServers> {
  const root = mkdtempSync(join(tmpdir(), 'engine-tests-'));
  chmodSync(root, 0o755);
  const pgPort = await freePort();
  let started = Date.now();
  const postgres = await startPostgresServer({ dataDir: join(root, 'postgres'), port: pgPort });
  log(`[test setup] PostgreSQL server started on localhost:${pgPort} in ${Date.now() - started} ms`);

  const devServer = resolveTemporalExecutable('dev-server');
  started = Date.now();
  const temporal = await TestWorkflowEnvironment.createLocal({
    server: { executable: devServer.executable, searchAttributes: ENGINE_SEARCH_ATTRIBUTES },
  });
  const temporalAddress = temporal.connection.options.address;
  log(`[test setup] Temporal dev server (${devServer.source}) started at ${temporalAddress} in ${Date.now() - started} ms`);

  return {
    postgresAdminUrl: postgres.url('postgres'),
    temporalAddress,
    async stop() {
      await temporal.teardown();
      await postgres.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
