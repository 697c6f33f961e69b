import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { TestProject } from 'vitest/node';
import { startPostgresServer } from '../dev/postgres-server.ts';
import { resolveTemporalExecutable } from '../dev/temporal-binaries.ts';
import { ENGINE_SEARCH_ATTRIBUTES } from '../workflows/search-attributes.ts';
import { freePort } from './free-port.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresAdminUrl: string;
    temporalAddress: string;
  }
}

/** One real PostgreSQL and one real Temporal dev server for the whole run; each test file makes its own database. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const root = mkdtempSync(join(tmpdir(), 'engine-tests-'));
  chmodSync(root, 0o755);
  const pgPort = await freePort();
  let started = Date.now();
  const postgres = await startPostgresServer({ dataDir: join(root, 'postgres'), port: pgPort });
  console.log(`[test setup] PostgreSQL server started on localhost:${pgPort} in ${Date.now() - started} ms`);

  const devServer = resolveTemporalExecutable('dev-server');
  started = Date.now();
  const temporal = await TestWorkflowEnvironment.createLocal({
    server: { executable: devServer.executable, searchAttributes: ENGINE_SEARCH_ATTRIBUTES },
  });
  const temporalAddress = temporal.connection.options.address;
  console.log(`[test setup] Temporal dev server (${devServer.source}) started at ${temporalAddress} in ${Date.now() - started} ms`);

  project.provide('postgresAdminUrl', postgres.url('postgres'));
  project.provide('temporalAddress', temporalAddress);

  return async () => {
    await temporal.teardown();
    await postgres.stop();
    rmSync(root, { recursive: true, force: true });
  };
}
