import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { RunningSimulators } from '../simulators/index.ts';
import type { TicketFieldChoices } from '../psa/port.ts';
import type { PsaKind } from '../domain/partner.ts';
import { callOk, pickTicketFields } from './alert-api-world.ts';
import { psaCredentialsOf } from './alert-world.ts';
import { newAcronisPartnerAccount } from './partners.ts';
import { useApiWorld, type ApiHarness } from './api-harness.ts';
import { testKeyring } from './fixtures/test-keys.ts';

/** The admin API of alert → ticket sync over HTTP: alert mappings checked against the PSA, its ticket fields, ticket settings. */

const keyring = testKeyring();
let api: ApiHarness;
let sims: RunningSimulators;

useApiWorld(keyring, (world) => ({ sims, api } = world), { runWorker: false });

async function partnerOn(kind: PsaKind): Promise<string> {
  const { clientId, clientSecret } = await newAcronisPartnerAccount(sims.urls.acronis);
  const { id } = await callOk(api, 'POST', '/v1/partners', { name: `MSP ${randomUUID().slice(0, 8)}`, timezone: 'Europe/Berlin', acronis: { baseUrl: sims.urls.acronis, clientId, clientSecret }, psa: psaCredentialsOf(sims, kind) });
  return id as string;
}

const errorsOf = (response: { json: any }) => (response.json.errors as { path: string; message: string }[]).map((error) => error.path);

describe('GET …/psa/ticket-fields', () => {
  it('lists ConnectWise Manage boards with their statuses, types and subtypes, and the priorities', async () => {
    const fields: TicketFieldChoices = await callOk(api, 'GET', `/v1/partners/${await partnerOn('connectwise-manage')}/psa/ticket-fields`);
    expect(fields.kind).toBe('connectwise-manage');
    if (fields.kind !== 'connectwise-manage') return;
    expect(fields.boards.map((board) => board.name)).toEqual(['Help Desk', 'Professional Services']);
    expect(fields.boards[0]!.statuses).toContainEqual({ id: expect.any(Number), name: 'Completed', closed: true });
    expect(fields.boards[0]!.types.map((type) => type.name)).toContain('Backup');
    expect(fields.priorities).toHaveLength(4);
  });

  it('lists Autotask queues and ticket picklists, sub-issue types with their issue type, note types and publish values', async () => {
    const fields: TicketFieldChoices = await callOk(api, 'GET', `/v1/partners/${await partnerOn('autotask')}/psa/ticket-fields`);
    expect(fields.kind).toBe('autotask');
    if (fields.kind !== 'autotask') return;
    expect(fields.queues.map((queue) => queue.name)).toContain('Monitoring Alert');
    expect(fields.statuses).toContainEqual({ id: 5, name: 'Complete', closed: true });
    const backup = fields.issueTypes.find((type) => type.name === 'Backup')!;
    expect(fields.subIssueTypes.filter((type) => type.issueType === backup.id).map((type) => type.name)).toEqual(['Backup Failed', 'Quota Exceeded']);
    expect(fields.notePublish.map((value) => value.name)).toEqual(['All Autotask Users', 'Internal Only']);
  });
});

describe('PUT …/alert-mappings', () => {
  it('stores a valid set and answers it; GET lists it with the Acronis alert types', async () => {
    const partnerId = await partnerOn('connectwise-manage');
    const ticket = pickTicketFields(await callOk(api, 'GET', `/v1/partners/${partnerId}/psa/ticket-fields`));
    const body = [
      { alertType: '*', enabled: true, ticket },
      { alertType: 'MachineOffline', enabled: false },
    ];
    expect((await callOk(api, 'PUT', `/v1/partners/${partnerId}/alert-mappings`, body)).items).toEqual([
      { alertType: '*', enabled: true, ticket },
      { alertType: 'MachineOffline', enabled: false, ticket: {} },
    ]);
    const listed = await callOk(api, 'GET', `/v1/partners/${partnerId}/alert-mappings`);
    expect(listed.items).toHaveLength(2);
    expect(listed.alertTypes).toContainEqual({ id: 'BackupFailed', title: 'Backup failed', category: 'Backup', severity: 'critical' });
    const audit = await callOk(api, 'GET', `/v1/audit-log?partnerId=${partnerId}`);
    expect(audit.items.map((entry: { action: string }) => entry.action)).toContain('alert-mappings.replace');
  });

  it('refuses ids ConnectWise Manage does not have, naming each field, and changes nothing', async () => {
    const partnerId = await partnerOn('connectwise-manage');
    const fields: TicketFieldChoices = await callOk(api, 'GET', `/v1/partners/${partnerId}/psa/ticket-fields`);
    if (fields.kind !== 'connectwise-manage') throw new Error('not CWM');
    const [helpDesk, services] = fields.boards;
    const response = await api.request('PUT', `/v1/partners/${partnerId}/alert-mappings`, {
      body: [
        { alertType: '*', enabled: true, ticket: { boardId: 999_999, statusId: 1 } },
        // A status of the other board, a closed status, a type of the other board.
        { alertType: 'BackupFailed', enabled: true, ticket: { boardId: helpDesk!.id, statusId: services!.statuses[0]!.id, typeId: services!.types[0]!.id, priorityId: 999 } },
        { alertType: 'BackupCanceled', enabled: true, ticket: { boardId: helpDesk!.id, statusId: helpDesk!.statuses.find((status) => status.closed)!.id } },
        { alertType: 'NotAnAlertType', enabled: true, ticket: { boardId: helpDesk!.id, statusId: helpDesk!.statuses[0]!.id } },
      ],
    });
    expect(response.status).toBe(400);
    expect(errorsOf(response).sort()).toEqual(['0.ticket.boardId', '1.ticket.priorityId', '1.ticket.statusId', '1.ticket.typeId', '2.ticket.statusId', '3.alertType'].sort());
    expect((await callOk(api, 'GET', `/v1/partners/${partnerId}/alert-mappings`)).items).toEqual([]);
  });

  it('refuses Autotask fields that do not fit: unknown queue, a sub-issue type of another issue type, CWM fields', async () => {
    const partnerId = await partnerOn('autotask');
    const fields: TicketFieldChoices = await callOk(api, 'GET', `/v1/partners/${partnerId}/psa/ticket-fields`);
    if (fields.kind !== 'autotask') throw new Error('not Autotask');
    const ticket = pickTicketFields(fields);
    const hardware = fields.issueTypes.find((type) => type.name === 'Hardware')!.id;
    const response = await api.request('PUT', `/v1/partners/${partnerId}/alert-mappings`, {
      body: [
        { alertType: '*', enabled: true, ticket: { ...ticket, queueId: 123, issueType: hardware } },
        { alertType: 'BackupFailed', enabled: true, ticket: { boardId: 1, statusId: 2 } },
        { alertType: 'BackupCanceled', enabled: true },
        { alertType: 'BackupCanceled', enabled: false },
      ],
    });
    expect(response.status).toBe(400);
    expect(errorsOf(response)).toEqual(expect.arrayContaining(['2.ticket', '3.alertType']));
    const second = await api.request('PUT', `/v1/partners/${partnerId}/alert-mappings`, {
      body: [
        { alertType: '*', enabled: true, ticket: { ...ticket, queueId: 123, issueType: hardware } },
        { alertType: 'BackupFailed', enabled: true, ticket: { boardId: 1, statusId: 2 } },
      ],
    });
    expect(errorsOf(second).sort()).toEqual(['0.ticket.queueId', '0.ticket.subIssueType', '1.ticket.boardId', '1.ticket.priority', '1.ticket.queueId', '1.ticket.status', '1.ticket.statusId'].sort());
  });
});

describe('ticket settings that name PSA values', () => {
  it('are checked against the PSA: the auto-close status, the Autotask note type, and no note type on ConnectWise Manage', async () => {
    const manage = await partnerOn('connectwise-manage');
    const wrongStatus = await api.request('PUT', `/v1/partners/${manage}/settings`, { body: { tickets: { autoClose: { enabled: true, status: 'New' } } } });
    expect(wrongStatus.status).toBe(400);
    expect(errorsOf(wrongStatus)).toEqual(['tickets.autoClose.status']);
    const noteType = await api.request('PUT', `/v1/partners/${manage}/settings`, { body: { tickets: { noteType: 5 } } });
    expect(errorsOf(noteType)).toEqual(['tickets.noteType']);
    await expect(callOk(api, 'PUT', `/v1/partners/${manage}/settings`, { tickets: { autoClose: { enabled: true, status: 'Completed' }, pollSeconds: 5 } })).resolves.toMatchObject({ tickets: { pollSeconds: 5, storm: null } });

    const autotask = await partnerOn('autotask');
    const fields: TicketFieldChoices = await callOk(api, 'GET', `/v1/partners/${autotask}/psa/ticket-fields`);
    if (fields.kind !== 'autotask') throw new Error('not Autotask');
    expect(errorsOf(await api.request('PUT', `/v1/partners/${autotask}/settings`, { body: { tickets: { noteType: 1, notePublish: 3 } } })).sort()).toEqual(['tickets.notePublish', 'tickets.noteType']);
    const internal = fields.notePublish.find((value) => value.name === 'Internal Only')!.id;
    await expect(callOk(api, 'PUT', `/v1/partners/${autotask}/settings`, { tickets: { noteType: fields.noteTypes[0]!.id, notePublish: internal, storm: { maxAlerts: 20, windowMinutes: 60 } } })).resolves.toMatchObject({
      tickets: { notePublish: internal, storm: { maxAlerts: 20, windowMinutes: 60 } },
    });
  });

  it('refuse an auto-close status a mapped board lacks when the mappings are saved', async () => {
    const partnerId = await partnerOn('connectwise-manage');
    await callOk(api, 'PUT', `/v1/partners/${partnerId}/settings`, { tickets: { autoClose: { enabled: true, status: 'Completed' } } });
    const fields: TicketFieldChoices = await callOk(api, 'GET', `/v1/partners/${partnerId}/psa/ticket-fields`);
    const response = await api.request('PUT', `/v1/partners/${partnerId}/alert-mappings`, { body: [{ alertType: '*', enabled: true, ticket: pickTicketFields(fields, 'Professional Services') }] });
    expect(response.status).toBe(400);
    expect(response.json.errors).toEqual([{ path: '0.ticket.boardId', message: 'board "Professional Services" has no closed status "Completed" (tickets.autoClose.status)' }]);
  });
});

describe('GET …/tickets', () => {
  it('answers the links, filtered by state and company; an unknown partner is 404', async () => {
    const partnerId = await partnerOn('autotask');
    await expect(callOk(api, 'GET', `/v1/partners/${partnerId}/tickets?state=failed&psaCompanyId=17`)).resolves.toEqual({ items: [] });
    expect((await api.request('GET', `/v1/partners/${partnerId}/tickets?state=broken`)).status).toBe(400);
    expect((await api.request('GET', `/v1/partners/${randomUUID()}/tickets`)).status).toBe(404);
  });
});
