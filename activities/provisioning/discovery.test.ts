import { describe, expect, it } from 'vitest';
import { ConnectWiseManageClient } from '../../clients/connectwise-manage/client.ts';
import { PartnerClientsCache } from '../../clients/partner-clients.ts';
import { findCompanyLines, readLineWatermark } from '../../db/company-lines.ts';
import { listProductMappings, replaceProductMappings, upsertCompanyMapping } from '../../db/mappings.ts';
import type { PsaKind } from '../../domain/partner.ts';
import { connectWiseManageConfig } from '../../simulators/seeding/connectwise-manage.ts';
import { ProvisioningWorkflows } from '../../temporal/provisioning-workflows.ts';
import { daysAgo, provisioningActivityBed, runActivity, seedProvisioningWorld, type ProvisioningWorld } from '../../test/provisioning-world.ts';
import { requestLog } from '../../test/simulators.ts';
import { LINE_CHANGE_OVERLAP_MS } from '../psa-lines.ts';
import { createProvisioningActivities } from './index.ts';

const bed = provisioningActivityBed();
const MINUTE_MS = 60_000;

/**
 * The engine and the simulated PSA, with time to move on: `later(ms)` moves both clocks, as if the
 * next pass ran that much later; `engineAheadMs` sets the engine's clock ahead of the PSA's.
 */
function timeline(options: { engineAheadMs?: number } = {}) {
  let offsetMs = options.engineAheadMs ?? 0;
  const activities = createProvisioningActivities({
    db: bed.db,
    clients: new PartnerClientsCache(bed.db, bed.keyring),
    workflows: new ProvisioningWorkflows(bed.temporal),
    now: () => new Date(Date.now() + offsetMs),
  });
  return {
    activities,
    later(ms: number) {
      bed.sims.world.clock.advance(ms);
      offsetMs += ms;
    },
    pass(world: ProvisioningWorld, force = false) {
      return runActivity(activities.discoverCustomers, { partnerId: world.partnerId, force });
    },
  };
}

/** What the PSA was asked while `work` ran: the requests that read agreement lines, and all of them. */
async function psaRequestsDuring(world: ProvisioningWorld, work: () => Promise<unknown>): Promise<{ all: number; lineReads: number }> {
  const mark = (await requestLog(world.psa.url)).length;
  await work();
  const entries = (await requestLog(world.psa.url)).slice(mark);
  return { all: entries.length, lineReads: entries.filter((entry) => /\/additions$|\/ContractServices\/query$/.test(entry.path)).length };
}

const lines = async (world: ProvisioningWorld, companyId: string) => (await findCompanyLines(bed.db, world.partnerId, companyId))?.lines;

describe.each<PsaKind>(['connectwise-manage', 'autotask'])('an incremental discovery pass on %s', (kind) => {
  it('reads only what changed, and still sees a new line, a new quantity, a cancelled line and a new product mapping', async () => {
    const world = await seedProvisioningWorld(bed, kind, { provisioning: { automatic: true } });
    const { seeder } = world.psa;
    const other = await seeder.createProduct('Backup appliance');
    const alpha = world.companyId;
    const bravo = await seeder.createCompany('Bravo Ltd');
    const charlie = await seeder.createCompany('Charlie Ltd');
    await seeder.createCompany('Delta Ltd');
    const alphaAgreement = await seeder.createAgreement(alpha, [{ productId: world.products.workstations, quantity: 2, billing: 'prepaid' }], daysAgo(5));
    await seeder.createAgreement(bravo, [{ productId: world.products.servers, quantity: 1, billing: 'prepaid' }], daysAgo(5));
    await seeder.createAgreement(charlie, [{ productId: other, quantity: 3, billing: 'prepaid' }], daysAgo(5));
    const time = timeline();
    time.later(30 * MINUTE_MS);
    expect(await time.pass(world)).toMatchObject({ summary: { kind: 'full', companies: 4, newlyMapped: 2, signalled: 2, linesRead: 4 } });

    // Autotask's contract services and units carry no change stamp: its passes read every line, in bulk.
    const readsWhenQuiet = kind === 'connectwise-manage' ? 0 : 4;
    time.later(15 * MINUTE_MS);
    let outcome: unknown;
    const quiet = await psaRequestsDuring(world, async () => (outcome = await time.pass(world)));
    expect(outcome).toMatchObject({ summary: { kind: 'incremental', companies: 4, mapped: 2, newlyMapped: 0, signalled: 0, linesRead: readsWhenQuiet } });
    if (kind === 'connectwise-manage') expect(quiet).toEqual({ all: 2, lineReads: 0 });

    time.later(15 * MINUTE_MS);
    await seeder.changeQuantity(alphaAgreement.agreementId, alphaAgreement.lineIds[0]!, 5);
    expect(await time.pass(world)).toMatchObject({ summary: { kind: 'incremental', signalled: 1, linesRead: kind === 'connectwise-manage' ? 1 : 4 } });
    expect(await lines(world, alpha)).toMatchObject([{ quantity: 5, active: true }]);

    time.later(15 * MINUTE_MS);
    await seeder.createAgreement(bravo, [{ productId: world.products.vms, quantity: 4, billing: 'payg' }], daysAgo(1));
    expect(await time.pass(world)).toMatchObject({ summary: { kind: 'incremental', signalled: 1 } });
    expect(await lines(world, bravo)).toHaveLength(2);

    time.later(15 * MINUTE_MS);
    await seeder.cancelLine(alphaAgreement.agreementId, alphaAgreement.lineIds[0]!);
    expect(await time.pass(world)).toMatchObject({ summary: { kind: 'incremental', signalled: 1 } });
    expect(await lines(world, alpha)).toMatchObject([{ active: false }]);

    // A product mapped now: Charlie's lines are in PostgreSQL already, and every customer's quotas may change.
    // (On CWM only Alpha is read: its cancellation was stamped inside this pass's overlap, so it is read once more.)
    time.later(15 * MINUTE_MS);
    await replaceProductMappings(bed.db, world.partnerId, [...(await listProductMappings(bed.db, world.partnerId)), { offeringItem: 'pw_base_storage', psaProductId: other, free: false }]);
    const remapped = await psaRequestsDuring(world, async () => (outcome = await time.pass(world)));
    expect(outcome).toMatchObject({ summary: { kind: 'incremental', mapped: 3, newlyMapped: 1, signalled: 3, linesRead: kind === 'connectwise-manage' ? 1 : 4 } });
    expect(remapped.lineReads).toBe(1);
  });

  it("serves a customer's sync what the pass that asked for it read, and asks the PSA once that reading is old", async () => {
    const world = await seedProvisioningWorld(bed, kind);
    await world.psa.seeder.createAgreement(world.companyId, [{ productId: world.products.workstations, quantity: 3, billing: 'prepaid' }], daysAgo(5));
    await world.psa.seeder.createAgreement(world.companyId, [{ productId: world.products.servers, quantity: 1, billing: 'prepaid' }], daysAgo(5));
    await upsertCompanyMapping(bed.db, world.partnerId, world.companyId, null);
    const time = timeline();
    expect(await time.pass(world)).toMatchObject({ summary: { mapped: 1, signalled: 1 } });

    const sync = await psaRequestsDuring(world, async () => {
      expect(await runActivity(time.activities.assessCustomer, world.customer)).toEqual({ status: 'provision' });
      expect(await runActivity(time.activities.provisionCustomer, world.customer)).toMatchObject({ status: 'provisioned', tenantCreated: true });
    });
    expect(sync.all).toBe(0);

    // No pass for half an hour (discovery stopped): what it read no longer stands for the PSA.
    time.later(30 * MINUTE_MS);
    const late = await psaRequestsDuring(world, () => runActivity(time.activities.assessCustomer, world.customer));
    expect(late.lineReads).toBeGreaterThan(0);
  });
});

describe('discovery on ConnectWise Manage', () => {
  const cwm = (world: ProvisioningWorld) => new ConnectWiseManageClient(connectWiseManageConfig(world.psa.url));

  it('misses nothing the PSA stamped before the previous pass began, with its clock five minutes behind the engine', async () => {
    const world = await seedProvisioningWorld(bed, 'connectwise-manage', { provisioning: { automatic: true } });
    const agreement = await world.psa.seeder.createAgreement(world.companyId, [{ productId: world.products.workstations, quantity: 2, billing: 'prepaid' }], daysAgo(5));
    const time = timeline({ engineAheadMs: 5 * MINUTE_MS });
    time.later(30 * MINUTE_MS);
    expect(await time.pass(world)).toMatchObject({ summary: { kind: 'full', signalled: 1 } });

    await world.psa.seeder.changeQuantity(agreement.agreementId, agreement.lineIds[0]!, 9);
    const stampedAt = Date.parse((await cwm(world).getAgreement(Number(agreement.agreementId)))._info!.lastUpdated!);
    const watermark = await readLineWatermark(bed.db, world.partnerId, 'discovery');
    // The PSA stamped the change before the pass that is now the watermark began: only the overlap lets the next pass see it.
    expect(stampedAt).toBeLessThan(watermark!.checkedFrom.getTime());
    expect(stampedAt).toBeGreaterThan(watermark!.checkedFrom.getTime() - LINE_CHANGE_OVERLAP_MS);
    time.later(MINUTE_MS);
    expect(await time.pass(world)).toMatchObject({ summary: { kind: 'incremental', signalled: 1, linesRead: 1 } });
    expect(await lines(world, world.companyId)).toMatchObject([{ quantity: 9 }]);
  });

  it('sees an agreement start when its day comes, with no change stamp to tell it', async () => {
    const world = await seedProvisioningWorld(bed, 'connectwise-manage', { provisioning: { automatic: true } });
    const startsAt = new Date(bed.sims.world.clock.nowMs() + 3 * 60 * MINUTE_MS);
    startsAt.setUTCSeconds(0, 0);
    await world.psa.seeder.createAgreement(world.companyId, [{ productId: world.products.servers, quantity: 1, billing: 'prepaid' }], startsAt.toISOString());
    const time = timeline();
    time.later(30 * MINUTE_MS);
    expect(await time.pass(world)).toMatchObject({ summary: { kind: 'full', newlyMapped: 0, signalled: 0 } });
    expect(await lines(world, world.companyId)).toMatchObject([{ active: false, changesAt: startsAt.toISOString() }]);

    time.later(3 * 60 * MINUTE_MS);
    expect(await time.pass(world)).toMatchObject({ summary: { kind: 'incremental', newlyMapped: 1, signalled: 1, linesRead: 1 } });
    expect(await lines(world, world.companyId)).toMatchObject([{ active: true }]);
  });

  it('sees a company and an agreement deleted outright in its daily full pass', async () => {
    const world = await seedProvisioningWorld(bed, 'connectwise-manage', { provisioning: { automatic: true } });
    const { seeder } = world.psa;
    const leaving = await seeder.createCompany('Leaving Ltd');
    const kept = await seeder.createAgreement(world.companyId, [{ productId: world.products.workstations, quantity: 2, billing: 'prepaid' }], daysAgo(5));
    const dropped = await seeder.createAgreement(world.companyId, [{ productId: world.products.servers, quantity: 1, billing: 'prepaid' }], daysAgo(5));
    await seeder.createAgreement(leaving, [{ productId: world.products.servers, quantity: 1, billing: 'prepaid' }], daysAgo(5));
    const time = timeline();
    time.later(30 * MINUTE_MS);
    expect(await time.pass(world)).toMatchObject({ summary: { kind: 'full', newlyMapped: 2, signalled: 2 } });

    await cwm(world).request({ method: 'DELETE', path: `/company/companies/${leaving}` });
    await cwm(world).request({ method: 'DELETE', path: `/finance/agreements/${dropped.agreementId}` });
    time.later(15 * MINUTE_MS);
    expect(await time.pass(world)).toMatchObject({ summary: { kind: 'incremental', signalled: 0 } });

    time.later(24 * 60 * MINUTE_MS);
    expect(await time.pass(world)).toMatchObject({ summary: { kind: 'full', signalled: 2 } });
    expect(await lines(world, world.companyId)).toMatchObject([{ agreementId: kept.agreementId }]);
    expect(await findCompanyLines(bed.db, world.partnerId, leaving)).toMatchObject({ companyName: null, lines: [] });
    expect(await runActivity(time.activities.assessCustomer, { partnerId: world.partnerId, psaCompanyId: leaving })).toEqual({ status: 'no-services' });
  });
});
