import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AcronisClient } from '../clients/acronis/client.ts';
import { ConnectWiseManageClient } from '../clients/connectwise-manage/client.ts';
import { condition } from '../clients/connectwise-manage/conditions.ts';
import { createToken } from '../db/api-tokens.ts';
import { findPartner, saveCredential } from '../db/partners.ts';
import { credentialContext } from '../domain/partner.ts';
import { AutotaskPsa } from '../psa/autotask.ts';
import { SecretBox } from '../security/secret-box.ts';
import { DEFAULT_CREDENTIALS } from '../simulators/default-credentials.ts';
import type { RunningSimulators } from '../simulators/index.ts';
import { autotaskCredentials } from '../simulators/seeding/autotask.ts';
import { connectWiseManageConfig, connectWiseManageSeeder } from '../simulators/seeding/connectwise-manage.ts';
import type { PsaSeeder } from '../simulators/seeding/psa-seeder.ts';
import { customerWorkflowId, provisioningLoopWorkflowId } from '../workflows/contracts/provisioning.ts';
import { startApiHarness, type ApiHarness } from './api-harness.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { testKeyring } from './fixtures/test-keys.ts';
import { freePort } from './free-port.ts';
import { newAcronisPartnerAccount } from './partners.ts';
import { daysAgo } from './provisioning-world.ts';
import { addFault, startTestSimulators } from './simulators.ts';
import { collect } from '../clients/collect.ts';

const WRONG_PRIVATE_KEY = 'not-the-private-key-3c9a';

async function eventually<T>(read: () => Promise<T>, until: (value: T) => boolean, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (until(value) || Date.now() > deadline) return value;
    await delay(100);
  }
}

describe('provisioning admin API', () => {
  const keyring = testKeyring();
  let database: TestDatabase;
  let api: ApiHarness;
  let sims: RunningSimulators;
  let readOnlyToken: string;

  beforeAll(async () => {
    [database, sims] = await Promise.all([createTestDatabase(), startTestSimulators()]);
    api = await startApiHarness(database.db, keyring);
    readOnlyToken = (await createToken(database.db, 'auditor', 'read-only')).token;
  });
  beforeEach(() => sims.reset());
  afterAll(async () => {
    await api.close();
    await sims.close();
    await database.drop();
  });

  /** A partner registered as an admin would, against the simulators: the PSA's default credentials, an Acronis API client of its own. */
  async function registerPartner(psaKind: 'connectwise-manage' | 'autotask' = 'connectwise-manage'): Promise<string> {
    const psa =
      psaKind === 'connectwise-manage'
        ? { kind: psaKind, baseUrl: sims.urls['connectwise-manage'], ...DEFAULT_CREDENTIALS['connectwise-manage'] }
        : { kind: psaKind, ...autotaskCredentials(sims.urls.autotask) };
    const { tenantId, ...apiClient } = await newAcronisPartnerAccount(sims.urls.acronis);
    const response = await api.request('POST', '/v1/partners', {
      body: { name: `MSP ${randomUUID().slice(0, 8)}`, timezone: 'Europe/Berlin', acronis: { baseUrl: sims.urls.acronis, ...apiClient }, psa },
    });
    expect(response.status, response.text).toBe(201);
    partnerTenants.set(response.json.id, tenantId);
    return response.json.id as string;
  }
  /** Each registered partner's Acronis partner tenant. */
  const partnerTenants = new Map<string, string>();

  const cwm = () => connectWiseManageSeeder(sims.urls['connectwise-manage']);
  const cwmClient = () => new ConnectWiseManageClient(connectWiseManageConfig(sims.urls['connectwise-manage']));
  const acronis = () => new AcronisClient({ baseUrl: sims.urls.acronis, clientId: DEFAULT_CREDENTIALS.acronis.clientId, clientSecret: DEFAULT_CREDENTIALS.acronis.clientSecret });

  async function customerTenant(partnerId: string, name: string): Promise<string> {
    return (await acronis().createTenant({ name, kind: 'customer', parent_id: partnerTenants.get(partnerId)! })).id;
  }

  async function workflowExists(workflowId: string): Promise<boolean> {
    try {
      await api.temporal.workflow.getHandle(workflowId).describe();
      return true;
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return false;
      throw error;
    }
  }

  async function auditActions(partnerId: string): Promise<string[]> {
    const rows = await database.db.selectFrom('audit_log').select('action').where('partner_id', '=', partnerId).orderBy('id').execute();
    return rows.map((row) => row.action);
  }

  describe('product mappings', () => {
    it('lists the offering items for customers, each with a suggested PSA product by name', async () => {
      const partnerId = await registerPartner();
      const seeder = cwm();
      const perWorkload = await seeder.createProduct('Acronis Per Workload Workstations');
      const plain = await seeder.createProduct('Acronis Workstations');
      await seeder.createProduct('Office Chairs');

      const response = await api.request('GET', `/v1/partners/${partnerId}/product-mappings`, { token: readOnlyToken });
      expect(response.status, response.text).toBe(200);
      const byName = new Map<string, any>(response.json.items.map((item: any) => [item.offeringItem, item]));
      expect(byName.get('pw_base_workstations')).toEqual({
        offeringItem: 'pw_base_workstations',
        edition: 'pck_per_workload',
        usageName: 'workstations',
        measurementUnit: 'quantity',
        mapping: null,
        suggestion: { id: perWorkload, name: 'Acronis Per Workload Workstations', active: true },
      });
      expect(byName.get('workstations').suggestion.id).toBe(plain);
      expect(byName.get('pg_base_servers').suggestion).toBeNull();
      expect(byName.get('pg_base_storage')).toMatchObject({ usageName: 'storage', measurementUnit: 'bytes' });
      expect(response.json.products.map((product: any) => product.name)).toEqual(['Acronis Per Workload Workstations', 'Acronis Workstations', 'Office Chairs']);
    });

    it('creates a product named in the mapping once, however often the mapping is saved', async () => {
      const partnerId = await registerPartner();
      const body = [
        { offeringItem: 'pw_base_servers', psaProductName: 'Acronis Servers (per workload)', free: false },
        { offeringItem: 'local_storage', psaProductId: null, free: true },
      ];
      const first = await api.request('PUT', `/v1/partners/${partnerId}/product-mappings`, { body });
      expect(first.status, first.text).toBe(200);
      const created = await collect(cwmClient().catalogItems({ conditions: condition('identifier', '=', 'Acronis Servers (per workload)') }));
      expect(created).toHaveLength(1);
      expect(first.json).toEqual([
        { offeringItem: 'local_storage', psaProductId: null, free: true },
        { offeringItem: 'pw_base_servers', psaProductId: String(created[0]!.id), free: false },
      ]);

      expect((await api.request('PUT', `/v1/partners/${partnerId}/product-mappings`, { body })).status).toBe(200);
      expect(await collect(cwmClient().catalogItems({ conditions: condition('identifier', '=', 'Acronis Servers (per workload)') }))).toHaveLength(1);

      const listed = await api.request('GET', `/v1/partners/${partnerId}/product-mappings`);
      const byName = new Map<string, any>(listed.json.items.map((item: any) => [item.offeringItem, item]));
      expect(byName.get('pw_base_servers').mapping).toEqual({ psaProductId: String(created[0]!.id), free: false, psaProductName: 'Acronis Servers (per workload)', problem: null });
      expect(byName.get('local_storage').mapping).toEqual({ psaProductId: null, free: true, psaProductName: null, problem: null });
      expect(byName.get('pw_base_workstations').mapping).toBeNull();
      expect(await auditActions(partnerId)).toEqual(['partner.create', 'product-mappings.replace', 'product-mappings.replace']);
    });

    it('creates an Autotask service the same way', async () => {
      const partnerId = await registerPartner('autotask');
      const body = [{ offeringItem: 'pw_base_vms', psaProductName: 'Acronis Virtual Machines', free: false }];
      expect((await api.request('PUT', `/v1/partners/${partnerId}/product-mappings`, { body })).status).toBe(200);
      expect((await api.request('PUT', `/v1/partners/${partnerId}/product-mappings`, { body })).status).toBe(200);
      const services = await collect(new AutotaskPsa(autotaskCredentials(sims.urls.autotask)).listProducts());
      expect(services.filter((service) => service.name === 'Acronis Virtual Machines')).toHaveLength(1);
    });

    it('refuses unknown offering items and products, Free with a product, and duplicates, naming each, and stores nothing', async () => {
      const partnerId = await registerPartner();
      const product = await cwm().createProduct('Acronis Workstations');
      const valid = { offeringItem: 'pw_base_workstations', psaProductId: product, free: false };
      expect((await api.request('PUT', `/v1/partners/${partnerId}/product-mappings`, { body: [valid] })).status).toBe(200);

      const vendorChecked = await api.request('PUT', `/v1/partners/${partnerId}/product-mappings`, {
        body: [valid, { offeringItem: 'no_such_item', psaProductId: null, free: true }, { offeringItem: 'pw_base_servers', psaProductId: '999999', free: false }],
      });
      expect(vendorChecked.status).toBe(400);
      expect(vendorChecked.json.errors).toEqual([
        { path: '1.offeringItem', message: expect.stringMatching(/not an offering item/) },
        { path: '2.psaProductId', message: expect.stringMatching(/not a product/) },
      ]);

      const shapeChecked = await api.request('PUT', `/v1/partners/${partnerId}/product-mappings`, {
        body: [{ ...valid, free: true }, { offeringItem: 'pw_base_servers', psaProductId: product, psaProductName: 'Other' }, { ...valid, psaProductId: null }],
      });
      expect(shapeChecked.status).toBe(400);
      expect(shapeChecked.json.errors.map((error: any) => error.path)).toEqual(['0.free', '1.psaProductName', '2.offeringItem']);

      const listed = await api.request('GET', `/v1/partners/${partnerId}/product-mappings`);
      expect(listed.json.items.filter((item: any) => item.mapping).map((item: any) => item.offeringItem)).toEqual(['pw_base_workstations']);
      expect(await collect(cwmClient().catalogItems())).toHaveLength(1);
    });

    it('lets only admin tokens change mappings', async () => {
      const partnerId = await registerPartner();
      const response = await api.request('PUT', `/v1/partners/${partnerId}/product-mappings`, { token: readOnlyToken, body: [] });
      expect(response.status).toBe(403);
    });

    it('answers 502 naming Acronis when Acronis is down', async () => {
      const partnerId = await registerPartner();
      await addFault(sims.urls.acronis, { match: '^/api/2/', kind: 'status', status: 503 });
      const response = await api.request('GET', `/v1/partners/${partnerId}/product-mappings`);
      expect(response.status).toBe(502);
      expect(response.headers.get('content-type')).toBe('application/problem+json');
      expect(response.json).toMatchObject({ status: 502, title: 'Acronis is unavailable' });
    });

    it('answers 502 naming the PSA when it refuses the credentials, without echoing them', async () => {
      const partnerId = await registerPartner();
      // The key stops working after it was saved (revoked in the PSA): stored as is, below the API's checks.
      const psa = (await findPartner(database.db, partnerId))!.credentials.psa!;
      const sealedSecrets = new SecretBox(keyring).seal(JSON.stringify({ privateKey: WRONG_PRIVATE_KEY }), credentialContext(partnerId, 'psa'));
      await saveCredential(database.db, partnerId, { ...psa, sealedSecrets });
      const response = await api.request('GET', `/v1/partners/${partnerId}/customers`);
      expect(response.status).toBe(502);
      expect(response.json.title).toBe('ConnectWise Manage refused the credentials');
      expect(response.text).not.toContain(WRONG_PRIVATE_KEY);
    });
  });

  describe('company mappings', () => {
    let partnerId: string;
    let seeder: PsaSeeder;
    beforeEach(async () => {
      partnerId = await registerPartner();
      seeder = cwm();
    });

    const customers = (query = '') => api.request('GET', `/v1/partners/${partnerId}/customers${query}`);
    const names = (response: { json: any }) => response.json.items.map((item: any) => item.name);

    it('lists PSA companies filtered by mapping state, name, type and status', async () => {
      const alpha = await seeder.createCompany('Alpha Dental');
      await seeder.createCompany('Beta Bakery');
      await seeder.createCompany('Gamma Dental');
      await cwmClient().createCompany({ identifier: 'DeltaProspect', name: 'Delta Prospect', addressLine1: '1 Main Street', city: 'Tampa', types: [{ name: 'Prospect' }], status: { name: 'Inactive' } });
      expect((await api.request('PUT', `/v1/partners/${partnerId}/customers/${alpha}/mapping`, { body: { tenant: 'new' } })).status).toBe(200);

      const all = await api.request('GET', `/v1/partners/${partnerId}/customers`, { token: readOnlyToken });
      expect(all.status, all.text).toBe(200);
      expect(names(all)).toEqual(['Alpha Dental', 'Beta Bakery', 'Gamma Dental', 'Delta Prospect']);
      expect(all.json.items[0]).toMatchObject({ psaCompanyId: alpha, name: 'Alpha Dental', types: ['Client'], status: 'Active', active: true, mapping: { tenantId: null } });
      expect(all.json.items[1]).toMatchObject({ mapping: null, provisioning: null });
      // Workflow visibility lags a moment behind the start; with provisioning off, the customer's workflow stops at once.
      const withRun = await eventually(() => customers('?mapping=mapped'), (response) => response.json.items[0]?.provisioning?.running === false);
      expect(withRun.json.items[0].provisioning).toEqual({
        workflowId: customerWorkflowId(partnerId, alpha),
        phase: 'stopped',
        reason: 'provisioning is switched off for the partner (provisioning.enabled)',
        nextStep: null,
        running: false,
        webUiUrl: expect.stringContaining(encodeURIComponent(customerWorkflowId(partnerId, alpha))),
      });
      expect(names(await customers('?mapping=mapped'))).toEqual(['Alpha Dental']);
      expect(names(await customers('?mapping=unmapped'))).toEqual(['Beta Bakery', 'Gamma Dental', 'Delta Prospect']);
      expect(names(await customers('?mapping=unmapped&q=dental'))).toEqual(['Gamma Dental']);
      expect(names(await customers('?type=Prospect'))).toEqual(['Delta Prospect']);
      expect(names(await customers('?status=Active'))).toEqual(['Alpha Dental', 'Beta Bakery', 'Gamma Dental']);
      const limited = await customers('?limit=2');
      expect(limited.json).toMatchObject({ truncated: true });
      expect(names(limited)).toEqual(['Alpha Dental', 'Beta Bakery']);
      expect((await customers('?mapping=some')).json.errors).toEqual([{ path: 'mapping', message: expect.any(String) }]);
    });

    it('maps a company to a new tenant and starts its customer workflow', async () => {
      const company = await seeder.createCompany('Contoso Ltd');
      const response = await api.request('PUT', `/v1/partners/${partnerId}/customers/${company}/mapping`, { body: { tenant: 'new' } });
      expect(response.status, response.text).toBe(200);
      expect(response.json).toMatchObject({ psaCompanyId: company, name: 'Contoso Ltd', mapping: { tenantId: null }, provisioning: { workflowId: customerWorkflowId(partnerId, company), running: true } });
      expect(await workflowExists(customerWorkflowId(partnerId, company))).toBe(true);
      const stored = await database.db.selectFrom('company_mappings').selectAll().where('partner_id', '=', partnerId).execute();
      expect(stored).toMatchObject([{ psa_company_id: company, acronis_tenant_id: null }]);
      expect(await auditActions(partnerId)).toContain('customer.map');
    });

    it('maps a company to an existing customer tenant, one company per tenant', async () => {
      const [first, second] = [await seeder.createCompany('First Co'), await seeder.createCompany('Second Co')];
      const tenantId = await customerTenant(partnerId, 'First Co');
      const mapped = await api.request('PUT', `/v1/partners/${partnerId}/customers/${first}/mapping`, { body: { tenantId } });
      expect(mapped.status, mapped.text).toBe(200);
      expect(mapped.json.mapping).toEqual({ tenantId, problem: null });
      expect(await workflowExists(customerWorkflowId(partnerId, first))).toBe(true);

      const again = await api.request('PUT', `/v1/partners/${partnerId}/customers/${second}/mapping`, { body: { tenantId } });
      expect(again.status).toBe(409);
      expect(again.json.errors).toEqual([{ path: 'tenantId', message: expect.stringContaining(`PSA company ${first}`) }]);
      expect(await workflowExists(customerWorkflowId(partnerId, second))).toBe(false);
      // Saving the same mapping again is fine; moving the company to another tenant needs a removal first.
      expect((await api.request('PUT', `/v1/partners/${partnerId}/customers/${first}/mapping`, { body: { tenantId } })).status).toBe(200);
      const moved = await api.request('PUT', `/v1/partners/${partnerId}/customers/${first}/mapping`, { body: { tenant: 'new' } });
      expect(moved.status).toBe(409);
      expect(moved.json.errors).toEqual([{ path: 'psaCompanyId', message: `is mapped to tenant ${tenantId}; remove that mapping first` }]);
    });

    it('refuses tenants that are not customer tenants of the partner, unknown companies and malformed bodies', async () => {
      const company = await seeder.createCompany('Picky Co');
      const partnerTenant = partnerTenants.get(partnerId)!;
      const put = (body: unknown, id = company) => api.request('PUT', `/v1/partners/${partnerId}/customers/${id}/mapping`, { body });

      const unknownTenant = await put({ tenantId: randomUUID() });
      expect(unknownTenant.status).toBe(400);
      expect(unknownTenant.json.errors).toEqual([{ path: 'tenantId', message: expect.stringMatching(/not a customer tenant under this partner/) }]);
      expect((await put({ tenantId: partnerTenant })).json.errors).toEqual([{ path: 'tenantId', message: expect.stringMatching(/partner tenant/) }]);
      const unknownCompany = await put({ tenant: 'new' }, '987654');
      expect(unknownCompany.status).toBe(404);
      expect(unknownCompany.json.detail).toMatch(/PSA company 987654/);
      expect((await put({ tenant: 'new', tenantId: randomUUID() })).status).toBe(400);
      expect((await put({})).status).toBe(400);
      expect(await database.db.selectFrom('company_mappings').selectAll().where('partner_id', '=', partnerId).execute()).toEqual([]);
    });

    it('maps several companies to new tenants at once, or none of them', async () => {
      const ids = [await seeder.createCompany('One Inc'), await seeder.createCompany('Two Inc')];
      const refused = await api.request('POST', `/v1/partners/${partnerId}/customers/mappings`, { body: { psaCompanyIds: [ids[0], '987654'] } });
      expect(refused.status).toBe(400);
      expect(refused.json.errors).toEqual([{ path: 'psaCompanyIds.1', message: 'is not a company in the PSA' }]);
      expect(await database.db.selectFrom('company_mappings').selectAll().where('partner_id', '=', partnerId).execute()).toEqual([]);

      const response = await api.request('POST', `/v1/partners/${partnerId}/customers/mappings`, { body: { psaCompanyIds: ids } });
      expect(response.status, response.text).toBe(200);
      expect(response.json.items.map((item: any) => [item.name, item.mapping])).toEqual([['One Inc', { tenantId: null, problem: null }], ['Two Inc', { tenantId: null, problem: null }]]);
      for (const id of ids) expect(await workflowExists(customerWorkflowId(partnerId, id))).toBe(true);
      expect(names(await customers('?mapping=mapped'))).toEqual(['One Inc', 'Two Inc']);
    });

    it('removes a mapping and tells the customer workflow', async () => {
      const company = await seeder.createCompany('Leaving Co');
      expect((await api.request('PUT', `/v1/partners/${partnerId}/customers/${company}/mapping`, { body: { tenant: 'new' } })).status).toBe(200);
      const removed = await api.request('DELETE', `/v1/partners/${partnerId}/customers/${company}/mapping`);
      expect(removed.status).toBe(204);
      expect(names(await customers('?mapping=mapped'))).toEqual([]);
      expect(await auditActions(partnerId)).toEqual(['partner.create', 'customer.map', 'customer.unmap']);
      expect((await api.request('DELETE', `/v1/partners/${partnerId}/customers/${company}/mapping`)).status).toBe(404);
    });

    it('refuses to unmap while provisioning is automatic, since the next pass would map the company again', async () => {
      const company = await seeder.createCompany('Sticky Co');
      expect((await api.request('PUT', `/v1/partners/${partnerId}/customers/${company}/mapping`, { body: { tenant: 'new' } })).status).toBe(200);
      expect((await api.request('PUT', `/v1/partners/${partnerId}/settings`, { body: { provisioning: { automatic: true } } })).status).toBe(200);
      const refused = await api.request('DELETE', `/v1/partners/${partnerId}/customers/${company}/mapping`);
      expect(refused.status).toBe(409);
      expect(refused.json.errors).toEqual([{ path: 'psaCompanyId', message: expect.stringContaining('provisioning is automatic') }]);
      expect(names(await customers('?mapping=mapped'))).toEqual(['Sticky Co']);
    });

    it('answers 404 for an unknown partner', async () => {
      expect((await api.request('GET', `/v1/partners/${randomUUID()}/customers`)).status).toBe(404);
    });

    it("shows why each customer is where it is and its next step: one needing attention, one being deprovisioned", async () => {
      const product = await seeder.createProduct('Acronis Workstations');
      expect((await api.request('PUT', `/v1/partners/${partnerId}/product-mappings`, { body: [{ offeringItem: 'pw_base_workstations', psaProductId: product, free: false }] })).status).toBe(200);
      expect((await api.request('PUT', `/v1/partners/${partnerId}/settings`, { body: { provisioning: { enabled: true, accountBasis: 'primary-contact' } } })).status).toBe(200);
      const withoutContact = await seeder.createCompany('Nobody Home Ltd');
      const leaving = await seeder.createCompany('Leaving Soon Ltd');
      await seeder.addPrimaryContact(leaving, { firstName: 'Lea', lastName: 'Ving', email: `lea.${leaving}@leaving.example` });
      await seeder.createAgreement(withoutContact, [{ productId: product, quantity: 2, billing: 'prepaid' }], daysAgo(10));
      const agreement = await seeder.createAgreement(leaving, [{ productId: product, quantity: 2, billing: 'prepaid' }], daysAgo(10));
      expect((await api.request('POST', `/v1/partners/${partnerId}/customers/mappings`, { body: { psaCompanyIds: [withoutContact, leaving] } })).status).toBe(200);
      const provisioningOf = (response: { json: any }, psaCompanyId: string) => response.json.items.find((item: any) => item.psaCompanyId === psaCompanyId)?.provisioning;
      await eventually(() => customers(), (response) => provisioningOf(response, leaving)?.phase === 'active', 30_000);

      await seeder.cancelLine(agreement.agreementId, agreement.lineIds[0]!);
      expect((await api.request('POST', `/v1/partners/${partnerId}/sync`, { body: { what: ['provisioning'] } })).status).toBe(202);
      const listed = await eventually(
        () => customers(),
        (response) => provisioningOf(response, leaving)?.phase === 'deprovisioning' && provisioningOf(response, withoutContact)?.phase === 'needs-attention',
        30_000,
      );
      expect(provisioningOf(listed, withoutContact)).toMatchObject({
        phase: 'needs-attention',
        reason: `PSA company "Nobody Home Ltd" has no primary contact with an e-mail address to make the customer's admin account from: add one in the PSA`,
        nextStep: null,
        running: true,
      });
      const deprovisioning = provisioningOf(listed, leaving);
      expect(deprovisioning).toMatchObject({ phase: 'deprovisioning', reason: 'no active service left in the agreement', nextStep: { step: 'disable-tenant', at: expect.any(String) }, running: true });
      // The partner's default: disabled 10 days after the services ended.
      expect(Date.parse(deprovisioning.nextStep.at) - Date.now()).toBeGreaterThan(9 * 86_400_000);
      expect(Date.parse(deprovisioning.nextStep.at) - Date.now()).toBeLessThan(11 * 86_400_000);
    });
  });

  describe('settings', () => {
    it('refuses provisioning with company-name accounts and no activation address, naming provisioning.activationEmail', async () => {
      const partnerId = await registerPartner();
      const put = (provisioning: Record<string, unknown>) => api.request('PUT', `/v1/partners/${partnerId}/settings`, { body: { provisioning } });

      const refused = await put({ enabled: true });
      expect(refused.status).toBe(400);
      expect(refused.headers.get('content-type')).toBe('application/problem+json');
      expect(refused.json.errors).toEqual([{ path: 'provisioning.activationEmail', message: expect.stringMatching(/^is required while provisioning is on with accounts based on the company name/) }]);
      expect((await api.request('GET', `/v1/partners/${partnerId}/settings`)).json.provisioning).toMatchObject({ enabled: false, accountBasis: 'company-name', activationEmail: null });

      // Primary-contact accounts are activated at the contact's address; going back to company names needs one.
      expect((await put({ enabled: true, accountBasis: 'primary-contact' })).status).toBe(200);
      expect((await put({ accountBasis: 'company-name' })).json.errors).toEqual([{ path: 'provisioning.activationEmail', message: expect.any(String) }]);
      const accepted = await put({ accountBasis: 'company-name', activationEmail: 'onboarding@msp.example' });
      expect(accepted.status, accepted.text).toBe(200);
      expect(accepted.json.provisioning).toMatchObject({ enabled: true, accountBasis: 'company-name', activationEmail: 'onboarding@msp.example' });
    });
  });

  describe('sync now', () => {
    it('runs a provisioning pass when provisioning is on, and refuses what is off', async () => {
      const partnerId = await registerPartner();
      const sync = (what: unknown) => api.request('POST', `/v1/partners/${partnerId}/sync`, { body: { what } });

      const off = await sync(['provisioning']);
      expect(off.status).toBe(409);
      expect(off.json.errors).toEqual([{ path: 'what.0', message: expect.stringMatching(/switched off/) }]);
      expect(await workflowExists(provisioningLoopWorkflowId(partnerId))).toBe(false);

      expect((await api.request('PUT', `/v1/partners/${partnerId}/settings`, { body: { provisioning: { enabled: true, activationEmail: 'onboarding@msp.example' } } })).status).toBe(200);
      const on = await sync(['provisioning']);
      expect(on.status, on.text).toBe(202);
      expect(on.json).toEqual({ accepted: ['provisioning'] });
      expect(await workflowExists(provisioningLoopWorkflowId(partnerId))).toBe(true);
      expect(await auditActions(partnerId)).toContain('partner.sync');

      const billingOff = await sync(['provisioning', 'usage']);
      expect(billingOff.status).toBe(409);
      expect(billingOff.json.errors).toEqual([{ path: 'what.1', message: 'usage is switched off for this partner (settings billing.enabled)' }]);
      expect((await sync([])).status).toBe(400);
      expect((await sync(['provisioning', 'provisioning'])).json.errors).toEqual([{ path: 'what.1', message: 'is listed twice' }]);
      expect((await sync(['everything'])).status).toBe(400);
    });
  });

  it('documents the routes in /openapi.json', async () => {
    const { paths } = (await api.request('GET', '/openapi.json', { token: null })).json;
    expect(Object.keys(paths['/v1/partners/{id}/product-mappings'])).toEqual(['get', 'put']);
    expect(Object.keys(paths['/v1/partners/{id}/customers'])).toEqual(['get']);
    expect(Object.keys(paths['/v1/partners/{id}/customers/{psaCompanyId}/mapping'])).toEqual(['put', 'delete']);
    expect(Object.keys(paths['/v1/partners/{id}/customers/mappings'])).toEqual(['post']);
    expect(Object.keys(paths['/v1/partners/{id}/sync'])).toEqual(['post']);
  });

  describe('without Temporal', () => {
    let offline: ApiHarness;
    beforeAll(async () => {
      offline = await startApiHarness(database.db, keyring, { temporalAddress: `localhost:${await freePort()}`, runWorker: false });
    });
    afterAll(() => offline.close());

    it('answers 503 to a mapping and writes nothing, since its workflow cannot be told', async () => {
      const partnerId = await registerPartner();
      const company = await cwm().createCompany('Unlucky Co');
      const response = await offline.request('PUT', `/v1/partners/${partnerId}/customers/${company}/mapping`, { body: { tenant: 'new' } });
      expect(response.status).toBe(503);
      expect(await database.db.selectFrom('company_mappings').selectAll().where('partner_id', '=', partnerId).execute()).toEqual([]);
      expect(await auditActions(partnerId)).toEqual(['partner.create']);
    });
  });
});
