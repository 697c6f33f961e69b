import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, inject } from 'vitest';
import { createApp } from '../api/app.ts';
import { PartnerClientsCache, type PartnerClientsOptions } from '../clients/partner-clients.ts';
import { createToken } from '../db/api-tokens.ts';
import type { Db } from '../db/connection.ts';
import type { Keyring } from '../security/keyring.ts';
import type { RunningSimulators } from '../simulators/index.ts';
import { encryptedDataConverter } from '../temporal/data-converter.ts';
import { createEngineWorker, type EngineWorker } from '../temporal/engine-worker.ts';
import { PartnerWorkflows } from '../temporal/partner-workflows.ts';
import { AgentWorkflows } from '../temporal/agent-workflows.ts';
import { CapabilityLoops } from '../temporal/capability-loops.ts';
import { ProvisioningWorkflows } from '../temporal/provisioning-workflows.ts';
import { UsageWorkflows } from '../temporal/usage-workflows.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { startTestSimulators } from './simulators.ts';

export const TEMPORAL_UI_URL = 'http://localhost:8233';

export interface ApiHarness {
  baseUrl: string;
  adminToken: string;
  temporal: Client;
  /** Every response body the API gave during the file, for "never returns a secret" checks. */
  responses: string[];
  request(method: string, path: string, options?: { token?: string | null; body?: unknown; headers?: Record<string, string> }): Promise<{ status: number; headers: Headers; text: string; json: any }>;
  close(): Promise<void>;
}

/** One request the API answered, as the client saw it. */
export interface ApiExchange {
  method: string;
  path: string;
  status: number;
  headers: Headers;
  body: string;
}

export interface ApiHarnessOptions {
  /** Defaults to the shared dev server; a closed port shows how the API behaves without Temporal. */
  temporalAddress?: string;
  runWorker?: boolean;
  /** For the vendor clients of the API and the worker (limits; a fetch that keeps them on this machine). */
  partnerClients?: PartnerClientsOptions;
  /** Sees every request the API answers, whoever sent it. */
  observe?: (exchange: ApiExchange) => void;
}

/** The admin API on a real port, with a real engine worker, against the shared Temporal dev server. */
export async function startApiHarness(db: Db, keyring: Keyring, options: ApiHarnessOptions = {}): Promise<ApiHarness> {
  const address = options.temporalAddress ?? inject('temporalAddress');
  const connection = Connection.lazy({ address });
  const temporal = new Client({ connection, dataConverter: encryptedDataConverter(keyring) });
  const app = createApp({
    db,
    keyring,
    temporal,
    workflows: new PartnerWorkflows(temporal, TEMPORAL_UI_URL),
    provisioning: new ProvisioningWorkflows(temporal),
    loops: new CapabilityLoops(temporal),
    agents: new AgentWorkflows(temporal),
    usage: new UsageWorkflows(temporal, new CapabilityLoops(temporal)),
    partnerClients: new PartnerClientsCache(db, keyring, options.partnerClients),
    logger: pino({ level: 'silent' }),
    production: false,
    temporalUiUrl: TEMPORAL_UI_URL,
    publicUrl: 'http://localhost:3000',
  });
  const { observe } = options;
  const handle: typeof app.fetch = observe
    ? async (request, ...rest) => {
        const response = await app.fetch(request, ...rest);
        const { pathname, search } = new URL(request.url);
        observe({ method: request.method, path: pathname + search, status: response.status, headers: response.headers, body: await response.clone().text() });
        return response;
      }
    : app.fetch;
  const server = serve({ fetch: handle, port: 0, hostname: 'localhost' });
  await new Promise((resolve) => server.once('listening', resolve));
  const baseUrl = `http://localhost:${(server.address() as AddressInfo).port}`;

  let worker: EngineWorker | undefined;
  let workerRun: Promise<void> | undefined;
  let workerConnection: NativeConnection | undefined;
  if (options.runWorker !== false) {
    workerConnection = await NativeConnection.connect({ address });
    worker = await createEngineWorker({ connection: workerConnection, namespace: 'default', db, keyring, client: temporal, partnerClients: options.partnerClients });
    workerRun = worker.run();
  }

  const { token: adminToken } = await createToken(db, 'test admin', 'admin');
  const responses: string[] = [];

  return {
    baseUrl,
    adminToken,
    temporal,
    responses,
    async request(method, path, { token = adminToken, body, headers = {} } = {}) {
      const response = await fetch(baseUrl + path, {
        method,
        headers: {
          ...(token ? { Authorization: `Bearer ${token}` } : {}),
          ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
          ...headers,
        },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await response.text();
      responses.push(text);
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      return { status: response.status, headers: response.headers, text, json };
    },
    async close() {
      worker?.shutdown();
      await workerRun;
      await workerConnection?.close();
      await new Promise((resolve) => server.close(resolve));
      await connection.close();
    },
  };
}

/** What a test file of the admin API works against: its own database, the simulated vendors and the API. */
export interface ApiWorld {
  database: TestDatabase;
  sims: RunningSimulators;
  api: ApiHarness;
}

/**
 * Starts a test file's world before its tests (the API with an engine worker unless
 * `runWorker: false`), resets the simulators before each test and closes it all after them;
 * `started` receives the world once it runs.
 */
export function useApiWorld(keyring: Keyring, started: (world: ApiWorld) => void, options: ApiHarnessOptions = {}): void {
  let world: ApiWorld | undefined;
  beforeAll(async () => {
    const [database, sims] = await Promise.all([createTestDatabase(), startTestSimulators()]);
    world = { database, sims, api: await startApiHarness(database.db, keyring, options) };
    started(world);
  });
  beforeEach(() => world?.sims.reset());
  afterAll(async () => {
    await world?.api.close();
    await world?.sims.close();
    await world?.database.drop();
  });
}
