import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningSimulators } from '../simulators/index.ts';
import { ConnectWiseManageClient } from '../clients/connectwise-manage/client.ts';
import { connectWiseManageConfig, connectWiseManageFixture } from '../test/psa/connectwise-manage-fixture.ts';
import type { PsaContractFixture } from '../test/psa/fixture.ts';
import { addFault, requestLog, startTestSimulators } from '../test/simulators.ts';
import type { NewTicket } from './port.ts';

let sims: RunningSimulators;
let fixture: PsaContractFixture;

beforeAll(async () => {
  sims = await startTestSimulators();
  fixture = connectWiseManageFixture(sims.urls['connectwise-manage']);
});
afterAll(() => sims.close());
beforeEach(() => sims.reset());

async function newTicket(externalRef: string): Promise<NewTicket> {
  return { externalRef, companyId: await fixture.createCompany('Ticket Co'), summary: 'Backup failed: SRV01', description: 'The nightly backup failed.', routing: await fixture.ticketRouting() };
}

describe('ConnectWise Manage PSA adapter', () => {
  it('reads agreement lines: Billable additions are PAYG, DoNotBill ones prepaid; a cancelled date ends a line, and is ahead until then', async () => {
    const psa = fixture.adapter();
    const companyId = await fixture.createCompany('Lines Co');
    const storage = await fixture.createProduct('acronis-storage');
    const seats = await fixture.createProduct('acronis-seats');
    const { agreementId, lineIds } = await fixture.createAgreement(companyId, [{ productId: storage, quantity: 0, billing: 'payg' }, { productId: seats, quantity: 12, billing: 'prepaid' }], '2024-01-01');
    await fixture.cancelLine(agreementId, lineIds[0]!);
    const client = new ConnectWiseManageClient(connectWiseManageConfig(fixture.simulatorUrl));
    await client.patchAddition(Number(agreementId), Number(lineIds[1]), [{ op: 'replace', path: 'cancelledDate', value: '2099-01-01T00:00:00Z' }]);
    const lines = await psa.listServiceLines(companyId);
    expect(lines).toEqual([
      { lineId: lineIds[0], agreementId, productId: storage, productName: 'acronis-storage', quantity: 0, billing: 'payg', active: false, changesAt: null },
      { lineId: lineIds[1], agreementId, productId: seats, productName: 'acronis-seats', quantity: 12, billing: 'prepaid', active: true, changesAt: '2099-01-01T00:00:00.000Z' },
    ]);
  });

  it('filters companies by name, type and status across pages', async () => {
    const psa = fixture.adapter();
    for (let index = 0; index < 30; index++) await fixture.createCompany(`Filter ${index}`);
    const found = [];
    for await (const company of psa.listCompanies({ nameContains: 'filter 2', type: 'Client', status: 'Active' })) found.push(company.name);
    expect(found.sort()).toEqual(['Filter 2', ...Array.from({ length: 10 }, (_, index) => `Filter 2${index}`)].sort());
    await expect(psa.getCompany('0')).resolves.toBeUndefined();
  });

  it('writes usage as an absolute quantity: a repeat changes nothing', async () => {
    const psa = fixture.adapter();
    const companyId = await fixture.createCompany('Usage Co');
    const { agreementId, lineIds } = await fixture.createAgreement(companyId, [{ productId: await fixture.createProduct('usage-gb'), quantity: 0, billing: 'payg' }], '2024-01-01');
    const write = { agreementId, lineId: lineIds[0]!, period: { start: '2024-05-01', end: '2024-05-31' }, quantity: 17.5 };
    await expect(psa.writeUsage(write)).resolves.toEqual({ previous: 0, current: 17.5, changed: true });
    await expect(psa.writeUsage(write)).resolves.toEqual({ previous: 17.5, current: 17.5, changed: false });
    await expect(fixture.billedQuantity(agreementId, lineIds[0]!, write.period)).resolves.toBe(17.5);
  });

  it('ensures a product once, also when the create answer is lost', async () => {
    const psa = fixture.adapter({ timeoutMs: 300 });
    await addFault(fixture.simulatorUrl, { match: '/procurement/catalog$', method: 'POST', kind: 'timeout-after-commit', times: 1 });
    await expect(psa.ensureProduct('Cyber Protect - Standard')).resolves.toMatchObject({ created: true, product: { name: 'Cyber Protect - Standard', active: true } });
    await expect(psa.ensureProduct('cyber protect - standard')).resolves.toMatchObject({ created: false });
    const products = [];
    for await (const product of psa.listProducts()) products.push(product.name);
    expect(products).toEqual(['Cyber Protect - Standard']);
  });

  it('creates a ticket once even when the answer is lost, and finds it by external reference', async () => {
    const psa = fixture.adapter({ timeoutMs: 300 });
    const ticket = await newTicket('acronis-alert:42');
    await addFault(fixture.simulatorUrl, { match: fixture.ticketCreatePath, method: 'POST', kind: 'timeout-after-commit', times: 1 });
    const created = await psa.createTicket(ticket);
    expect(created).toMatchObject({ created: true, ticket: { externalRef: 'acronis-alert:42', closed: false, status: 'New' } });
    await expect(psa.createTicket(ticket)).resolves.toMatchObject({ created: false, ticket: { id: created.ticket.id } });
    await expect(fixture.countTickets('acronis-alert:42')).resolves.toBe(1);
    await expect(psa.findTicket('acronis-alert:42')).resolves.toMatchObject({ id: created.ticket.id, number: created.ticket.id });
    await expect(psa.findTicket('acronis-alert:43')).resolves.toBeUndefined();
  });

  it('adds a keyed note once, and closes and reopens on the board default statuses', async () => {
    const psa = fixture.adapter();
    const { ticket } = await psa.createTicket(await newTicket('acronis-alert:7'));
    await expect(psa.addTicketNote(ticket.id, { key: 'alert-7-repeat-1', text: 'Occurred again' })).resolves.toEqual({ added: true });
    await expect(psa.addTicketNote(ticket.id, { key: 'alert-7-repeat-1', text: 'Occurred again' })).resolves.toEqual({ added: false });
    expect((await fixture.ticketNotes(ticket.id)).filter((text) => text.includes('[ref:alert-7-repeat-1]'))).toHaveLength(1);

    await expect(psa.closeTicket(ticket.id)).resolves.toMatchObject({ closed: true, status: 'Completed' });
    await expect(psa.reopenTicket(ticket.id)).resolves.toMatchObject({ closed: false, status: 'New' });
    await expect(psa.closeTicket(ticket.id, 'Closed')).resolves.toMatchObject({ closed: true, status: 'Closed' });
    await expect(psa.closeTicket(ticket.id, 'In Progress')).rejects.toMatchObject({ kind: 'validation' });
    const patches = (await requestLog(fixture.simulatorUrl)).filter((entry) => entry.method === 'PATCH');
    expect(patches).toHaveLength(3);
  });

  it('checks access: wrong keys are a non-retryable auth failure', async () => {
    await expect(fixture.adapter().checkAccess()).resolves.toBeUndefined();
    await expect(fixture.adapterWithWrongSecret().checkAccess()).rejects.toMatchObject({ kind: 'auth', retryable: false });
  });

  it('reports a 429 with the wait the vendor asked for', async () => {
    await addFault(fixture.simulatorUrl, { match: fixture.companyListPath, kind: 'rate-limit', retryAfterSeconds: 2, times: 1 });
    const companies = fixture.adapter().listCompanies()[Symbol.asyncIterator]();
    await expect(companies.next()).rejects.toMatchObject({ kind: 'rate-limited', retryAfterMs: 2000 });
  });
});
