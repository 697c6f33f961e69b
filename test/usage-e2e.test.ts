import { randomUUID } from 'node:crypto';
import { DateTime } from 'luxon';
import { afterEach, describe, expect, it } from 'vitest';
import type { PsaKind } from '../domain/partner.ts';
import { DEFAULT_CREDENTIALS } from '../simulators/default-credentials.ts';
import type { RunningSimulators } from '../simulators/index.ts';
import { autotaskCredentials } from '../simulators/seeding/autotask.ts';
import { useApiWorld, type ApiHarness } from './api-harness.ts';
import { eventually } from './eventually.ts';
import { testKeyring } from './fixtures/test-keys.ts';
import { addFault } from './simulators.ts';
import { createTenant, daysAgo, psaOf, psaWrites, requestCount, setUsage } from './usage-world.ts';

/**
 * Usage reporting as an MSP lives it, on both PSAs: partner, settings and mappings through the
 * admin API; usage in Acronis; "sync now"; then what the PSA bills, read through the PSA's own API,
 * and what the billing routes say. Real worker on the dev server, real PostgreSQL, simulated vendors.
 */

const keyring = testKeyring();
const ZONE = 'Europe/London';
let api: ApiHarness;
let sims: RunningSimulators;

  // A lost answer shows within 2 s instead of the 30 s a vendor gets in production.
useApiWorld(keyring, (world) => ({ sims, api } = world), { partnerClients: { timeoutMs: 2_000 } });
const partners: string[] = [];
// Removing the partner ends its loop: none goes on polling a simulated world that was reset.
afterEach(async () => {
  for (const partnerId of partners.splice(0)) await api.request('DELETE', `/v1/partners/${partnerId}`);
});

async function call(method: string, path: string, body?: unknown) {
  const response = await api.request(method, path, { body });
  if (response.status >= 300) throw new Error(`${method} ${path} → ${response.status} ${response.text}`);
  return response.json;
}

const monthOf = (ms: number) => {
  const start = DateTime.fromMillis(ms, { zone: ZONE }).startOf('month');
  return { start: start.toISODate()!, end: start.endOf('month').toISODate()! };
};

/** A partner on the PSA with billing on (month to date, figures fresh at once), two products mapped, one customer with PAYG lines. */
async function billingWorld(kind: PsaKind) {
  const psa = psaOf(sims, kind);
  const credentials = kind === 'connectwise-manage' ? { kind, baseUrl: psa.url, ...DEFAULT_CREDENTIALS['connectwise-manage'] } : { kind, ...autotaskCredentials(psa.url) };
  const partner = await call('POST', '/v1/partners', { name: `MSP ${randomUUID().slice(0, 8)}`, timezone: ZONE, acronis: { baseUrl: sims.urls.acronis, clientId: DEFAULT_CREDENTIALS.acronis.clientId, clientSecret: DEFAULT_CREDENTIALS.acronis.clientSecret }, psa: credentials });
  const partnerId = partner.id as string;
  partners.push(partnerId);
  const servers = await psa.seeder.createProduct('Acronis Cyber Protect Servers');
  const seats = await psa.seeder.createProduct('Acronis Microsoft 365 Seats');
  await call('PUT', `/v1/partners/${partnerId}/product-mappings`, [
    { offeringItem: 'pw_base_servers', psaProductId: servers, free: false },
    { offeringItem: 'pw_base_o365_seats', psaProductId: seats, free: false },
  ]);
  const name = `Northwind ${partnerId.slice(0, 6)}`;
  const companyId = await psa.seeder.createCompany(name);
  const tenantId = await createTenant(sims, name);
  await call('PUT', `/v1/partners/${partnerId}/customers/${companyId}/mapping`, { tenantId });
  const agreement = await psa.seeder.createAgreement(companyId, [
    { productId: servers, quantity: 0, billing: 'payg' },
    { productId: seats, quantity: 0, billing: 'payg' },
  ], daysAgo(40));
  const [serversLine, seatsLine] = agreement.lineIds as [string, string];
  return { kind, psa, partnerId, companyId, tenantId, agreementId: agreement.agreementId, lines: { servers: serversLine, seats: seatsLine } };
}

type World = Awaited<ReturnType<typeof billingWorld>>;

const billed = (world: World, line: keyof World['lines'], period = monthOf(Date.now())) => world.psa.seeder.billedQuantity(world.agreementId, world.lines[line], period);

async function runs(world: World): Promise<{ runId: string; trigger: string; status: string; createdAt: string; lines: { offeringItem: string; oldValue: number | null; newValue: number; status: string; period: { start: string } }[] }[]> {
  return (await call('GET', `/v1/partners/${world.partnerId}/billing-runs?limit=50`)).items;
}

/** "Sync now", and the finished run it made. */
async function syncNow(world: World) {
  const before = new Set((await runs(world)).map((run) => run.runId));
  await call('POST', `/v1/partners/${world.partnerId}/sync`, { what: ['usage'] });
  const [run] = await eventually(
    'the sync-now run to finish',
    async () => (await runs(world)).filter((candidate) => !before.has(candidate.runId) && candidate.trigger === 'sync-now' && candidate.status !== 'running'),
    (found) => found.length > 0,
    45_000,
  );
  return run!;
}

async function switchBillingOn(world: World, billing: Record<string, unknown> = {}) {
  await call('PUT', `/v1/partners/${world.partnerId}/settings`, { billing: { enabled: true, reportingPeriod: 'current-month', refreshLagHours: 0, ...billing } });
  // The supervisor starts the loop, whose first pass runs at once.
  await eventually('the first run', () => runs(world), (found) => found.some((run) => run.status !== 'running'));
}

describe.each<PsaKind>(['connectwise-manage', 'autotask'])('usage reporting end to end on %s', (kind) => {
  it('writes usage once per change, rides out a lost answer and an outage, previews without writing, and leaves a hand edit alone', async () => {
    const world = await billingWorld(kind);
    await switchBillingOn(world);
    await setUsage(sims, world.tenantId, 'pw_base_servers', 3);
    await setUsage(sims, world.tenantId, 'pw_base_o365_seats', 12);

    const first = await syncNow(world);
    expect(first.status).toBe('written');
    expect(first.lines.map((line) => [line.offeringItem, line.oldValue, line.newValue, line.status]).sort()).toEqual([
      ['pw_base_o365_seats', 0, 12, 'written'],
      ['pw_base_servers', 0, 3, 'written'],
    ]);
    expect([await billed(world, 'servers'), await billed(world, 'seats')]).toEqual([3, 12]);
    const ledger = (await call('GET', `/v1/partners/${world.partnerId}/usage-writes?period=${monthOf(Date.now()).start}`)).items;
    expect(ledger).toEqual(expect.arrayContaining([expect.objectContaining({ psaCompanyId: world.companyId, tenantId: world.tenantId, offeringItem: 'pw_base_servers', oldValue: 0, newValue: 3, status: 'written', runId: first.runId, period: monthOf(Date.now()) })]));

    // A second run finds everything in place: the PSA's request log shows no write.
    let mark = await requestCount(world.psa.url);
    expect((await syncNow(world)).lines).toEqual([]);
    expect(await psaWrites(world.psa.url, mark)).toEqual([]);

    // The preview shows the change to come and writes nothing.
    await setUsage(sims, world.tenantId, 'pw_base_servers', 5);
    mark = await requestCount(world.psa.url);
    const preview = await call('GET', `/v1/partners/${world.partnerId}/usage/preview`);
    expect(preview).toMatchObject({ period: monthOf(Date.now()), dueAt: expect.any(String), note: null });
    expect(preview.items).toEqual(
      expect.arrayContaining([
        { psaCompanyId: world.companyId, offeringItem: 'pw_base_servers', psaProductId: expect.any(String), current: 3, next: 5, action: 'write', reason: null },
        { psaCompanyId: world.companyId, offeringItem: 'pw_base_o365_seats', psaProductId: expect.any(String), current: 12, next: 12, action: 'unchanged', reason: null },
      ]),
    );
    expect(await psaWrites(world.psa.url, mark)).toEqual([]);

    // The write's answer is lost, then the PSA is away for a while: the PSA ends with the value, written once.
    const writePath = kind === 'autotask' ? '/ServiceAdjustments$' : `/additions/${world.lines.servers}$`;
    const method = kind === 'autotask' ? 'POST' : 'PATCH';
    await addFault(world.psa.url, { match: writePath, method, kind: 'timeout-after-commit', times: 1 });
    mark = await requestCount(world.psa.url);
    const lossy = await syncNow(world);
    expect(lossy.lines.map((line) => [line.offeringItem, line.oldValue, line.newValue, line.status])).toEqual([['pw_base_servers', 3, 5, 'written']]);
    expect(await billed(world, 'servers')).toBe(5);
    const landed = (await psaWrites(world.psa.url, mark)).filter((entry) => new RegExp(writePath).test(entry.path));
    expect(landed).toHaveLength(1);

    await setUsage(sims, world.tenantId, 'pw_base_servers', 6);
    await addFault(world.psa.url, { match: writePath, method, kind: 'status', status: 503, retryAfterSeconds: 1, times: 2 });
    mark = await requestCount(world.psa.url);
    const outage = await syncNow(world);
    expect(outage.lines.map((line) => [line.offeringItem, line.oldValue, line.newValue, line.status])).toEqual([['pw_base_servers', 5, 6, 'written']]);
    expect(await billed(world, 'servers')).toBe(6);
    expect((await psaWrites(world.psa.url, mark)).filter((entry) => new RegExp(writePath).test(entry.path)).map((entry) => entry.status)).toEqual([503, 503, 200]);

    // Someone sets the quantity by hand: a conflict, not overwritten.
    await world.psa.seeder.changeQuantity(world.agreementId, world.lines.seats, 20);
    await setUsage(sims, world.tenantId, 'pw_base_o365_seats', 14);
    const drift = await syncNow(world);
    expect(drift).toMatchObject({ status: 'partly-written', lines: [expect.objectContaining({ offeringItem: 'pw_base_o365_seats', oldValue: 20, newValue: 14, status: 'conflict' })] });
    expect(await billed(world, 'seats')).toBe(20);
    const [conflict] = (await call('GET', `/v1/partners/${world.partnerId}/conflicts`)).items;
    expect(conflict).toMatchObject({ psaCompanyId: world.companyId, offeringItem: 'pw_base_o365_seats', field: 'quantity', ours: 12, theirs: 20, next: 14, foundAt: expect.any(String) });
    expect((await call('GET', `/v1/partners/${world.partnerId}/usage/preview`)).items).toEqual(expect.arrayContaining([expect.objectContaining({ offeringItem: 'pw_base_o365_seats', action: 'conflict', current: 20 })]));
    expect(await call('POST', `/v1/partners/${world.partnerId}/conflicts/${conflict.conflictId}/resolve`, { keep: 'ours' })).toMatchObject({ resolution: 'ours', resolvedAt: expect.any(String) });
    await syncNow(world);
    expect(await billed(world, 'seats')).toBe(14);
    expect((await call('GET', `/v1/partners/${world.partnerId}/conflicts`)).items).toEqual([]);
    const audit = (await call('GET', `/v1/audit-log?partnerId=${world.partnerId}&limit=200`)).items.map((entry: { action: string }) => entry.action);
    expect(audit).toEqual(expect.arrayContaining(['usage.written', 'usage.conflict', 'usage.conflict.resolve']));

    // The PSA refuses a write (a closed agreement, say): the line fails with its words, the partner's health lists it, and the next run that gets it through clears it.
    await setUsage(sims, world.tenantId, 'pw_base_servers', 7);
    await addFault(world.psa.url, { match: writePath, method, kind: 'status', status: 400, times: 1 });
    const refused = await syncNow(world);
    expect(refused.lines.map((line) => [line.offeringItem, line.newValue, line.status])).toEqual([['pw_base_servers', 7, 'failed']]);
    const health = async () => (await call('GET', `/v1/partners/${world.partnerId}/health`)).refused;
    expect(await health()).toEqual([{ kind: 'usage-line', key: `${world.companyId}/pw_base_servers/${monthOf(Date.now()).start}`, reason: expect.stringContaining(kind === 'autotask' ? 'ServiceAdjustments' : 'additions'), at: expect.any(String) }]);
    await syncNow(world);
    expect(await billed(world, 'servers')).toBe(7);
    expect(await health()).toEqual([]);
  });

  it('holds changes under review until approved, writes nothing on rejection, and backfills last month', async () => {
    const world = await billingWorld(kind);
    await switchBillingOn(world, { review: 'always' });
    await setUsage(sims, world.tenantId, 'pw_base_servers', 4);
    await setUsage(sims, world.tenantId, 'pw_base_o365_seats', 9);
    let mark = await requestCount(world.psa.url);
    const held = await syncNow(world);
    expect(held.status).toBe('awaiting-approval');
    expect(held.lines.map((line) => [line.offeringItem, line.newValue, line.status]).sort()).toEqual([
      ['pw_base_o365_seats', 9, 'held'],
      ['pw_base_servers', 4, 'held'],
    ]);
    expect(await psaWrites(world.psa.url, mark)).toEqual([]);

    const approved = await call('POST', `/v1/partners/${world.partnerId}/billing-runs/${held.runId}/approve`, { lines: [{ psaCompanyId: world.companyId, offeringItem: 'pw_base_servers' }] });
    expect(approved).toMatchObject({ runId: held.runId, status: 'awaiting-approval' });
    expect(await billed(world, 'servers')).toBe(4);
    mark = await requestCount(world.psa.url);
    const rejected = await call('POST', `/v1/partners/${world.partnerId}/billing-runs/${held.runId}/reject`, {});
    expect(rejected.status).toBe('partly-written');
    expect(rejected.lines.map((line: { offeringItem: string; status: string }) => [line.offeringItem, line.status]).sort()).toEqual([
      ['pw_base_o365_seats', 'rejected'],
      ['pw_base_servers', 'written'],
    ]);
    expect(await psaWrites(world.psa.url, mark)).toEqual([]);
    expect(await billed(world, 'seats')).toBe(0);
    const again = await api.request('POST', `/v1/partners/${world.partnerId}/billing-runs/${held.runId}/approve`, { body: {} });
    expect(again.status).toBe(409);
    expect(again.json.errors).toEqual([{ path: 'runId', message: 'is partly-written, not awaiting approval' }]);

    // Backfill of last month: its period is reported, and (Autotask) this month keeps its own value.
    await call('PUT', `/v1/partners/${world.partnerId}/settings`, { billing: { review: 'off' } });
    const lastMonth = monthOf(DateTime.now().setZone(ZONE).startOf('month').minus({ days: 1 }).toMillis());
    const { runId } = await call('POST', `/v1/partners/${world.partnerId}/usage/backfill`, { period: lastMonth.end });
    const backfill = await eventually('the backfill', () => call('GET', `/v1/partners/${world.partnerId}/billing-runs/${runId}`), (run) => run.status !== 'running');
    expect(backfill).toMatchObject({ trigger: 'backfill', period: lastMonth, status: 'written' });
    expect(backfill.lines.filter((line: { period: { start: string } }) => line.period.start === lastMonth.start).map((line: { offeringItem: string; newValue: number }) => [line.offeringItem, line.newValue]).sort()).toEqual(
      kind === 'autotask' ? [['pw_base_o365_seats', 9], ['pw_base_servers', 4]] : [['pw_base_o365_seats', 9]],
    );
    expect(await billed(world, 'servers', lastMonth)).toBe(4);
    expect(await billed(world, 'seats', lastMonth)).toBe(9);
    if (kind === 'autotask') expect(await billed(world, 'servers')).toBe(4);
  });
});

describe('the billing routes refuse what they cannot do, naming the field and changing nothing', () => {
  it('bad periods, a billing day past the 28th, unknown runs and conflicts', async () => {
    const world = await billingWorld('connectwise-manage');
    const off = await api.request('POST', `/v1/partners/${world.partnerId}/usage/backfill`, { body: { period: '2026-01-10' } });
    expect(off.status).toBe(409);
    await switchBillingOn(world, { reportingPeriod: 'custom-billing-month', billingDay: 15 });

    const refusal = async (method: string, path: string, body: unknown) => {
      const response = await api.request(method, path, { body });
      return { status: response.status, errors: response.json.errors };
    };
    const future = DateTime.now().setZone(ZONE).plus({ months: 2 }).toISODate();
    expect(await refusal('POST', `/v1/partners/${world.partnerId}/usage/backfill`, { period: future })).toEqual({ status: 400, errors: [{ path: 'period', message: expect.stringMatching(/lies in the future/) }] });
    expect(await refusal('POST', `/v1/partners/${world.partnerId}/usage/backfill`, { period: DateTime.now().setZone(ZONE).toISODate() })).toEqual({ status: 400, errors: [{ path: 'period', message: expect.stringMatching(/still running/) }] });
    expect(await refusal('POST', `/v1/partners/${world.partnerId}/usage/backfill`, { period: '2026-02-30' })).toEqual({ status: 400, errors: [{ path: 'period', message: 'is not a day of the calendar' }] });
    expect(await refusal('POST', `/v1/partners/${world.partnerId}/usage/backfill`, { period: 'last month' })).toEqual({ status: 400, errors: [{ path: 'period', message: 'must be a date, YYYY-MM-DD' }] });
    expect(await refusal('GET', `/v1/partners/${world.partnerId}/usage-writes?period=2026-13-01`, undefined)).toMatchObject({ status: 400, errors: [{ path: 'period' }] });
    expect(await refusal('PUT', `/v1/partners/${world.partnerId}/settings`, { billing: { billingDay: 29 } })).toMatchObject({ status: 400, errors: [{ path: 'billing.billingDay' }] });
    expect(await refusal('PUT', `/v1/partners/${world.partnerId}/settings`, { billing: { holdChangesAbovePercent: -5 } })).toMatchObject({ status: 400, errors: [{ path: 'billing.holdChangesAbovePercent' }] });
    expect((await refusal('POST', `/v1/partners/${world.partnerId}/billing-runs/${randomUUID()}/approve`, {})).status).toBe(404);
    expect((await refusal('POST', `/v1/partners/${world.partnerId}/conflicts/${randomUUID()}/resolve`, { keep: 'ours' })).status).toBe(404);
    expect(await refusal('POST', `/v1/partners/${world.partnerId}/conflicts/${randomUUID()}/resolve`, { keep: 'mine' })).toMatchObject({ status: 400, errors: [{ path: 'keep' }] });
    const [run] = await runs(world);
    expect(await refusal('POST', `/v1/partners/${world.partnerId}/billing-runs/${run!.runId}/reject`, {})).toEqual({ status: 409, errors: [{ path: 'runId', message: `is ${run!.status}, not awaiting approval` }] });
    expect((await call('GET', `/v1/partners/${world.partnerId}/usage-writes`)).items).toEqual([]);
  });
});
