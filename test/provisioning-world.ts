/**
 * What the provisioning tests stand on: a partner on the simulators with provisioning on, its
 * product mappings and a PSA company, seeded the way an MSP fills in its PSA (the vendor APIs), and
 * what a test reads back from Acronis (tenants, the writes it was sent, activation e-mails).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, beforeEach, inject } from 'vitest';
import { createProvisioningActivities } from '../activities/provisioning/index.ts';
import type { ProvisioningActivities } from '../activities/provisioning/types.ts';
import { AcronisClient } from '../clients/acronis/client.ts';
import type { Tenant } from '../clients/acronis/types.ts';
import { collect } from '../clients/collect.ts';
import { PartnerClientsCache } from '../clients/partner-clients.ts';
import type { Db } from '../db/connection.ts';
import { replaceProductMappings } from '../db/mappings.ts';
import { readSettings, writeSettings } from '../db/settings.ts';
import type { PsaKind } from '../domain/partner.ts';
import { mergeSettings, settingsSchema, type SettingsPatch } from '../domain/settings.ts';
import type { Keyring } from '../security/keyring.ts';
import { DEFAULT_CREDENTIALS } from '../simulators/default-credentials.ts';
import type { RunningSimulators } from '../simulators/index.ts';
import { autotaskSeeder } from '../simulators/seeding/autotask.ts';
import { connectWiseManageSeeder } from '../simulators/seeding/connectwise-manage.ts';
import type { PsaSeeder } from '../simulators/seeding/psa-seeder.ts';
import { encryptedDataConverter } from '../temporal/data-converter.ts';
import { ProvisioningWorkflows } from '../temporal/provisioning-workflows.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { testKeyring } from './fixtures/test-keys.ts';
import { seedPartner } from './partners.ts';
import { requestLog, startTestSimulators } from './simulators.ts';

/** The simulators, the database and the keyring a world is seeded into. */
export interface Surroundings {
  sims: RunningSimulators;
  db: Db;
  keyring: Keyring;
}

export type RequestLogEntry = Awaited<ReturnType<typeof requestLog>>[number];

export const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString().slice(0, 10);

/** Activities run in a mock activity context (heartbeats, attempt info), as a worker would run them. */
export function runActivity<A extends unknown[], R>(activity: (...args: A) => Promise<R>, ...args: A): Promise<R> {
  return new MockActivityEnvironment().run(activity, ...args);
}

/** Acronis as the partner's API client sees it (the simulator's default credentials). */
export function acronisClient(sims: RunningSimulators): AcronisClient {
  return new AcronisClient({ baseUrl: sims.urls.acronis, clientId: DEFAULT_CREDENTIALS.acronis.clientId, clientSecret: DEFAULT_CREDENTIALS.acronis.clientSecret });
}

/** The partner's live customer tenants, those of one name when given. */
export async function customerTenants(sims: RunningSimulators, name?: string): Promise<Tenant[]> {
  const client = acronisClient(sims);
  const partnerTenantId = (await client.getApiClient()).tenant_id;
  const children = await collect(client.listTenants({ parentId: partnerTenantId }));
  return children.filter((tenant) => tenant.deleted_at === null && (name === undefined || tenant.name === name));
}

/** A customer tenant made in Acronis by hand (not by the engine), as an admin would. */
export async function customerTenantByHand(sims: RunningSimulators, name: string, fields: { ancestral_access?: boolean; enabled?: boolean } = {}): Promise<Tenant> {
  const client = acronisClient(sims);
  return client.createTenant({ name, kind: 'customer', parent_id: (await client.getApiClient()).tenant_id, ...fields });
}

/** The activation e-mails Acronis sent, from its simulator's state. */
export async function activationEmails(sims: RunningSimulators): Promise<{ userId: string; login: string; email: string }[]> {
  const state = (await (await fetch(`${sims.urls.acronis}/_sim/state`)).json()) as { activationEmails: { userId: string; login: string; email: string }[] };
  return state.activationEmails;
}

/** Marks the Acronis request log now; `since()` lists the writes Acronis received after the mark. */
export async function watchAcronisWrites(sims: RunningSimulators): Promise<{ since(): Promise<RequestLogEntry[]> }> {
  const mark = (await requestLog(sims.urls.acronis)).length;
  return {
    async since() {
      return (await requestLog(sims.urls.acronis)).slice(mark).filter((entry) => entry.method !== 'GET' && !entry.path.endsWith('/idp/token'));
    },
  };
}

/** The first request to the simulator that `matches`, once it has arrived (it may still be in flight: status 0). */
export async function requestArrived(simulatorUrl: string, matches: (entry: RequestLogEntry) => boolean): Promise<RequestLogEntry> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const entry = (await requestLog(simulatorUrl)).find(matches);
    if (entry) return entry;
    if (Date.now() > deadline) throw new Error('the request never arrived');
    await delay(20);
  }
}

export async function configureSettings(db: Db, partnerId: string, patch: SettingsPatch): Promise<void> {
  const current = await readSettings(db, partnerId);
  await writeSettings(db, partnerId, settingsSchema.parse(mergeSettings(current!.settings, patch)));
}

/** The PSA side as an MSP fills it in, through the vendor's public API. */
export function psaWorld(sims: RunningSimulators, kind: PsaKind): { seeder: PsaSeeder; url: string } {
  const url = kind === 'connectwise-manage' ? sims.urls['connectwise-manage'] : sims.urls.autotask;
  return { seeder: kind === 'connectwise-manage' ? connectWiseManageSeeder(url) : autotaskSeeder(url), url };
}

export type ProvisioningWorld = Awaited<ReturnType<typeof seedProvisioningWorld>>;

/**
 * A partner with provisioning on (company-name accounts activated at msp-admin@example.com unless
 * the patch says otherwise), its product mappings, and one company with a primary contact.
 */
export async function seedProvisioningWorld(where: Surroundings, kind: PsaKind, patch: SettingsPatch = {}, options: { timezone?: string } = {}) {
  const { sims, db, keyring } = where;
  const psa = psaWorld(sims, kind);
  const partnerId = await seedPartner(db, keyring, undefined, { psaKind: kind, timezone: options.timezone, urls: { acronis: sims.urls.acronis, psa: psa.url } });
  await configureSettings(db, partnerId, { provisioning: { enabled: true, activationEmail: 'msp-admin@example.com', ...patch.provisioning }, ...(patch.deprovisioning ? { deprovisioning: patch.deprovisioning } : {}) });
  const products = {
    workstations: await psa.seeder.createProduct('Acronis Workstations'),
    servers: await psa.seeder.createProduct('Acronis Servers'),
    vms: await psa.seeder.createProduct('Acronis VMs'),
  };
  await replaceProductMappings(db, partnerId, [
    { offeringItem: 'pw_base_workstations', psaProductId: products.workstations, free: false },
    { offeringItem: 'pw_base_servers', psaProductId: products.servers, free: false },
    { offeringItem: 'pw_base_vms', psaProductId: products.vms, free: false },
    { offeringItem: 'local_storage', psaProductId: null, free: true },
  ]);
  const companyName = `Contoso ${partnerId.slice(0, 6)}`;
  const companyId = await psa.seeder.createCompany(companyName);
  await psa.seeder.addPrimaryContact(companyId, { firstName: 'Jane', lastName: 'Doe', email: `jane.${partnerId.slice(0, 6)}@contoso.example` });
  return { psa, partnerId, products, companyId, companyName, customer: { partnerId, psaCompanyId: companyId } };
}

export interface ActivityBed extends Surroundings {
  temporal: Client;
  activities: ProvisioningActivities;
}

/**
 * For a test file of provisioning activities: simulators (reset before each test), a migrated
 * database, and the activities wired as the worker wires them, their workflow starts going to the
 * shared dev server. Read the fields inside tests and hooks: they are set in `beforeAll`.
 */
export function provisioningActivityBed(): ActivityBed {
  const keyring = testKeyring();
  let sims: RunningSimulators | undefined;
  let database: TestDatabase | undefined;
  let connection: Connection | undefined;
  let temporal: Client | undefined;
  let activities: ProvisioningActivities | undefined;
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the provisioning bed is set up in beforeAll');
    return value;
  };

  beforeAll(async () => {
    [sims, database] = await Promise.all([startTestSimulators(), createTestDatabase()]);
    connection = await Connection.connect({ address: inject('temporalAddress') });
    temporal = new Client({ connection, dataConverter: encryptedDataConverter(keyring) });
    activities = createProvisioningActivities({ db: database.db, clients: new PartnerClientsCache(database.db, keyring), workflows: new ProvisioningWorkflows(temporal) });
  });
  afterAll(async () => {
    await connection?.close();
    await database?.drop();
    await sims?.close();
  });
  beforeEach(() => ready(sims).reset());

  return {
    keyring,
    get sims() {
      return ready(sims);
    },
    get db() {
      return ready(database).db;
    },
    get temporal() {
      return ready(temporal);
    },
    get activities() {
      return ready(activities);
    },
  };
}
