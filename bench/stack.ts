/**
 * What a benchmark runs against, on free ports and scratch directories: an embedded PostgreSQL, a
 * Temporal dev server with the engine's search attributes, the simulated vendors, and the engine's
 * worker (as production builds it). Progress goes to stderr, so stdout keeps the `bench` lines.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { NativeConnection } from '@temporalio/worker';
import type { PartnerClientsOptions } from '../clients/partner-clients.ts';
import { connectDatabase, type Db } from '../db/connection.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { startPostgresServer } from '../dev/postgres-server.ts';
import { resolveTemporalExecutable } from '../dev/temporal-binaries.ts';
import { Keyring } from '../security/keyring.ts';
import { startSimulators, type RunningSimulators } from '../simulators/index.ts';
import { encryptedDataConverter } from '../temporal/data-converter.ts';
import { createEngineWorker } from '../temporal/engine-worker.ts';
import { ENGINE_SEARCH_ATTRIBUTES } from '../workflows/search-attributes.ts';
import { freePort } from '../test/free-port.ts';

/** PostgreSQL (migrated) and a Temporal dev server, for benchmarks that bring their own vendors and worker. */
export interface BenchServices {
  db: Db;
  databaseUrl: string;
  /** The engine's key, base64 (as `ENCRYPTION_KEY` takes it), and the keyring made of it. */
  encryptionKey: string;
  keyring: Keyring;
  temporal: Client;
  temporalAddress: string;
  close(): Promise<void>;
}

export interface BenchStack {
  db: Db;
  keyring: Keyring;
  temporal: Client;
  sims: RunningSimulators;
  close(): Promise<void>;
}

export function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/**
 * For benchmarks that count the engine's requests or time its own work: ConnectWise Manage's
 * request window (500 a minute) would pace them, and measure the budget instead (billing-limits
 * measures that).
 */
export const UNPACED_CONNECTWISE_MANAGE: PartnerClientsOptions = { limits: { 'connectwise-manage': { window: undefined } } };

export interface BenchStackOptions {
  /** The worker's vendor limits (`createEngineWorker`'s `partnerClients`), when a benchmark scales them. */
  partnerClients?: PartnerClientsOptions;
}

// The SDK's runtime (its logger) is bench/run.ts's, installed once per process.
export async function startBenchServices(): Promise<BenchServices> {
  const root = mkdtempSync(join(tmpdir(), 'engine-bench-'));
  chmodSync(root, 0o755);
  const stops: (() => Promise<unknown> | void)[] = [() => rmSync(root, { recursive: true, force: true })];
  const close = async () => {
    for (const step of stops.reverse()) await Promise.resolve(step()).catch((error: unknown) => progress(`cleanup: ${String(error)}`));
  };
  try {
    const postgres = await startPostgresServer({ dataDir: join(root, 'postgres'), port: await freePort() });
    stops.push(() => postgres.stop());
    await postgres.ensureDatabase('bench');
    const databaseUrl = postgres.url('bench');
    const db = connectDatabase(databaseUrl, { maxConnections: 10 });
    stops.push(() => db.destroy());
    await migrateToLatest(db);
    const env = await TestWorkflowEnvironment.createLocal({ server: { executable: resolveTemporalExecutable('dev-server').executable, searchAttributes: ENGINE_SEARCH_ATTRIBUTES } });
    stops.push(() => env.teardown());
    const encryptionKey = randomBytes(32).toString('base64');
    const keyring = Keyring.fromBase64(encryptionKey);
    const temporal = new Client({ connection: env.connection, dataConverter: encryptedDataConverter(keyring) });
    return { db, databaseUrl, encryptionKey, keyring, temporal, temporalAddress: env.connection.options.address, close };
  } catch (error) {
    await close();
    throw error;
  }
}

export async function startBenchStack(options: BenchStackOptions = {}): Promise<BenchStack> {
  const services = await startBenchServices();
  const { db, keyring, temporal } = services;
  const sims = await startSimulators({ acronis: 0, 'connectwise-manage': 0, autotask: 0, automate: 0 });
  const connection = await NativeConnection.connect({ address: services.temporalAddress });
  const worker = await createEngineWorker({ connection, namespace: 'default', db, keyring, client: temporal, partnerClients: options.partnerClients });
  const running = worker.run();
  progress('PostgreSQL, Temporal, the simulators and the worker are up');
  return {
    db,
    keyring,
    temporal,
    sims,
    async close() {
      worker.shutdown();
      await running;
      await connection.close();
      await sims.close();
      await services.close();
    },
  };
}
