/**
 * F9.5: a partner's calls to a vendor, from however many activities on a worker, share one budget
 * (clients/partner-clients.ts), and what the vendor counts (its request log) never exceeds it.
 */
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { vendorFailure } from '../activities/vendor-failure.ts';
import type { RunningSimulators } from '../simulators/index.ts';
import type { PsaKind } from '../domain/partner.ts';
import { createTestDatabase, type TestDatabase } from '../test/database.ts';
import { testKeyring } from '../test/fixtures/test-keys.ts';
import { seedPartner } from '../test/partners.ts';
import { addFault, busiestWindow, requestLog, startTestSimulators } from '../test/simulators.ts';
import { runInCallScope } from './call-scope.ts';
import type { VendorApiError } from './http.ts';
import { PartnerClientsCache, type PartnerClientsOptions } from './partner-clients.ts';

const keyring = testKeyring();
let sims: RunningSimulators;
let database: TestDatabase;

beforeAll(async () => {
  sims = await startTestSimulators();
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
  await sims?.close();
});
beforeEach(() => sims.reset());

const PSA_URL: Record<PsaKind, () => string> = { 'connectwise-manage': () => sims.urls['connectwise-manage'], autotask: () => sims.urls.autotask };

/** A partner on the simulators and the worker-wide cache its activities would share. */
async function partner(psaKind: PsaKind, options: PartnerClientsOptions) {
  const id = await seedPartner(database.db, keyring, undefined, { psaKind, urls: { acronis: sims.urls.acronis, psa: PSA_URL[psaKind]() } });
  const cache = new PartnerClientsCache(database.db, keyring, options);
  return { id, cache };
}

const failure = (promise: Promise<unknown>) => promise.then(() => expect.fail('expected a VendorApiError'), (error: unknown) => error as VendorApiError);

describe('request budget per partner and vendor', () => {
  it('a burst from many activities never exceeds the window at ConnectWise Manage', async () => {
    const { id, cache } = await partner('connectwise-manage', { limits: { 'connectwise-manage': { window: { requests: 6, windowMs: 500 } } } });
    // 12 activities at once, each fetching the partner's clients from the shared cache.
    await Promise.all(Array.from({ length: 12 }, async (_, index) => (await cache.forPartner(id)).psa.getCompany(String(index + 1))));
    const log = await requestLog(sims.urls['connectwise-manage']);
    expect(log.filter((entry) => entry.path.includes('/company/companies/'))).toHaveLength(12);
    expect(log.every((entry) => entry.status !== 429)).toBe(true);
    expect(busiestWindow(log, 500)).toBe(6);
  });

  it("Autotask's hourly threshold: the budget is spent, the rest is held back unsent with the wait until the hour allows more", async () => {
    await fetch(`${sims.urls.autotask}/_sim/limits`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ requestsPerHour: 12 }) });
    const { id, cache } = await partner('autotask', { limits: { autotask: { window: { requests: 12, windowMs: 3_600_000 } } } });
    const outcomes = await Promise.allSettled(Array.from({ length: 20 }, async (_, index) => (await cache.forPartner(id)).psa.getCompany(String(index + 1))));
    const refused = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as VendorApiError] : []));
    expect(refused).toHaveLength(8);
    for (const error of refused) {
      expect(error).toMatchObject({ system: 'autotask', kind: 'rate-limited', retryable: true, status: undefined });
      expect(error.retryAfterMs).toBeGreaterThan(3_500_000);
    }
    const counted = (await requestLog(sims.urls.autotask)).filter((entry) => !/zoneInformation/i.test(entry.path));
    expect(counted).toHaveLength(12);
    expect(counted.every((entry) => entry.status === 200)).toBe(true);
  });

  it('calls that find the window filled by requests still in flight are held back too, not parked for the window', async () => {
    const { id, cache } = await partner('autotask', { limits: { acronis: { window: { requests: 3, windowMs: 3_600_000 } } } });
    const { acronis } = await cache.forPartner(id);
    await acronis.getApiClient(); // the token and the client: 2 of the 3
    await addFault(sims.urls.acronis, { match: '^/api/2/clients/', kind: 'latency', delayMs: 300 });
    const outcomes = await Promise.allSettled(Array.from({ length: 4 }, () => acronis.getApiClient()));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'rejected']);
    for (const outcome of outcomes.slice(1)) expect((outcome as PromiseRejectedResult).reason).toMatchObject({ kind: 'rate-limited', retryAfterMs: expect.any(Number) });
    expect((await requestLog(sims.urls.acronis)).filter((entry) => entry.path.startsWith('/api/2/clients/'))).toHaveLength(2);
  });

  it('a 429 with a short Retry-After is waited out: every call of the partner holds back, then succeeds', async () => {
    // One at a time, so the second call is not already on its way when the first meets the 429.
    const { id, cache } = await partner('autotask', { limits: { acronis: { concurrency: 1 } } });
    const { acronis } = await cache.forPartner(id);
    await acronis.getApiClient();
    await addFault(sims.urls.acronis, { match: '^/api/2/clients/', kind: 'rate-limit', retryAfterSeconds: 1, times: 1 });
    const started = Date.now();
    await Promise.all([acronis.getApiClient(), (async () => (await cache.forPartner(id)).acronis.getApiClient())()]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    const log = (await requestLog(sims.urls.acronis)).filter((entry) => entry.path.startsWith('/api/2/clients/')).slice(1);
    const refusedAt = Date.parse(log.find((entry) => entry.status === 429)!.at);
    const after = log.filter((entry) => Date.parse(entry.at) > refusedAt);
    expect(after.map((entry) => entry.status)).toEqual([200, 200]);
    for (const entry of after) expect(Date.parse(entry.at) - refusedAt).toBeGreaterThanOrEqual(990);
  });

  it("a longer Retry-After fails the call with the vendor's delay (Temporal retries then), and the partner's next calls stay unsent until it has passed", async () => {
    const { id, cache } = await partner('connectwise-manage', {});
    const { psa } = await cache.forPartner(id);
    await psa.getCompany('1');
    await addFault(sims.urls['connectwise-manage'], { match: '/company/companies/', kind: 'rate-limit', retryAfterSeconds: 120, times: 1 });
    const error = await failure(psa.getCompany('1'));
    expect(error).toMatchObject({ kind: 'rate-limited', status: 429, retryAfterMs: 120_000 });
    const failure429 = vendorFailure(error) as ApplicationFailure;
    expect(failure429).toBeInstanceOf(ApplicationFailure);
    expect(failure429).toMatchObject({ nonRetryable: false, nextRetryDelay: 120_000 });

    const before = (await requestLog(sims.urls['connectwise-manage'])).length;
    const held = await failure(psa.getCompany('2'));
    expect(held).toMatchObject({ kind: 'rate-limited', status: undefined });
    expect(held.retryAfterMs).toBeGreaterThan(110_000);
    expect(await requestLog(sims.urls['connectwise-manage'])).toHaveLength(before);
  });

  it.each(['vendor', 'html'])("a 429 without Retry-After (%s body) is held for ConnectWise's suggested 30 s", async (body) => {
    const { id, cache } = await partner('connectwise-manage', {});
    const { psa } = await cache.forPartner(id);
    await psa.getCompany('1');
    await addFault(sims.urls['connectwise-manage'], { match: '/company/companies/', kind: 'status', status: 429, body, times: 1 });
    expect(await failure(psa.getCompany('1'))).toMatchObject({ kind: 'rate-limited', status: 429, retryAfterMs: 30_000 });
    expect(await failure(psa.getCompany('1'))).toMatchObject({ kind: 'rate-limited', status: undefined });
  });

  it('a call scope that may wait (a long pass that heartbeats) waits out full windows instead of failing, and stays within them', async () => {
    const limits = { 'connectwise-manage': { window: { requests: 4, windowMs: 1_500 }, maxInlineWaitMs: 100 } };
    const { id, cache } = await partner('connectwise-manage', { limits });
    const { psa } = await cache.forPartner(id);
    const reads = () => Promise.allSettled(Array.from({ length: 10 }, (_, index) => psa.getCompany(String((index % 3) + 1))));
    expect((await reads()).filter((outcome) => outcome.status === 'rejected').length).toBeGreaterThan(0);

    sims.reset();
    const { psa: patient } = await new PartnerClientsCache(database.db, keyring, { limits }).forPartner(id);
    const outcomes = await runInCallScope({ maxBudgetWaitMs: 60_000 }, () => Promise.allSettled(Array.from({ length: 10 }, (_, index) => patient.getCompany(String((index % 3) + 1)))));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(Array(10).fill('fulfilled'));
    const log = (await requestLog(sims.urls['connectwise-manage'])).filter((entry) => entry.path.includes('/company/companies/'));
    expect(log).toHaveLength(10);
    expect(busiestWindow(log, 1_500)).toBeLessThanOrEqual(4);
  });

  it('holds the partner to its concurrency at a vendor', async () => {
    const { id, cache } = await partner('autotask', { limits: { acronis: { concurrency: 2 } } });
    const { acronis } = await cache.forPartner(id);
    await acronis.getApiClient();
    await addFault(sims.urls.acronis, { match: '^/api/2/clients/', kind: 'latency', delayMs: 300 });
    const started = Date.now();
    await Promise.all(Array.from({ length: 6 }, () => acronis.getApiClient()));
    expect(Date.now() - started).toBeGreaterThanOrEqual(3 * 300 - 20);
  });
});
