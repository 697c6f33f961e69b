import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AcronisClient } from '../../clients/acronis/client.ts';
import { ConnectWiseAutomateClient } from '../../clients/connectwise-automate/client.ts';
import { AutotaskPsa } from '../../psa/autotask.ts';
import { ConnectWiseManagePsa } from '../../psa/connectwise-manage.ts';
import { DEFAULT_CREDENTIALS } from '../../simulators/default-credentials.ts';
import { SIMULATED_VENDORS, SIMULATOR_PORTS, type SimulatedVendor } from '../../simulators/ports.ts';
import { autotaskCredentials } from '../../simulators/seeding/autotask.ts';
import { connectWiseManageConfig } from '../../simulators/seeding/connectwise-manage.ts';
import { acronisDistributor, createAcronisApiClient } from '../../simulators/seeding/acronis.ts';
import { freePort } from '../free-port.ts';
import { collect } from '../../clients/collect.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const ADMIN_TOKEN = 'aci_e2e-admin-token-0123456789abcdef';
/** The Acronis client secret of the partner the test registers: a client of its own, made at run time. */
let SECRET: string;

interface Stack {
  process: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ port, host: 'localhost' });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

const DEMO_PARTNERS = ['Demo MSP (ConnectWise Manage)', 'Demo MSP (Autotask)'];

/**
 * `npm start` as a user runs it (node dev/start.ts is what the script runs), on free ports and a
 * scratch data directory: embedded PostgreSQL, the Temporal dev server with its Web UI, the simulated
 * vendors with the demo world, worker, API.
 */
describe('npm start (the whole stack, end to end over HTTP)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'engine-e2e-'));
  chmodSync(dataDir, 0o755);
  const ports: Record<'api' | 'metrics' | 'temporal' | 'ui' | 'postgres' | SimulatedVendor, number> = { api: 0, metrics: 0, temporal: 0, ui: 0, postgres: 0, acronis: 0, 'connectwise-manage': 0, autotask: 0, automate: 0 };
  const sim = {} as Record<SimulatedVendor, string>;
  let api: string;
  let ui: string;
  let stack: Stack;
  let partnerId: string;
  let demoPartnerIds: string[];

  async function launch(): Promise<Stack> {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATA_DIR: dataDir,
      PORT: String(ports.api),
      METRICS_PORT: String(ports.metrics),
      TEMPORAL_PORT: String(ports.temporal),
      TEMPORAL_UI_PORT: String(ports.ui),
      EMBEDDED_PG_PORT: String(ports.postgres),
      ADMIN_TOKEN,
      ...Object.fromEntries(SIMULATED_VENDORS.map((vendor) => [SIMULATOR_PORTS[vendor].variable, String(ports[vendor])])),
    };
    delete env.DATABASE_URL;
    delete env.TEMPORAL_ADDRESS;
    delete env.ENCRYPTION_KEY;
    delete env.DEMO;
    delete env.SIMULATORS;
    const child = spawn(process.execPath, [join(ROOT, 'dev/start.ts')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    const deadline = Date.now() + 90_000;
    while (!output.includes('is running.')) {
      if (child.exitCode !== null) throw new Error(`npm start exited early:\n${output}`);
      if (Date.now() > deadline) throw new Error(`npm start did not come up within 90 s:\n${output}`);
      await new Promise((wait) => setTimeout(wait, 250));
    }
    return { process: child, output: () => output, exited };
  }

  async function stop(current: Stack): Promise<number | null> {
    current.process.kill('SIGINT');
    return current.exited;
  }

  const call = (method: string, path: string, body?: unknown) =>
    fetch(api + path, {
      method,
      headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });

  /** The partner's supervisor once it has loaded the partner (or as `ready` says), which it does within moments. */
  async function loadedWorkflow(id: string, ready: (workflow: any) => boolean = (workflow) => Boolean(workflow?.state?.profile)): Promise<any> {
    let workflow: any;
    for (let tries = 0; tries < 40 && !ready(workflow); tries++) {
      if (tries > 0) await new Promise((wait) => setTimeout(wait, 250));
      workflow = await (await call('GET', `/v1/partners/${id}/workflow`)).json();
    }
    return workflow;
  }

  async function demoPartners(): Promise<{ id: string; name: string; psa: { kind: string; baseUrl: string }; rmm: { kind: string; baseUrl: string } | null }[]> {
    const { items } = (await (await call('GET', '/v1/partners')).json()) as { items: Awaited<ReturnType<typeof demoPartners>> };
    return items.filter((partner) => DEMO_PARTNERS.includes(partner.name)).sort((a, b) => DEMO_PARTNERS.indexOf(a.name) - DEMO_PARTNERS.indexOf(b.name));
  }

  beforeAll(async () => {
    for (const name of Object.keys(ports) as (keyof typeof ports)[]) ports[name] = await freePort();
    api = `http://localhost:${ports.api}`;
    ui = `http://localhost:${ports.ui}`;
    for (const vendor of SIMULATED_VENDORS) sim[vendor] = `http://localhost:${ports[vendor]}`;
    stack = await launch();
  }, 120_000);

  afterAll(async () => {
    if (stack?.process.exitCode === null) await stop(stack);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers /healthz ok and prints where everything is', async () => {
    expect(await (await fetch(`${api}/healthz`)).json()).toEqual({ status: 'ok', checks: { db: 'ok', temporal: 'ok' } });
    expect(stack.output()).toContain(`Admin API        ${api}`);
    expect(stack.output()).toContain(`Temporal Web UI  ${ui}`);
    expect(stack.output()).not.toContain('WARNING');
  });

  it('serves the four simulated vendors, each with its /_sim control surface', async () => {
    for (const vendor of SIMULATED_VENDORS) {
      expect(stack.output()).toMatch(new RegExp(`${vendor} +${sim[vendor]}`));
      expect((await fetch(`${sim[vendor]}/_sim/state`)).status).toBe(200);
    }
  });

  it('registers one demo partner per PSA against the simulators, every capability on, its supervisor running', async () => {
    const demo = await demoPartners();
    expect(demo).toMatchObject([
      { name: DEMO_PARTNERS[0], psa: { kind: 'connectwise-manage', baseUrl: sim['connectwise-manage'] }, rmm: { kind: 'connectwise-automate', baseUrl: sim.automate } },
      { name: DEMO_PARTNERS[1], psa: { kind: 'autotask', baseUrl: sim.autotask }, rmm: { kind: 'connectwise-automate', baseUrl: sim.automate } },
    ]);
    demoPartnerIds = demo.map((partner) => partner.id);
    for (const id of demoPartnerIds) {
      expect(stack.output()).toContain(`${id}  (registered now)`);
      // The settings follow the registration: the supervisor reloads on the change.
      const withSettings = await loadedWorkflow(id, (workflow) => workflow?.state?.profile?.capabilities?.agents === true);
      expect(withSettings).toMatchObject({ status: 'RUNNING', state: { phase: 'running', profile: { capabilities: { provisioning: true, billing: true, tickets: true, agents: true } } } });
      const runs = (await (await call('GET', `/v1/partners/${id}/runs`)).json()) as { items: unknown[] };
      expect(runs.items).toContainEqual(expect.objectContaining({ workflowId: `partner/${id}`, type: 'partnerSupervisor', status: 'RUNNING' }));
    }
  });

  it('seeds the simulators through their APIs: PSA companies and agreements, RMM computers, Acronis agents and a failing backup', async () => {
    const manage = new ConnectWiseManagePsa(connectWiseManageConfig(sim['connectwise-manage']));
    const companies = await collect(manage.listCompanies());
    expect(companies.map((company) => company.name).sort()).toEqual(['Bayside Legal Partners', 'Greenleaf Landscaping', 'Hudson Valley Realty', 'Riverside Dental Group']);
    const realty = companies.find((company) => company.name === 'Hudson Valley Realty')!;
    expect(await manage.listServiceLines(realty.id)).toMatchObject([
      { productName: 'Acronis Cyber Protect – Workstations', quantity: 10, billing: 'prepaid', active: true },
      { productName: 'Acronis Cyber Protect – Servers', active: false },
      { productName: 'Acronis Cloud Storage (GB)', billing: 'payg', active: true },
    ]);
    const autotaskCompanies = await collect(new AutotaskPsa(autotaskCredentials(sim.autotask)).listCompanies());
    expect(autotaskCompanies.map((company) => company.name)).toContain('Thames Valley Accountants');

    const automate = new ConnectWiseAutomateClient({ baseUrl: sim.automate, ...DEFAULT_CREDENTIALS.automate });
    const computers = await collect(automate.computers());
    expect(computers.filter((computer) => computer.Status === 'Offline').map((computer) => computer.ComputerName)).toEqual(['RDG-LAPTOP-07']);

    const { clientId, clientSecret } = DEFAULT_CREDENTIALS.acronis;
    const acronis = new AcronisClient({ baseUrl: sim.acronis, clientId, clientSecret });
    const agents = await collect(acronis.listAgents());
    expect(agents.map((agent) => agent.hostname).sort()).toEqual(['RDG-FRONTDESK-01', 'RDG-FS01', 'RDG-XRAY-02', 'TVA-PC-01', 'TVA-PC-02', 'TVA-SRV01']);
    // The demo moves the simulated clock past the first backup run: one machine of each PSA's customers failed.
    const failures = await collect(acronis.listAlerts({ type: ['BackupFailed'] }));
    expect(failures.map((alert) => alert.details.resourceName).sort()).toEqual(['RDG-FS01', 'TVA-SRV01']);
  });

  it('turns the failing backups into tickets in both demo PSAs within seconds', async () => {
    const expected = [
      { partnerId: demoPartnerIds[0], resourceName: 'RDG-FS01' },
      { partnerId: demoPartnerIds[1], resourceName: 'TVA-SRV01' },
    ];
    for (const { partnerId: demoId, resourceName } of expected) {
      let items: { resourceName: string; state: string; ticketId: string | null }[] = [];
      for (let tries = 0; tries < 120 && !items.some((item) => item.resourceName === resourceName && item.state === 'open'); tries++) {
        if (tries > 0) await new Promise((wait) => setTimeout(wait, 500));
        items = ((await (await call('GET', `/v1/partners/${demoId}/tickets`)).json()) as { items: typeof items }).items;
      }
      expect(items).toEqual([expect.objectContaining({ resourceName, state: 'open', ticketId: expect.any(String), alertType: 'BackupFailed' })]);
    }
  });

  it('shows the engine at work: automatic provisioning makes Acronis customers of the PSA companies with mapped lines', async () => {
    const { clientId, clientSecret } = DEFAULT_CREDENTIALS.acronis;
    const acronis = new AcronisClient({ baseUrl: sim.acronis, clientId, clientSecret });
    // Each demo partner has its own partner tenant under Sim Partner: its customers are in Sim Partner's subtree.
    const expected = ['Bayside Legal Partners', 'Cotswold Veterinary Practice', 'Hudson Valley Realty', 'Pennine Engineering Ltd', 'Riverside Dental Group', 'Thames Valley Accountants'];
    let customers: string[] = [];
    for (let tries = 0; tries < 40 && customers.length < expected.length; tries++) {
      if (tries > 0) await new Promise((wait) => setTimeout(wait, 500));
      customers = (await collect(acronis.listTenants())).filter((tenant) => tenant.kind === 'customer').map((tenant) => tenant.name).sort();
    }
    // The two that were customers already are adopted, not made twice; companies without lines stay out.
    expect(customers).toEqual(expected);
  });

  it("serves the worker's health and metrics on METRICS_PORT: the Temporal SDK's and the engine's", async () => {
    const health = await fetch(`http://localhost:${ports.metrics}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', workers: { main: 'RUNNING', long: 'RUNNING' } });
    // The SDK's worker metrics, then the engine's counters; the demo partners' loops have called the vendors by now.
    const metrics = await (await fetch(`http://localhost:${ports.metrics}/metrics`)).text();
    expect(metrics).toMatch(/^temporal_\w+/m);
    expect(metrics).toMatch(/^engine_vendor_calls_total\{system="(autotask|connectwise-manage)",operation="[^"]+",outcome="ok"\} \d+$/m);
  });

  it('shows the demo machines’ protection, and gives a computer added to the auto-deploy client the agent and the default plan unasked', async () => {
    const [manageDemo] = demoPartnerIds;
    const riverside = (await (await call('GET', `/v1/partners/${manageDemo}/protection`)).json()) as any;
    expect(riverside.computers.filter((computer: any) => computer.name.startsWith('RDG-')).map((computer: any) => [computer.name, computer.reason])).toEqual([
      ['RDG-FS01', null],
      ['RDG-FRONTDESK-01', null],
      ['RDG-XRAY-02', null],
      ['RDG-LAPTOP-07', 'no-agent'],
    ]);
    const { items: policies } = (await (await call('GET', `/v1/partners/${manageDemo}/agents/policies`)).json()) as any;
    expect(policies).toEqual([expect.objectContaining({ clientName: 'Riverside Dental Group', autoDeploy: true, defaultPlanId: expect.any(String) })]);

    const automate = new ConnectWiseAutomateClient({ baseUrl: sim.automate, ...DEFAULT_CREDENTIALS.automate });
    const client = (await collect(automate.clients())).find((candidate) => candidate.Name === 'Riverside Dental Group')!;
    const added = await fetch(`${sim.automate}/_sim/computers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ clientId: client.Id, locationId: client.Locations[0]!.Id, name: 'RDG-NEW-08', os: 'Microsoft Windows 11 Pro x64' }),
    });
    expect(added.status).toBe(201);
    // The scan runs every 6 minutes; "sync now" instead of waiting for it.
    expect((await call('POST', `/v1/partners/${manageDemo}/sync`, { what: ['agents'] })).status).toBe(202);
    let newcomer: any;
    for (let tries = 0; tries < 120 && !newcomer?.plans?.length; tries++) {
      if (tries > 0) await new Promise((wait) => setTimeout(wait, 500));
      const { items } = (await (await call('GET', `/v1/partners/${manageDemo}/computers?clientId=${client.Id}`)).json()) as any;
      newcomer = items.find((computer: any) => computer.name === 'RDG-NEW-08');
    }
    expect(newcomer).toMatchObject({ agent: { state: expect.stringMatching(/current|outdated/) }, plans: [expect.objectContaining({ name: 'Servers and workstations – daily' })] });
  });

  it('reports the demo customers’ PAYG storage to both PSAs within a minute', async () => {
    const expected = [412, 186];
    for (const [index, id] of demoPartnerIds.entries()) {
      let written: { offeringItem: string; newValue: number; status: string }[] = [];
      for (let tries = 0; tries < 120 && !written.some((line) => line.newValue === expected[index]); tries++) {
        if (tries > 0) await new Promise((wait) => setTimeout(wait, 500));
        written = ((await (await call('GET', `/v1/partners/${id}/usage-writes`)).json()) as { items: typeof written }).items;
      }
      expect(written).toContainEqual(expect.objectContaining({ offeringItem: 'pw_base_storage', newValue: expected[index], status: 'written' }));
    }
  });

  it('registers a partner whose workflow partner/<id> the Web UI lists', async () => {
    // Sim Partner itself, above the demo partners' own tenants: another Acronis account.
    const distributor = acronisDistributor(sim.acronis);
    const apiClient = await createAcronisApiClient(sim.acronis, (await distributor.getApiClient()).tenant_id, 'E2E MSP');
    SECRET = apiClient.clientSecret;
    const response = await call('POST', '/v1/partners', {
      name: 'E2E MSP',
      timezone: 'Europe/Vienna',
      acronis: { baseUrl: sim.acronis, ...apiClient },
      psa: { kind: 'autotask', ...autotaskCredentials(sim.autotask) },
    });
    expect(response.status).toBe(201);
    partnerId = ((await response.json()) as { id: string }).id;
    const query = encodeURIComponent(`WorkflowId="partner/${partnerId}"`);
    let listed: { executions?: { execution: { workflowId: string }; status: string }[] } = {};
    for (let tries = 0; tries < 40 && !listed.executions?.length; tries++) {
      listed = (await (await fetch(`${ui}/api/v1/namespaces/default/workflows?query=${query}`)).json()) as typeof listed;
      if (!listed.executions?.length) await new Promise((wait) => setTimeout(wait, 250));
    }
    expect(listed.executions?.[0]).toMatchObject({ execution: { workflowId: `partner/${partnerId}` }, status: 'WORKFLOW_EXECUTION_STATUS_RUNNING' });
    // The worker was ready when npm start said so: the supervisor loads the partner within moments.
    const started = Date.now();
    let workflow: any;
    while (workflow?.state?.phase !== 'running' && Date.now() - started < 3_000) {
      workflow = await (await call('GET', `/v1/partners/${partnerId}/workflow`)).json();
    }
    expect(workflow.state).toMatchObject({ phase: 'running', profile: { psaKind: 'autotask', timezone: 'Europe/Vienna' } });
  });

  it('shows the Web UI only ciphertext, which the codec endpoint decodes for a token holder', async () => {
    const history = (await (await fetch(`${ui}/api/v1/namespaces/default/workflows/${encodeURIComponent(`partner/${partnerId}`)}/history`)).json()) as any;
    const input = history.history.events[0].workflowExecutionStartedEventAttributes.input;
    expect(Buffer.from(input.payloads[0].metadata.encoding, 'base64').toString()).toBe('binary/encrypted');
    expect(JSON.stringify(history)).not.toContain(partnerId.replace(/-/g, '').slice(0, 12));
    expect(Buffer.from(input.payloads[0].data, 'base64').toString('latin1')).not.toContain(partnerId);

    const settings = (await (await fetch(`${ui}/api/v1/settings`)).json()) as { Codec: { Endpoint: string } };
    expect(settings.Codec.Endpoint).toBe(`${api}/codec`);
    const decode = (headers: Record<string, string>) =>
      fetch(`${api}/codec/decode`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Namespace': 'default', ...headers }, body: JSON.stringify(input) });
    expect((await decode({})).status).toBe(401);
    const decoded = (await (await decode({ Authorization: `Bearer ${ADMIN_TOKEN}` })).json()) as any;
    expect(JSON.parse(Buffer.from(decoded.payloads[0].data, 'base64').toString())).toEqual({ v: 1, partnerId });
  });

  it('lets a browser sign in to the codec once and decode with the session cookie', async () => {
    const login = await fetch(`${api}/codec/session`, { method: 'POST', body: new URLSearchParams({ token: ADMIN_TOKEN }) });
    expect(login.status).toBe(200);
    const cookie = login.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    const encoded = await fetch(`${api}/codec/encode`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: ui, Cookie: cookie.split(';')[0]! },
      body: JSON.stringify({ payloads: [{ metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from('"hello"').toString('base64') }] }),
    });
    expect(encoded.status).toBe(200);
    expect(encoded.headers.get('access-control-allow-origin')).toBe(ui);
    expect(encoded.headers.get('access-control-allow-credentials')).toBe('true');
  });

  it('never shows the secret, in answers or in its output', async () => {
    const partner = await (await call('GET', `/v1/partners/${partnerId}`)).text();
    expect(partner).toContain('"secretSet":true');
    expect(partner).not.toContain(SECRET);
    expect(stack.output()).not.toContain(SECRET);
  });

  it('stops everything on Ctrl-C, and keeps the state for the next start', async () => {
    expect(await stop(stack)).toBe(0);
    for (const port of Object.values(ports)) expect(await portAnswers(port)).toBe(false);

    stack = await launch();
    expect((await call('GET', `/v1/partners/${partnerId}`)).status).toBe(200);
    expect(await loadedWorkflow(partnerId)).toMatchObject({ status: 'RUNNING', state: { partnerId, profile: { timezone: 'Europe/Vienna' } } });

    // The fresh simulators are seeded again; the demo partners of the old world make way for new ones, once each.
    expect(stack.output()).toMatch(/ConnectWise Manage +4 companies/);
    expect(stack.output()).not.toContain('WARNING');
    const renewed = await demoPartners();
    expect(renewed).toHaveLength(demoPartnerIds.length);
    for (const id of demoPartnerIds) {
      expect(renewed.map((partner) => partner.id)).not.toContain(id);
      expect(stack.output()).toContain(`(replaces ${id} of the previous start)`);
      expect((await call('GET', `/v1/partners/${id}`)).status).toBe(404);
    }
    expect(await stop(stack)).toBe(0);
  });
});
