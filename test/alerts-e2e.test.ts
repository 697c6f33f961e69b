import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../clients/acronis/types.ts';
import { AutotaskClient } from '../clients/autotask/client.ts';
import { ConnectWiseManageClient } from '../clients/connectwise-manage/client.ts';
import type { PsaKind } from '../domain/partner.ts';
import type { RunningSimulators } from '../simulators/index.ts';
import { autotaskCredentials } from '../simulators/seeding/autotask.ts';
import { connectWiseManageConfig } from '../simulators/seeding/connectwise-manage.ts';
import { buildTicketWorld, callOk, pickTicketFields, type Customer, type TicketItem, type TicketWorld } from './alert-api-world.ts';
import { CLOSED_STATUS, createBoard, customerTenant, deleteBoard, machine, psaUrlOf, raiseBackupFailure, resolveAlert, setAutotaskQueueActive, type Machine } from './alert-world.ts';
import { useApiWorld, type ApiHarness } from './api-harness.ts';
import { eventually } from './eventually.ts';
import { testKeyring } from './fixtures/test-keys.ts';
import { addFault, requestLog } from './simulators.ts';

/**
 * Alerts becoming tickets as an MSP lives it: the partner, its customer mappings, alert mappings
 * and settings through the admin API; alerts raised and resolved through Acronis's Alert Manager
 * API; the tickets as the PSA shows them. Real worker on the dev server, real PostgreSQL, the
 * simulated vendors over HTTP.
 */

const keyring = testKeyring();
let api: ApiHarness;
let sims: RunningSimulators;

useApiWorld(keyring, (world) => ({ sims, api } = world));

const call = (method: string, path: string, body?: unknown) => callOk(api, method, path, body);
const buildWorld = (kind: PsaKind, settings: Record<string, unknown> = {}) => buildTicketWorld(api, sims, kind, settings);
type World = TicketWorld;

/** Every alert ticket the PSA holds for this partner's customers, by our reference: how many tickets each identity has. */
async function ticketCountsByReference(world: World, references: string[]): Promise<number[]> {
  return Promise.all(references.map((reference) => world.seeder.countTickets(reference)));
}

async function raiseMany(world: World, customers: Customer[], count: number): Promise<{ alert: Alert; on: Machine }[]> {
  const raised = [];
  for (let index = 0; index < count; index++) {
    const on = machine(`WS-${String(index).padStart(3, '0')}`);
    raised.push({ alert: await raiseBackupFailure(world.acronis, customers[index % customers.length]!.tenantId, on), on });
  }
  return raised;
}

/** The ticket as the PSA itself stores it: board/queue, status, priority, company, contract. */
async function storedTicket(kind: PsaKind, ticketId: string): Promise<Record<string, unknown>> {
  if (kind === 'connectwise-manage') {
    const ticket = await new ConnectWiseManageClient(connectWiseManageConfig(sims.urls['connectwise-manage'])).getTicket(Number(ticketId));
    return { boardId: ticket.board?.id, statusId: ticket.status?.id, typeId: ticket.type?.id, priorityId: ticket.priority?.id, companyId: String(ticket.company?.id), summary: ticket.summary };
  }
  const ticket = (await new AutotaskClient(autotaskCredentials(sims.urls.autotask)).get('Tickets', Number(ticketId)))!;
  return { queueId: ticket.queueID, status: ticket.status, priority: ticket.priority, issueType: ticket.issueType, subIssueType: ticket.subIssueType, source: ticket.source, companyId: String(ticket.companyID), contractId: ticket.contractID, summary: ticket.title };
}

async function runningAlertWorkflows(partnerId: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const execution of api.temporal.workflow.list({ query: `PartnerId = "${partnerId}" AND Capability IN ("alerts", "alert") AND ExecutionStatus = "Running"` })) ids.push(execution.workflowId);
  return ids;
}

describe.each<PsaKind>(['connectwise-manage', 'autotask'])('alerts become tickets end to end on %s', (kind) => {
  it('by the mapping, with the company (and contract); a repeat adds a note; resolve closes with a note; a repeat reopens', async () => {
    const world = await buildWorld(kind);
    if (kind === 'autotask') {
      const product = await world.seeder.createProduct('Acronis Cyber Protect – Workstations');
      await call('PUT', `/v1/partners/${world.partnerId}/product-mappings`, [{ offeringItem: 'pw_base_workstations', psaProductId: product, free: false }]);
      await world.seeder.createAgreement(world.customer.companyId, [{ productId: product, quantity: 10, billing: 'prepaid' }], '2026-01-01');
    }
    const server = machine('FILESRV01');
    const raised = await raiseBackupFailure(world.acronis, world.customer.tenantId, server);

    const item = await world.ticketOf(raised);
    expect(item).toMatchObject({ alertType: 'BackupFailed', psaCompanyId: world.customer.companyId, resourceName: 'FILESRV01', kind: 'alert', generation: 1, lastError: null });
    expect(item.workflowId).toMatch(new RegExp(`^partner/${world.partnerId}/alert/${world.customer.companyId}/BackupFailed/`));
    expect(await storedTicket(kind, item.ticketId!)).toEqual({
      ...world.mapping,
      companyId: world.customer.companyId,
      summary: '[FILESRV01] Backup failed',
      ...(kind === 'autotask' ? { contractId: expect.any(Number) } : {}),
    });

    await raiseBackupFailure(world.acronis, world.customer.tenantId, server);
    await eventually('a note on the repeat', () => world.seeder.ticketNotes(item.ticketId!), (notes) => notes.some((text) => text.includes('occurred again')));

    await resolveAlert(sims, raised.id);
    await world.ticketOf(raised, (current) => current.state === 'closed');
    expect(await world.psa.findTicket(await ticketReferenceOf(world, item))).toMatchObject({ closed: true, status: CLOSED_STATUS[kind] });
    expect((await world.seeder.ticketNotes(item.ticketId!)).some((text) => text.includes('was resolved'))).toBe(true);

    await raiseBackupFailure(world.acronis, world.customer.tenantId, server);
    const reopened = await world.ticketOf(raised, (current) => current.state === 'open' && current.notes >= 3);
    expect(reopened).toMatchObject({ ticketId: item.ticketId, generation: 1 });
    expect((await world.tickets()).filter((current) => current.kind === 'alert')).toHaveLength(1);
  });

  // Autotask takes 3 requests per endpoint at a time: 20 creates hanging until the client gives up take over a minute.
  it('makes 20 tickets for 20 alerts when every create commits and its answer is lost', { timeout: 180_000 }, async () => {
    const world = await buildWorld(kind);
    const createPath = kind === 'connectwise-manage' ? '/service/tickets$' : '/Tickets$';
    await addFault(psaUrlOf(sims, kind), { match: createPath, method: 'POST', kind: 'timeout-after-commit', times: 20 });
    const second = await world.addCustomer();
    const raised = await raiseMany(world, [world.customer, second], 20);

    const items = await eventually('20 open tickets', () => world.tickets('?state=open'), (current) => current.length === 20, 150_000);
    expect(new Set(items.map((current) => current.alertId))).toEqual(new Set(raised.map(({ alert }) => alert.id)));
    expect(await ticketCountsByReference(world, await Promise.all(items.map((current) => ticketReferenceOf(world, current))))).toEqual(items.map(() => 1));
  });

  it('makes every ticket of 50 alerts raised during a PSA outage once it is over, none twice', async () => {
    const world = await buildWorld(kind);
    const customers = [world.customer, await world.addCustomer(), await world.addCustomer()];
    await addFault(psaUrlOf(sims, kind), { match: '.*', kind: 'status', status: 503 });
    const raised = await raiseMany(world, customers, 50);
    // The outage shows: every ticket waits, with the PSA's answer.
    const waiting = await eventually('50 tickets waiting out the outage', () => world.tickets('?state=pending'), (current) => current.length === 50 && current.every((entry) => entry.lastError !== null), 60_000);
    expect(waiting[0]!.lastError).toMatch(/503|unavailable/i);
    expect(await Promise.all(raised.slice(0, 5).map(({ alert }) => world.acronis.getAlert(alert.id)))).toHaveLength(5);

    await fetch(`${psaUrlOf(sims, kind)}/_sim/faults`, { method: 'DELETE' });
    const items = await eventually('50 open tickets after the outage', () => world.tickets('?state=open'), (current) => current.length === 50, 120_000);
    expect(await ticketCountsByReference(world, await Promise.all(items.map((current) => ticketReferenceOf(world, current))))).toEqual(items.map(() => 1));
  });

  it('shows a ticket the PSA refuses as failed with its reason, and creates it once the mapping is fixed', async () => {
    // A new board has no "Completed" status: auto-close would refuse the mapping (checked in the API test).
    const world = await buildWorld(kind, { autoClose: { enabled: false, status: null } });
    let restore: () => Promise<void>;
    if (kind === 'connectwise-manage') {
      const boardId = await createBoard(sims, 'Acronis alerts');
      const alertsBoard = pickTicketFields(await call('GET', `/v1/partners/${world.partnerId}/psa/ticket-fields`), 'Acronis alerts');
      await call('PUT', `/v1/partners/${world.partnerId}/alert-mappings`, [{ alertType: '*', enabled: true, ticket: alertsBoard }]);
      await deleteBoard(sims, boardId);
      restore = async () => void (await call('PUT', `/v1/partners/${world.partnerId}/alert-mappings`, [{ alertType: '*', enabled: true, ticket: world.mapping }]));
    } else {
      await setAutotaskQueueActive(sims, world.mapping.queueId!, false);
      restore = async () => {
        await setAutotaskQueueActive(sims, world.mapping.queueId!, true);
        // Any change of the mappings tries the refused tickets again.
        await call('PUT', `/v1/partners/${world.partnerId}/alert-mappings`, [{ alertType: '*', enabled: true, ticket: world.mapping }]);
      };
    }
    const raised = await raiseBackupFailure(world.acronis, world.customer.tenantId, machine('DC01'));
    const failed = await world.ticketOf(raised, (current) => current.state === 'failed');
    expect(failed.ticketId).toBeNull();
    expect(failed.lastError).toMatch(kind === 'connectwise-manage' ? /ConnectWise Manage refused .*Service Board \d+ not found/ : /Autotask refused .*queueID/);
    await expect(world.tickets('?state=failed')).resolves.toHaveLength(1);
    const { refused } = (await api.request('GET', `/v1/partners/${world.partnerId}/health`)).json;
    expect(refused).toEqual([{ kind: 'ticket', key: expect.stringContaining(`${failed.psaCompanyId}/`), reason: failed.lastError, at: expect.any(String) }]);

    await restore();
    const created = await world.ticketOf(raised);
    expect(created).toMatchObject({ lastError: null, generation: 1 });
    await expect(world.tickets('?state=failed')).resolves.toEqual([]);
  });

  it('past the storm guard, puts further alerts of a customer on one digest ticket', async () => {
    const world = await buildWorld(kind, { storm: { maxAlerts: 3, windowMinutes: 60 } });
    const raised = await raiseMany(world, [world.customer], 7);
    const items = await eventually('3 tickets and a digest with 4 notes', () => world.tickets(), (current) => current.filter((entry) => entry.kind === 'alert' && entry.state === 'open').length === 3 && current.some((entry) => entry.kind === 'digest' && entry.notes === 4), 60_000);
    const digest = items.find((entry) => entry.kind === 'digest')!;
    expect(digest).toMatchObject({ state: 'open', psaCompanyId: world.customer.companyId, alertType: 'BackupFailed' });
    const notes = await world.seeder.ticketNotes(digest.ticketId!);
    const noted = raised.filter(({ on }) => notes.some((text) => text.includes(`[${on.name}] Backup failed`)));
    expect(noted).toHaveLength(4);
    expect(items.filter((entry) => entry.kind === 'alert')).toHaveLength(3);
  });

  it('switched off, ends its workflows within seconds and makes no new ticket', async () => {
    const world = await buildWorld(kind);
    const first = await raiseBackupFailure(world.acronis, world.customer.tenantId, machine('SRV-A'));
    await world.ticketOf(first);
    expect((await runningAlertWorkflows(world.partnerId)).length).toBeGreaterThanOrEqual(2);

    await call('PUT', `/v1/partners/${world.partnerId}/settings`, { tickets: { enabled: false } });
    await eventually('the alert workflows to end', () => runningAlertWorkflows(world.partnerId), (running) => running.length === 0, 30_000);
    const second = await raiseBackupFailure(world.acronis, world.customer.tenantId, machine('SRV-B'));
    // Three poll intervals of the loop that no longer runs.
    await delay(3_000);
    expect((await world.tickets()).map((current) => current.alertId)).toEqual([first.id]);
    await expect(world.seeder.countTickets(await ticketReferenceOf(world, (await world.tickets())[0]!))).resolves.toBe(1);
    expect(second.id).not.toBe(first.id);
  });
});

describe('a customer mapped after its alert was raised', () => {
  it('gets a ticket for the alert active when it was mapped', async () => {
    const world = await buildWorld('connectwise-manage');
    await eventually('the first scan of the feed', () => requestLog(sims.urls.acronis), (log) => log.some((entry) => entry.method === 'GET' && entry.path.endsWith('/alert_manager/v1/alerts')));
    const name = 'Late Mapped Ltd';
    const companyId = await world.seeder.createCompany(name);
    const tenantId = await customerTenant(world.acronis, name, world.accountTenantId);
    const raised = await raiseBackupFailure(world.acronis, tenantId, machine('LATE-01'));
    // The feed moves past the alert while its tenant is no customer of the partner's yet.
    await eventually('the feed to pass the alert', () => requestLog(sims.urls.acronis), (log) => log.filter((entry) => entry.method === 'GET' && entry.path.endsWith('/alert_manager/v1/alerts')).length >= 3);
    await call('PUT', `/v1/partners/${world.partnerId}/customers/${companyId}/mapping`, { tenantId });
    expect(await world.ticketOf(raised)).toMatchObject({ psaCompanyId: companyId, resourceName: 'LATE-01' });
  });
});

describe('"sync now" for alerts', () => {
  it('reads the alert feed at once, whatever the poll interval', async () => {
    const world = await buildWorld('connectwise-manage', { pollSeconds: 3600 });
    // The feed's first scan lists the active alerts; after it, the loop waits an hour for its next poll.
    await eventually('the first scan of the feed', () => requestLog(sims.urls.acronis), (log) => log.some((entry) => entry.method === 'GET' && entry.path.endsWith('/alert_manager/v1/alerts')));
    const raised = await raiseBackupFailure(world.acronis, world.customer.tenantId, machine('LAPTOP-9'));
    await call('POST', `/v1/partners/${world.partnerId}/sync`, { what: ['alerts'] });
    await world.ticketOf(raised);
  });
});

/** Our reference on the item's ticket, as the PSA shows it. */
async function ticketReferenceOf(world: World, item: TicketItem): Promise<string> {
  if (world.kind === 'connectwise-manage') return (await new ConnectWiseManageClient(connectWiseManageConfig(sims.urls['connectwise-manage'])).getTicket(Number(item.ticketId))).externalXRef!;
  return (await new AutotaskClient(autotaskCredentials(sims.urls.autotask)).get('Tickets', Number(item.ticketId)))!.externalID!;
}
