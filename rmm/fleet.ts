/**
 * The partner's computers as Automate and Acronis see them together (SPEC F6.1, F6.6): each
 * Automate computer with its customer tenant, its Acronis agent, its machine and the plans on it.
 * Everything is read in bulk — per listing page and per tenant, never per computer — except the
 * software inventory of computers Acronis knows no agent for.
 */
import type { AcronisClient } from '../clients/acronis/client.ts';
import type { Agent, PolicyApplication, ResourceStatus } from '../clients/acronis/types.ts';
import { collect } from '../clients/collect.ts';
import type { ConnectWiseAutomateClient } from '../clients/connectwise-automate/client.ts';
import { where, type Condition } from '../clients/connectwise-automate/condition.ts';
import type { AutomateClient, AutomateComputer } from '../clients/connectwise-automate/models.ts';
import { readTenantNumbers, saveTenantNumber } from '../db/agents.ts';
import type { Db } from '../db/connection.ts';
import { sameHost } from '../domain/agents.ts';
import { mapConcurrently } from '../api/vendor-lookups.ts';
import { clientTenants, type ClientTenant } from './client-tenants.ts';

/** Ids per `in (...)` condition: Automate takes conditions in the query string. */
const IDS_PER_CONDITION = 200;
/** Tenants (and inventories) read at once. */
const CONCURRENCY = 8;
const PAGE_SIZE = 1_000;
const PROTECTION_PLAN_TYPE = 'policy.protection.total';
const MACHINE_TYPE = 'resource.machine';
const AGENT_SOFTWARE = /acronis.*(agent|protect)/i;

export interface FleetSources {
  db: Db;
  partnerId: string;
  automate: ConnectWiseAutomateClient;
  acronis: AcronisClient;
}

export interface ComputerFilter {
  computerIds?: readonly number[];
  clientIds?: readonly number[];
  locationIds?: readonly number[];
}

function chunks<T>(values: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let start = 0; start < values.length; start += size) result.push(values.slice(start, start + size));
  return result;
}

/** One listing per chunk of ids (or one listing of everything without ids). */
async function listIn<T>(field: string, ids: readonly number[] | undefined, list: (condition: Condition | undefined) => AsyncGenerator<T>): Promise<T[]> {
  if (ids === undefined) return collect(list(undefined));
  const pages = await Promise.all(chunks([...new Set(ids)], IDS_PER_CONDITION).map((chunk) => collect(list(where.in(field, chunk)))));
  return pages.flat();
}

/** Automate's computers matching every given filter. */
export async function listComputers(automate: ConnectWiseAutomateClient, filter: ComputerFilter): Promise<AutomateComputer[]> {
  const extra = [
    filter.clientIds && filter.clientIds.length > 0 ? where.in('Client.Id', [...filter.clientIds]) : undefined,
    filter.locationIds && filter.locationIds.length > 0 ? where.in('Location.Id', [...filter.locationIds]) : undefined,
  ].filter((condition): condition is Condition => condition !== undefined);
  if ([filter.computerIds, filter.clientIds, filter.locationIds].some((ids) => ids !== undefined && ids.length === 0)) return [];
  const conditionWith = (condition: Condition | undefined) => {
    const all = [...(condition ? [condition] : []), ...extra];
    return all.length ? where.and(...all) : undefined;
  };
  return listIn('Id', filter.computerIds, (condition) => automate.computers({ condition: conditionWith(condition), pageSize: PAGE_SIZE }));
}

export async function listClients(automate: ConnectWiseAutomateClient, clientIds?: readonly number[]): Promise<AutomateClient[]> {
  return listIn('Id', clientIds, (condition) => automate.clients({ condition, pageSize: PAGE_SIZE }));
}

/** A customer tenant's machines (with their protection) and the agents on them. */
export interface TenantMachines {
  numericId: string | null;
  machines: ResourceStatus[];
  agents: Agent[];
}

export async function readTenantMachines(sources: Omit<FleetSources, 'automate'>, tenantId: string): Promise<TenantMachines> {
  const machines = (await collect(sources.acronis.listResourceStatuses({ tenantId }))).filter((status) => status.context.type === MACHINE_TYPE);
  const numericId = machines[0]?.context.tenant_id ?? (await readTenantNumbers(sources.db, sources.partnerId, [tenantId])).get(tenantId) ?? null;
  if (numericId === null) return { numericId, machines, agents: [] };
  await saveTenantNumber(sources.db, sources.partnerId, tenantId, numericId);
  return { numericId, machines, agents: machines.length ? await collect(sources.acronis.listAgents({ tenantNumericId: numericId })) : [] };
}

/**
 * A tenant's agents, for deployments that only need to see agents come and go: one listing by the
 * tenant's numeric id when it is known, else the tenant's machines are read to learn it (a tenant
 * without machines has no agents).
 */
export async function readTenantAgents(sources: Omit<FleetSources, 'automate'>, tenantId: string): Promise<Agent[]> {
  const numericId = (await readTenantNumbers(sources.db, sources.partnerId, [tenantId])).get(tenantId);
  if (numericId === undefined) return (await readTenantMachines(sources, tenantId)).agents;
  return collect(sources.acronis.listAgents({ tenantNumericId: numericId }));
}

/** The agent Acronis has for the computer in its tenant: the online one, else the latest registered. */
export function agentOfComputer(agents: readonly Agent[], computerName: string): Agent | undefined {
  const candidates = agents.filter((agent) => sameHost(agent.hostname, computerName));
  return candidates.sort((a, b) => Number(b.online) - Number(a.online) || Date.parse(b.registration_date) - Date.parse(a.registration_date))[0];
}

export interface FleetPlan {
  planId: string;
  name: string;
  /** The plan's last result: `ok`, `error`, `warning`, or `running` while it runs. */
  status: string;
  running: boolean;
  lastRunAt: string | null;
  nextRunAt: string | null;
}

export interface FleetAgent {
  id: string;
  version: string;
  /** Agent Manager's `up_to_date`; an answer without it counts as current. */
  upToDate: boolean;
  online: boolean;
}

export interface FleetComputer {
  computerId: number;
  name: string;
  clientId: number;
  clientName: string | null;
  locationId: number;
  locationName: string | null;
  os: string;
  type: string;
  online: boolean;
  lastContactAt: string | null;
  tenant: ClientTenant;
  agent: FleetAgent | null;
  /** From Automate's software inventory, for a computer whose agent Acronis does not know (read only when asked). */
  installedAgentVersion: string | null;
  /** The Acronis machine (resource) of the agent. */
  machineId: string | null;
  plans: FleetPlan[];
  lastBackupAt: string | null;
  lastSuccessfulBackupAt: string | null;
}

export interface FleetClient {
  clientId: number;
  name: string;
  tenant: ClientTenant;
  locations: { locationId: number; name: string | null }[];
}

export interface Fleet {
  clients: FleetClient[];
  computers: FleetComputer[];
  /** Every tenant read, with its agents and machines. */
  tenants: Map<string, TenantMachines>;
}

export interface FleetOptions {
  /**
   * Read the plans applied to the machines (next backup, plan status): `all` in one paged listing
   * of every application, `of-these-machines` one listing per machine (for a computer or two).
   */
  plans: 'all' | 'of-these-machines' | false;
  /** Read Automate's software inventory of computers without a registered agent. */
  inventory: boolean;
}

function agentView(agent: Agent): FleetAgent {
  return { id: agent.id, version: agent.core_version?.current?.build ?? agent.units?.[0]?.version.current.build ?? 'unknown', upToDate: agent.up_to_date ?? true, online: agent.online };
}

function planOf(application: PolicyApplication): FleetPlan {
  const running = application.running?.state === 'running';
  return { planId: application.policy.id, name: application.policy.name, status: application.status, running, lastRunAt: application.last_runtime, nextRunAt: application.next_run_time };
}

function latest(values: readonly (string | null | undefined)[]): string | null {
  const present = values.filter((value): value is string => typeof value === 'string' && value !== '');
  return present.sort((a, b) => Date.parse(b) - Date.parse(a))[0] ?? null;
}

/** The plans applied to these machines (one listing each), or to every machine in one paged listing. */
async function readApplications(acronis: AcronisClient, machineIds: readonly string[] | undefined): Promise<PolicyApplication[]> {
  if (machineIds === undefined) return collect(acronis.listPlanApplications({ policyType: PROTECTION_PLAN_TYPE }));
  const perMachine = await mapConcurrently(machineIds, CONCURRENCY, (resourceId) => collect(acronis.listPlanApplications({ resourceId, policyType: PROTECTION_PLAN_TYPE })));
  return perMachine.flat();
}

/** The computers the filter selects, and the clients they (or the filter) name, joined with Acronis. */
export async function readFleet(sources: FleetSources, filter: ComputerFilter, options: FleetOptions): Promise<Fleet> {
  const computers = await listComputers(sources.automate, filter);
  const clientIds = filter.clientIds ?? (filter.computerIds || filter.locationIds ? [...new Set(computers.map((computer) => computer.Client.Id))] : undefined);
  const clients = await listClients(sources.automate, clientIds);
  const tenantsByClient = await clientTenants(sources.db, sources.partnerId, clients);
  const tenantOf = (clientId: number): ClientTenant => tenantsByClient.get(clientId) ?? { tenantId: null, via: null, reason: 'the client is not in Automate' };

  const tenantIds = [...new Set(computers.map((computer) => tenantOf(computer.Client.Id).tenantId).filter((id): id is string => id !== null))];
  const read = await mapConcurrently(tenantIds, CONCURRENCY, (tenantId) => readTenantMachines(sources, tenantId));
  const tenants = new Map(tenantIds.map((tenantId, index) => [tenantId, read[index]!]));
  const matched = computers.map((computer) => {
    const tenant = tenantOf(computer.Client.Id);
    const machines = tenant.tenantId ? tenants.get(tenant.tenantId) : undefined;
    const agent = machines ? agentOfComputer(machines.agents, computer.ComputerName) : undefined;
    const machine = agent ? machines?.machines.find((status) => status.context.agent_id === agent.id) : undefined;
    return { computer, tenant, agent, machine };
  });
  const machineIds = matched.flatMap(({ machine }) => (machine ? [machine.context.id] : []));
  const applications = options.plans && machineIds.length > 0 ? await readApplications(sources.acronis, options.plans === 'of-these-machines' ? machineIds : undefined) : [];
  const plansByMachine = new Map<string, FleetPlan[]>();
  for (const application of applications) plansByMachine.set(application.context.id, [...(plansByMachine.get(application.context.id) ?? []), planOf(application)]);

  const joined = matched.map(({ computer, tenant, agent, machine }): FleetComputer => ({
    computerId: computer.Id,
    name: computer.ComputerName,
    clientId: computer.Client.Id,
    clientName: computer.Client.Name,
    locationId: computer.Location.Id,
    locationName: computer.Location.Name,
    os: computer.OperatingSystemName,
    type: computer.Type,
    online: computer.Status === 'Online',
    lastContactAt: computer.RemoteAgentLastContact ?? null,
    tenant,
    agent: agent ? agentView(agent) : null,
    installedAgentVersion: null,
    machineId: machine?.context.id ?? null,
    plans: machine ? (plansByMachine.get(machine.context.id) ?? []) : [],
    lastBackupAt: latest(machine?.policies.map((policy) => policy.last_run) ?? []),
    lastSuccessfulBackupAt: latest(machine?.policies.map((policy) => policy.last_success_run) ?? []),
  }));

  if (options.inventory) {
    const unregistered = joined.filter((computer) => computer.agent === null);
    await mapConcurrently(unregistered, CONCURRENCY, async (computer) => {
      const software = await collect(sources.automate.software(computer.computerId));
      computer.installedAgentVersion = software.find((entry) => AGENT_SOFTWARE.test(entry.Name))?.Version ?? null;
    });
  }

  return {
    clients: clients.map((client) => ({
      clientId: client.Id,
      name: client.Name,
      tenant: tenantOf(client.Id),
      locations: (client.Locations ?? []).map((location) => ({ locationId: location.Id, name: location.Name })),
    })),
    computers: joined,
    tenants,
  };
}
