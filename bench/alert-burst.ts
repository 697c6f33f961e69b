/**
 * `npm run bench -- alert-burst`: how fast a burst of Acronis alerts becomes PSA tickets (F5.7), on
 * one machine: a fresh Temporal dev server (in memory), embedded PostgreSQL, the simulated vendors in
 * their own process, the engine's worker in this one. Poll interval 1 s, storm guard off.
 *
 * - `ceiling_per_s`: signal-with-starts per second the same Temporal server takes from a bare client
 *   with nothing else running (measured first): the physical ceiling when each alert identity is a workflow.
 * - Burst 1, 100 alerts over 20 customers raised within 10 s: `p50_s`, `p95_s`, `max_s` from each
 *   alert's creation in Acronis to its ticket's in ConnectWise Manage.
 * - Burst 2, 1,000 alerts over 100 customers raised within 10 s: `drain_s` (first alert raised to
 *   last ticket made), `drain_per_s`, `tickets_per_identity` (tickets in the PSA per alert identity),
 *   `psa_calls_per_ticket` (ConnectWise Manage requests during the burst per ticket).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Client } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { AcronisClient } from '../clients/acronis/client.ts';
import type { Alert } from '../clients/acronis/types.ts';
import { ConcurrencyLimit } from '../clients/http.ts';
import { replaceAlertMappings } from '../db/alert-mappings.ts';
import { connectDatabase } from '../db/connection.ts';
import { upsertCompanyMapping } from '../db/mappings.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { readSettings, writeSettings } from '../db/settings.ts';
import { demoAlertTicket } from '../dev/demo-world.ts';
import { startPostgresServer } from '../dev/postgres-server.ts';
import { resolveTemporalExecutable } from '../dev/temporal-binaries.ts';
import { identityKey, identityOf, millisOfNanos, nanosOf, ticketReference } from '../domain/alert-tickets.ts';
import { mergeSettings, settingsSchema } from '../domain/settings.ts';
import { ConnectWiseManagePsa } from '../psa/connectwise-manage.ts';
import { Keyring } from '../security/keyring.ts';
import { DEFAULT_CREDENTIALS } from '../simulators/default-credentials.ts';
import { SIMULATED_VENDORS, SIMULATOR_PORTS, type SimulatedVendor } from '../simulators/ports.ts';
import { connectWiseManageConfig, connectWiseManageSeeder } from '../simulators/seeding/connectwise-manage.ts';
import { encryptedDataConverter } from '../temporal/data-converter.ts';
import { createEngineWorker } from '../temporal/engine-worker.ts';
import { PartnerWorkflows } from '../temporal/partner-workflows.ts';
import { UNPACED_CONNECTWISE_MANAGE } from './stack.ts';
import { ENGINE_SEARCH_ATTRIBUTES } from '../workflows/search-attributes.ts';
import { freePort } from '../test/free-port.ts';
import { seedPartner } from '../test/partners.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CEILING_STARTS = 1_000;
const CEILING_CONCURRENCY = 32;
const RAISE_CONCURRENCY = 16;
const RAISE_WITHIN_MS = 10_000;
const DRAIN_DEADLINE_MS = 15 * 60_000;

interface Customer {
  companyId: string;
  tenantId: string;
}

interface Raised {
  alertId: string;
  companyId: string;
}

/** Runs `work` over `items`, at most `concurrency` at a time. */
async function each<T, R>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const limit = new ConcurrencyLimit(concurrency);
  return Promise.all(items.map((item, index) => limit.run(() => work(item, index))));
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

/** `npm run sim` on free ports, in a process of its own (as the vendors are elsewhere). */
async function startSimulatorProcess(): Promise<{ urls: Record<SimulatedVendor, string>; child: ChildProcess }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  const urls = {} as Record<SimulatedVendor, string>;
  for (const vendor of SIMULATED_VENDORS) {
    const port = await freePort();
    env[SIMULATOR_PORTS[vendor].variable] = String(port);
    urls[vendor] = `http://localhost:${port}`;
  }
  const child = spawn(process.execPath, [join(ROOT, 'simulators/main.ts')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the simulators did not start:\n${output}`)), 60_000);
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('simulators listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`the simulators exited (${code}):\n${output}`)));
  });
  return { urls, child };
}

/** Signal-with-starts per second from a bare client, to a task queue no worker polls. */
async function ceilingPerSecond(client: Client): Promise<number> {
  const started = performance.now();
  await each(Array.from({ length: CEILING_STARTS }, (_, index) => index), CEILING_CONCURRENCY, (index) =>
    client.workflow.signalWithStart('ceilingProbe', { workflowId: `bench/ceiling/${index}`, taskQueue: 'bench-ceiling', signal: 'probe', signalArgs: [] }),
  );
  return CEILING_STARTS / ((performance.now() - started) / 1000);
}

export async function runAlertBurst(): Promise<Record<string, number>> {
  const root = mkdtempSync(join(tmpdir(), 'bench-alert-burst-'));
  const stops: (() => Promise<unknown> | void)[] = [() => rmSync(root, { recursive: true, force: true })];
  const stop = async () => {
    for (const step of stops.reverse()) await Promise.resolve(step()).catch(() => undefined);
  };
  try {
    const postgres = await startPostgresServer({ dataDir: join(root, 'pg'), port: await freePort() });
    stops.push(() => postgres.stop());
    await postgres.ensureDatabase('bench');
    const db = connectDatabase(postgres.url('bench'), { maxConnections: 20 });
    stops.push(() => db.destroy());
    await migrateToLatest(db);

    const temporal = await TestWorkflowEnvironment.createLocal({ server: { executable: resolveTemporalExecutable('dev-server').executable, searchAttributes: ENGINE_SEARCH_ATTRIBUTES } });
    stops.push(() => temporal.teardown());
    const ceiling = await ceilingPerSecond(temporal.client);

    const { urls, child } = await startSimulatorProcess();
    stops.push(() => void child.kill('SIGTERM'));
    const acronis = new AcronisClient({ baseUrl: urls.acronis, ...DEFAULT_CREDENTIALS.acronis });
    const psa = new ConnectWiseManagePsa(connectWiseManageConfig(urls['connectwise-manage']));
    const seeder = connectWiseManageSeeder(urls['connectwise-manage']);

    // One partner on ConnectWise Manage: ticket sync on, a `*` mapping, 100 mapped customers.
    const keyring = Keyring.fromBase64(randomBytes(32).toString('base64'));
    const partnerName = 'Bench MSP';
    const partnerId = await seedPartner(db, keyring, partnerName, { psaKind: 'connectwise-manage', urls: { acronis: urls.acronis, psa: urls['connectwise-manage'] } });
    const stored = await readSettings(db, partnerId);
    await writeSettings(db, partnerId, settingsSchema.parse(mergeSettings(stored!.settings, { tickets: { enabled: true, pollSeconds: 1, storm: null } })));
    await replaceAlertMappings(db, partnerId, [{ alertType: '*', enabled: true, ticket: demoAlertTicket(await psa.ticketFields()) }]);
    const { tenant_id: partnerTenantId } = await acronis.getApiClient();
    const customers: Customer[] = await each(Array.from({ length: 100 }, (_, index) => index), 8, async (index) => {
      const name = `Bench Customer ${String(index).padStart(3, '0')}`;
      const companyId = await seeder.createCompany(name);
      const { id: tenantId } = await acronis.createTenant({ name, kind: 'customer', parent_id: partnerTenantId, language: 'en' });
      await upsertCompanyMapping(db, partnerId, companyId, tenantId);
      return { companyId, tenantId };
    });

    const client = new Client({ connection: temporal.connection, dataConverter: encryptedDataConverter(keyring) });
    // The drain is the engine's: under ConnectWise Manage's window (500 a minute) 1,000 tickets at two calls each take 4 minutes whatever the engine does.
    const worker = await createEngineWorker({ connection: temporal.nativeConnection, namespace: 'default', db, keyring, client, partnerClients: UNPACED_CONNECTWISE_MANAGE });
    const running = worker.run();
    stops.push(async () => {
      worker.shutdown();
      await running;
    });
    await new PartnerWorkflows(client, 'http://localhost:8233').startSupervisor({ id: partnerId, name: partnerName, psaKind: 'connectwise-manage' });
    await until('the first scan of the alert feed', async () => (await simRequests(urls.acronis)).some((entry) => entry.method === 'GET' && entry.path.endsWith('/alert_manager/v1/alerts')));

    const ticketsSoFar = () => psa.client.countTickets();
    /** Raises `count` BackupFailed alerts, spread evenly over RAISE_WITHIN_MS across the customers. */
    const burst = async (label: string, count: number, over: Customer[]): Promise<Raised[]> => {
      const startedAt = performance.now();
      return each(Array.from({ length: count }, (_, index) => index), RAISE_CONCURRENCY, async (index) => {
        const due = startedAt + (index * RAISE_WITHIN_MS) / count;
        if (performance.now() < due) await delay(due - performance.now());
        const customer = over[index % over.length]!;
        const alertId = await acronis.raiseAlert({
          type: 'BackupFailed',
          tenantId: customer.tenantId,
          details: { planId: 'bench-plan', planName: 'Bench plan', resourceId: randomUUID(), resourceName: `${label}-${String(index).padStart(4, '0')}`, error: { text: 'simulated failure' } },
        });
        return { alertId, companyId: customer.companyId };
      });
    };
    const t0 = Date.now();
    const drain = async (expected: number) => until(`${expected} tickets`, async () => {
      const made = await ticketsSoFar();
      if (process.env.BENCH_TRACE) {
        const started = (await client.workflow.count('WorkflowType = "alertLifecycle"')).count;
        const links = (await db.selectFrom('ticket_links').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n;
        console.error(`${((Date.now() - t0) / 1000).toFixed(1)}s lifecycles=${started} links=${links} tickets=${made}`);
      }
      return made >= expected;
    }, DRAIN_DEADLINE_MS);

    // Burst 1: latency.
    const first = await burst('B1', 100, customers.slice(0, 20));
    await drain(100);
    // Burst 2: throughput; the PSA's request log counts the calls it costs.
    await fetch(`${urls['connectwise-manage']}/_sim/requests`, { method: 'DELETE' });
    const second = await burst('B2', 1_000, customers);
    await drain(1_100);
    const calls = (await simRequests(urls['connectwise-manage'])).filter((entry) => !entry.path.endsWith('/service/tickets/count')).length;

    const alerts = new Map<string, Alert>();
    for await (const alert of acronis.listAlerts({ order: 'asc(created_at)' })) alerts.set(alert.id, alert);
    const state = (await (await fetch(`${urls['connectwise-manage']}/_sim/state`)).json()) as { tickets: { externalXRef: string | null; enteredAtMs: number }[] };
    const ticketsByReference = new Map<string, number[]>();
    for (const ticket of state.tickets) if (ticket.externalXRef) ticketsByReference.set(ticket.externalXRef, [...(ticketsByReference.get(ticket.externalXRef) ?? []), ticket.enteredAtMs]);
    const ticketOf = ({ alertId, companyId }: Raised) => {
      const alert = alerts.get(alertId)!;
      const made = ticketsByReference.get(ticketReference(identityKey(identityOf(alert, companyId)), 1)) ?? [];
      return { createdMs: millisOfNanos(nanosOf(alert.createdAt)), made };
    };

    const latencies = first.map(ticketOf).map(({ createdMs, made }) => (Math.min(...made) - createdMs) / 1000).sort((a, b) => a - b);
    const drained = second.map(ticketOf);
    const drainS = (Math.max(...drained.flatMap(({ made }) => made)) - Math.min(...drained.map(({ createdMs }) => createdMs))) / 1000;
    return {
      p50_s: quantile(latencies, 0.5),
      p95_s: quantile(latencies, 0.95),
      max_s: latencies.at(-1)!,
      drain_s: drainS,
      drain_per_s: second.length / drainS,
      ceiling_per_s: ceiling,
      tickets_per_identity: drained.reduce((sum, { made }) => sum + made.length, 0) / drained.length,
      psa_calls_per_ticket: calls / second.length,
    };
  } finally {
    await stop();
  }
}

async function simRequests(url: string): Promise<{ method: string; path: string }[]> {
  return (await fetch(`${url}/_sim/requests`)).json() as Promise<{ method: string; path: string }[]>;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(250);
  }
}
