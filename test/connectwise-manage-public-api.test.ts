import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningSimulators } from '../simulators/index.ts';
import { startTestSimulators } from './simulators.ts';

// What an MSP's own script does with nothing but the vendor's documentation: plain fetch, no client.
let sims: RunningSimulators;
let site: string;
let api: string;
const headers = {
  authorization: `Basic ${Buffer.from('simco+sim-public:sim-private').toString('base64')}`,
  clientId: 'sim-client-id',
  'content-type': 'application/json',
};

async function call(method: string, path: string, body?: unknown, extra: Record<string, string> = {}): Promise<{ status: number; body: any; link: string | null }> {
  const response = await fetch(path.startsWith('http') ? path : `${api}${path}`, { method, headers: { ...headers, ...extra }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined, link: response.headers.get('link') };
}

beforeAll(async () => {
  sims = await startTestSimulators();
  site = sims.urls['connectwise-manage'];
});
afterAll(() => sims.close());
beforeEach(async () => {
  await fetch(`${site}/_sim/reset`, { method: 'POST' });
  const info = (await (await fetch(`${site}/login/companyinfo/simco`)).json()) as { Codebase: string };
  api = `${site}/${info.Codebase}apis/3.0`;
});

describe('ConnectWise Manage through its public API only', () => {
  it('creates a company, an agreement with PAYG and prepaid additions, and a ticket', async () => {
    const company = await call('POST', '/company/companies', { identifier: 'GreenTorch', name: 'Green Torch, Inc.', addressLine1: '1 Main St', types: [{ name: 'Client' }], status: { name: 'Active' } });
    expect(company.status).toBe(201);
    expect(company.body).toMatchObject({ id: expect.any(Number), identifier: 'GreenTorch', types: [{ name: 'Client' }], _info: { dateEntered: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/) } });

    const product = await call('POST', '/procurement/catalog', { identifier: 'shm_localbackup', description: 'Local backup', productClass: 'NonInventory' });
    expect(product.status).toBe(201);
    const agreement = await call('POST', '/finance/agreements', { name: 'Acronis Cyber Protect', type: { name: 'Managed Services' }, company: { id: company.body.id }, startDate: '2024-06-29T00:00:00Z' });
    expect(agreement).toMatchObject({ status: 201, body: { agreementStatus: 'Active', company: { identifier: 'GreenTorch' } } });
    const payg = await call('POST', `/finance/agreements/${agreement.body.id}/additions`, { product: { identifier: 'shm_localbackup' }, quantity: 0, billCustomer: 'Billable' });
    const prepaid = await call('POST', `/finance/agreements/${agreement.body.id}/additions`, { product: { id: product.body.id }, quantity: 5, lessIncluded: 5, billCustomer: 'DoNotBill', effectiveDate: '2024-06-29T00:00:00Z', cancelledDate: '2030-12-31T00:00:00Z' });
    expect(payg).toMatchObject({ status: 201, body: { billCustomer: 'Billable', sequenceNumber: 1, effectiveDate: '2024-06-29T00:00:00Z' } });
    expect(prepaid).toMatchObject({ status: 201, body: { billedQuantity: 0, sequenceNumber: 2, cancelledDate: '2030-12-31T00:00:00Z' } });
    const usage = await call('PATCH', `/finance/agreements/${agreement.body.id}/additions/${payg.body.id}`, [{ op: 'replace', path: 'quantity', value: 123.45 }]);
    expect(usage).toMatchObject({ status: 200, body: { quantity: 123.45, billedQuantity: 123.45 } });

    const boards = await call('GET', `/service/boards?conditions=${encodeURIComponent('name="Help Desk"')}`);
    const statuses = await call('GET', `/service/boards/${boards.body[0].id}/statuses?conditions=${encodeURIComponent('closedStatus=true')}&orderBy=sortOrder`);
    const ticket = await call('POST', '/service/tickets', { summary: 'Backup failed', board: { id: boards.body[0].id }, company: { identifier: 'GreenTorch' }, initialDescription: 'Failed at 02:00', externalXRef: 'acronis-alert:9' });
    expect(ticket).toMatchObject({ status: 201, body: { status: { name: 'New' }, closedFlag: false, company: { id: company.body.id } } });
    const closed = await call('PATCH', `/service/tickets/${ticket.body.id}`, [{ op: 'replace', path: 'status', value: { id: statuses.body[0].id } }]);
    expect(closed.body).toMatchObject({ closedFlag: true, closedBy: expect.any(String), closedDate: expect.any(String) });
    const reopened = await call('PATCH', `/service/tickets/${ticket.body.id}`, [{ op: 'replace', path: 'closedFlag', value: false }]);
    expect(reopened.body).toMatchObject({ closedFlag: false, status: { name: 'New' } });
    expect(reopened.body).not.toHaveProperty('closedDate');
    const note = await call('POST', `/service/tickets/${ticket.body.id}/notes`, { text: 'Retried', detailDescriptionFlag: true });
    expect(note).toMatchObject({ status: 201, body: { ticketId: ticket.body.id, text: 'Retried' } });
    expect((await call('POST', `/service/tickets/${ticket.body.id}/notes`, { text: 'No flag' })).body).toMatchObject({ code: 'InvalidObject', errors: [{ field: 'detailDescriptionFlag' }] });
    expect((await call('GET', `/service/tickets/${ticket.body.id}/notes`)).body.map((entry: any) => entry.text)).toEqual(['Failed at 02:00', 'Retried']);
    const search = await call('POST', '/service/tickets/search', { conditions: 'externalXRef = "acronis-alert:9" and closedFlag = false' });
    expect(search.body.map((found: any) => found.id)).toEqual([ticket.body.id]);
    expect((await call('DELETE', `/service/tickets/${ticket.body.id}`)).status).toBe(204);
    expect((await call('GET', `/service/tickets/${ticket.body.id}`)).body).toMatchObject({ code: 'NotFound', errors: null });
  });

  it('keeps the PATCH quirks: a sub-path answers 200 and changes nothing; customFields are replaced whole; a non-array body is refused', async () => {
    const company = await call('POST', '/company/companies', { identifier: 'Quirk', name: 'Quirk', city: 'Tampa', customFields: [{ id: 1, caption: 'Tenant', value: 'a' }, { id: 2, caption: 'Tier', value: 'gold' }] });
    const subPath = await call('PATCH', `/company/companies/${company.body.id}`, [{ op: 'replace', path: 'status/name', value: 'Inactive' }]);
    expect(subPath).toMatchObject({ status: 200, body: { status: { name: 'Active' } } });
    const fields = await call('PATCH', `/company/companies/${company.body.id}`, [{ op: 'replace', path: 'customFields', value: [{ id: 1, caption: 'Tenant', value: 'b' }] }]);
    expect(fields.body.customFields).toEqual([{ id: 1, caption: 'Tenant', value: 'b' }]);
    const byCustomField = await call('GET', `/company/companies?customFieldConditions=${encodeURIComponent('caption="Tenant" and value="b"')}`);
    expect(byCustomField.body.map((found: any) => found.id)).toEqual([company.body.id]);
    expect((await call('PATCH', `/company/companies/${company.body.id}`, { name: 'x' })).status).toBe(400);
  });

  it('pages navigably with first/prev/next/last links that keep the query, and forward-only with pageId', async () => {
    for (let index = 1; index <= 7; index++) await call('POST', '/company/companies', { identifier: `P${index}`, name: `Paged ${index}`, city: 'Tampa' });
    const conditions = encodeURIComponent('name like "Paged*"');
    const page2 = await call('GET', `/company/companies?conditions=${conditions}&pageSize=3&page=2&orderBy=id%20desc`);
    expect(page2.body.map((company: any) => company.name)).toEqual(['Paged 4', 'Paged 3', 'Paged 2']);
    const rels = Object.fromEntries([...page2.link!.matchAll(/<([^>]+)>; rel="(\w+)"/g)].map((match) => [match[2], new URL(match[1]!)]));
    expect(Object.keys(rels)).toEqual(['first', 'prev', 'next', 'last']);
    expect(rels.last!.searchParams.get('page')).toBe('3');
    expect(rels.next!.searchParams.get('conditions')).toBe('name like "Paged*"');
    expect((await call('GET', rels.next!.toString())).body.map((company: any) => company.name)).toEqual(['Paged 1']);
    expect((await call('GET', `/company/companies?pageSize=3&page=9`)).body).toEqual([]);

    const forward = { 'pagination-type': 'forward-only' };
    const first = await call('GET', '/company/companies?pageSize=5', undefined, forward);
    const next = /<([^>]+)>; rel="next"/.exec(first.link!)![1]!;
    expect(new URL(next).searchParams.get('pageId')).toBe(String(first.body[4].id));
    const last = await call('GET', next, undefined, forward);
    expect(last.body).toHaveLength(2);
    expect(last.link).toBe('');
    expect(await call('GET', '/company/companies?orderBy=name', undefined, forward)).toMatchObject({ status: 400 });
  });

  it('finds what changed after an instant by lastUpdated: companies, additions, and the agreements whose additions changed', async () => {
    const created = async (name: string) => {
      const company = await call('POST', '/company/companies', { identifier: name, name, city: 'Tampa' });
      const agreement = await call('POST', '/finance/agreements', { name: `${name} services`, type: { name: 'Managed Services' }, company: { id: company.body.id } });
      const addition = await call('POST', `/finance/agreements/${agreement.body.id}/additions`, { product: { id: product.body.id }, quantity: 5, billCustomer: 'DoNotBill' });
      return { company: company.body.id as number, agreement: agreement.body.id as number, addition: addition.body.id as number };
    };
    const product = await call('POST', '/procurement/catalog', { identifier: 'backup', description: 'Backup', productClass: 'NonInventory' });
    const [north, south] = [await created('North'), await created('South')];
    // Stamps have whole seconds: the clock moves on so that what follows is stamped after `since`.
    const since = ((await (await fetch(`${site}/_sim/clock`)).json()) as { now: string }).now.replace(/\.\d{3}Z$/, 'Z');
    const changedSince = async (path: string) => (await call('GET', `${path}?conditions=${encodeURIComponent(`lastUpdated > [${since}]`)}`)).body.map((record: any) => record.id);
    await fetch(`${site}/_sim/clock`, { method: 'POST', body: JSON.stringify({ advanceMs: 60_000 }) });
    expect(await changedSince('/finance/agreements')).toEqual([]);

    await call('PATCH', `/finance/agreements/${north.agreement}/additions/${north.addition}`, [{ op: 'replace', path: 'quantity', value: 7 }]);
    await call('PATCH', `/company/companies/${south.company}`, [{ op: 'replace', path: 'name', value: 'South Ltd' }]);
    expect(await changedSince(`/finance/agreements/${north.agreement}/additions`)).toEqual([north.addition]);
    expect(await changedSince('/finance/agreements')).toEqual([north.agreement]);
    expect(await changedSince('/company/companies')).toEqual([south.company]);
    const agreement = await call('GET', `/finance/agreements/${north.agreement}`);
    expect(Date.parse(agreement.body._info.lastUpdated)).toBeGreaterThan(Date.parse(since));

    expect((await call('DELETE', `/finance/agreements/${south.agreement}/additions/${south.addition}`)).status).toBe(204);
    expect(await changedSince('/finance/agreements')).toEqual([north.agreement, south.agreement]);
  });

  it('answers in CWM error shapes: unknown condition field, bad auth, missing clientId, old codebase', async () => {
    expect(await call('GET', `/service/tickets?conditions=${encodeURIComponent('board/nam = "x"')}`)).toMatchObject({ status: 400, body: { code: 'ApiFindCondition', message: 'board\\/nam is not a recognized name.' } });
    expect(await call('GET', '/system/info', undefined, { authorization: 'Basic eDp5' })).toMatchObject({ status: 401, body: { code: 'Unauthorized' } });
    const response = await fetch(`${api}/system/info`, { headers: { authorization: headers.authorization } });
    expect(response.status).toBe(401);
    expect(await (await fetch(`${site}/login/companyinfo/unknown`)).json()).toBeNull();
    await fetch(`${site}/_sim/codebase`, { method: 'POST', body: JSON.stringify({ codebase: 'v2025_1' }) });
    expect((await call('GET', '/system/info')).status).toBe(404);
    expect(await (await fetch(`${site}/login/companyinfo/simco`)).json()).toMatchObject({ Codebase: 'v2025_1/' });
  });
});
