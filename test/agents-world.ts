/**
 * The simulated world of agent management, built as an MSP builds it: Acronis customer tenants and
 * plans through Acronis's API, Automate clients and locations through Automate's API, computers
 * through `/_sim` (Automate has no API that makes agents), and what a user checks afterwards.
 */
import { AcronisClient } from '../clients/acronis/client.ts';
import type { Agent } from '../clients/acronis/types.ts';
import { collect } from '../clients/collect.ts';
import { ConnectWiseAutomateClient } from '../clients/connectwise-automate/client.ts';
import { DEFAULT_CREDENTIALS } from '../simulators/default-credentials.ts';
import type { RunningSimulators } from '../simulators/index.ts';
import { eventually } from './eventually.ts';

export const INSTALL_SCRIPT_IDS = [6101, 6102];

export class AgentsWorld {
  readonly sims: RunningSimulators;
  readonly acronis: AcronisClient;
  readonly automate: ConnectWiseAutomateClient;

  constructor(sims: RunningSimulators) {
    this.sims = sims;
    this.acronis = new AcronisClient({ baseUrl: sims.urls.acronis, clientId: DEFAULT_CREDENTIALS.acronis.clientId, clientSecret: DEFAULT_CREDENTIALS.acronis.clientSecret });
    this.automate = new ConnectWiseAutomateClient({ baseUrl: sims.urls.automate, ...DEFAULT_CREDENTIALS.automate });
  }

  async #control(vendor: 'acronis' | 'automate', method: string, path: string, body?: unknown): Promise<any> {
    const response = await fetch(`${this.sims.urls[vendor]}/_sim${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    if (!response.ok) throw new Error(`${method} /_sim${path}: ${response.status} ${await response.text()}`);
    return response.status === 204 ? undefined : response.json();
  }

  /** Scripts finish quickly, so tests wait seconds, not minutes. */
  async fastScripts(ms = 300): Promise<void> {
    await this.#control('automate', 'PATCH', '/settings', { scriptDurationMs: ms });
  }

  /** A customer tenant under `parentId` (the partner's own Acronis account), or under Sim Partner. */
  async customerTenant(name: string, parentId?: string): Promise<string> {
    const parent = parentId ?? (await this.acronis.getApiClient()).tenant_id;
    return (await this.acronis.createTenant({ name, kind: 'customer', parent_id: parent })).id;
  }

  async disableTenant(tenantId: string): Promise<void> {
    const tenant = await this.acronis.getTenant(tenantId);
    await this.acronis.setTenantEnabled(tenantId, tenant.version, false);
  }

  /** A client with one location; `externalId` links it to a PSA company, as Automate's PSA integration does. */
  async client(name: string, externalId: number | null = null): Promise<{ clientId: number; locationId: number }> {
    const client = await this.automate.createClient({ Name: name, ExternalId: externalId });
    const location = await this.automate.createLocation({ Name: 'Main Office', ClientId: client.Id });
    return { clientId: client.Id, locationId: location.Id };
  }

  async location(clientId: number, name: string): Promise<number> {
    return (await this.automate.createLocation({ Name: name, ClientId: clientId })).Id;
  }

  async computer(place: { clientId: number; locationId: number }, name: string, options: { online?: boolean; os?: string } = {}): Promise<number> {
    const body = { clientId: place.clientId, locationId: place.locationId, name, os: options.os ?? 'Microsoft Windows 11 Pro x64', online: options.online ?? true };
    return ((await this.#control('automate', 'POST', '/computers', body)) as { Id: number }).Id;
  }

  async setOnline(computerId: number, online: boolean): Promise<void> {
    await this.#control('automate', 'PUT', `/computers/${computerId}/status`, { online });
  }

  /** Installs the agent the way an MSP did before the engine: the plugin's script with a token of the tenant. */
  async installByHand(tenantId: string, computerIds: number[]): Promise<void> {
    const { token } = await this.acronis.createRegistrationToken(tenantId, { expiresInSeconds: 3600 });
    const result = await this.automate.executeScript(6101, computerIds, { RegistrationToken: token });
    if (result.ContainsUnsuccessfulResults) throw new Error('the install script was refused');
  }

  async agents(): Promise<Agent[]> {
    return collect(this.acronis.listAgents());
  }

  async agentOf(hostname: string): Promise<Agent | undefined> {
    return (await this.agents()).find((agent) => agent.hostname === hostname);
  }

  async waitForAgents(hostnames: string[], timeoutMs = 30_000): Promise<Agent[]> {
    return eventually(`agents of ${hostnames.join(', ')}`, () => this.agents(), (agents) => hostnames.every((hostname) => agents.some((agent) => agent.hostname === hostname)), timeoutMs);
  }

  /** Runs of the plugin's install scripts on the computer, as Automate's script history shows them (skipped ones never ran). */
  async installRuns(computerId: number): Promise<number> {
    const history = await collect(this.automate.scriptHistory(computerId));
    const running = await collect(this.automate.runningScripts(computerId));
    const finished = new Set(history.map((entry) => entry.Id));
    return [...history.filter((entry) => entry.Status !== 'Skipped'), ...running.filter((run) => !finished.has(run.Id))].filter((run) => INSTALL_SCRIPT_IDS.includes(run.ScriptId)).length;
  }

  async plan(tenantId: string, name: string): Promise<string> {
    return this.acronis.createProtectionPlan({ name, tenantId, schedule: { type: 'daily', time: '23:00' } });
  }

  /** The plans applied to the computer's machine, by name. */
  async plansOn(hostname: string): Promise<string[]> {
    const agent = await this.agentOf(hostname);
    if (!agent) return [];
    const [machine] = await collect(this.acronis.listResources({ agentId: agent.id }));
    if (!machine) return [];
    return (await collect(this.acronis.listPlanApplications({ resourceId: machine.id, policyType: 'policy.protection.total' }))).map((application) => application.policy.name);
  }
}
