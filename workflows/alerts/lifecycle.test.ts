import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTimeSkippingEngine, type TimeSkippingEngine } from '../../test/time-skipping-engine.ts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Alert } from '../../clients/acronis/types.ts';
import { replaceAlertMappings } from '../../db/alert-mappings.ts';
import { upsertCompanyMapping } from '../../db/mappings.ts';
import { readSettings, writeSettings } from '../../db/settings.ts';
import { latestTicketLink } from '../../db/ticket-links.ts';
import { identityKey, identityOf, nanosOf, ticketReference } from '../../domain/alert-tickets.ts';
import { mergeSettings, settingsSchema } from '../../domain/settings.ts';
import type { RunningSimulators } from '../../simulators/index.ts';
import { AlertWorkflows } from '../../temporal/alert-workflows.ts';
import { acronisOf, alertTicketOf, CLOSED_STATUS, customerTenant, machine, psaOf, psaSeederOf, psaUrlOf, raiseBackupFailure, resolveAlert } from '../../test/alert-world.ts';
import { createTestDatabase, type TestDatabase } from '../../test/database.ts';
import { eventually } from '../../test/eventually.ts';
import { testKeyring } from '../../test/fixtures/test-keys.ts';
import { seedPartner } from '../../test/partners.ts';
import { startTestSimulators } from '../../test/simulators.ts';
import { alertLifecycleStateQuery, alertWorkflowId, type AlertChange } from '../contracts/alerts.ts';

/**
 * An alert identity's lifecycle over days, on the time-skipping test server, with its real
 * activities against the simulated Acronis and ConnectWise Manage and a real PostgreSQL: the
 * lifecycle ends after its idle window, and the identity's next alert, after the ticket has been
 * closed for `newTicketAfterDays`, opens a new ticket.
 */

const keyring = testKeyring();
const DAY_MS = 86_400_000;
let env: TestWorkflowEnvironment;
let engine: TimeSkippingEngine;
let sims: RunningSimulators;
let database: TestDatabase;

beforeAll(async () => {
  [sims, database] = await Promise.all([startTestSimulators(), createTestDatabase()]);
  engine = await startTimeSkippingEngine(database.db, keyring);
  env = engine.env;
});
afterAll(async () => {
  await engine?.close();
  await database?.drop();
  await sims?.close();
});
beforeEach(() => sims.reset());

function changeOf(alert: Alert): AlertChange {
  return { alertId: alert.id, updatedNs: nanosOf(alert.updatedAt).toString(), occurrenceNs: nanosOf(alert.receivedAt).toString(), resolved: alert.deletedAt !== undefined };
}

describe('an alert lifecycle over days (time-skipping test server)', () => {
  it('ends after its idle window, and the next alert opens a new ticket once the old one has been closed for newTicketAfterDays', async () => {
    const kind = 'connectwise-manage';
    const acronis = acronisOf(sims);
    const seeder = psaSeederOf(sims, kind);
    const partnerId = await seedPartner(database.db, keyring, undefined, { psaKind: kind, urls: { acronis: sims.urls.acronis, psa: psaUrlOf(sims, kind) } });
    const stored = await readSettings(database.db, partnerId);
    await writeSettings(database.db, partnerId, settingsSchema.parse(mergeSettings(stored!.settings, { tickets: { enabled: true, newTicketAfterDays: 7, autoClose: { enabled: true, status: CLOSED_STATUS[kind] } } })));
    await replaceAlertMappings(database.db, partnerId, [{ alertType: '*', enabled: true, ticket: alertTicketOf(await seeder.ticketRouting()) }]);
    const companyId = await seeder.createCompany('Northwind Traders');
    const tenantId = await customerTenant(acronis, 'Northwind Traders');
    await upsertCompanyMapping(database.db, partnerId, companyId, tenantId);

    const server = machine('NW-SQL01');
    const raised = await raiseBackupFailure(acronis, tenantId, server);
    const identity = identityOf(raised, companyId);
    const key = identityKey(identity);
    const gateway = new AlertWorkflows(env.client);
    const owner = { partnerId, psaKind: kind } as const;
    const link = () => latestTicketLink(database.db, partnerId, key);

    await gateway.deliver(owner, identity, changeOf(raised));
    await eventually('the ticket', link, (current) => current?.state === 'open');
    await resolveAlert(sims, raised.id);
    await gateway.deliver(owner, identity, changeOf(await acronis.getAlert(raised.id, { showDeleted: true })));
    const closed = await eventually('the ticket closed', link, (current) => current?.state === 'closed');
    const handle = env.client.workflow.getHandle(alertWorkflowId(partnerId, key));
    expect(await handle.query(alertLifecycleStateQuery)).toMatchObject({ phase: 'closed', ticket: { generation: 1 }, changes: 2 });

    // A day without work ends the lifecycle; ticket_links keeps the ticket.
    await env.sleep(DAY_MS + 60_000);
    await expect(handle.result()).resolves.toMatchObject({ phase: 'closed', ticket: { generation: 1 } });

    await env.sleep(7 * DAY_MS);
    const again = await raiseBackupFailure(acronis, tenantId, server);
    await gateway.deliver(owner, identity, changeOf(again));
    const renewed = (await eventually('a new ticket', link, (current) => current?.generation === 2 && current.state === 'open'))!;
    expect(renewed.ticketId).not.toBe(closed!.ticketId);
    expect(renewed.createdAt.getTime() - closed!.closedAt!.getTime()).toBeGreaterThanOrEqual(7 * DAY_MS);
    const psa = psaOf(sims, kind);
    await expect(psa.findTicket(ticketReference(key, 1))).resolves.toMatchObject({ closed: true });
    await expect(psa.findTicket(ticketReference(key, 2))).resolves.toMatchObject({ id: renewed.ticketId, closed: false });
  });
});
