import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningSimulators } from '../simulators/index.ts';
import { startTestSimulators } from './simulators.ts';

// An outside script that knows only Autotask's public REST API: plain fetch, no project client.
let simulators: RunningSimulators;
beforeAll(async () => {
  simulators = await startTestSimulators();
});
afterAll(() => simulators.close());

const user = 'sim-api@example.com';
const headers = { apiintegrationcode: 'SIMINTEGRATIONCODE', username: user, secret: 'sim-secret', 'content-type': 'application/json' };

const search = (filter: unknown[]) => `?search=${encodeURIComponent(JSON.stringify({ filter }))}`;

/** The API's address from the zone lookup, a call that expects 200, and picklist values by label. */
async function autotaskApi() {
  const zone = (await (await fetch(`${simulators.urls.autotask}/atservicesrest/v1.0/zoneInformation?user=${encodeURIComponent(user)}`)).json()) as { url: string };
  const api = `${zone.url}v1.0`;
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${api}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    expect(response.status, `${method} ${path}: ${await response.clone().text()}`).toBe(200);
    return (await response.json()) as any;
  };
  const picklist = async (entity: string, field: string, label: string) => {
    const { fields } = await call('GET', `/${entity}/entityInformation/fields`);
    return Number(fields.find((candidate: any) => candidate.name === field).picklistValues.find((entry: any) => entry.label === label).value);
  };
  return { api, call, picklist };
}

describe('simulated Autotask through its public API only', () => {
  it('creates a company, a recurring-service contract with services and units, and a ticket with a note', async () => {
    const { api, call, picklist } = await autotaskApi();

    const { items: owners } = await call('GET', `/Resources/query${search([{ op: 'noteq', field: 'userName', value: user }])}`);
    const { itemId: companyId } = await call('POST', '/Companies', { companyName: 'Script Co', companyType: await picklist('Companies', 'companyType', 'Customer'), phone: '555 0100', ownerResourceID: owners[0].id });

    const { fields: udfs } = await call('GET', '/Contracts/entityInformation/userDefinedFields');
    const payg = udfs.find((field: any) => field.name === 'Acronis PAYG');
    const { itemId: contractId } = await call('POST', '/Contracts', {
      companyID: companyId,
      contractName: 'Acronis Cyber Protect',
      contractType: 7,
      status: 1,
      startDate: '2025-01-01T00:00:00Z',
      endDate: '2025-12-31T00:00:00Z',
      userDefinedFields: [{ name: 'Acronis PAYG', value: payg.picklistValues.find((entry: any) => entry.label === 'No').value }],
    });
    const monthly = await picklist('Services', 'periodType', 'Monthly');
    const { itemId: workstations } = await call('POST', '/Services', { name: 'Workstations', unitPrice: 5, periodType: monthly });
    const { itemId: servers } = await call('POST', '/Services', { name: 'Servers', unitPrice: 25, periodType: monthly });
    await call('POST', `/Contracts/${contractId}/Services`, { serviceID: workstations, unitPrice: 5 });
    await call('POST', `/Contracts/${contractId}/ServiceAdjustments`, { contractID: contractId, serviceID: workstations, effectiveDate: '2025-01-01', unitChange: 10 });
    // An adjustment for a service the contract lacks adds it.
    await call('POST', '/ContractServiceAdjustments', { contractID: contractId, serviceID: servers, effectiveDate: '2025-06-01', unitChange: 2 });
    const units = await call('POST', '/ContractServiceUnits/query', { filter: [{ op: 'eq', field: 'contractID', value: contractId }, { op: 'eq', field: 'startDate', value: '2025-06-01' }] });
    expect(units.items.map((row: any) => [row.serviceID, row.units])).toEqual([
      [workstations, 10],
      [servers, 2],
    ]);

    const { itemId: ticketId } = await call('POST', '/Tickets', {
      companyID: companyId,
      title: 'Backup failed',
      status: await picklist('Tickets', 'status', 'New'),
      priority: await picklist('Tickets', 'priority', 'High'),
      queueID: await picklist('Tickets', 'queueID', 'Monitoring Alert'),
      externalID: 'script:1',
    });
    await call('POST', `/Tickets/${ticketId}/Notes`, { title: 'Note', description: 'Looking into it', noteType: await picklist('TicketNotes', 'noteType', 'Task Detail'), publish: 1 });
    expect((await call('GET', `/Tickets/query${search([{ op: 'eq', field: 'externalID', value: 'script:1' }])}`)).items).toMatchObject([{ id: ticketId, companyID: companyId }]);
    expect((await call('GET', `/TicketNotes/query${search([{ op: 'eq', field: 'ticketID', value: ticketId }])}`)).items).toMatchObject([{ description: 'Looking into it' }]);
    expect(await call('GET', `/Tickets/${ticketId + 1000}`)).toEqual({ item: null });
    expect((await fetch(`${api}/TicketNotes`, { method: 'POST', headers, body: '{}' })).status).toBe(404);
  });

  it('finds the companies and contracts changed after an instant by their change stamps', async () => {
    const { call, picklist } = await autotaskApi();
    const { items: owners } = await call('GET', `/Resources/query${search([{ op: 'noteq', field: 'userName', value: user }])}`);
    const company = async (companyName: string) => (await call('POST', '/Companies', { companyName, companyType: await picklist('Companies', 'companyType', 'Customer'), phone: '555 0100', ownerResourceID: owners[0].id })).itemId as number;
    const [renamed, untouched] = [await company('Before Ltd'), await company('Quiet Ltd')];
    const { itemId: contractId } = await call('POST', '/Contracts', { companyID: untouched, contractName: 'Backup', contractType: 7, status: 1, startDate: '2025-01-01T00:00:00Z', endDate: '2030-12-31T00:00:00Z' });
    const clock = `${simulators.urls.autotask}/_sim/clock`;
    const { now: since } = (await (await fetch(clock)).json()) as { now: string };
    await fetch(clock, { method: 'POST', body: JSON.stringify({ advanceMs: 1_000 }) });

    await call('PATCH', '/Companies', { id: renamed, companyName: 'After Ltd' });
    await call('PATCH', '/Contracts', { id: contractId, status: 0 });
    const changed = async (entity: string, field: string) => (await call('POST', `/${entity}/query`, { filter: [{ op: 'gt', field, value: since }] })).items.map((item: any) => item.id);
    expect(await changed('Companies', 'lastTrackedModifiedDateTime')).toEqual([renamed]);
    expect(await changed('Contracts', 'lastModifiedDateTime')).toEqual([contractId]);
  });

  it('answers errors as {errors: [...]}: missing credentials 401, unknown picklist value 500', async () => {
    const base = `${simulators.urls.autotask}/ATServicesRest/V1.0`;
    const unauthenticated = await fetch(`${base}/Companies/1`);
    expect(unauthenticated.status).toBe(401);
    expect(await unauthenticated.json()).toEqual({ errors: [expect.any(String)] });
    const invalid = await fetch(`${base}/Tickets`, { method: 'POST', headers, body: JSON.stringify({ title: 'x', status: 424242 }) });
    expect(invalid.status).toBe(500);
    expect(await invalid.json()).toEqual({ errors: [expect.stringContaining('status')] });
  });
});
