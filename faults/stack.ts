/**
 * The engine as it is deployed, on one machine: PostgreSQL, a Temporal dev server, the simulated
 * vendors (`npm run sim`), the admin API (`npm run api`) and worker processes (`npm run worker`),
 * each a process of its own, so that a worker can be killed as a machine dies.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { generateToken } from '../db/api-tokens.ts';
import { startNodeProcess, type NodeProcess } from '../dev/node-process.ts';
import { SIMULATED_VENDORS, SIMULATOR_PORTS, type SimulatedVendor } from '../simulators/ports.ts';
import { freePort } from '../test/free-port.ts';
import { startPostgresServer } from '../dev/postgres-server.ts';
import { startTemporalDevServer } from '../dev/temporal-server.ts';

export interface FaultStackOptions {
  /** A PostgreSQL server (its `postgres` database) and a Temporal server to use; started here when absent. */
  servers?: { postgresAdminUrl: string; temporalAddress: string };
  /** How long the worker and the API wait for a vendor's answer. */
  vendorTimeoutSeconds: number;
  log: (line: string) => void;
}

/** A worker process that can be killed like a machine that dies, and started again. */
export interface WorkerSlot {
  readonly name: string;
  /** Starts so far, the first one included. */
  readonly starts: number;
  running(): boolean;
  /** SIGKILL: no shutdown, no grace for in-flight activities. */
  kill(): Promise<void>;
  start(): Promise<void>;
}

export interface FaultStack {
  apiUrl: string;
  temporalAddress: string;
  adminToken: string;
  sims: Record<SimulatedVendor, string>;
  workers: WorkerSlot[];
  close(): Promise<void>;
}

async function createDatabase(adminUrl: string): Promise<string> {
  const name = `faults_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
  return adminUrl.replace(/\/postgres$/, `/${name}`);
}

async function dropDatabase(adminUrl: string, url: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`drop database if exists ${new URL(url).pathname.slice(1)} with (force)`);
  } finally {
    await client.end();
  }
}

/** Lines worth seeing from a child: warnings, errors, and whatever is not a JSON log line. */
function relay(name: string, log: (line: string) => void): (line: string) => void {
  return (line) => {
    if (!line.trim()) return;
    try {
      const { level, msg, err } = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string } };
      if ((level ?? 0) >= 50) log(`${name}: ${msg ?? ''}${err?.message ? `: ${err.message}` : ''}`);
    } catch {
      log(`${name}: ${line}`);
    }
  };
}

/** PostgreSQL and a Temporal dev server of the run's own, in a scratch folder; their output stays out of the figures. */
async function startServers(cleanup: (() => Promise<unknown>)[]): Promise<NonNullable<FaultStackOptions['servers']>> {
  const root = mkdtempSync(join(tmpdir(), 'engine-faults-'));
  chmodSync(root, 0o755);
  cleanup.push(async () => rmSync(root, { recursive: true, force: true }));
  const postgres = await startPostgresServer({ dataDir: join(root, 'postgres'), port: await freePort() });
  cleanup.push(() => postgres.stop());
  const temporal = await startTemporalDevServer({ port: await freePort(), uiPort: await freePort(), dbFile: join(root, 'temporal.sqlite'), codecEndpoint: 'http://localhost/codec' });
  cleanup.push(() => temporal.stop());
  return { postgresAdminUrl: postgres.url('postgres'), temporalAddress: temporal.address };
}

export async function startFaultStack(options: FaultStackOptions): Promise<FaultStack> {
  const cleanup: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const step of cleanup.splice(0).reverse()) await step().catch((error: unknown) => options.log(`cleanup: ${String(error)}`));
  };
  try {
    const servers = options.servers ?? (await startServers(cleanup));
    const databaseUrl = await createDatabase(servers.postgresAdminUrl);
    cleanup.push(() => dropDatabase(servers.postgresAdminUrl, databaseUrl));

    const sims = {} as Record<SimulatedVendor, string>;
    const simEnv: NodeJS.ProcessEnv = { ...process.env };
    for (const vendor of SIMULATED_VENDORS) {
      const port = await freePort();
      simEnv[SIMULATOR_PORTS[vendor].variable] = String(port);
      sims[vendor] = `http://localhost:${port}`;
    }
    const simulators = await startNodeProcess('simulators/main.ts', { env: simEnv, readyMessage: 'simulators listening', onLine: relay('simulators', options.log) });
    cleanup.push(() => simulators.stop());

    const adminToken = generateToken();
    const engineEnv: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: servers.temporalAddress,
      ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      ADMIN_TOKEN: adminToken,
      VENDOR_TIMEOUT_SECONDS: String(options.vendorTimeoutSeconds),
      LOG_LEVEL: 'info',
      NODE_ENV: 'development',
    };
    const apiPort = await freePort();
    const api = await startNodeProcess('api/server.ts', { env: { ...engineEnv, PORT: String(apiPort), HOST: 'localhost' }, readyMessage: 'admin API listening', onLine: relay('api', options.log) });
    cleanup.push(() => api.stop());

    const workers = ['worker-1', 'worker-2'].map((name) => workerSlot(name, engineEnv, options.log));
    cleanup.push(() => Promise.all(workers.map((worker) => worker.stop())));
    await Promise.all(workers.map((worker) => worker.start()));

    return { apiUrl: `http://localhost:${apiPort}`, temporalAddress: servers.temporalAddress, adminToken, sims, workers, close };
  } catch (error) {
    await close();
    throw error;
  }
}

function workerSlot(name: string, env: NodeJS.ProcessEnv, log: (line: string) => void): WorkerSlot & { stop(): Promise<unknown> } {
  let current: NodeProcess | undefined;
  let starts = 0;
  return {
    name,
    get starts() {
      return starts;
    },
    running: () => current !== undefined && !current.hasExited(),
    async kill() {
      await current?.stop('SIGKILL');
    },
    async start() {
      starts++;
      // A metrics port of its own each time (two workers on one machine); another process may take
      // the free port before the worker binds it, so a start that finds it taken tries another.
      for (let attempt = 1; ; attempt++) {
        try {
          current = await startNodeProcess('worker.ts', { env: { ...env, METRICS_PORT: String(await freePort()) }, readyMessage: 'worker running', onLine: relay(name, log) });
          return;
        } catch (error) {
          if (attempt >= 3 || !String(error).includes('EADDRINUSE')) throw error;
        }
      }
    },
    async stop() {
      await current?.stop('SIGTERM');
    },
  };
}
