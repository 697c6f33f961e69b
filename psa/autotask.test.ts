import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningSimulators } from '../simulators/index.ts';
import { autotaskFixture } from '../test/psa/autotask-fixture.ts';
import { addFault, requestLog, startTestSimulators } from '../test/simulators.ts';
import type { PsaContractFixture } from '../test/psa/fixture.ts';
import type { PsaCompany } from './port.ts';

let simulators: RunningSimulators;
let fixture: PsaContractFixture;

beforeAll(async () => {
  simulators = await startTestSimulators();
  fixture = autotaskFixture(simulators.urls.autotask);
});
afterAll(() => simulators.close());
beforeEach(() => simulators.reset());

const thisMonth = () => {
  const now = new Date();
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 0));
  return { start: start.toISOString().slice(0, 10), end: end.toISOString().slice(0, 10) };
};

async function collect(companies: AsyncIterable<PsaCompany>): Promise<string[]> {
  const names: string[] = [];
  for await (const company of companies) names.push(company.name);
  return names;
}

describe('Autotask adapter', () => {
  it('checks access and refuses a wrong secret as auth', async () => {
    await expect(fixture.adapter().checkAccess()).resolves.toBeUndefined();
    await expect(fixture.adapterWithWrongSecret().checkAccess()).rejects.toMatchObject({ kind: 'auth', retryable: false });
  });

  it('lists companies by name, type and status', async () => {
    const adapter = fixture.adapter();
    const acme = await fixture.createCompany('Acme Backup');
    await fixture.createCompany('Globex');
    expect(await collect(adapter.listCompanies({ nameContains: 'backup' }))).toEqual(['Acme Backup']);
    expect(await collect(adapter.listCompanies({ type: 'customer', status: 'Active' }))).toEqual(['Acme Backup', 'Globex']);
    expect(await collect(adapter.listCompanies({ type: 'Vendor' }))).toEqual([]);
    expect(await adapter.getCompany(acme)).toEqual({ id: acme, name: 'Acme Backup', types: ['Customer'], status: 'Active', active: true });
    expect(await adapter.getCompany('12345')).toBeUndefined();
  });

  it('normalises contract services: product, units of the current period, PAYG or prepaid, active until the contract ends', async () => {
    const adapter = fixture.adapter();
    const companyId = await fixture.createCompany('Lines Co');
    const { product } = await adapter.ensureProduct('Workstations');
    expect(await adapter.ensureProduct('workstations')).toEqual({ product, created: false });
    const since = thisMonth().start;
    const prepaid = await fixture.createAgreement(companyId, [{ productId: product.id, quantity: 5, billing: 'prepaid' }], since);
    const payg = await fixture.createAgreement(companyId, [{ productId: product.id, quantity: 0, billing: 'payg' }], since);
    await fixture.cancelLine(payg.agreementId, payg.lineIds[0] ?? '');
    const lines = await adapter.listServiceLines(companyId);
    // The next period may bring other units: the line is due for a new look when it starts.
    const now = new Date();
    const nextPeriod = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString();
    expect(lines).toEqual([
      { lineId: prepaid.lineIds[0], agreementId: prepaid.agreementId, productId: product.id, productName: 'Workstations', quantity: 5, billing: 'prepaid', active: true, changesAt: nextPeriod },
      { lineId: payg.lineIds[0], agreementId: payg.agreementId, productId: product.id, productName: 'Workstations', quantity: 0, billing: 'payg', active: false, changesAt: nextPeriod },
    ]);
  });

  it('writes usage as whole-unit adjustments of the difference; a repeat, or a retry after a lost answer, writes nothing', async () => {
    const adapter = fixture.adapter({ timeoutMs: 500 });
    const companyId = await fixture.createCompany('Usage Co');
    const productId = await fixture.createProduct('Servers');
    const period = thisMonth();
    const { agreementId, lineIds } = await fixture.createAgreement(companyId, [{ productId, quantity: 2, billing: 'payg' }], period.start);
    const lineId = lineIds[0] ?? '';
    expect(await adapter.writeUsage({ agreementId, lineId, period, quantity: 6.2 })).toEqual({ previous: 2, current: 7, changed: true });
    expect(await fixture.billedQuantity(agreementId, lineId, period)).toBe(7);
    expect(await adapter.writeUsage({ agreementId, lineId, period, quantity: 7 })).toEqual({ previous: 7, current: 7, changed: false });

    await addFault(fixture.simulatorUrl, { match: 'ServiceAdjustments$', method: 'POST', kind: 'timeout-after-commit', times: 1 });
    await expect(adapter.writeUsage({ agreementId, lineId, period, quantity: 3 })).rejects.toMatchObject({ kind: 'timeout' });
    expect(await adapter.writeUsage({ agreementId, lineId, period, quantity: 3 })).toEqual({ previous: 3, current: 3, changed: false });
    expect(await fixture.billedQuantity(agreementId, lineId, period)).toBe(3);
    const adjustments = (await requestLog(fixture.simulatorUrl)).filter((entry) => entry.method === 'POST' && entry.path.endsWith('/ServiceAdjustments'));
    expect(adjustments).toHaveLength(3);
  });

  it('tickets: one per reference even when the create answer is lost; notes once per key; close and reopen', async () => {
    const adapter = fixture.adapter({ timeoutMs: 500 });
    const companyId = await fixture.createCompany('Ticket Co');
    const ticket = { externalRef: 'acronis-alert:42', companyId, summary: 'Backup failed', description: 'Plan "Daily" failed', routing: await fixture.ticketRouting() };
    await addFault(fixture.simulatorUrl, { match: fixture.ticketCreatePath, method: 'POST', kind: 'timeout-after-commit', times: 1 });
    const first = await adapter.createTicket(ticket);
    expect(first).toMatchObject({ created: true, ticket: { externalRef: 'acronis-alert:42', closed: false, status: 'New' } });
    expect(await adapter.createTicket(ticket)).toEqual({ ticket: first.ticket, created: false });
    expect(await fixture.countTickets('acronis-alert:42')).toBe(1);

    expect(await adapter.addTicketNote(first.ticket.id, { key: 'occurrence-2', text: 'Failed again' })).toEqual({ added: true });
    expect(await adapter.addTicketNote(first.ticket.id, { key: 'occurrence-2', text: 'Failed again' })).toEqual({ added: false });
    expect(await fixture.ticketNotes(first.ticket.id)).toEqual(['Failed again\n\n[ref:occurrence-2]']);

    expect(await adapter.closeTicket(first.ticket.id)).toMatchObject({ closed: true, status: 'Complete' });
    expect(await adapter.reopenTicket(first.ticket.id)).toMatchObject({ closed: false, status: 'New' });
    expect(await adapter.reopenTicket(first.ticket.id, 'In Progress')).toMatchObject({ closed: false, status: 'In Progress' });
    expect(await adapter.findTicket('acronis-alert:42')).toMatchObject({ id: first.ticket.id, status: 'In Progress' });
    await expect(adapter.closeTicket(first.ticket.id, 'Shelved')).rejects.toMatchObject({ kind: 'validation' });
  });
});
