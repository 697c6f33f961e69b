import { AcronisClient } from '../clients/acronis/client.ts';
import type { TenantKind } from '../clients/acronis/types.ts';
import type { PsaKind } from '../domain/partner.ts';
import { DEFAULT_CREDENTIALS } from '../simulators/default-credentials.ts';
import type { RunningSimulators } from '../simulators/index.ts';
import { autotaskSeeder } from '../simulators/seeding/autotask.ts';
import { connectWiseManageSeeder } from '../simulators/seeding/connectwise-manage.ts';
import type { PsaSeeder } from '../simulators/seeding/psa-seeder.ts';
import { requestLog } from './simulators.ts';

/** What usage reporting needs of the vendors, made through their APIs as an MSP would. */
export function acronisOf(sims: RunningSimulators): AcronisClient {
  return new AcronisClient({ baseUrl: sims.urls.acronis, ...DEFAULT_CREDENTIALS.acronis });
}

export function psaOf(sims: RunningSimulators, kind: PsaKind): { seeder: PsaSeeder; url: string } {
  const url = kind === 'connectwise-manage' ? sims.urls['connectwise-manage'] : sims.urls.autotask;
  return { seeder: kind === 'connectwise-manage' ? connectWiseManageSeeder(url) : autotaskSeeder(url), url };
}

/** A tenant under the partner (or under `parentId`, a sub-partner or folder). */
export async function createTenant(sims: RunningSimulators, name: string, options: { kind?: Exclude<TenantKind, 'root'>; parentId?: string } = {}): Promise<string> {
  const acronis = acronisOf(sims);
  const parentId = options.parentId ?? (await acronis.getApiClient()).tenant_id;
  return (await acronis.createTenant({ name, kind: options.kind ?? 'customer', parent_id: parentId })).id;
}

/** Acronis has no API to make usage: the simulator's control surface sets it (absolute value = the figure billed). */
export async function setUsage(sims: RunningSimulators, tenantId: string, usageName: string, value: number): Promise<void> {
  const response = await fetch(`${sims.urls.acronis}/_sim/usage`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tenantId, usageName, value, absoluteValue: value }) });
  if (!response.ok) throw new Error(`could not set usage: ${response.status} ${await response.text()}`);
}

/** Requests that change something in the PSA, answered or not (Autotask queries are POSTs to `.../query`: reads). */
export async function psaWrites(url: string, since = 0): Promise<{ method: string; path: string; status: number }[]> {
  return (await requestLog(url)).slice(since).filter((entry) => entry.method !== 'GET' && !/\/query(\/|$)/.test(entry.path) && !/zoneInformation/i.test(entry.path));
}

export async function requestCount(url: string): Promise<number> {
  return (await requestLog(url)).length;
}

export const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString().slice(0, 10);
