import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { VendorApiError } from '../../clients/http.ts';
import type { PsaCompany, PsaPort, UsagePeriod } from '../../psa/port.ts';
import type { RunningSimulators } from '../../simulators/index.ts';
import { addFault, requestLog, startTestSimulators } from '../simulators.ts';
import { autotaskFixture } from './autotask-fixture.ts';
import { connectWiseManageFixture } from './connectwise-manage-fixture.ts';
import type { PsaContractFixture } from './fixture.ts';
import { collect } from '../../clients/collect.ts';

/**
 * One suite, both PSAs: whatever the engine does through the port must behave the same on
 * ConnectWise Manage and on Autotask, against their simulators over HTTP.
 */

/** What an activity's retry does with a vendor failure: wait the vendor's delay, then try again. */
async function withActivityRetries<T>(call: () => Promise<T>, maxAttempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof VendorApiError) || !error.retryable || attempt === maxAttempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, error.retryAfterMs ?? 100));
    }
  }
}

function currentMonth(): UsagePeriod {
  const now = new Date();
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 0));
  return { start: start.toISOString().slice(0, 10), end: end.toISOString().slice(0, 10) };
}

const AGREEMENT_SINCE = '2026-01-01';

const adapters: { name: string; fixture: (simulators: RunningSimulators) => PsaContractFixture }[] = [
  { name: 'ConnectWise Manage', fixture: (simulators) => connectWiseManageFixture(simulators.urls['connectwise-manage']) },
  { name: 'Autotask', fixture: (simulators) => autotaskFixture(simulators.urls.autotask) },
];

describe.each(adapters)('the PSA port on $name', ({ fixture: makeFixture }) => {
  let simulators: RunningSimulators;
  let fixture: PsaContractFixture;
  let psa: PsaPort;

  beforeAll(async () => {
    simulators = await startTestSimulators();
    fixture = makeFixture(simulators);
  });
  afterAll(() => simulators.close());
  beforeEach(() => {
    simulators.reset();
    psa = fixture.adapter();
  });

  /** The simulated PSA's present; its clock then moves on, so that what is written next is stamped after it (CWM stamps whole seconds). */
  async function afterNextSecond(): Promise<Date> {
    const clock = `${fixture.simulatorUrl}/_sim/clock`;
    const { now } = (await (await fetch(clock)).json()) as { now: string };
    await fetch(clock, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ advanceMs: 2_000 }) });
    return new Date(now);
  }

  it('accepts the default credentials and refuses a wrong secret as a non-retryable auth failure', async () => {
    await expect(psa.checkAccess()).resolves.toBeUndefined();
    const refusal = await fixture.adapterWithWrongSecret().checkAccess().catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(VendorApiError);
    expect(refusal).toMatchObject({ system: fixture.kind, kind: 'auth', retryable: false });
  });

  it('lists every company across several pages, and filters by name', async () => {
    // Above Autotask's 500-record page and many of ConnectWise's 25-record pages.
    const names = Array.from({ length: 520 }, (_, index) => `Customer ${String(index).padStart(3, '0')}`);
    for (let index = 0; index < names.length; index += 3) await Promise.all(names.slice(index, index + 3).map((name) => fixture.createCompany(name)));
    await fixture.createCompany('Northwind Traders');

    const all = await collect(psa.listCompanies());
    expect(all.map((company) => company.name).sort()).toEqual([...names, 'Northwind Traders'].sort());
    expect(new Set(all.map((company) => company.id)).size).toBe(all.length);
    const pageRequests = (await requestLog(fixture.simulatorUrl)).filter((entry) => new RegExp(fixture.companyListPath).test(entry.path));
    expect(pageRequests.length).toBeGreaterThan(1);

    const found = await collect(psa.listCompanies({ nameContains: 'northwind' }));
    expect(found.map((company: PsaCompany) => company.name)).toEqual(['Northwind Traders']);
    await expect(psa.getCompany(found[0]!.id)).resolves.toMatchObject({ name: 'Northwind Traders', active: true });
  });

  it('reads agreement lines normalised: product, quantity, prepaid or PAYG, active or cancelled', async () => {
    const companyId = await fixture.createCompany('Contoso');
    const workstations = await fixture.createProduct('Acronis Workstations');
    const storage = await fixture.createProduct('Acronis Cloud Storage');
    const servers = await fixture.createProduct('Acronis Servers');
    // Autotask bills a whole contract as PAYG or not, so each model gets its own agreement.
    const prepaid = await fixture.createAgreement(companyId, [{ productId: workstations, quantity: 25, billing: 'prepaid' }], AGREEMENT_SINCE);
    const payg = await fixture.createAgreement(companyId, [{ productId: storage, quantity: 0, billing: 'payg' }], AGREEMENT_SINCE);
    const cancelled = await fixture.createAgreement(companyId, [{ productId: servers, quantity: 3, billing: 'prepaid' }], AGREEMENT_SINCE);
    await fixture.cancelLine(cancelled.agreementId, cancelled.lineIds[0]!);

    const lines = await psa.listServiceLines(companyId);
    const byProduct = Object.fromEntries(lines.map((line) => [line.productName, line]));
    expect(lines).toHaveLength(3);
    expect(byProduct['Acronis Workstations']).toMatchObject({ agreementId: prepaid.agreementId, lineId: prepaid.lineIds[0], productId: workstations, quantity: 25, billing: 'prepaid', active: true });
    expect(byProduct['Acronis Cloud Storage']).toMatchObject({ agreementId: payg.agreementId, lineId: payg.lineIds[0], productId: storage, billing: 'payg', active: true });
    expect(byProduct['Acronis Servers']).toMatchObject({ productId: servers, active: false });
    await expect(psa.listServiceLines(await fixture.createCompany('No Agreements Ltd'))).resolves.toEqual([]);
  });

  it('reads the lines of many companies at once, as one at a time would, in fewer requests', async () => {
    const products = [await fixture.createProduct('Acronis Workstations'), await fixture.createProduct('Acronis Servers')];
    const companies: string[] = [];
    for (const [index, name] of ['Alpha', 'Beta', 'Gamma'].entries()) {
      const companyId = await fixture.createCompany(name);
      await fixture.createAgreement(companyId, [{ productId: products[index % 2]!, quantity: index + 1, billing: 'prepaid' }], AGREEMENT_SINCE);
      companies.push(companyId);
    }
    companies.push(await fixture.createCompany('Without Agreements'), '987654');

    let mark = (await requestLog(fixture.simulatorUrl)).length;
    const oneByOne = new Map<string, unknown>();
    for (const companyId of companies) oneByOne.set(companyId, await psa.listServiceLines(companyId));
    const oneByOneRequests = (await requestLog(fixture.simulatorUrl)).length - mark;
    mark = (await requestLog(fixture.simulatorUrl)).length;
    const bulk = await psa.listServiceLinesOf(companies);
    expect((await requestLog(fixture.simulatorUrl)).length - mark).toBeLessThan(oneByOneRequests);
    expect(bulk).toEqual(oneByOne);
    expect(bulk.get('987654')).toEqual([]);
    expect(bulk.get(companies[1]!)).toMatchObject([{ productId: products[1], quantity: 2, active: true }]);
  });

  it('lists only the companies changed after an instant, a deactivated one included as inactive', async () => {
    const [renamed, deactivated, untouched] = [await fixture.createCompany('Renamed Ltd'), await fixture.createCompany('Closing Ltd'), await fixture.createCompany('Quiet Ltd')];
    const since = await afterNextSecond();
    await fixture.renameCompany(renamed, 'Renamed Holdings');
    await fixture.deactivateCompany(deactivated);

    const changed = await collect(psa.listCompanies({ changedSince: since }));
    expect(changed.map((company) => [company.id, company.name, company.active]).sort()).toEqual(
      [
        [renamed, 'Renamed Holdings', true],
        [deactivated, 'Closing Ltd', false],
      ].sort(),
    );
    expect(changed.map((company) => company.id)).not.toContain(untouched);
  });

  it('names every company whose lines changed after an instant: a new agreement, a quantity, a cancellation', async () => {
    const product = await fixture.createProduct('Acronis Workstations');
    const companies = { added: await fixture.createCompany('Added Ltd'), resized: await fixture.createCompany('Resized Ltd'), cancelled: await fixture.createCompany('Cancelled Ltd'), quiet: await fixture.createCompany('Quiet Ltd') };
    const resized = await fixture.createAgreement(companies.resized, [{ productId: product, quantity: 5, billing: 'prepaid' }], AGREEMENT_SINCE);
    const cancelled = await fixture.createAgreement(companies.cancelled, [{ productId: product, quantity: 5, billing: 'prepaid' }], AGREEMENT_SINCE);
    await fixture.createAgreement(companies.quiet, [{ productId: product, quantity: 5, billing: 'prepaid' }], AGREEMENT_SINCE);
    const all = Object.values(companies);
    // Nothing changed yet; a PSA without stamps on its lines may still name every company (they are then read).
    const before = await psa.listServiceLinesOf(all);

    const since = await afterNextSecond();
    await fixture.createAgreement(companies.added, [{ productId: product, quantity: 1, billing: 'prepaid' }], AGREEMENT_SINCE);
    await fixture.changeQuantity(resized.agreementId, resized.lineIds[0]!, 8);
    await fixture.cancelLine(cancelled.agreementId, cancelled.lineIds[0]!);

    const changed = await psa.companiesWithLineChangesSince(all, since);
    for (const companyId of [companies.added, companies.resized, companies.cancelled]) expect(changed).toContain(companyId);
    const after = await psa.listServiceLinesOf([...changed]);
    expect(after.get(companies.added)).toMatchObject([{ quantity: 1, active: true }]);
    expect(after.get(companies.resized)).toMatchObject([{ quantity: 8, active: true }]);
    expect(after.get(companies.cancelled)).toMatchObject([{ active: false }]);
    if (changed.has(companies.quiet)) expect(after.get(companies.quiet)).toEqual(before.get(companies.quiet));
  });

  it('says when the calendar alone will change a line: an agreement that has not started yet', async () => {
    const product = await fixture.createProduct('Acronis Servers');
    const companyId = await fixture.createCompany('Starting Soon Ltd');
    const start = new Date();
    start.setUTCMonth(start.getUTCMonth() + 3, 1);
    await fixture.createAgreement(companyId, [{ productId: product, quantity: 2, billing: 'prepaid' }], start.toISOString().slice(0, 10));

    const [line] = await psa.listServiceLines(companyId);
    expect(line).toMatchObject({ active: false, changesAt: expect.any(String) });
    expect(Date.parse(line!.changesAt!)).toBeGreaterThan(Date.now());
    expect(Date.parse(line!.changesAt!)).toBeLessThanOrEqual(Date.parse(`${start.toISOString().slice(0, 10)}T00:00:00Z`));
  });

  it('ensures a product by name without ever making a second one', async () => {
    const existing = await fixture.createProduct('Acronis Microsoft 365 Seats');
    await expect(psa.ensureProduct('acronis microsoft 365 seats')).resolves.toMatchObject({ product: { id: existing }, created: false });
    const first = await psa.ensureProduct('Acronis Advanced Backup');
    const second = await psa.ensureProduct('Acronis Advanced Backup');
    expect(first.created).toBe(true);
    expect(second).toEqual({ product: first.product, created: false });
    const named = (await collect(psa.listProducts())).filter((product) => product.name === 'Acronis Advanced Backup');
    expect(named).toHaveLength(1);
  });

  it('writes PAYG usage so that the PSA bills exactly the usage, and a repeat writes nothing', async () => {
    const companyId = await fixture.createCompany('Fabrikam');
    const storage = await fixture.createProduct('Acronis Cloud Storage (GB)');
    const { agreementId, lineIds } = await fixture.createAgreement(companyId, [{ productId: storage, quantity: 0, billing: 'payg' }], AGREEMENT_SINCE);
    const line = { agreementId, lineId: lineIds[0]!, period: currentMonth() };

    await expect(psa.writeUsage({ ...line, quantity: 4 })).resolves.toEqual({ previous: 0, current: 4, changed: true });
    await expect(psa.writeUsage({ ...line, quantity: 7 })).resolves.toEqual({ previous: 4, current: 7, changed: true });
    const logBefore = (await requestLog(fixture.simulatorUrl)).length;
    await expect(psa.writeUsage({ ...line, quantity: 7 })).resolves.toEqual({ previous: 7, current: 7, changed: false });
    // Autotask queries are POSTs to .../query; anything else that is not a GET would be a write.
    const isWrite = (entry: { method: string; path: string }) => entry.method !== 'GET' && !/\/query(\/|$)/.test(entry.path);
    expect((await requestLog(fixture.simulatorUrl)).slice(logBefore).filter(isWrite)).toEqual([]);
    await expect(psa.writeUsage({ ...line, quantity: 5 })).resolves.toEqual({ previous: 7, current: 5, changed: true });
    await expect(fixture.billedQuantity(agreementId, line.lineId, line.period)).resolves.toBe(5);
  });

  it('reads usage without writing, and leaves a value changed by hand alone when asked to', async () => {
    const companyId = await fixture.createCompany('Wide World Importers');
    const seats = await fixture.createProduct('Acronis Microsoft 365 Seats');
    const { agreementId, lineIds } = await fixture.createAgreement(companyId, [{ productId: seats, quantity: 0, billing: 'payg' }], AGREEMENT_SINCE);
    const line = { agreementId, lineId: lineIds[0]!, period: currentMonth() };
    await psa.writeUsage({ ...line, quantity: 4 });
    const logBefore = (await requestLog(fixture.simulatorUrl)).length;
    await expect(psa.readUsage(line)).resolves.toBe(4);

    // Someone sets 9 in the PSA; a write that expects the 4 it left there writes nothing.
    await fixture.changeQuantity(agreementId, line.lineId, 9);
    await expect(psa.writeUsage({ ...line, quantity: 6, expect: [4] })).resolves.toEqual({ previous: 9, current: 9, changed: false, drifted: true });
    await expect(psa.writeUsage({ ...line, quantity: 9, expect: [4] })).resolves.toEqual({ previous: 9, current: 9, changed: false });
    await expect(psa.writeUsage({ ...line, quantity: 6, expect: [4, 9] })).resolves.toEqual({ previous: 9, current: 6, changed: true });
    const isWrite = (entry: { method: string; path: string }) => entry.method !== 'GET' && !/\/query(\/|$)/.test(entry.path);
    expect((await requestLog(fixture.simulatorUrl)).slice(logBefore).filter(isWrite)).toHaveLength(2);
    await expect(fixture.billedQuantity(agreementId, line.lineId, line.period)).resolves.toBe(6);
  });

  it('lists the lines of many companies at once, each under its company', async () => {
    const product = await fixture.createProduct('Acronis Servers');
    const companies = await Promise.all(['Alpine Ski House', 'Coho Winery', 'Lamna Healthcare'].map((name) => fixture.createCompany(name)));
    const agreements = await Promise.all(companies.slice(0, 2).map((companyId, index) => fixture.createAgreement(companyId, [{ productId: product, quantity: index + 1, billing: 'prepaid' }], AGREEMENT_SINCE)));
    const lines = await psa.listServiceLinesOf([...companies, '999999']);
    expect([...lines.keys()]).toEqual([...companies, '999999']);
    expect(lines.get(companies[0]!)).toEqual([expect.objectContaining({ agreementId: agreements[0]!.agreementId, lineId: agreements[0]!.lineIds[0], quantity: 1 })]);
    expect(lines.get(companies[1]!)).toEqual([expect.objectContaining({ agreementId: agreements[1]!.agreementId, quantity: 2 })]);
    expect(lines.get(companies[2]!)).toEqual([]);
    expect(lines.get('999999')).toEqual([]);
  });

  it('a ticket whose create answer was lost exists exactly once after the retry', async () => {
    const companyId = await fixture.createCompany('Adventure Works');
    const routing = await fixture.ticketRouting();
    const externalRef = 'acronis-alert:01C2D69A-112B-4F0E-9C9B-7A1D2E3F4A5B';
    await addFault(fixture.simulatorUrl, { match: fixture.ticketCreatePath, method: 'POST', kind: 'timeout-after-commit', times: 1 });
    const lossy = fixture.adapter({ timeoutMs: 1_000 });
    const ticket = { externalRef, companyId, summary: 'Backup failed: FILESRV01', description: 'Plan "Daily" failed on FILESRV01.', routing };

    // However the adapter notices the lost answer, the caller's retry must not create a second ticket.
    const outcome = await withActivityRetries(() => lossy.createTicket(ticket));
    expect(outcome.ticket).toMatchObject({ externalRef, closed: false });
    const creates = (await requestLog(fixture.simulatorUrl)).filter((entry) => entry.method === 'POST' && new RegExp(fixture.ticketCreatePath).test(entry.path));
    expect(creates).toHaveLength(1);
    await expect(fixture.countTickets(externalRef)).resolves.toBe(1);
    await expect(psa.findTicket(externalRef)).resolves.toMatchObject({ id: outcome.ticket.id });
    await expect(psa.findTicket('acronis-alert:unknown')).resolves.toBeUndefined();
  });

  it('adds each note once, closes and reopens a ticket', async () => {
    const companyId = await fixture.createCompany('Litware');
    const { ticket } = await psa.createTicket({
      externalRef: 'acronis-alert:AAAA',
      companyId,
      summary: 'Backup failed: SQL01',
      description: 'First failure.',
      routing: await fixture.ticketRouting(),
    });
    await expect(psa.addTicketNote(ticket.id, { key: 'repeat-2', text: 'The backup failed again.' })).resolves.toEqual({ added: true });
    await expect(psa.addTicketNote(ticket.id, { key: 'repeat-2', text: 'The backup failed again.' })).resolves.toEqual({ added: false });
    expect((await fixture.ticketNotes(ticket.id)).filter((note) => note.includes('The backup failed again.'))).toHaveLength(1);

    const closed = await psa.closeTicket(ticket.id);
    expect(closed.closed).toBe(true);
    const reopened = await psa.reopenTicket(ticket.id);
    expect(reopened.closed).toBe(false);
    await expect(psa.findTicket('acronis-alert:AAAA')).resolves.toMatchObject({ id: ticket.id, closed: false });
  });

  it('a rate limit is surfaced with the vendor delay, and the call succeeds once it is waited out', async () => {
    await fixture.createCompany('Tailspin Toys');
    await addFault(fixture.simulatorUrl, { match: fixture.companyListPath, kind: 'rate-limit', retryAfterSeconds: 1, times: 1 });
    const pushback = await collect(psa.listCompanies()).catch((error: unknown) => error);
    expect(pushback).toMatchObject({ kind: 'rate-limited', retryable: true, retryAfterMs: 1_000 });

    await addFault(fixture.simulatorUrl, { match: fixture.companyListPath, kind: 'rate-limit', retryAfterSeconds: 1, times: 1 });
    const started = Date.now();
    const companies = await withActivityRetries(() => collect(psa.listCompanies()));
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(companies.map((company) => company.name)).toEqual(['Tailspin Toys']);
  });

  it('a vendor outage is retryable and says so', async () => {
    await addFault(fixture.simulatorUrl, { match: fixture.companyListPath, kind: 'status', status: 503, times: 1 });
    await expect(collect(psa.listCompanies())).rejects.toMatchObject({ kind: 'unavailable', retryable: true, status: 503 });
  });
});
