import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningSimulators } from '../../simulators/index.ts';
import { connectWiseManageConfig } from '../../test/psa/connectwise-manage-fixture.ts';
import { addFault, requestLog, startTestSimulators } from '../../test/simulators.ts';
import type { VendorApiError } from '../http.ts';
import { ConnectWiseManageClient, cwDate, type ConnectWiseManageConfig } from './client.ts';
import { allOf, condition } from './conditions.ts';
import { collect } from '../collect.ts';

let sims: RunningSimulators;
let url: string;
const client = (changes: Partial<ConnectWiseManageConfig> = {}) => new ConnectWiseManageClient(connectWiseManageConfig(url, changes));
const control = (path: string, body: unknown) => fetch(`${url}/_sim/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const failure = (promise: Promise<unknown>) => promise.then(() => expect.fail('expected a VendorApiError'), (error: unknown) => error as VendorApiError);

beforeAll(async () => {
  sims = await startTestSimulators();
  url = sims.urls['connectwise-manage'];
});
afterAll(() => sims.close());
beforeEach(() => sims.reset());

async function makeCompanies(cw: ConnectWiseManageClient, count: number, prefix = 'Co'): Promise<void> {
  for (let index = 1; index <= count; index++) {
    await cw.createCompany({ identifier: `${prefix}${index}`, name: `${prefix} Company ${String(index).padStart(2, '0')}`, addressLine1: '1 Main St', types: [{ name: index % 2 ? 'Client' : 'Prospect' }] });
  }
}

describe('ConnectWise Manage client', () => {
  it('discovers the codebase once through companyinfo and reaches the API under it', async () => {
    const cw = client();
    await expect(cw.companyInfo()).resolves.toMatchObject({ CompanyID: 'simco', Codebase: 'v4_6_release/', IsCloud: 'False' });
    await cw.systemInfo();
    await collect(cw.companyTypes());
    const log = await requestLog(url);
    expect(log.filter((entry) => entry.path.startsWith('/login/companyinfo')).length).toBe(2);
    expect(log.map((entry) => entry.path)).toContain('/v4_6_release/apis/3.0/system/info');
  });

  it('creates and reads a company, an agreement with additions, a ticket and its notes', async () => {
    const cw = client();
    const company = await cw.createCompany({ identifier: 'Acme', name: 'Acme Inc', addressLine1: '1 Main St', types: [{ name: 'Client' }] });
    expect(company).toMatchObject({ identifier: 'Acme', status: { name: 'Active' }, types: [{ name: 'Client' }] });
    await expect(cw.getCompany(company.id)).resolves.toMatchObject({ name: 'Acme Inc' });
    const contact = await cw.createContact({ firstName: 'Ada', lastName: 'Lovelace', company: { id: company.id }, communicationItems: [{ type: { name: 'Email' }, value: 'ada@acme.test', defaultFlag: true }] });
    expect(contact.company?.id).toBe(company.id);

    const product = await cw.createCatalogItem({ identifier: 'acronis-backup-gb', description: 'Acronis backup storage (GB)', price: 0.1 });
    await expect(cw.getCatalogItem(product.id)).resolves.toMatchObject({ identifier: 'acronis-backup-gb' });
    const agreement = await cw.createAgreement({ name: 'Backup', type: { name: 'Managed Services' }, company: { id: company.id }, startDate: '2024-01-01T00:00:00Z' });
    expect(agreement).toMatchObject({ agreementStatus: 'Active', company: { id: company.id } });
    const addition = await cw.createAddition(agreement.id, { product: { identifier: 'acronis-backup-gb' }, quantity: 10, lessIncluded: 2, billCustomer: 'Billable' });
    expect(addition).toMatchObject({ agreementId: agreement.id, quantity: 10, billedQuantity: 8, unitPrice: 0.1 });
    const patched = await cw.patchAddition(agreement.id, addition.id, [{ op: 'replace', path: 'quantity', value: 42.5 }]);
    expect(patched).toMatchObject({ quantity: 42.5, billedQuantity: 40.5 });
    expect(await collect(cw.additions(agreement.id))).toHaveLength(1);
    await expect(cw.getAddition(agreement.id, addition.id)).resolves.toMatchObject({ quantity: 42.5 });

    const [board] = await collect(cw.boards({ conditions: condition('name', '=', 'Help Desk') }));
    const statuses = await collect(cw.boardStatuses(board!.id));
    const types = await collect(cw.boardTypes(board!.id));
    const subtypes = await collect(cw.boardSubtypes(board!.id));
    const items = await collect(cw.boardItems(board!.id));
    const priorities = await collect(cw.priorities());
    expect(statuses.some((status) => status.closedStatus)).toBe(true);
    const ticket = await cw.createTicket({
      summary: 'Backup failed: SRV01',
      company: { id: company.id },
      board: { id: board!.id },
      type: { id: types[0]!.id },
      subType: { id: subtypes[0]!.id },
      item: { id: items[0]!.id },
      priority: { id: priorities[0]!.id },
      initialDescription: 'The nightly backup failed.',
      externalXRef: 'acronis-alert:1',
    });
    expect(ticket).toMatchObject({ status: { name: 'New' }, closedFlag: false, externalXRef: 'acronis-alert:1' });
    expect(ticket).not.toHaveProperty('initialDescription');
    const closed = statuses.find((status) => status.name === 'Closed')!;
    await expect(cw.patchTicket(ticket.id, [{ op: 'replace', path: 'status', value: { id: closed.id } }])).resolves.toMatchObject({ closedFlag: true, status: { name: 'Closed' } });
    await cw.addNote(ticket.id, { text: 'Still failing', internalAnalysisFlag: true });
    expect((await collect(cw.notes(ticket.id))).map((note) => [note.text, note.detailDescriptionFlag])).toEqual([
      ['The nightly backup failed.', true],
      ['Still failing', false],
    ]);
    await expect(cw.getTicket(ticket.id)).resolves.toMatchObject({ closedFlag: true });
    await expect(cw.countTickets(condition('externalXRef', '=', 'acronis-alert:1'))).resolves.toBe(1);
  });

  it('quotes condition values so quotes and backslashes match literally', async () => {
    const cw = client();
    const company = await cw.createCompany({ identifier: 'Q', name: 'Q "quoted" \\ Co', addressLine1: 'x' });
    const ref = 'alert:"x" \\ y';
    await cw.createTicket({ summary: 'quoted', company: { id: company.id }, externalXRef: ref });
    await cw.createTicket({ summary: 'other', company: { id: company.id }, externalXRef: 'alert:x' });
    expect((await collect(cw.tickets({ conditions: condition('externalXRef', '=', ref) }))).map((ticket) => ticket.summary)).toEqual(['quoted']);
    expect((await collect(cw.companies({ conditions: condition('name', 'contains', '"quoted" \\') }))).map((found) => found.id)).toEqual([company.id]);
  });

  it('follows Link headers over several pages, forward-only by default and navigable with orderBy, keeping the conditions', async () => {
    const cw = client();
    await makeCompanies(cw, 60);
    await fetch(`${url}/_sim/requests`, { method: 'DELETE' });
    const all = await collect(cw.companies({ pageSize: 25 }));
    expect(all.map((company) => company.id)).toEqual([...all.map((company) => company.id)].sort((a, b) => a - b));
    expect(all).toHaveLength(60);
    const pages = (await requestLog(url)).filter((entry) => entry.path.endsWith('/company/companies'));
    expect(pages).toHaveLength(3);
    expect(pages[1]!.query).toContain('pageId=');

    const clients = await collect(cw.companies({ childConditions: condition('types/name', '=', 'Client'), orderBy: 'name desc', pageSize: 7 }));
    expect(clients).toHaveLength(30);
    expect(clients[0]!.name).toBe('Co Company 59');
    expect(clients.every((company) => company.types?.[0]?.name === 'Client')).toBe(true);
    await expect(cw.countCompanies(allOf(condition('name', 'like', 'Co Company 1*'), condition('id', '>', 0)))).resolves.toBe(10);
  });

  it('refuses wrong keys as a non-retryable auth failure; on cloud the 404 on /system/info still reads as auth', async () => {
    const wrong = await failure(client({ privateKey: 'wrong' }).systemInfo());
    expect(wrong).toMatchObject({ kind: 'auth', status: 401, retryable: false, vendorCode: 'Unauthorized' });
    await control('cloud-mode', { enabled: true });
    const cloud = await failure(client({ privateKey: 'wrong' }).systemInfo());
    expect(cloud).toMatchObject({ kind: 'auth', status: 404, retryable: false });
    await expect(client().systemInfo()).resolves.toMatchObject({ isCloud: true });
  });

  it('refuses a missing clientId and an unknown company', async () => {
    await expect(failure(client({ clientId: '' }).systemInfo())).resolves.toMatchObject({ kind: 'auth', status: 401, message: expect.stringContaining('clientId') });
    await expect(failure(client({ companyId: 'nobody' }).systemInfo())).resolves.toMatchObject({ kind: 'auth', retryable: false });
  });

  it('classifies CWM validation answers: unknown condition field, over-long summary, status from another board', async () => {
    const cw = client();
    const unknown = await failure(collect(cw.companies({ conditions: 'board/name = "x"' })));
    expect(unknown).toMatchObject({ kind: 'validation', status: 400, vendorCode: 'ApiFindCondition', retryable: false });
    expect(unknown.message).toContain('board\\/name is not a recognized name');
    const company = await cw.createCompany({ identifier: 'V', name: 'V', addressLine1: 'x' });
    await expect(failure(cw.createTicket({ summary: 'x'.repeat(101), company: { id: company.id } }))).resolves.toMatchObject({ kind: 'validation', vendorCode: 'MaxLengthField' });
    const [otherBoard] = await collect(cw.boards({ conditions: condition('name', '=', 'Professional Services') }));
    const [foreignStatus] = await collect(cw.boardStatuses(otherBoard!.id));
    const wrongBoard = await failure(cw.createTicket({ summary: 'x', company: { id: company.id }, board: { name: 'Help Desk' }, status: { id: foreignStatus!.id } }));
    expect(wrongBoard).toMatchObject({ kind: 'validation', vendorCode: 'InvalidObject' });
    expect(wrongBoard.message).toMatch(/status\/id: Service Status \d+ not found for Service Board \d+/);
    await expect(failure(cw.createAgreement({ name: 'x', type: { name: 'Managed Services' }, company: { id: company.id }, startDate: '2024-01-01T00:00:00.000Z' }))).resolves.toMatchObject({ vendorCode: 'UnsupportedFormat' });
  });

  it('answers a throttled call as rate-limited with the Retry-After wait, from the {error, message} body', async () => {
    await control('rate-limit', { requestsPerMinute: 2 });
    const cw = client();
    await cw.systemInfo();
    await cw.systemInfo();
    const throttled = await failure(cw.systemInfo());
    expect(throttled).toMatchObject({ kind: 'rate-limited', status: 429, retryable: true, vendorCode: 'ConnectWiseAPI' });
    expect(throttled.retryAfterMs).toBeGreaterThan(0);
    await fetch(`${url}/_sim/clock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ advanceMs: 60_000 }) });
    await expect(cw.systemInfo()).resolves.toBeDefined();
    await addFault(url, { match: 'system/info', kind: 'rate-limit', retryAfterSeconds: 30, times: 1 });
    await expect(failure(cw.systemInfo())).resolves.toMatchObject({ kind: 'rate-limited', retryAfterMs: 30_000 });
  });

  it('follows the codebase when a cloud upgrade moves it, looking it up again once', async () => {
    const cw = client();
    await cw.systemInfo();
    await control('codebase', { codebase: 'v2025_1/' });
    await expect(cw.systemInfo()).resolves.toBeDefined();
    const paths = (await requestLog(url)).map((entry) => `${entry.status} ${entry.path}`);
    expect(paths.slice(-3)).toEqual(['404 /v4_6_release/apis/3.0/system/info', '200 /login/companyinfo/simco', '200 /v2025_1/apis/3.0/system/info']);
    await expect(cw.codebase()).resolves.toBe('v2025_1/');
  });

  it('a genuine 404 stays not-found after one fresh lookup', async () => {
    await expect(failure(client().getTicket(999_999))).resolves.toMatchObject({ kind: 'not-found', status: 404, vendorCode: 'NotFound' });
  });

  it('writes datetimes the way CWM takes them', () => {
    expect(cwDate(new Date('2024-05-06T07:08:09.123Z'))).toBe('2024-05-06T07:08:09Z');
    expect(condition('lastUpdated', '>', new Date('2024-01-01T00:00:00.500Z'))).toBe('lastUpdated > [2024-01-01T00:00:00Z]');
    expect(condition('board/id', 'in', [1, 2])).toBe('board/id in (1, 2)');
    expect(() => condition('name = 1 or id', '=', 1)).toThrow(RangeError);
  });
});
