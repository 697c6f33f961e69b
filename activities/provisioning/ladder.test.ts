import { describe, expect, it } from 'vitest';
import { deleteCompanyMapping, findCompanyMapping, upsertCompanyMapping } from '../../db/mappings.ts';
import { markPartnerDeleted } from '../../db/partners.ts';
import {
  acronisClient,
  configureSettings,
  customerTenantByHand,
  daysAgo,
  provisioningActivityBed,
  runActivity,
  seedProvisioningWorld,
  watchAcronisWrites,
} from '../../test/provisioning-world.ts';
import { CAPABILITY_OFF_FAILURE } from '../../workflows/contracts/loops.ts';
import type { LadderCancelCause, LadderCause, LadderTarget } from './types.ts';

/**
 * The deprovisioning steps against the simulators: each acts only when, at that moment, its cause
 * still holds and the tenant is still this company's, the engine's and manageable.
 */

const bed = provisioningActivityBed();

const STEPS = ['zeroQuotas', 'disableTenant', 'deleteTenant'] as const;

/** A customer the engine provisioned (3 workstations) whose agreement line was then cancelled in the PSA. */
async function customerWhoseServicesEnded(cause: LadderCause = 'no-active-services') {
  const world = await seedProvisioningWorld(bed, 'connectwise-manage');
  const agreement = await world.psa.seeder.createAgreement(world.companyId, [{ productId: world.products.workstations, quantity: 3, billing: 'prepaid' }], daysAgo(20));
  await upsertCompanyMapping(bed.db, world.partnerId, world.companyId, null);
  const { tenantId } = (await runActivity(bed.activities.provisionCustomer, world.customer)) as { tenantId: string };
  await world.psa.seeder.cancelLine(agreement.agreementId, agreement.lineIds[0]!);
  if (cause === 'mapping-removed') await deleteCompanyMapping(bed.db, world.partnerId, world.companyId);
  const target: LadderTarget = { ...world.customer, tenantId, cause };
  return { ...world, tenantId, target };
}

type Customer = Awaited<ReturnType<typeof customerWhoseServicesEnded>>;

async function tenantOf(customer: Customer) {
  return acronisClient(bed.sims).getTenant(customer.tenantId, { allowDeleted: true });
}

async function workstationQuota(customer: Customer) {
  const items = await acronisClient(bed.sims).listOfferingItems(customer.tenantId);
  return items.find((item) => item.name === 'pw_base_workstations')?.quota?.value;
}

async function changeTenant(customer: Customer, changes: Parameters<ReturnType<typeof acronisClient>['updateTenant']>[2]) {
  const client = acronisClient(bed.sims);
  await client.updateTenant(customer.tenantId, (await client.getTenant(customer.tenantId)).version, changes);
}

describe('ladder steps whose cause holds', () => {
  it('zero the quotas, disable, then delete the tenant and forget it in the mapping', async () => {
    const customer = await customerWhoseServicesEnded();
    expect(await runActivity(bed.activities.assessCustomer, customer.customer)).toEqual({ status: 'no-services' });

    expect(await runActivity(bed.activities.zeroQuotas, customer.target)).toEqual({ status: 'done' });
    const items = await acronisClient(bed.sims).listOfferingItems(customer.tenantId);
    expect(items.filter((item) => item.status === 1).every((item) => item.quota?.value === 0)).toBe(true);

    expect(await runActivity(bed.activities.disableTenant, customer.target)).toEqual({ status: 'done' });
    expect(await tenantOf(customer)).toMatchObject({ enabled: false, deleted_at: null });

    expect(await runActivity(bed.activities.deleteTenant, customer.target)).toEqual({ status: 'done' });
    expect((await tenantOf(customer)).deleted_at).not.toBeNull();
    expect(await findCompanyMapping(bed.db, customer.partnerId, customer.companyId)).toMatchObject({ tenantId: null });
  });
});

interface Cancellation {
  when: string;
  /** The cause the ladder was started for. */
  ladderCause: LadderCause;
  /** What changed in the world after the ladder started. */
  change(customer: Customer): Promise<void>;
  cause: LadderCancelCause;
  reason: RegExp;
}

const cancellations: Cancellation[] = [
  {
    when: 'services are back (an active agreement line again)',
    ladderCause: 'no-active-services',
    change: async (customer) => {
      await customer.psa.seeder.createAgreement(customer.companyId, [{ productId: customer.products.servers, quantity: 1, billing: 'payg' }], daysAgo(1));
    },
    cause: 'services-back',
    reason: /^the company has an active service again$/,
  },
  {
    when: 'the company was mapped again after its mapping was removed',
    ladderCause: 'mapping-removed',
    change: (customer) => upsertCompanyMapping(bed.db, customer.partnerId, customer.companyId, customer.tenantId),
    cause: 'services-back',
    reason: /^the company was mapped again$/,
  },
  {
    when: 'the company is now mapped to another tenant',
    ladderCause: 'no-active-services',
    change: async (customer) => {
      const other = await customerTenantByHand(bed.sims, `Other tenant ${customer.companyId}`);
      await deleteCompanyMapping(bed.db, customer.partnerId, customer.companyId);
      await upsertCompanyMapping(bed.db, customer.partnerId, customer.companyId, other.id);
    },
    cause: 'remapped',
    reason: /^the company is now mapped to tenant [0-9a-f-]{36}$/,
  },
  {
    when: 'the tenant is now mapped to another company',
    ladderCause: 'mapping-removed',
    change: async (customer) => {
      const other = await customer.psa.seeder.createCompany('Successor Ltd');
      await upsertCompanyMapping(bed.db, customer.partnerId, other, customer.tenantId);
    },
    cause: 'remapped',
    reason: /^tenant [0-9a-f-]{36} is now mapped to PSA company \d+$/,
  },
  {
    when: "the tenant carries another integration's tag, not the engine's for this company",
    ladderCause: 'no-active-services',
    change: (customer) => changeTenant(customer, { internal_tag: 'billing-tool:customer-42' }),
    cause: 'not-ours',
    reason: /does not carry the engine's tag for this company/,
  },
  {
    when: 'the tenant was switched to self-service (no support access for the partner)',
    ladderCause: 'no-active-services',
    change: (customer) => changeTenant(customer, { ancestral_access: false }),
    cause: 'unmanageable',
    reason: /is in self-service mode/,
  },
  {
    when: 'the tenant was locked by its own admins',
    ladderCause: 'no-active-services',
    change: (customer) => changeTenant(customer, { update_lock: { enabled: true, owner_id: customer.tenantId } }),
    cause: 'unmanageable',
    reason: /is locked against changes by another tenant/,
  },
];

describe.each(cancellations)('every ladder step, when $when', ({ ladderCause, change, cause, reason }) => {
  it(`writes nothing to Acronis and answers cancelled (${cause})`, async () => {
    const customer = await customerWhoseServicesEnded(ladderCause);
    await change(customer);
    const mappingBefore = await findCompanyMapping(bed.db, customer.partnerId, customer.companyId);
    const acronisWrites = await watchAcronisWrites(bed.sims);

    for (const step of STEPS) {
      expect(await runActivity(bed.activities[step], customer.target), step).toEqual({ status: 'cancelled', cause, reason: expect.stringMatching(reason) });
    }
    expect(await acronisWrites.since()).toEqual([]);
    expect(await tenantOf(customer)).toMatchObject({ enabled: true, deleted_at: null });
    expect(await workstationQuota(customer)).toBe(3);
    expect(await findCompanyMapping(bed.db, customer.partnerId, customer.companyId)).toEqual(mappingBefore);
  });
});

describe('ladder steps on a tenant that is gone', () => {
  it('cancel zeroing and disabling, and the delete step only forgets the tenant in the mapping', async () => {
    const customer = await customerWhoseServicesEnded();
    const client = acronisClient(bed.sims);
    const disabled = await client.setTenantEnabled(customer.tenantId, (await client.getTenant(customer.tenantId)).version, false);
    await client.deleteTenant(customer.tenantId, disabled.version);
    const acronisWrites = await watchAcronisWrites(bed.sims);

    const gone = { status: 'cancelled', cause: 'tenant-gone', reason: `tenant ${customer.tenantId} no longer exists in Acronis` };
    expect(await runActivity(bed.activities.zeroQuotas, customer.target)).toEqual(gone);
    expect(await runActivity(bed.activities.disableTenant, customer.target)).toEqual(gone);
    expect(await runActivity(bed.activities.deleteTenant, customer.target)).toEqual({ status: 'done' });
    expect(await acronisWrites.since()).toEqual([]);
    expect(await findCompanyMapping(bed.db, customer.partnerId, customer.companyId)).toMatchObject({ tenantId: null });
  });
});

describe.each([
  { when: 'provisioning is switched off', switchOff: (partnerId: string) => configureSettings(bed.db, partnerId, { provisioning: { enabled: false } }), reason: 'provisioning is switched off for the partner (provisioning.enabled)' },
  { when: 'the partner was removed', switchOff: (partnerId: string) => markPartnerDeleted(bed.db, partnerId), reason: 'the partner was removed' },
])('when $when', ({ switchOff, reason }) => {
  it('every ladder step and provisioning fail as CapabilityOff and write nothing', async () => {
    const customer = await customerWhoseServicesEnded();
    await switchOff(customer.partnerId);
    const acronisWrites = await watchAcronisWrites(bed.sims);

    const off = { type: CAPABILITY_OFF_FAILURE, nonRetryable: true, message: `nothing was written: ${reason}` };
    for (const step of STEPS) expect(await runActivity(bed.activities[step], customer.target).catch((error: unknown) => error), step).toMatchObject(off);
    expect(await runActivity(bed.activities.provisionCustomer, customer.customer).catch((error: unknown) => error)).toMatchObject(off);
    expect(await acronisWrites.since()).toEqual([]);
    expect(await tenantOf(customer)).toMatchObject({ enabled: true, deleted_at: null });
    expect(await workstationQuota(customer)).toBe(3);
  });
});
