/**
 * Outages as the real world sends them: a load balancer in front of the vendor answers 5xx with its
 * own HTML page (or nothing), not the vendor's JSON. Every client must still see a retryable
 * outage, whatever the page says.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningSimulators } from '../simulators/index.ts';
import { DEFAULT_CREDENTIALS } from '../simulators/default-credentials.ts';
import { connectWiseManageConfig } from '../simulators/seeding/connectwise-manage.ts';
import type { SimulatedVendor } from '../simulators/ports.ts';
import { addFault, requestLog, startTestSimulators } from '../test/simulators.ts';
import { AcronisClient } from './acronis/client.ts';
import { AutotaskClient } from './autotask/client.ts';
import { ConnectWiseAutomateClient } from './connectwise-automate/client.ts';
import { ConnectWiseManageClient } from './connectwise-manage/client.ts';
import { VendorApiError } from './http.ts';

let sims: RunningSimulators;
beforeAll(async () => {
  sims = await startTestSimulators();
});
afterAll(() => sims.close());
beforeEach(() => sims.reset());

const failure = (promise: Promise<unknown>) => promise.then(() => expect.fail('expected a VendorApiError'), (error: unknown) => error as VendorApiError);

/** One authenticated read per client: its first request (token, zone or company lookup) meets the outage. */
const CLIENTS: { vendor: SimulatedVendor; system: VendorApiError['system']; read: (url: string) => Promise<unknown> }[] = [
  { vendor: 'acronis', system: 'acronis', read: (url) => new AcronisClient({ baseUrl: url, clientId: DEFAULT_CREDENTIALS.acronis.clientId, clientSecret: DEFAULT_CREDENTIALS.acronis.clientSecret }).getApiClient() },
  { vendor: 'connectwise-manage', system: 'connectwise-manage', read: (url) => new ConnectWiseManageClient(connectWiseManageConfig(url)).systemInfo() },
  { vendor: 'autotask', system: 'autotask', read: (url) => new AutotaskClient({ baseUrl: url, ...DEFAULT_CREDENTIALS.autotask }).count('Companies', [{ op: 'exist', field: 'id' }]) },
  { vendor: 'automate', system: 'connectwise-automate', read: (url) => new ConnectWiseAutomateClient({ baseUrl: url, ...DEFAULT_CREDENTIALS.automate }).clients().next() },
];

const OUTAGES = [
  { status: 502, body: 'html', kind: 'unavailable', title: '502 Bad Gateway' },
  { status: 503, body: 'html', kind: 'unavailable', title: '503 Service Temporarily Unavailable' },
  { status: 504, body: 'html', kind: 'unavailable', title: '504 Gateway Time-out' },
  // The page of a 500 says "cannot": Autotask's reading of its own 500s must not take that for a refused request.
  { status: 500, body: 'html', kind: 'server', title: '500 Internal Server Error' },
  { status: 503, body: 'empty', kind: 'unavailable', title: 'no body' },
  { status: 500, body: 'empty', kind: 'server', title: 'no body' },
] as const;

describe.each(CLIENTS)('$vendor client in an outage', ({ vendor, system, read }) => {
  it.each(OUTAGES)('a $status with an $body body is a retryable $kind failure', async ({ status, body, kind, title }) => {
    await addFault(sims.urls[vendor], { match: '.*', kind: 'status', status, body, retryAfterSeconds: 30 });
    const error = await failure(read(sims.urls[vendor]));
    expect(error).toBeInstanceOf(VendorApiError);
    expect(error).toMatchObject({ system, kind, status, retryable: true, retryAfterMs: 30_000 });
    expect(error.message).toContain(`HTTP ${status}: ${title}`);
    expect(error.message).not.toMatch(/<[a-z]/i);
  });

  it('works again once the outage is over', async () => {
    await addFault(sims.urls[vendor], { match: '.*', kind: 'status', status: 503, body: 'html', times: 1 });
    await failure(read(sims.urls[vendor]));
    await read(sims.urls[vendor]);
  });
});

describe('fault paths', () => {
  it('match ignoring case where the vendor routes ignore case (Autotask, Automate)', async () => {
    await addFault(sims.urls.autotask, { match: '/atservicesrest/v1\\.0/companies/query', kind: 'status', status: 503, body: 'html', times: 1 });
    const autotask = CLIENTS.find((client) => client.vendor === 'autotask')!;
    expect(await failure(autotask.read(sims.urls.autotask))).toMatchObject({ kind: 'unavailable', status: 503 });
    expect((await requestLog(sims.urls.autotask)).at(-1)).toMatchObject({ path: expect.stringMatching(/\/Companies\/query\/count$/), status: 503 });

    await addFault(sims.urls.automate, { match: '^/CWA/API/V1/APITOKEN$', kind: 'status', status: 502, body: 'html', times: 1 });
    const automate = CLIENTS.find((client) => client.vendor === 'automate')!;
    expect(await failure(automate.read(sims.urls.automate))).toMatchObject({ kind: 'unavailable', status: 502 });
  });

  it('match case-sensitively where the vendor routes do (ConnectWise Manage, Acronis)', async () => {
    await addFault(sims.urls['connectwise-manage'], { match: '/SYSTEM/INFO', kind: 'status', status: 503, body: 'html' });
    await addFault(sims.urls.acronis, { match: '/API/2/CLIENTS', kind: 'status', status: 503, body: 'html' });
    for (const vendor of ['connectwise-manage', 'acronis'] as const) await CLIENTS.find((client) => client.vendor === vendor)!.read(sims.urls[vendor]);
  });
});
