import { NativeConnection } from '@temporalio/worker';
import { startNodeProcess, type NodeProcess } from '../dev/node-process.ts';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
// First: the admin API's schemas extend zod before anything else builds a schema with it.
import { startApiHarness, type ApiHarness } from './api-harness.ts';
import { identityKey, identityOf, ticketReference } from '../domain/alert-tickets.ts';
import type { RunningSimulators } from '../simulators/index.ts';
import { createEngineWorker, type EngineWorker } from '../temporal/engine-worker.ts';
import { buildTicketWorld } from './alert-api-world.ts';
import { machine, raiseBackupFailure } from './alert-world.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { eventually } from './eventually.ts';
import { TEST_KEY, testKeyring } from './fixtures/test-keys.ts';
import { startTestSimulators } from './simulators.ts';

/**
 * F5.6 and F9.3 with a real crash: the engine's worker process (`npm run worker`) is killed while
 * ConnectWise Manage holds the answer to a ticket create it has already stored; another worker takes
 * over. The customer still gets exactly one ticket, and ticket_links records it.
 */

const keyring = testKeyring();
let database: TestDatabase;
let sims: RunningSimulators;
let api: ApiHarness;
let workerProcess: NodeProcess | undefined;
let takeover: { worker: EngineWorker; running: Promise<void>; connection: NativeConnection } | undefined;

/** `npm run worker` against the test's PostgreSQL and Temporal; resolves once it polls. */
function startWorkerProcess(): Promise<NodeProcess> {
  return startNodeProcess('worker.ts', {
    env: { ...process.env, DATABASE_URL: database.url, TEMPORAL_ADDRESS: inject('temporalAddress'), ENCRYPTION_KEY: TEST_KEY, LOG_LEVEL: 'info' },
    readyMessage: 'worker running',
  });
}

beforeAll(async () => {
  [database, sims] = await Promise.all([createTestDatabase(), startTestSimulators()]);
  api = await startApiHarness(database.db, keyring, { runWorker: false });
  workerProcess = await startWorkerProcess();
}, 120_000);

afterAll(async () => {
  await workerProcess?.stop('SIGKILL');
  takeover?.worker.shutdown();
  await takeover?.running;
  await takeover?.connection.close();
  await api.close();
  await sims.close();
  await database.drop();
});

it('makes exactly one ticket when the worker dies between the create and its record', { timeout: 180_000 }, async () => {
  const world = await buildTicketWorld(api, sims, 'connectwise-manage');
  // ConnectWise Manage stores the ticket, then takes 8 s to answer (shorter than the engine's patience).
  await fetch(`${sims.urls['connectwise-manage']}/_sim/ticket-create-delay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ delayMs: 8_000 }) });
  const alert = await raiseBackupFailure(world.acronis, world.customer.tenantId, machine('EXCH01'));
  const reference = ticketReference(identityKey(identityOf(alert, world.customer.companyId)), 1);

  await eventually('the ticket in ConnectWise Manage', () => world.seeder.countTickets(reference), (count) => count === 1, 60_000);
  const [pending] = await world.tickets();
  expect(pending).toMatchObject({ state: 'pending', ticketId: null });
  await workerProcess!.stop('SIGKILL');

  const connection = await NativeConnection.connect({ address: inject('temporalAddress') });
  const worker = await createEngineWorker({ connection, namespace: 'default', db: database.db, keyring, client: api.temporal });
  takeover = { worker, running: worker.run(), connection };

  const created = await world.ticketOf(alert);
  expect(created.ticketId).toEqual(expect.any(String));
  await expect(world.seeder.countTickets(reference)).resolves.toBe(1);
  await expect(world.psa.findTicket(reference)).resolves.toMatchObject({ id: created.ticketId });
});
