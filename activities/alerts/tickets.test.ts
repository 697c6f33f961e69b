import { Client, Connection } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import type { Alert } from '../../clients/acronis/types.ts';
import { AutotaskClient } from '../../clients/autotask/client.ts';
import { PartnerClientsCache } from '../../clients/partner-clients.ts';
import { replaceAlertMappings } from '../../db/alert-mappings.ts';
import { replaceProductMappings, upsertCompanyMapping } from '../../db/mappings.ts';
import { readSettings, writeSettings } from '../../db/settings.ts';
import { claimTicket, latestTicketLink, updateTicketLink } from '../../db/ticket-links.ts';
import type { AlertTicketFields } from '../../domain/alert-mappings.ts';
import { identityKey, identityOf, nanosOf, ticketReference } from '../../domain/alert-tickets.ts';
import type { PsaKind } from '../../domain/partner.ts';
import { mergeSettings, settingsSchema, type SettingsPatch } from '../../domain/settings.ts';
import type { RunningSimulators } from '../../simulators/index.ts';
import { autotaskCredentials } from '../../simulators/seeding/autotask.ts';
import { AlertWorkflows } from '../../temporal/alert-workflows.ts';
import { encryptedDataConverter } from '../../temporal/data-converter.ts';
import { acronisOf, alertTicketOf, CLOSED_STATUS, createBoard, customerTenant, deleteBoard, machine, psaOf, psaSeederOf, psaUrlOf, raiseBackupFailure, resolveAlert, setAutotaskQueueActive } from '../../test/alert-world.ts';
import { createTestDatabase, type TestDatabase } from '../../test/database.ts';
import { testKeyring } from '../../test/fixtures/test-keys.ts';
import { seedPartner } from '../../test/partners.ts';
import { addFault, requestLog, startTestSimulators } from '../../test/simulators.ts';
import type { AlertChange, AlertWork, TicketOutcome } from '../../workflows/contracts/alerts.ts';
import { createAlertActivities } from './index.ts';
import type { AlertActivities } from './types.ts';

/**
 * The ticket work of one alert identity, activity by activity, against the simulated Acronis and
 * PSAs over HTTP and a real PostgreSQL: what an MSP would see in its PSA after each alert change.
 */

const keyring = testKeyring();
const DAY_MS = 86_400_000;
let sims: RunningSimulators;
let database: TestDatabase;
let connection: Connection;
let activities: AlertActivities;

beforeAll(async () => {
  [sims, database] = await Promise.all([startTestSimulators(), createTestDatabase()]);
  connection = await Connection.connect({ address: inject('temporalAddress') });
  const temporal = new Client({ connection, dataConverter: encryptedDataConverter(keyring) });
  activities = createAlertActivities({ db: database.db, clients: new PartnerClientsCache(database.db, keyring), workflows: new AlertWorkflows(temporal) });
});
afterAll(async () => {
  await connection?.close();
  await database?.drop();
  await sims?.close();
});
beforeEach(() => sims.reset());

/** As a worker runs it: an attempt with the lifecycle's two minutes to do its work. */
function run<A extends unknown[], R>(activity: (...args: A) => Promise<R>, ...args: A): Promise<R> {
  return new MockActivityEnvironment({ startToCloseTimeoutMs: 120_000, currentAttemptScheduledTimestampMs: Date.now() }).run(activity, ...args);
}

async function configure(partnerId: string, patch: SettingsPatch): Promise<void> {
  const current = await readSettings(database.db, partnerId);
  await writeSettings(database.db, partnerId, settingsSchema.parse(mergeSettings(current!.settings, patch)));
}

function changeOf(alert: Alert): AlertChange {
  return { alertId: alert.id, updatedNs: nanosOf(alert.updatedAt).toString(), occurrenceNs: nanosOf(alert.receivedAt).toString(), resolved: alert.deletedAt !== undefined };
}

/** A partner with ticket sync on, auto-close on, a `*` mapping, and one mapped customer. */
async function ticketWorld(kind: PsaKind) {
  const acronis = acronisOf(sims);
  const seeder = psaSeederOf(sims, kind);
  const psa = psaOf(sims, kind);
  const partnerId = await seedPartner(database.db, keyring, undefined, { psaKind: kind, urls: { acronis: sims.urls.acronis, psa: psaUrlOf(sims, kind) } });
  await configure(partnerId, { tickets: { enabled: true, autoClose: { enabled: true, status: CLOSED_STATUS[kind] } } });
  const routing = await seeder.ticketRouting();
  const ticket = alertTicketOf(routing);
  await replaceAlertMappings(database.db, partnerId, [{ alertType: '*', enabled: true, ticket }]);
  const companyName = `Contoso ${partnerId.slice(0, 6)}`;
  const companyId = await seeder.createCompany(companyName);
  const tenantId = await customerTenant(acronis, companyName);
  await upsertCompanyMapping(database.db, partnerId, companyId, tenantId);

  /** What the lifecycle would hand the activity for this alert (as it is now) at `atMs`. */
  const handle = (alert: Alert, atMs = Date.now()): Promise<TicketOutcome> =>
    run(activities.handleAlertWork, { partnerId, identity: identityOf(alert, companyId), work: { kind: 'change', change: changeOf(alert) }, atMs });
  const retry = (alert: Alert): Promise<TicketOutcome> => run(activities.handleAlertWork, { partnerId, identity: identityOf(alert, companyId), work: { kind: 'retry' } as AlertWork, atMs: Date.now() });
  const link = (alert: Alert) => latestTicketLink(database.db, partnerId, identityKey(identityOf(alert, companyId)));
  const current = (alert: Alert) => acronis.getAlert(alert.id, { showDeleted: true });
  return { kind, acronis, seeder, psa, partnerId, companyId, companyName, tenantId, routing, ticket, handle, retry, link, current };
}

describe.each<PsaKind>(['connectwise-manage', 'autotask'])('an alert identity\'s ticket on %s', (kind) => {
  it('is created by the mapping, noted once per repeat, closed with a note on resolve, reopened by a repeat', async () => {
    const world = await ticketWorld(kind);
    const products = kind === 'autotask' ? { product: await world.seeder.createProduct('Acronis Cyber Protect') } : undefined;
    if (products) {
      // Autotask files the ticket under the customer's contract for the mapped Acronis services (F5.1).
      await replaceProductMappings(database.db, world.partnerId, [{ offeringItem: 'pw_base_workstations', psaProductId: products.product, free: false }]);
      await world.seeder.createAgreement(world.companyId, [{ productId: products.product, quantity: 5, billing: 'prepaid' }], '2026-01-01');
    }
    const raised = await raiseBackupFailure(world.acronis, world.tenantId, machine('FILESRV01'));

    const created = await world.handle(raised);
    expect(created).toMatchObject({ phase: 'open', action: 'created', reason: null });
    const reference = ticketReference(identityKey(identityOf(raised, world.companyId)), 1);
    const ticket = await world.psa.findTicket(reference);
    expect(ticket).toMatchObject({ id: created.ticket!.ticketId, closed: false });
    await expect(world.seeder.countTickets(reference)).resolves.toBe(1);
    expect(await world.link(raised)).toMatchObject({ state: 'open', ticketId: ticket!.id, alertType: 'BackupFailed', resourceName: 'FILESRV01', psaCompanyId: world.companyId, lastError: null });
    // Handing the same change again (a retry, a second delivery) changes nothing.
    await expect(world.handle(raised)).resolves.toMatchObject({ action: 'none' });
    await expect(world.seeder.countTickets(reference)).resolves.toBe(1);

    const repeated = await raiseBackupFailure(world.acronis, world.tenantId, { id: raised.details.resourceId!, name: 'FILESRV01' });
    expect(repeated.id).toBe(raised.id);
    await expect(world.handle(repeated)).resolves.toMatchObject({ phase: 'open', action: 'noted' });
    await expect(world.handle(repeated)).resolves.toMatchObject({ action: 'none' });
    expect((await world.seeder.ticketNotes(ticket!.id)).filter((text) => text.includes('occurred again'))).toHaveLength(1);

    await resolveAlert(sims, raised.id);
    await expect(world.handle(await world.current(raised))).resolves.toMatchObject({ phase: 'closed', action: 'closed' });
    await expect(world.psa.findTicket(reference)).resolves.toMatchObject({ closed: true, status: CLOSED_STATUS[kind] });
    expect((await world.seeder.ticketNotes(ticket!.id)).some((text) => text.includes('was resolved'))).toBe(true);

    const again = await raiseBackupFailure(world.acronis, world.tenantId, { id: raised.details.resourceId!, name: 'FILESRV01' });
    await expect(world.handle(again)).resolves.toMatchObject({ phase: 'open', action: 'reopened', ticket: { ticketId: ticket!.id, generation: 1 } });
    await expect(world.psa.findTicket(reference)).resolves.toMatchObject({ closed: false });
    expect(await world.link(raised)).toMatchObject({ state: 'open', notes: 3, closedAt: null });

    if (products) {
      const [stored] = await new AutotaskClient(autotaskCredentials(sims.urls.autotask)).queryAll('Tickets', [{ op: 'eq', field: 'externalID', value: reference }]);
      expect(stored?.contractID).toEqual(expect.any(Number));
    }
  });

  it('opens a new ticket when the old one has been closed for newTicketAfterDays', async () => {
    const world = await ticketWorld(kind);
    await configure(world.partnerId, { tickets: { newTicketAfterDays: 3 } });
    const server = machine('SQL01');
    const raised = await raiseBackupFailure(world.acronis, world.tenantId, server);
    const startedAt = Date.now();
    await world.handle(raised, startedAt);
    await resolveAlert(sims, raised.id);
    await world.handle(await world.current(raised), startedAt);

    const soon = await raiseBackupFailure(world.acronis, world.tenantId, server);
    await expect(world.handle(soon, startedAt + 2 * DAY_MS)).resolves.toMatchObject({ action: 'reopened', ticket: { generation: 1 } });
    await resolveAlert(sims, raised.id);
    const closedAt = startedAt + 2 * DAY_MS;
    await world.handle(await world.current(raised), closedAt);

    const late = await raiseBackupFailure(world.acronis, world.tenantId, server);
    const outcome = await world.handle(late, closedAt + 3 * DAY_MS);
    expect(outcome).toMatchObject({ phase: 'open', action: 'opened a new ticket', ticket: { generation: 2 } });
    const key = identityKey(identityOf(raised, world.companyId));
    await expect(world.psa.findTicket(ticketReference(key, 1))).resolves.toMatchObject({ closed: true });
    await expect(world.psa.findTicket(ticketReference(key, 2))).resolves.toMatchObject({ id: outcome.ticket!.ticketId, closed: false });
  });

  it('makes exactly one ticket when the create commits and its answer is lost', async () => {
    const world = await ticketWorld(kind);
    const raised = await raiseBackupFailure(world.acronis, world.tenantId, machine('NAS01'));
    const createPath = kind === 'connectwise-manage' ? '/service/tickets$' : '/Tickets$';
    await addFault(psaUrlOf(sims, kind), { match: createPath, method: 'POST', kind: 'timeout-after-commit', times: 1 });

    await expect(world.handle(raised)).resolves.toMatchObject({ phase: 'open', action: 'created' });
    const reference = ticketReference(identityKey(identityOf(raised, world.companyId)), 1);
    await expect(world.seeder.countTickets(reference)).resolves.toBe(1);
    const creates = (await requestLog(psaUrlOf(sims, kind))).filter((entry) => entry.method === 'POST' && new RegExp(createPath).test(entry.path));
    expect(creates).toHaveLength(1);
  });

  it('after a create that never answered, only looks for the ticket until the PSA had time to finish it', async () => {
    const world = await ticketWorld(kind);
    const raised = await raiseBackupFailure(world.acronis, world.tenantId, machine('WS-17'));
    const key = identityKey(identityOf(raised, world.companyId));
    const linkKey = { partnerId: world.partnerId, identity: key, generation: 1 };
    // As a worker that died with its create in flight leaves it: claimed, the create started, no answer.
    await claimTicket(database.db, { ...linkKey, kind: 'alert', psaCompanyId: world.companyId, alertType: raised.type, resourceName: 'WS-17', alertId: raised.id, externalRef: ticketReference(key, 1), createdAtMs: Date.now() }, null, () => '');
    await updateTicketLink(database.db, linkKey, { createStartedAt: new Date() });

    const logBefore = (await requestLog(psaUrlOf(sims, kind))).length;
    await expect(world.handle(raised)).rejects.toMatchObject({ type: 'TicketCreateUnanswered', nonRetryable: false });
    expect((await requestLog(psaUrlOf(sims, kind))).slice(logBefore).filter((entry) => entry.method === 'POST' && !entry.path.endsWith('/query'))).toEqual([]);

    await updateTicketLink(database.db, linkKey, { createStartedAt: new Date(Date.now() - 4 * 60_000) });
    await expect(world.handle(raised)).resolves.toMatchObject({ phase: 'open', action: 'created' });
    await expect(world.seeder.countTickets(ticketReference(key, 1))).resolves.toBe(1);
    expect(await world.link(raised)).toMatchObject({ createStartedAt: null });
  });

  it('is failed with the PSA\'s reason when the board or queue is gone, and created once the mapping is fixed', async () => {
    const world = await ticketWorld(kind);
    let broken: AlertTicketFields;
    if (kind === 'connectwise-manage') {
      const boardId = await createBoard(sims, 'Acronis alerts');
      const fields = await world.psa.ticketFields();
      const board = fields.kind === 'connectwise-manage' ? fields.boards.find((candidate) => candidate.id === boardId)! : undefined;
      broken = { boardId, statusId: board!.statuses.find((status) => !status.closed)!.id };
      await replaceAlertMappings(database.db, world.partnerId, [{ alertType: 'BackupFailed', enabled: true, ticket: broken }]);
      await deleteBoard(sims, boardId);
    } else {
      const queueId = (world.ticket as { queueId: number }).queueId;
      await setAutotaskQueueActive(sims, queueId, false);
    }
    const raised = await raiseBackupFailure(world.acronis, world.tenantId, machine('DC01'));

    const failed = await world.handle(raised);
    expect(failed).toMatchObject({ phase: 'failed', action: 'refused by the PSA' });
    expect(failed.reason).toMatch(kind === 'connectwise-manage' ? /ConnectWise Manage refused POST .*Service Board \d+ not found/ : /Autotask refused .*queueID/);
    expect(await world.link(raised)).toMatchObject({ state: 'failed', ticketId: null, lastError: failed.reason });

    if (kind === 'connectwise-manage') await replaceAlertMappings(database.db, world.partnerId, [{ alertType: 'BackupFailed', enabled: true, ticket: world.ticket }]);
    else await setAutotaskQueueActive(sims, (world.ticket as { queueId: number }).queueId, true);
    await expect(world.retry(raised)).resolves.toMatchObject({ phase: 'open', action: 'created' });
    expect(await world.link(raised)).toMatchObject({ state: 'open', lastError: null });
    await expect(world.seeder.countTickets(ticketReference(identityKey(identityOf(raised, world.companyId)), 1))).resolves.toBe(1);
  });
});

describe('the storm guard', () => {
  it('sends alerts past maxAlerts to one digest ticket of the customer, a note each', async () => {
    const world = await ticketWorld('connectwise-manage');
    await configure(world.partnerId, { tickets: { storm: { maxAlerts: 2, windowMinutes: 30 } } });
    const alerts = [];
    for (const name of ['WS-01', 'WS-02', 'WS-03', 'WS-04']) alerts.push(await raiseBackupFailure(world.acronis, world.tenantId, machine(name)));
    const at = Date.now();
    const outcomes = [];
    for (const alert of alerts) outcomes.push(await world.handle(alert, at));
    expect(outcomes.map((outcome) => outcome.phase)).toEqual(['open', 'open', 'in-storm-digest', 'in-storm-digest']);

    const [digest] = await database.db.selectFrom('ticket_links').selectAll().where('partner_id', '=', world.partnerId).where('kind', '=', 'digest').execute();
    expect(digest).toMatchObject({ psa_company_id: world.companyId, state: 'pending' });
    const startedAtMs = digest!.created_at.getTime();
    for (const alert of alerts.slice(2)) {
      const noted = await run(activities.noteStormAlert, { partnerId: world.partnerId, psaCompanyId: world.companyId, startedAtMs, windowMinutes: 30, work: { kind: 'change', change: changeOf(alert) } });
      expect(noted).toMatchObject({ phase: 'open', action: 'noted' });
    }
    const ticket = await world.psa.findTicket(digest!.external_ref);
    expect(ticket).toBeDefined();
    const notes = await world.seeder.ticketNotes(ticket!.id);
    expect(notes.filter((text) => /\[WS-0[34]\] Backup failed/.test(text))).toHaveLength(2);
    // Past the window, a customer's alerts get tickets of their own again.
    await expect(world.handle(await raiseBackupFailure(world.acronis, world.tenantId, machine('WS-05')), at + 31 * 60_000)).resolves.toMatchObject({ phase: 'open', action: 'created' });
  });
});
