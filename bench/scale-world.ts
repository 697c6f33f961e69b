/**
 * The world of the `scale` benchmark: MSP partners, each with a PSA and an Automate of its own (every
 * MSP has its own instance) and an Acronis partner tenant of its own in one shared Acronis data
 * centre, filled through the vendors' public APIs by the seeding helpers (`/_sim` only where a vendor
 * has none: Automate computers, usage figures), and registered in PostgreSQL as the API would, with
 * every capability on.
 */
import { AcronisClient } from '../clients/acronis/client.ts';
import { ConnectWiseAutomateClient } from '../clients/connectwise-automate/client.ts';
import { ConcurrencyLimit } from '../clients/http.ts';
import { replaceAgentPolicies } from '../db/agents.ts';
import { replaceAlertMappings } from '../db/alert-mappings.ts';
import type { Db } from '../db/connection.ts';
import { replaceProductMappings } from '../db/mappings.ts';
import { readSettings, writeSettings } from '../db/settings.ts';
import { demoAlertTicket } from '../dev/demo-world.ts';
import type { PsaKind } from '../domain/partner.ts';
import { mergeSettings, settingsSchema } from '../domain/settings.ts';
import { AutotaskPsa } from '../psa/autotask.ts';
import { ConnectWiseManagePsa } from '../psa/connectwise-manage.ts';
import type { Keyring } from '../security/keyring.ts';
import { createAcronisSimulator } from '../simulators/acronis/simulator.ts';
import { createAutomateSimulator } from '../simulators/automate/simulator.ts';
import { createAutotaskSimulator } from '../simulators/autotask/simulator.ts';
import { createConnectWiseManageSimulator } from '../simulators/connectwise-manage/simulator.ts';
import { DEFAULT_CREDENTIALS } from '../simulators/default-credentials.ts';
import { listen, type RunningServer } from '../simulators/kit/serve.ts';
import { SimClock } from '../simulators/kit/sim-clock.ts';
import { createSimulatorApp, type SimulatorDefinition } from '../simulators/kit/simulator-app.ts';
import { createAcronisPartnerAccount, type AcronisPartnerAccount } from '../simulators/seeding/acronis.ts';
import { autotaskCredentials, autotaskSeeder } from '../simulators/seeding/autotask.ts';
import { connectWiseManageConfig, connectWiseManageSeeder } from '../simulators/seeding/connectwise-manage.ts';
import type { PsaSeeder } from '../simulators/seeding/psa-seeder.ts';
import type { SimWorld } from '../simulators/world.ts';
import { seedPartner } from '../test/partners.ts';

/** The Acronis offering items the partners sell, each through a PSA product of its own. */
const PRODUCTS = [
  { offeringItem: 'pw_base_workstations', name: 'Acronis Cyber Protect – Workstations', billing: 'prepaid' },
  { offeringItem: 'pw_base_servers', name: 'Acronis Cyber Protect – Servers', billing: 'prepaid' },
  { offeringItem: 'pw_base_storage', name: 'Acronis Cloud Storage (GB)', billing: 'payg' },
] as const;
const TIMEZONES = ['America/New_York', 'Europe/London', 'Europe/Berlin', 'America/Los_Angeles', 'Australia/Sydney'];
const CLOSED_STATUS: Record<PsaKind, string> = { 'connectwise-manage': 'Completed', autotask: 'Complete' };
const WINDOWS_11 = 'Microsoft Windows 11 Pro x64';
/** Requests in flight while seeding, across every partner. */
const SEED_CONCURRENCY = 48;

export interface ScaleWorldOptions {
  partners: number;
  customersPerPartner: number;
  /** Every n-th customer is also an Automate client (with an agent policy) of its partner. */
  automateEvery: number;
  computersPerClient: number;
}

export interface ScaleCustomer {
  companyId: string;
  name: string;
  /** Its Automate client, when it has one. */
  automate?: { clientId: number; locationId: number };
}

export interface ScalePartner {
  id: string;
  name: string;
  psaKind: PsaKind;
  psaUrl: string;
  automateUrl: string;
  acronis: AcronisPartnerAccount;
  customers: ScaleCustomer[];
}

export interface ScaleWorld {
  acronisUrl: string;
  partners: ScalePartner[];
  /** A `/_sim` control call on one of the simulators. */
  control(url: string, method: string, path: string, body?: unknown): Promise<unknown>;
  close(): Promise<void>;
}

async function control(url: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${url}/_sim${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!response.ok) throw new Error(`${method} ${url}/_sim${path}: ${response.status} ${await response.text()}`);
  return response.status === 204 ? undefined : response.json();
}

const firstOfThisMonth = () => {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString().slice(0, 10);
};

/** What a partner's customer buys: workstations and servers prepaid, storage pay-as-you-go (Autotask: one contract per billing model). */
async function seedAgreements(seeder: PsaSeeder, companyId: string, index: number, productIds: string[]): Promise<void> {
  const since = firstOfThisMonth();
  const [workstations, servers, storage] = productIds as [string, string, string];
  const prepaid = [
    { productId: workstations, quantity: 5 + (index % 20), billing: 'prepaid' as const },
    { productId: servers, quantity: 1 + (index % 3), billing: 'prepaid' as const },
  ];
  const payg = { productId: storage, quantity: 0, billing: 'payg' as const };
  if (seeder.kind === 'autotask') {
    await seeder.createAgreement(companyId, prepaid, since, 'Acronis Cyber Protect');
    await seeder.createAgreement(companyId, [payg], since, 'Acronis Cloud Storage');
  } else {
    await seeder.createAgreement(companyId, [...prepaid, payg], since, 'Managed Backup');
  }
}

/** Simulators: one Acronis, and a PSA and an Automate per partner, sharing one world (agents installed through Automate appear in Acronis). */
async function startSimulators(kinds: PsaKind[]) {
  const clock = new SimClock();
  const acronis = createAcronisSimulator({ clock });
  const world: SimWorld = { clock, agents: acronis.agents };
  const servers: RunningServer[] = [];
  const serve = async (definition: SimulatorDefinition) => {
    const server = await listen(createSimulatorApp(definition, clock), 0);
    servers.push(server);
    return server.url;
  };
  const acronisUrl = await serve(acronis.definition);
  const perPartner: { psaUrl: string; automateUrl: string }[] = [];
  for (const kind of kinds) {
    const psaUrl = await serve(kind === 'connectwise-manage' ? createConnectWiseManageSimulator({ clock }) : createAutotaskSimulator({ clock }));
    perPartner.push({ psaUrl, automateUrl: await serve(createAutomateSimulator(world)) });
  }
  return { acronisUrl, perPartner, close: () => Promise.all(servers.map((server) => server.close())).then(() => undefined) };
}

export async function buildScaleWorld(db: Db, keyring: Keyring, options: ScaleWorldOptions, progress: (message: string) => void): Promise<ScaleWorld> {
  const kinds = Array.from({ length: options.partners }, (_, index): PsaKind => (index % 2 === 0 ? 'connectwise-manage' : 'autotask'));
  const sims = await startSimulators(kinds);
  const limit = new ConcurrencyLimit(SEED_CONCURRENCY);
  try {
    let seeded = 0;
    const total = options.partners * options.customersPerPartner;
    const partners = await Promise.all(
      kinds.map(async (psaKind, partnerIndex): Promise<ScalePartner> => {
        const tag = `P${String(partnerIndex + 1).padStart(2, '0')}`;
        const name = `Scale MSP ${tag}`;
        const { psaUrl, automateUrl } = sims.perPartner[partnerIndex]!;
        const acronis = await createAcronisPartnerAccount(sims.acronisUrl, name);
        const seeder = psaKind === 'connectwise-manage' ? connectWiseManageSeeder(psaUrl) : autotaskSeeder(psaUrl);
        const productIds: string[] = [];
        for (const product of PRODUCTS) productIds.push(await seeder.createProduct(product.name));
        const automate = new ConnectWiseAutomateClient({ baseUrl: automateUrl, ...DEFAULT_CREDENTIALS.automate });

        const customers = await Promise.all(
          Array.from({ length: options.customersPerPartner }, (_, index) =>
            limit.run(async (): Promise<ScaleCustomer> => {
              const customerName = `${tag} Customer ${String(index + 1).padStart(4, '0')}`;
              const companyId = await seeder.createCompany(customerName);
              await seedAgreements(seeder, companyId, index, productIds);
              const customer: ScaleCustomer = { companyId, name: customerName };
              if (index % options.automateEvery === 0) {
                // Automate's PSA integration links a client to its PSA company by the company's id.
                const client = await automate.createClient({ Name: customerName, ExternalId: Number(companyId) });
                const location = await automate.createLocation({ Name: 'Main Office', ClientId: client.Id });
                for (let computer = 1; computer <= options.computersPerClient; computer++) {
                  await control(automateUrl, 'POST', '/computers', { clientId: client.Id, locationId: location.Id, name: `${tag}-${index + 1}-PC${computer}`, os: WINDOWS_11 });
                }
                customer.automate = { clientId: client.Id, locationId: location.Id };
              }
              if (++seeded % 1_000 === 0) progress(`  ${seeded} of ${total} customers in their PSAs`);
              return customer;
            }),
          ),
        );

        const id = await seedPartner(db, keyring, name, { psaKind, timezone: TIMEZONES[partnerIndex % TIMEZONES.length], urls: { acronis: sims.acronisUrl, psa: psaUrl, automate: automateUrl }, acronisClient: acronis });
        const stored = (await readSettings(db, id))!;
        await writeSettings(
          db,
          id,
          settingsSchema.parse(
            mergeSettings(stored.settings, {
              provisioning: { enabled: true, automatic: true, activationEmail: `admin@${tag.toLowerCase()}.example` },
              // The month to date, every 15 minutes (F4.1's default interval): the busiest reporting there is.
              billing: { enabled: true, reportingPeriod: 'current-month', refreshLagHours: 0 },
              tickets: { enabled: true, autoClose: { enabled: true, status: CLOSED_STATUS[psaKind] } },
              agents: { enabled: true },
            }),
          ),
        );
        await replaceProductMappings(db, id, PRODUCTS.map((product, index) => ({ offeringItem: product.offeringItem, psaProductId: productIds[index]!, free: false })));
        const psa = psaKind === 'connectwise-manage' ? new ConnectWiseManagePsa(connectWiseManageConfig(psaUrl)) : new AutotaskPsa(autotaskCredentials(psaUrl));
        await replaceAlertMappings(db, id, [{ alertType: '*', enabled: true, ticket: demoAlertTicket(await psa.ticketFields()) }]);
        await replaceAgentPolicies(
          db,
          id,
          customers.flatMap((customer) => (customer.automate ? [{ clientId: customer.automate.clientId, locationId: null, autoDeploy: true, withBackupMonitor: false, defaultPlanId: null }] : [])),
        );
        return { id, name, psaKind, psaUrl, automateUrl, acronis, customers };
      }),
    );
    return { acronisUrl: sims.acronisUrl, partners, control, close: sims.close };
  } catch (error) {
    await sims.close();
    throw error;
  }
}

/** The partner's own Acronis API client, as its activities use it. */
export function partnerAcronis(world: ScaleWorld, partner: ScalePartner): AcronisClient {
  return new AcronisClient({ baseUrl: world.acronisUrl, clientId: partner.acronis.clientId, clientSecret: partner.acronis.clientSecret });
}
