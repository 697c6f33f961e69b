/**
 * `agent-deploy`: one install deployment over 500 computers of 50 Automate clients, each client
 * tied to its own Acronis customer tenant, through the admin API, against the simulators (the
 * install script with a registration token makes the agent appear in the tenant). On its own
 * embedded PostgreSQL and Temporal dev server.
 *
 * - `seconds`: from the API's 202 to every computer's outcome recorded;
 * - `scripts_per_computer`: install scripts Automate ran, per computer (goal 1.00);
 * - `calls_per_computer`: Automate and Acronis API requests (tokens included) from the request to
 *   the end, per computer.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { serve } from '@hono/node-server';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { pino } from 'pino';
import { createApp } from '../api/app.ts';
import { AcronisClient } from '../clients/acronis/client.ts';
import { ConnectWiseAutomateClient } from '../clients/connectwise-automate/client.ts';
import { PartnerClientsCache } from '../clients/partner-clients.ts';
import { createToken } from '../db/api-tokens.ts';
import { connectDatabase } from '../db/connection.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { startPostgresServer } from '../dev/postgres-server.ts';
import { startTemporalDevServer } from '../dev/temporal-server.ts';
import { Keyring } from '../security/keyring.ts';
import { DEFAULT_CREDENTIALS } from '../simulators/default-credentials.ts';
import { startSimulators } from '../simulators/index.ts';
import { UsageWorkflows } from '../temporal/usage-workflows.ts';
import { AgentWorkflows } from '../temporal/agent-workflows.ts';
import { CapabilityLoops } from '../temporal/capability-loops.ts';
import { encryptedDataConverter } from '../temporal/data-converter.ts';
import { createEngineWorker } from '../temporal/engine-worker.ts';
import { PartnerWorkflows } from '../temporal/partner-workflows.ts';
import { ProvisioningWorkflows } from '../temporal/provisioning-workflows.ts';
import { freePort } from '../test/free-port.ts';
import type { Figures } from './benchmark.ts';

const CLIENTS = 50;
const COMPUTERS_PER_CLIENT = 10;
const INSTALL_SCRIPTS = new Set([6101, 6102]);
const DONE_WITHIN_MS = 10 * 60_000;

export async function run(): Promise<Figures> {
  const root = mkdtempSync(join(tmpdir(), 'bench-agent-deploy-'));
  const cleanup: (() => Promise<unknown>)[] = [async () => rmSync(root, { recursive: true, force: true })];
  try {
    const postgres = await startPostgresServer({ dataDir: join(root, 'pg'), port: await freePort() });
    cleanup.unshift(() => postgres.stop());
    await postgres.ensureDatabase('bench');
    const db = connectDatabase(postgres.url('bench'));
    cleanup.unshift(() => db.destroy());
    await migrateToLatest(db);
    const temporalPort = await freePort();
    const temporalServer = await startTemporalDevServer({ port: temporalPort, uiPort: await freePort(), dbFile: join(root, 'temporal.sqlite'), codecEndpoint: 'http://localhost/codec' });
    cleanup.unshift(() => temporalServer.stop());
    const sims = await startSimulators({ acronis: 0, 'connectwise-manage': 0, autotask: 0, automate: 0 });
    cleanup.unshift(() => sims.close());

    const keyring = Keyring.fromBase64(randomBytes(32).toString('base64'));
    const connection = await Connection.connect({ address: temporalServer.address });
    cleanup.unshift(() => connection.close());
    const temporal = new Client({ connection, dataConverter: encryptedDataConverter(keyring) });
    const workerConnection = await NativeConnection.connect({ address: temporalServer.address });
    cleanup.unshift(() => workerConnection.close());
    const worker = await createEngineWorker({ connection: workerConnection, namespace: 'default', db, keyring, client: temporal });
    const running = worker.run();
    cleanup.unshift(async () => {
      worker.shutdown();
      await running;
    });
    const app = createApp({
      db,
      keyring,
      temporal,
      workflows: new PartnerWorkflows(temporal, temporalServer.uiUrl),
      provisioning: new ProvisioningWorkflows(temporal),
      loops: new CapabilityLoops(temporal),
      agents: new AgentWorkflows(temporal),
      usage: new UsageWorkflows(temporal, new CapabilityLoops(temporal)),
      partnerClients: new PartnerClientsCache(db, keyring),
      logger: pino({ level: 'silent' }),
      production: false,
      temporalUiUrl: temporalServer.uiUrl,
      publicUrl: 'http://localhost',
    });
    const server = serve({ fetch: app.fetch, port: 0, hostname: 'localhost' });
    await new Promise((resolve) => server.once('listening', resolve));
    cleanup.unshift(() => new Promise((resolve) => server.close(resolve)));
    const apiUrl = `http://localhost:${(server.address() as AddressInfo).port}`;
    const { token } = await createToken(db, 'bench', 'admin');
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the API's JSON answers, read as a script would
    const call = async (method: string, path: string, body?: unknown): Promise<any> => {
      const response = await fetch(apiUrl + path, { method, headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await response.text();
      if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
      return text ? JSON.parse(text) : undefined;
    };
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the control surface's JSON answers
    const sim = async (vendor: 'acronis' | 'automate', method: string, path: string, body?: unknown): Promise<any> => {
      const response = await fetch(`${sims.urls[vendor]}/_sim${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      if (!response.ok) throw new Error(`${method} /_sim${path}: ${response.status} ${await response.text()}`);
      return response.status === 204 ? undefined : response.json();
    };

    // The world: 50 customers in Acronis, each an Automate client with one location and 10 computers.
    const acronis = new AcronisClient({ baseUrl: sims.urls.acronis, clientId: DEFAULT_CREDENTIALS.acronis.clientId, clientSecret: DEFAULT_CREDENTIALS.acronis.clientSecret });
    const automate = new ConnectWiseAutomateClient({ baseUrl: sims.urls.automate, ...DEFAULT_CREDENTIALS.automate });
    const partnerTenantId = (await acronis.getApiClient()).tenant_id;
    const partner = await call('POST', '/v1/partners', {
      name: 'Bench MSP',
      timezone: 'Europe/Berlin',
      acronis: { baseUrl: sims.urls.acronis, clientId: DEFAULT_CREDENTIALS.acronis.clientId, clientSecret: DEFAULT_CREDENTIALS.acronis.clientSecret },
      psa: { kind: 'connectwise-manage', baseUrl: sims.urls['connectwise-manage'], ...DEFAULT_CREDENTIALS['connectwise-manage'] },
      rmm: { kind: 'connectwise-automate', baseUrl: sims.urls.automate, ...DEFAULT_CREDENTIALS.automate },
    });
    await call('PUT', `/v1/partners/${partner.id}/settings`, { agents: { enabled: true } });
    const computerIds: number[] = [];
    for (let index = 1; index <= CLIENTS; index++) {
      const name = `Bench Customer ${String(index).padStart(2, '0')}`;
      await acronis.createTenant({ name, kind: 'customer', parent_id: partnerTenantId });
      const client = await automate.createClient({ Name: name });
      const location = await automate.createLocation({ Name: 'Main Office', ClientId: client.Id });
      for (let computer = 1; computer <= COMPUTERS_PER_CLIENT; computer++) {
        const created = await sim('automate', 'POST', '/computers', { clientId: client.Id, locationId: location.Id, name: `BC${index}-PC-${computer}`, os: 'Microsoft Windows 11 Pro x64' });
        computerIds.push(created.Id);
      }
      await call('POST', `/v1/partners/${partner.id}/rmm-clients/${client.Id}/tenant`);
    }

    for (const vendor of ['acronis', 'automate'] as const) await sim(vendor, 'DELETE', '/requests');
    const started = performance.now();
    const { deploymentId } = await call('POST', `/v1/partners/${partner.id}/agents/deployments`, { action: 'install', computerIds });
    let deployment: { status: string; counts: { succeeded: number } } | undefined;
    for (const deadline = Date.now() + DONE_WITHIN_MS; deployment?.status !== 'done'; await delay(250)) {
      if (Date.now() > deadline) throw new Error(`the deployment did not finish within ${DONE_WITHIN_MS / 60_000} minutes: ${JSON.stringify(deployment?.counts)}`);
      deployment = await call('GET', `/v1/partners/${partner.id}/agents/deployments/${deploymentId}`);
    }
    const seconds = (performance.now() - started) / 1000;
    if (deployment.counts.succeeded !== computerIds.length) throw new Error(`not every computer succeeded: ${JSON.stringify(deployment.counts)}`);

    const calls = (await sim('acronis', 'GET', '/requests')).length + (await sim('automate', 'GET', '/requests')).length;
    const runs = ((await sim('automate', 'GET', '/state')).scriptRuns as { scriptId: number; outcome: string | null }[]).filter((run) => INSTALL_SCRIPTS.has(run.scriptId) && run.outcome !== 'Skipped');
    return {
      seconds: seconds.toFixed(1),
      scripts_per_computer: (runs.length / computerIds.length).toFixed(2),
      calls_per_computer: (calls / computerIds.length).toFixed(2),
    };
  } finally {
    for (const step of cleanup) await step().catch(() => undefined);
  }
}
