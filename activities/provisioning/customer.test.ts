import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import type { OfferingItem } from '../../clients/acronis/types.ts';
import { collect } from '../../clients/collect.ts';
import { ConnectWiseManageClient } from '../../clients/connectwise-manage/client.ts';
import { deleteCompanyMapping, findCompanyMapping, listCompanyMappings, upsertCompanyMapping } from '../../db/mappings.ts';
import { markPartnerDeleted } from '../../db/partners.ts';
import type { PsaKind } from '../../domain/partner.ts';
import { daysLater, parseAcronisTime, productionAt } from '../../domain/provisioning-calendar.ts';
import {
  acronisClient,
  activationEmails,
  configureSettings,
  customerTenantByHand,
  customerTenants,
  daysAgo,
  provisioningActivityBed,
  requestArrived,
  runActivity,
  seedProvisioningWorld,
  watchAcronisWrites,
} from '../../test/provisioning-world.ts';
import { connectWiseManageConfig } from '../../simulators/seeding/connectwise-manage.ts';
import { addFault, requestLog } from '../../test/simulators.ts';
import { CAPABILITY_OFF_FAILURE } from '../../workflows/contracts/loops.ts';
import { customerWorkflowId } from '../../workflows/contracts/provisioning.ts';
import { engineTag } from './shared.ts';

const bed = provisioningActivityBed();

function itemState(items: OfferingItem[], name: string) {
  const item = items.find((candidate) => candidate.name === name);
  return item?.status === 1 ? { value: item.quota?.value ?? null, overage: item.quota?.overage ?? null } : 'off';
}

describe.each<PsaKind>(['connectwise-manage', 'autotask'])('provisionCustomer on %s', (kind) => {
  it('makes one trial tenant, one admin from the primary contact, MFA, and quotas exactly as F3.3 asks', async () => {
    const world = await seedProvisioningWorld(bed, kind, { provisioning: { accountBasis: 'primary-contact', tenantMode: 'trial', enableMfa: true } });
    // Two prepaid lines of one product add up; an Autotask contract is PAYG or prepaid as a whole, hence three agreements.
    await world.psa.seeder.createAgreement(world.companyId, [{ productId: world.products.workstations, quantity: 3, billing: 'prepaid' }], daysAgo(20));
    await world.psa.seeder.createAgreement(world.companyId, [{ productId: world.products.workstations, quantity: 2, billing: 'prepaid' }], daysAgo(20));
    await world.psa.seeder.createAgreement(world.companyId, [{ productId: world.products.servers, quantity: 1, billing: 'payg' }], daysAgo(20));
    await upsertCompanyMapping(bed.db, world.partnerId, world.companyId, null);

    const outcome = await runActivity(bed.activities.provisionCustomer, world.customer);

    const [tenant, ...others] = await customerTenants(bed.sims, world.companyName);
    expect(others).toEqual([]);
    expect(outcome).toEqual({ status: 'provisioned', tenantId: tenant!.id, tenantCreated: true, userCreated: true, quotasChanged: 4, productionAtMs: productionAt(parseAcronisTime(tenant!.created_at), 'Europe/Berlin') });
    expect((await findCompanyMapping(bed.db, world.partnerId, world.companyId))?.tenantId).toBe(tenant!.id);
    expect(tenant!.pricing_mode).toBe('trial');
    expect(tenant!.mfa_status).toBe('enabled');

    const items = await acronisClient(bed.sims).listOfferingItems(tenant!.id);
    expect(itemState(items, 'pw_base_workstations')).toEqual({ value: 5, overage: 0 });
    expect(itemState(items, 'pw_base_servers')).toEqual({ value: null, overage: null });
    expect(itemState(items, 'local_storage')).toEqual({ value: null, overage: null });
    expect(itemState(items, 'pw_base_storage')).toEqual({ value: null, overage: null });
    expect(itemState(items, 'pw_base_vms')).toBe('off');
    expect(itemState(items, 'pg_base_workstations')).toBe('off');

    const users = await collect(acronisClient(bed.sims).listUsers({ tenantId: tenant!.id, withAccessPolicies: true }));
    expect(users.map((user) => [user.login, user.access_policies?.map((policy) => policy.role_id)])).toEqual([[`jane.${world.partnerId.slice(0, 6)}@contoso.example`, ['company_admin']]]);
    expect((await activationEmails(bed.sims)).map((email) => email.userId)).toEqual([users[0]!.id]);

    // A repeat finds everything in place and writes nothing.
    const acronisWrites = await watchAcronisWrites(bed.sims);
    expect(await runActivity(bed.activities.provisionCustomer, world.customer)).toMatchObject({ status: 'provisioned', tenantId: tenant!.id, tenantCreated: false, userCreated: false, quotasChanged: 0 });
    expect(await acronisWrites.since()).toEqual([]);
    expect(await customerTenants(bed.sims, world.companyName)).toHaveLength(1);
  });
});

describe('provisionCustomer', () => {
  it('fails retryably on an Acronis 503 and, rerun after it, ends with one tenant and one user', async () => {
    const world = await seedProvisioningWorld(bed, 'autotask', { provisioning: { accountBasis: 'company-name' } });
    await world.psa.seeder.createAgreement(world.companyId, [{ productId: world.products.workstations, quantity: 2, billing: 'prepaid' }], daysAgo(5));
    await upsertCompanyMapping(bed.db, world.partnerId, world.companyId, null);
    await addFault(bed.sims.urls.acronis, { match: '^/api/2/users$', method: 'POST', kind: 'status', status: 503, times: 1 });

    const failure = await runActivity(bed.activities.provisionCustomer, world.customer).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'acronis.unavailable', nonRetryable: false });
    expect((failure as Error).message).toMatch(/^Acronis failed POST \/api\/2\/users/);

    const outcome = await runActivity(bed.activities.provisionCustomer, world.customer);
    expect(outcome).toMatchObject({ status: 'provisioned', tenantCreated: false, userCreated: true, productionAtMs: null });
    const tenants = await customerTenants(bed.sims, world.companyName);
    expect(tenants.map((tenant) => [tenant.id, tenant.pricing_mode])).toEqual([[(outcome as { tenantId: string }).tenantId, 'production']]);
    const users = await collect(acronisClient(bed.sims).listUsers({ tenantId: tenants[0]!.id }));
    expect(users.map((user) => user.login)).toEqual([world.companyName.toLowerCase().replace(' ', '.')]);
  });

  it('refuses for good what cannot succeed, and leaves a long rate-limit wait to Temporal with the delay Acronis asks', async () => {
    const world = await seedProvisioningWorld(bed, 'autotask');
    await world.psa.seeder.createAgreement(world.companyId, [{ productId: world.products.workstations, quantity: 2, billing: 'prepaid' }], daysAgo(5));
    await upsertCompanyMapping(bed.db, world.partnerId, world.companyId, null);
    await addFault(bed.sims.urls.acronis, { match: '^/api/2/tenants$', method: 'POST', kind: 'status', status: 400, times: 1 });
    expect(await runActivity(bed.activities.provisionCustomer, world.customer).catch((error: unknown) => error)).toMatchObject({ type: 'acronis.validation', nonRetryable: true });

    // Waits of up to 10 s are spent inside the call (clients/request-limiter.ts); a longer one fails the attempt.
    await addFault(bed.sims.urls.acronis, { match: 'available_for_child$', kind: 'rate-limit', retryAfterSeconds: 60, times: 1 });
    expect(await runActivity(bed.activities.provisionCustomer, world.customer).catch((error: unknown) => error)).toMatchObject({ type: 'acronis.rate-limited', nonRetryable: false, nextRetryDelay: 60_000 });
  });

  it('adopts the partner customer tenant of the company name instead of making a second one', async () => {
    const world = await seedProvisioningWorld(bed, 'connectwise-manage');
    await world.psa.seeder.createAgreement(world.companyId, [{ productId: world.products.servers, quantity: 1, billing: 'payg' }], daysAgo(5));
    await upsertCompanyMapping(bed.db, world.partnerId, world.companyId, null);
    const existing = await customerTenantByHand(bed.sims, world.companyName, { enabled: false });

    expect(await runActivity(bed.activities.provisionCustomer, world.customer)).toMatchObject({ status: 'provisioned', tenantId: existing.id, tenantCreated: false, userCreated: true });
    const [tenant] = await customerTenants(bed.sims, world.companyName);
    // Marked as adopted, and left in the pricing mode its owner chose (the partner's "production" is for tenants the engine creates).
    expect(tenant).toMatchObject({ id: existing.id, enabled: true, pricing_mode: 'trial', internal_tag: engineTag('connectwise-manage', world.companyId, 'adopted') });
    expect((await findCompanyMapping(bed.db, world.partnerId, world.companyId))?.tenantId).toBe(existing.id);
    await runActivity(bed.activities.switchToProduction, { ...world.customer, tenantId: existing.id });
    expect((await acronisClient(bed.sims).getPricing(existing.id)).mode).toBe('trial');
  });

  it('finds the tenant of a create whose answer was lost by its engine tag, even after the company was renamed', async () => {
    const world = await seedProvisioningWorld(bed, 'connectwise-manage');
    await world.psa.seeder.createAgreement(world.companyId, [{ productId: world.products.servers, quantity: 1, billing: 'payg' }], daysAgo(5));
    await upsertCompanyMapping(bed.db, world.partnerId, world.companyId, null);
    await addFault(bed.sims.urls.acronis, { match: '^/api/2/tenants$', method: 'POST', kind: 'timeout-after-commit', times: 1 });

    // Acronis made the tenant, its answer never came: the attempt is given up (as a timed-out activity is) and retried.
    const lostAnswer = new MockActivityEnvironment();
    const firstAttempt = lostAnswer.run(bed.activities.provisionCustomer, world.customer).catch((error: unknown) => error);
    await requestArrived(bed.sims.urls.acronis, (entry) => entry.method === 'POST' && entry.path === '/api/2/tenants' && entry.status === 201);
    lostAnswer.cancel();
    expect(await firstAttempt).toBeInstanceOf(Error);
    const [made] = await customerTenants(bed.sims, world.companyName);
    expect(await findCompanyMapping(bed.db, world.partnerId, world.companyId)).toMatchObject({ tenantId: null });

    const renamed = `Renamed ${world.companyName}`;
    await new ConnectWiseManageClient(connectWiseManageConfig(world.psa.url)).patchCompany(Number(world.companyId), [{ op: 'replace', path: 'name', value: renamed }]);
    expect(await runActivity(bed.activities.provisionCustomer, world.customer)).toMatchObject({ status: 'provisioned', tenantId: made!.id, tenantCreated: false, userCreated: true });
    expect((await customerTenants(bed.sims)).map((tenant) => [tenant.id, tenant.internal_tag])).toEqual([[made!.id, engineTag('connectwise-manage', world.companyId, 'created')]]);
    expect(await findCompanyMapping(bed.db, world.partnerId, world.companyId)).toMatchObject({ tenantId: made!.id });
  });

  it('sends the activation e-mail again when sending failed after the user got its role, and never twice', async () => {
    const world = await seedProvisioningWorld(bed, 'autotask', { provisioning: { accountBasis: 'primary-contact' } });
    await world.psa.seeder.createAgreement(world.companyId, [{ productId: world.products.servers, quantity: 1, billing: 'payg' }], daysAgo(5));
    await upsertCompanyMapping(bed.db, world.partnerId, world.companyId, null);
    await addFault(bed.sims.urls.acronis, { match: '/send-activation-email$', method: 'POST', kind: 'status', status: 503, times: 1 });

    expect(await runActivity(bed.activities.provisionCustomer, world.customer).catch((error: unknown) => error)).toMatchObject({ type: 'acronis.unavailable', nonRetryable: false });
    const [tenant] = await customerTenants(bed.sims, world.companyName);
    const [user, ...others] = await collect(acronisClient(bed.sims).listUsers({ tenantId: tenant!.id, withAccessPolicies: true }));
    expect(others).toEqual([]);
    expect(user!.access_policies?.map((policy) => policy.role_id)).toEqual(['company_admin']);
    expect(await activationEmails(bed.sims)).toEqual([]);

    expect(await runActivity(bed.activities.provisionCustomer, world.customer)).toMatchObject({ status: 'provisioned', tenantId: tenant!.id, userCreated: false });
    expect((await activationEmails(bed.sims)).map((email) => [email.userId, email.email])).toEqual([[user!.id, `jane.${world.partnerId.slice(0, 6)}@contoso.example`]]);

    const acronisWrites = await watchAcronisWrites(bed.sims);
    expect(await runActivity(bed.activities.provisionCustomer, world.customer)).toMatchObject({ status: 'provisioned', userCreated: false });
    expect(await acronisWrites.since()).toEqual([]);
    expect(await activationEmails(bed.sims)).toHaveLength(1);
  });

  it('writes nothing once the partner is removed while it reads', async () => {
    const world = await seedProvisioningWorld(bed, 'connectwise-manage');
    await world.psa.seeder.createAgreement(world.companyId, [{ productId: world.products.servers, quantity: 1, billing: 'payg' }], daysAgo(5));
    await upsertCompanyMapping(bed.db, world.partnerId, world.companyId, null);
    await addFault(bed.sims.urls.acronis, { match: 'available_for_child$', method: 'GET', kind: 'latency', delayMs: 2_000, times: 1 });
    const acronisWrites = await watchAcronisWrites(bed.sims);

    const attempt = runActivity(bed.activities.provisionCustomer, world.customer).catch((error: unknown) => error);
    await requestArrived(bed.sims.urls.acronis, (entry) => entry.path.endsWith('/available_for_child'));
    await markPartnerDeleted(bed.db, world.partnerId);
    expect(await attempt).toMatchObject({ type: CAPABILITY_OFF_FAILURE, nonRetryable: true, message: 'nothing was written: the partner was removed' });
    expect(await acronisWrites.since()).toEqual([]);
    expect(await customerTenants(bed.sims)).toEqual([]);
  });

  it('skips tenants it must not manage and mappings whose tenant is gone, writing nothing', async () => {
    const world = await seedProvisioningWorld(bed, 'autotask');
    await world.psa.seeder.createAgreement(world.companyId, [{ productId: world.products.servers, quantity: 1, billing: 'payg' }], daysAgo(5));
    const selfService = await customerTenantByHand(bed.sims, 'Self-service customer', { ancestral_access: false });
    await upsertCompanyMapping(bed.db, world.partnerId, world.companyId, selfService.id);

    const acronisWrites = await watchAcronisWrites(bed.sims);
    expect(await runActivity(bed.activities.provisionCustomer, world.customer)).toEqual({ status: 'skipped', tenantId: selfService.id, reason: expect.stringMatching(/self-service mode/) });
    expect(await acronisWrites.since()).toEqual([]);

    await upsertCompanyMapping(bed.db, world.partnerId, world.companyId, '0a0a0a0a-1111-2222-3333-444444444444');
    expect(await runActivity(bed.activities.provisionCustomer, world.customer)).toEqual({
      status: 'skipped',
      tenantId: '0a0a0a0a-1111-2222-3333-444444444444',
      reason: 'mapped tenant 0a0a0a0a-1111-2222-3333-444444444444 no longer exists in Acronis',
    });
  });

  it('needs attention, writing nothing, for a company without a primary contact in primary-contact mode', async () => {
    const world = await seedProvisioningWorld(bed, 'connectwise-manage', { provisioning: { accountBasis: 'primary-contact' } });
    const bare = await world.psa.seeder.createCompany('No Contact Ltd');
    await world.psa.seeder.createAgreement(bare, [{ productId: world.products.servers, quantity: 1, billing: 'payg' }], daysAgo(5));
    await upsertCompanyMapping(bed.db, world.partnerId, bare, null);
    const acronisWrites = await watchAcronisWrites(bed.sims);
    expect(await runActivity(bed.activities.provisionCustomer, { partnerId: world.partnerId, psaCompanyId: bare })).toEqual({ status: 'needs-attention', tenantId: null, reason: expect.stringMatching(/"No Contact Ltd" has no primary contact/) });
    expect(await acronisWrites.since()).toEqual([]);
    expect(await customerTenants(bed.sims, 'No Contact Ltd')).toEqual([]);
  });

  it('makes company-name accounts for the activation address, and sends the activation e-mail there', async () => {
    const world = await seedProvisioningWorld(bed, 'connectwise-manage', { provisioning: { accountBasis: 'company-name', activationEmail: 'onboarding@msp.example' } });
    await world.psa.seeder.createAgreement(world.companyId, [{ productId: world.products.servers, quantity: 1, billing: 'payg' }], daysAgo(5));
    await upsertCompanyMapping(bed.db, world.partnerId, world.companyId, null);

    const { tenantId } = (await runActivity(bed.activities.provisionCustomer, world.customer)) as { tenantId: string };
    const users = await collect(acronisClient(bed.sims).listUsers({ tenantId }));
    // The company's primary contact is not who the account is for: the partner's activation address is.
    expect(users.map((user) => [user.login, user.contact.email])).toEqual([[world.companyName.toLowerCase().replace(' ', '.'), 'onboarding@msp.example']]);
    expect((await activationEmails(bed.sims)).map((email) => [email.userId, email.email])).toEqual([[users[0]!.id, 'onboarding@msp.example']]);
  });

  it('needs attention, writing nothing, for company-name accounts without an activation address', async () => {
    const world = await seedProvisioningWorld(bed, 'autotask', { provisioning: { accountBasis: 'company-name', activationEmail: null } });
    await world.psa.seeder.createAgreement(world.companyId, [{ productId: world.products.servers, quantity: 1, billing: 'payg' }], daysAgo(5));
    await upsertCompanyMapping(bed.db, world.partnerId, world.companyId, null);
    const acronisWrites = await watchAcronisWrites(bed.sims);
    expect(await runActivity(bed.activities.provisionCustomer, world.customer)).toEqual({
      status: 'needs-attention',
      tenantId: null,
      reason: 'accounts based on the company name need an activation address: set provisioning.activationEmail',
    });
    expect(await acronisWrites.since()).toEqual([]);
    expect(await customerTenants(bed.sims)).toEqual([]);
  });
});

describe('trial, deprovisioning and deletion', () => {
  it('switches a trial tenant to production once', async () => {
    const world = await seedProvisioningWorld(bed, 'autotask', { provisioning: { tenantMode: 'trial' } });
    await world.psa.seeder.createAgreement(world.companyId, [{ productId: world.products.servers, quantity: 1, billing: 'payg' }], daysAgo(5));
    await upsertCompanyMapping(bed.db, world.partnerId, world.companyId, null);
    const { tenantId } = (await runActivity(bed.activities.provisionCustomer, world.customer)) as { tenantId: string };

    await runActivity(bed.activities.switchToProduction, { ...world.customer, tenantId });
    expect((await acronisClient(bed.sims).getPricing(tenantId)).mode).toBe('production');
    const acronisWrites = await watchAcronisWrites(bed.sims);
    await runActivity(bed.activities.switchToProduction, { ...world.customer, tenantId });
    expect(await acronisWrites.since()).toEqual([]);
  });

  it('plans the ladder in the partner zone from the settings', async () => {
    const world = await seedProvisioningWorld(bed, 'autotask', { deprovisioning: { zeroQuotas: false, disableAfterDays: 3, deleteAfterDays: null } });
    const startedAtMs = Date.UTC(2027, 2, 26, 12);
    expect(await runActivity(bed.activities.planDeprovisioning, { ...world.customer, startedAtMs })).toEqual({ zeroQuotas: false, disableAtMs: daysLater(startedAtMs, 3, 'Europe/Berlin'), deleteAtMs: null });
  });

  it('zeroes the quotas, disables, then deletes a tenant whose mapping was removed, and forgets it', async () => {
    const world = await seedProvisioningWorld(bed, 'connectwise-manage');
    await world.psa.seeder.createAgreement(world.companyId, [{ productId: world.products.workstations, quantity: 4, billing: 'prepaid' }], daysAgo(5));
    await upsertCompanyMapping(bed.db, world.partnerId, world.companyId, null);
    const { tenantId } = (await runActivity(bed.activities.provisionCustomer, world.customer)) as { tenantId: string };
    await deleteCompanyMapping(bed.db, world.partnerId, world.companyId);
    const target = { ...world.customer, tenantId, cause: 'mapping-removed' as const };

    expect(await runActivity(bed.activities.zeroQuotas, target)).toEqual({ status: 'done' });
    const items = await acronisClient(bed.sims).listOfferingItems(tenantId);
    expect(items.filter((item) => item.status === 1).map((item) => [item.name, item.quota?.value])).toEqual(expect.arrayContaining([['pw_base_workstations', 0], ['pw_base_storage', 0]]));
    expect(items.filter((item) => item.status === 1).every((item) => item.quota?.value === 0)).toBe(true);

    const acronisWrites = await watchAcronisWrites(bed.sims);
    expect(await runActivity(bed.activities.deleteTenant, target)).toEqual({ status: 'done' });
    expect((await acronisWrites.since()).map((entry) => entry.method)).toEqual(['PUT', 'DELETE']);
    expect((await acronisClient(bed.sims).getTenant(tenantId, { allowDeleted: true })).deleted_at).not.toBeNull();
    // Gone is gone: a repeat is fine.
    expect(await runActivity(bed.activities.deleteTenant, target)).toEqual({ status: 'done' });
  });
});

describe('discoverCustomers', () => {
  async function customerWorkflowExists(partnerId: string, companyId: string): Promise<boolean> {
    try {
      return (await bed.temporal.workflow.getHandle(customerWorkflowId(partnerId, companyId)).describe()).type === 'customerProvisioning';
    } catch {
      return false;
    }
  }

  it('maps in automatic mode only companies with active mapped lines, and signals a customer only when its lines change', async () => {
    const world = await seedProvisioningWorld(bed, 'connectwise-manage');
    const other = await world.psa.seeder.createProduct('Unrelated service');
    const withServices = world.companyId;
    const withoutServices = await world.psa.seeder.createCompany('Idle Ltd');
    const unrelated = await world.psa.seeder.createCompany('Unrelated Ltd');
    await world.psa.seeder.createAgreement(withServices, [{ productId: world.products.workstations, quantity: 2, billing: 'prepaid' }], daysAgo(5));
    await world.psa.seeder.createAgreement(unrelated, [{ productId: other, quantity: 2, billing: 'prepaid' }], daysAgo(5));

    // Manual mode: only what an admin mapped.
    const manual = await runActivity(bed.activities.discoverCustomers, { partnerId: world.partnerId, force: false });
    expect(manual).toEqual({ status: 'done', summary: { companies: 0, mapped: 0, newlyMapped: 0, signalled: 0, kind: 'full', linesRead: 0 } });
    await upsertCompanyMapping(bed.db, world.partnerId, withoutServices, null);
    expect(await runActivity(bed.activities.discoverCustomers, { partnerId: world.partnerId, force: false })).toMatchObject({ summary: { mapped: 1, newlyMapped: 0, signalled: 1 } });
    expect(await customerWorkflowExists(world.partnerId, withoutServices)).toBe(true);

    await configureSettings(bed.db, world.partnerId, { provisioning: { automatic: true } });
    expect(await runActivity(bed.activities.discoverCustomers, { partnerId: world.partnerId, force: false })).toMatchObject({ summary: { mapped: 2, newlyMapped: 1, signalled: 1 } });
    expect(await findCompanyMapping(bed.db, world.partnerId, withServices)).toMatchObject({ tenantId: null });
    expect(await findCompanyMapping(bed.db, world.partnerId, unrelated)).toBeUndefined();
    expect(await customerWorkflowExists(world.partnerId, withServices)).toBe(true);

    // Nothing changed: nothing to tell.
    expect(await runActivity(bed.activities.discoverCustomers, { partnerId: world.partnerId, force: false })).toMatchObject({ summary: { mapped: 2, newlyMapped: 0, signalled: 0 } });
    await world.psa.seeder.createAgreement(withServices, [{ productId: world.products.servers, quantity: 1, billing: 'payg' }], daysAgo(1));
    expect(await runActivity(bed.activities.discoverCustomers, { partnerId: world.partnerId, force: false })).toMatchObject({ summary: { signalled: 1 } });
    expect(await runActivity(bed.activities.discoverCustomers, { partnerId: world.partnerId, force: true })).toMatchObject({ summary: { signalled: 2 } });

    await configureSettings(bed.db, world.partnerId, { provisioning: { enabled: false } });
    expect(await runActivity(bed.activities.discoverCustomers, { partnerId: world.partnerId, force: false })).toEqual({ status: 'off', reason: 'provisioning is switched off for the partner (provisioning.enabled)' });
  });

  it('heartbeats while a PSA page is slow, so the pass is not taken for a dead worker', async () => {
    const world = await seedProvisioningWorld(bed, 'connectwise-manage');
    await addFault(world.psa.url, { match: '/company/companies$', method: 'GET', kind: 'latency', delayMs: 6_000, times: 1 });
    const environment = new MockActivityEnvironment();
    const beats: unknown[] = [];
    environment.on('heartbeat', (details: unknown) => beats.push(details));

    expect(await environment.run(bed.activities.discoverCustomers, { partnerId: world.partnerId, force: false })).toMatchObject({ status: 'done' });
    // Progress is reported once a company is read; a beat without any came while the first page was on its way.
    expect(beats[0]).toBeUndefined();
    expect(beats.at(-1)).toMatchObject({ processed: expect.any(Number) });
  });

  it('maps nothing more once its partner is removed during a pass', async () => {
    const world = await seedProvisioningWorld(bed, 'connectwise-manage', { provisioning: { automatic: true } });
    const other = await world.psa.seeder.createCompany('Fabrikam Ltd');
    for (const company of [world.companyId, other]) await world.psa.seeder.createAgreement(company, [{ productId: world.products.servers, quantity: 1, billing: 'payg' }], daysAgo(5));
    await addFault(world.psa.url, { match: '/finance/agreements$', method: 'GET', kind: 'latency', delayMs: 2_000, times: 1 });

    const pass = runActivity(bed.activities.discoverCustomers, { partnerId: world.partnerId, force: false }).catch((error: unknown) => error);
    await requestArrived(world.psa.url, (entry) => entry.method === 'GET' && entry.path.endsWith('/finance/agreements'));
    await markPartnerDeleted(bed.db, world.partnerId);
    expect(await pass).toMatchObject({ type: CAPABILITY_OFF_FAILURE, message: 'nothing was written: the partner was removed' });
    expect(await listCompanyMappings(bed.db, world.partnerId)).toEqual([]);
    for (const company of [world.companyId, other]) expect(await customerWorkflowExists(world.partnerId, company)).toBe(false);
  });

  it('resumes from its heartbeat: a retried pass reads nothing it already read and tells no customer twice', async () => {
    const world = await seedProvisioningWorld(bed, 'autotask', { provisioning: { automatic: true } });
    await world.psa.seeder.createAgreement(world.companyId, [{ productId: world.products.servers, quantity: 1, billing: 'payg' }], daysAgo(5));
    const environment = new MockActivityEnvironment();
    const beats: unknown[] = [];
    environment.on('heartbeat', (details: unknown) => beats.push(details));
    const pass = await environment.run(bed.activities.discoverCustomers, { partnerId: world.partnerId, force: true });
    expect(pass).toMatchObject({ summary: { kind: 'full', newlyMapped: 1, signalled: 1, linesRead: 1 } });

    // The worker died after the pass's last heartbeat, before it answered: the retry carries that heartbeat.
    const mark = (await requestLog(world.psa.url)).length;
    const retried = await new MockActivityEnvironment({ heartbeatDetails: beats.at(-1) }).run(bed.activities.discoverCustomers, { partnerId: world.partnerId, force: true });
    expect(retried).toEqual(pass);
    expect((await requestLog(world.psa.url)).slice(mark).filter((entry) => /Contract/.test(entry.path))).toEqual([]);
  });

  it('assesses a customer from its mapping and lines', async () => {
    const world = await seedProvisioningWorld(bed, 'autotask');
    expect(await runActivity(bed.activities.assessCustomer, world.customer)).toEqual({ status: 'unmapped' });
    await upsertCompanyMapping(bed.db, world.partnerId, world.companyId, null);
    expect(await runActivity(bed.activities.assessCustomer, world.customer)).toEqual({ status: 'no-services' });
    await world.psa.seeder.createAgreement(world.companyId, [{ productId: world.products.vms, quantity: 1, billing: 'prepaid' }], daysAgo(5));
    expect(await runActivity(bed.activities.assessCustomer, world.customer)).toEqual({ status: 'provision' });
    expect(await runActivity(bed.activities.assessCustomer, { partnerId: '5b0c7a54-0000-4000-8000-000000000000', psaCompanyId: '1' })).toEqual({ status: 'off', reason: 'the partner was removed' });
  });
});
