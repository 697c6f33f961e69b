import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningSimulators } from '../../simulators/index.ts';
import { DEFAULT_CREDENTIALS } from '../../simulators/default-credentials.ts';
import { addFault, requestLog, startTestSimulators } from '../../test/simulators.ts';
import { VendorApiError } from '../http.ts';
import { AutotaskClient, type AutotaskClientOptions } from './client.ts';
import type { AutotaskFilter, QueryableEntity } from './types.ts';

let simulators: RunningSimulators;
let url: string;
const client = (options: Partial<AutotaskClientOptions> = {}) => new AutotaskClient({ baseUrl: url, ...DEFAULT_CREDENTIALS.autotask, timeoutMs: 2_000, ...options });
const failure = (promise: Promise<unknown>) => promise.then(() => expect.fail('expected a VendorApiError'), (error: unknown) => error as VendorApiError);
const control = (path: string, method: string, body?: unknown) =>
  fetch(`${url}/_sim${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });

async function picklist(at: AutotaskClient, entity: QueryableEntity, field: string, label: string): Promise<number> {
  const value = (await at.fields(entity)).find((candidate) => candidate.name === field)?.picklistValues?.find((entry) => entry.label === label)?.value;
  if (value === undefined) throw new Error(`no ${field} ${label}`);
  return Number(value);
}

async function newCompany(at: AutotaskClient, name: string): Promise<number> {
  const [owner] = await at.queryAll('Resources', [{ op: 'eq', field: 'userName', value: 'aowner' }]);
  return at.create('Companies', { companyName: name, companyType: await picklist(at, 'Companies', 'companyType', 'Customer'), phone: '555-0100', ownerResourceID: owner?.id });
}

beforeAll(async () => {
  simulators = await startTestSimulators();
  url = simulators.urls.autotask;
});
afterAll(() => simulators.close());
beforeEach(() => simulators.reset());

describe('Autotask client: zone and credentials', () => {
  it('looks the zone up once and answers from the simulator host', async () => {
    const at = client();
    expect(await at.zone()).toMatchObject({ url: `${url}/atservicesrest/` });
    await at.count('Companies', [{ op: 'exist', field: 'id' }]);
    await at.count('Companies', [{ op: 'exist', field: 'id' }]);
    expect((await requestLog(url)).filter((entry) => /zoneInformation/i.test(entry.path))).toHaveLength(1);
  });

  it('an unknown user cannot find its zone: a non-retryable auth failure', async () => {
    const error = await failure(client({ username: 'nobody@example.com' }).count('Companies', [{ op: 'exist', field: 'id' }]));
    expect(error).toMatchObject({ kind: 'auth', status: 500, retryable: false });
  });

  it('a wrong secret is a non-retryable auth failure', async () => {
    const error = await failure(client({ secret: 'wrong' }).get('Companies', 1));
    expect(error).toBeInstanceOf(VendorApiError);
    expect(error).toMatchObject({ system: 'autotask', kind: 'auth', status: 401, retryable: false });
  });

  it('follows a zone move: the old base answers 401, the client looks the zone up again and retries there', async () => {
    const at = client();
    const id = await newCompany(at, 'Before the move');
    const moved = (await (await control('/zone-move', 'POST')).json()) as { url: string };
    expect(moved.url).not.toBe(`${url}/atservicesrest/`);
    expect((await at.get('Companies', id))?.companyName).toBe('Before the move');
    expect(await at.zone()).toMatchObject({ url: moved.url });
    const statuses = (await requestLog(url)).filter((entry) => /Companies\/\d+$/.test(entry.path)).map((entry) => entry.status);
    expect(statuses).toEqual([401, 200]);
  });
});

describe('Autotask client: entities', () => {
  it('creates, reads, updates; a missing id reads as undefined', async () => {
    const at = client();
    const id = await newCompany(at, 'Acme');
    expect(await at.get('Companies', id)).toMatchObject({ id, companyName: 'Acme', isActive: true });
    expect(await at.update('Companies', id, { companyName: 'Acme Ltd' })).toBe(id);
    expect(await at.get('Companies', id)).toMatchObject({ companyName: 'Acme Ltd', phone: '555-0100' });
    expect(await at.get('Companies', id + 999)).toBeUndefined();
  });

  it('contacts can be deleted; deleting a missing one is not-found', async () => {
    const at = client();
    const companyId = await newCompany(at, 'Contacts Inc');
    const contactId = await at.create('Contacts', { companyID: companyId, firstName: 'Ada', lastName: 'Lovelace', isActive: 1 });
    expect(await at.delete('Contacts', contactId)).toBe(contactId);
    expect(await failure(at.delete('Contacts', contactId))).toMatchObject({ kind: 'not-found', status: 500, retryable: false });
  });

  it('a contract with services: adjustments change whole units from their effective date, splitting the period', async () => {
    const at = client();
    const companyId = await newCompany(at, 'Units Co');
    const serviceId = await at.create('Services', { name: 'Workstations', unitPrice: 12, periodType: await picklist(at, 'Services', 'periodType', 'Monthly') });
    const contractId = await at.create('Contracts', { companyID: companyId, contractName: 'Backup', contractType: 7, status: 1, startDate: '2025-01-01', endDate: '2025-03-31' });
    const lineId = await at.createContractService(contractId, { serviceID: serviceId });
    await at.createContractServiceAdjustment({ contractID: contractId, serviceID: serviceId, contractServiceID: lineId, effectiveDate: '2025-01-01', unitChange: 5 });
    await at.createContractServiceAdjustment({ contractID: contractId, serviceID: serviceId, effectiveDate: '2025-02-15', unitChange: -2 });
    const rows = await at.queryAll('ContractServiceUnits', [{ op: 'eq', field: 'contractServiceID', value: lineId }]);
    expect(rows.map((row) => [row.startDate.slice(0, 10), row.endDate.slice(0, 10), row.units, row.price])).toEqual([
      ['2025-01-01', '2025-01-31', 5, 60],
      ['2025-02-01', '2025-02-14', 5, 60],
      ['2025-02-15', '2025-02-28', 3, 36],
      ['2025-03-01', '2025-03-31', 3, 36],
    ]);
    expect(await failure(at.createContractServiceAdjustment({ contractID: contractId, serviceID: serviceId, effectiveDate: '2025-01-01', unitChange: 1.5 }))).toMatchObject({ kind: 'validation', retryable: false });
  });

  it('an adjustment for a service the contract lacks adds the contract service; other contract types take none', async () => {
    const at = client();
    const companyId = await newCompany(at, 'Auto Co');
    const serviceId = await at.create('Services', { name: 'Servers', unitPrice: 40, periodType: await picklist(at, 'Services', 'periodType', 'Monthly') });
    const contractId = await at.create('Contracts', { companyID: companyId, contractName: 'Recurring', contractType: 7, status: 1, startDate: '2025-01-01', endDate: '2025-12-31' });
    await at.createContractServiceAdjustment({ contractID: contractId, serviceID: serviceId, effectiveDate: '2025-01-01', unitChange: 2 });
    expect(await at.queryAll('ContractServices', [{ op: 'eq', field: 'contractID', value: contractId }])).toMatchObject([{ contractID: contractId, serviceID: serviceId }]);
    const fixedPrice = await at.create('Contracts', { companyID: companyId, contractName: 'Fixed', contractType: 3, status: 1, startDate: '2025-01-01', endDate: '2025-12-31' });
    expect(await failure(at.createContractService(fixedPrice, { serviceID: serviceId }))).toMatchObject({ kind: 'validation', status: 500 });
  });

  it('service bundles hold services', async () => {
    const at = client();
    const periodType = await picklist(at, 'ServiceBundles', 'periodType', 'Monthly');
    const bundleId = await at.create('ServiceBundles', { name: 'Protect bundle', periodType });
    const serviceId = await at.create('Services', { name: 'Mailboxes', unitPrice: 2, periodType: await picklist(at, 'Services', 'periodType', 'Monthly') });
    await at.addServiceToBundle(bundleId, serviceId);
    expect(await at.queryAll('ServiceBundleServices', [{ op: 'eq', field: 'serviceBundleID', value: bundleId }])).toMatchObject([{ serviceID: serviceId }]);
  });

  it('tickets and notes; required ticket fields are configurable and missing ones are validation errors', async () => {
    const at = client();
    const companyId = await newCompany(at, 'Ticket Co');
    const base = {
      companyID: companyId,
      title: 'Backup failed',
      status: await picklist(at, 'Tickets', 'status', 'New'),
      priority: await picklist(at, 'Tickets', 'priority', 'High'),
      queueID: await picklist(at, 'Tickets', 'queueID', 'Monitoring Alert'),
      externalID: 'acronis-alert:1',
    };
    const ticketId = await at.create('Tickets', base);
    expect(await at.get('Tickets', ticketId)).toMatchObject({ ticketNumber: expect.stringMatching(/^T\d{8}\.\d{4}$/), externalID: 'acronis-alert:1', completedDate: null });
    await at.update('Tickets', ticketId, { status: 5 });
    expect((await at.get('Tickets', ticketId))?.completedDate).toEqual(expect.any(String));
    const noteId = await at.createTicketNote(ticketId, { title: 'Seen', description: 'Still failing', noteType: await picklist(at, 'TicketNotes', 'noteType', 'Task Detail'), publish: 1 });
    expect(await at.queryAll('TicketNotes', [{ op: 'eq', field: 'ticketID', value: ticketId }])).toMatchObject([{ id: noteId, description: 'Still failing' }]);

    await control('/ticket-required-fields', 'PUT', { fields: ['companyID', 'title', 'status', 'priority', 'queueID', 'dueDateTime'] });
    const fields = await at.fields('Tickets');
    expect(fields.find((field) => field.name === 'dueDateTime')?.isRequired).toBe(true);
    const error = await failure(at.create('Tickets', { ...base, externalID: 'acronis-alert:2' }));
    expect(error).toMatchObject({ kind: 'validation', status: 500, retryable: false, message: expect.stringContaining('dueDateTime') });
  });

  it('an unknown picklist value is a non-retryable validation error', async () => {
    const at = client();
    const error = await failure(at.create('Companies', { companyName: 'Bad', companyType: 1, phone: '1', ownerResourceID: 1 }));
    expect(error).toMatchObject({ kind: 'validation', status: 500, retryable: false, message: expect.stringMatching(/picklist|Reference/) });
  });
});

describe('Autotask client: queries', () => {
  it('follows nextPageUrl across pages, by GET and by POST with the same body', async () => {
    const at = client();
    for (let index = 1; index <= 7; index++) await newCompany(at, `Paged ${index}`);
    const filter: AutotaskFilter[] = [{ op: 'beginsWith', field: 'companyname', value: 'paged' }];
    for (const method of ['GET', 'POST'] as const) {
      const names = (await at.queryAll('Companies', filter, { maxRecords: 3, method })).map((company) => company.companyName);
      expect(names).toEqual(['Paged 1', 'Paged 2', 'Paged 3', 'Paged 4', 'Paged 5', 'Paged 6', 'Paged 7']);
    }
    const queries = (await requestLog(url)).filter((entry) => entry.path.endsWith('/Companies/query'));
    expect(queries.map((entry) => entry.method)).toEqual(['GET', 'GET', 'GET', 'POST', 'POST', 'POST']);
    expect(await at.count('Companies', [{ op: 'or', items: [{ op: 'eq', field: 'companyName', value: 'Paged 1' }, { op: 'in', field: 'companyName', value: ['Paged 6', 'Paged 7'] }] }])).toBe(3);
  });

  it('rejects `ne` (Autotask spells it noteq) as a validation error', async () => {
    const at = client();
    const error = await failure(at.count('Companies', [{ op: 'ne', field: 'id', value: 1 } as unknown as AutotaskFilter]));
    expect(error).toMatchObject({ kind: 'validation', status: 500, retryable: false });
    expect(await at.count('Companies', [{ op: 'noteq', field: 'id', value: 1 }])).toBe(0);
  });

  it('filters on user-defined fields', async () => {
    const at = client();
    const companyId = await newCompany(at, 'UDF Co');
    const [payg] = await at.userDefinedFields('Contracts');
    const yes = payg?.picklistValues?.find((entry) => entry.label === 'Yes')?.value ?? '';
    const contract = { companyID: companyId, contractType: 7, status: 1, startDate: '2025-01-01', endDate: '2025-12-31' };
    const paygId = await at.create('Contracts', { ...contract, contractName: 'PAYG', userDefinedFields: [{ name: 'Acronis PAYG', value: yes }] });
    await at.create('Contracts', { ...contract, contractName: 'Prepaid' });
    const found = await at.queryAll('Contracts', [{ op: 'eq', field: 'Acronis PAYG', udf: true, value: yes }]);
    expect(found.map((item) => item.id)).toEqual([paygId]);
  });
});

describe('Autotask client: limits', () => {
  it('the hourly threshold adds latency from 50 % and 75 %, then refuses with Retry-After until the hour rolls on', async () => {
    await control('/limits', 'PUT', { requestsPerHour: 4, latencyAtHalfMs: 250, latencyAtThreeQuartersMs: 500 });
    const at = client();
    const timed = async () => {
      const started = Date.now();
      await at.count('Companies', [{ op: 'exist', field: 'id' }]);
      return Date.now() - started;
    };
    expect(await timed()).toBeLessThan(200);
    expect(await timed()).toBeLessThan(200);
    expect(await timed()).toBeGreaterThanOrEqual(240);
    expect(await timed()).toBeGreaterThanOrEqual(490);
    const refused = await failure(timed());
    expect(refused).toMatchObject({ kind: 'rate-limited', status: 429, retryable: true });
    expect(refused.retryAfterMs).toBeGreaterThan(3_500_000);
    await control('/clock', 'POST', { advanceMs: 3_600_000 });
    expect(await at.count('Companies', [{ op: 'exist', field: 'id' }])).toBe(0);
    expect(await at.thresholdInformation()).toMatchObject({ externalRequestThreshold: 4, currentTimeframeRequestCount: 2 });
  });

  it('a shortened threshold window (for benchmarks) refuses with the wait until it rolls on, and reports its timeframe', async () => {
    await control('/limits', 'PUT', { requestsPerHour: 2, thresholdWindowSeconds: 120, latencyAtHalfMs: 0, latencyAtThreeQuartersMs: 0 });
    const at = client();
    await at.count('Companies', [{ op: 'exist', field: 'id' }]);
    await at.count('Companies', [{ op: 'exist', field: 'id' }]);
    const refused = await failure(at.count('Companies', [{ op: 'exist', field: 'id' }]));
    expect(refused).toMatchObject({ kind: 'rate-limited', status: 429 });
    expect(refused.retryAfterMs).toBeGreaterThan(110_000);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(120_000);
    await control('/clock', 'POST', { advanceMs: 120_000 });
    expect(await at.thresholdInformation()).toMatchObject({ externalRequestThreshold: 2, requestThresholdTimeframe: 2, currentTimeframeRequestCount: 1 });
  });

  it('a 4th concurrent request on one endpoint is refused with Itgenatr005 (also under a non-429 status); the client holds itself to 3', async () => {
    await control('/limits', 'PUT', { processingMs: 300 });
    const greedy = client({ maxConcurrentPerEndpoint: 4 });
    await greedy.zone();
    const outcomes = await Promise.allSettled([1, 2, 3, 4].map((id) => greedy.get('Companies', id)));
    const refused = outcomes.filter((outcome) => outcome.status === 'rejected').map((outcome) => outcome.reason as VendorApiError);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ kind: 'rate-limited', status: 429, vendorCode: 'Itgenatr005', retryable: true });

    await control('/limits', 'PUT', { threadLimitStatus: 500 });
    const nonStandard = await Promise.allSettled([1, 2, 3, 4].map((id) => greedy.get('Companies', id)));
    expect(nonStandard.find((outcome) => outcome.status === 'rejected')).toMatchObject({ reason: { kind: 'rate-limited', status: 500, vendorCode: 'Itgenatr005' } });

    const polite = client();
    await polite.zone();
    const results = await Promise.all([1, 2, 3, 4, 5, 6].map((id) => polite.get('Companies', id)));
    expect(results).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
    // Other endpoints have their own threads.
    await Promise.all([polite.get('Companies', 1), polite.get('Contacts', 1), polite.get('Tickets', 1), polite.get('Services', 1)]);
  });

  it('a create that asks for a longer wait than the client allows gives up at the client timeout', { timeout: 30_000 }, async () => {
    await addFault(url, { match: 'Companies$', method: 'POST', kind: 'latency', delayMs: 60_000, times: 1 });
    const started = Date.now();
    expect(await failure(client().create('Companies', { companyName: 'Slow', companyType: 1, phone: '555-0100', ownerResourceID: 1 }, { timeoutMs: 60_000 }))).toMatchObject({ kind: 'timeout' });
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('an injected 429 carries Retry-After into retryAfterMs', async () => {
    await addFault(url, { match: 'Companies/query', kind: 'rate-limit', retryAfterSeconds: 2, times: 1 });
    expect(await failure(client().count('Companies', [{ op: 'exist', field: 'id' }]))).toMatchObject({ kind: 'rate-limited', retryAfterMs: 2_000 });
  });
});
