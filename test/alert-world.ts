import { randomUUID } from 'node:crypto';
import { AcronisClient } from '../clients/acronis/client.ts';
import type { Alert } from '../clients/acronis/types.ts';
import type { AlertTicketFields } from '../domain/alert-mappings.ts';
import type { PsaKind } from '../domain/partner.ts';
import { AutotaskPsa } from '../psa/autotask.ts';
import { ConnectWiseManagePsa } from '../psa/connectwise-manage.ts';
import type { PsaPort, TicketRouting } from '../psa/port.ts';
import { DEFAULT_CREDENTIALS } from '../simulators/default-credentials.ts';
import type { RunningSimulators } from '../simulators/index.ts';
import { autotaskCredentials, autotaskSeeder } from '../simulators/seeding/autotask.ts';
import { connectWiseManageConfig, connectWiseManageSeeder } from '../simulators/seeding/connectwise-manage.ts';
import type { PsaSeeder } from '../simulators/seeding/psa-seeder.ts';

/**
 * The vendor side of alert → ticket tests, through the vendors' public APIs: a customer company in
 * the PSA, its customer tenant in Acronis, alerts raised and resolved in Acronis, tickets read back.
 */

export function acronisOf(sims: RunningSimulators): AcronisClient {
  return new AcronisClient({ baseUrl: sims.urls.acronis, ...DEFAULT_CREDENTIALS.acronis });
}

export function psaUrlOf(sims: RunningSimulators, kind: PsaKind): string {
  return kind === 'connectwise-manage' ? sims.urls['connectwise-manage'] : sims.urls.autotask;
}

export function psaSeederOf(sims: RunningSimulators, kind: PsaKind): PsaSeeder {
  return kind === 'connectwise-manage' ? connectWiseManageSeeder(psaUrlOf(sims, kind)) : autotaskSeeder(psaUrlOf(sims, kind));
}

/** How a test reads the PSA: the adapter with the simulator's default credentials. */
export function psaOf(sims: RunningSimulators, kind: PsaKind): PsaPort {
  return kind === 'connectwise-manage' ? new ConnectWiseManagePsa(connectWiseManageConfig(sims.urls['connectwise-manage'])) : new AutotaskPsa(autotaskCredentials(sims.urls.autotask));
}

/** The PSA credentials a partner enters for the simulator. */
export function psaCredentialsOf(sims: RunningSimulators, kind: PsaKind): Record<string, string> {
  const url = psaUrlOf(sims, kind);
  return kind === 'connectwise-manage' ? { kind, baseUrl: url, ...DEFAULT_CREDENTIALS['connectwise-manage'] } : { kind, ...autotaskCredentials(url) };
}

/** An alert mapping's ticket fields from the routing a seeder sets up (the board/queue and classification an MSP picks). */
export function alertTicketOf(routing: TicketRouting): AlertTicketFields {
  if (routing.kind === 'connectwise-manage') {
    return { boardId: routing.boardId, statusId: routing.statusId!, ...(routing.typeId ? { typeId: routing.typeId } : {}), ...(routing.priorityId ? { priorityId: routing.priorityId } : {}) };
  }
  const { queueId, status, priority, issueType, subIssueType, source } = routing;
  return { queueId, status, priority, ...(issueType ? { issueType } : {}), ...(subIssueType ? { subIssueType } : {}), ...(source ? { source } : {}) };
}

/** The status auto-close moves tickets to, as each simulated PSA names it. */
export const CLOSED_STATUS: Record<PsaKind, string> = { 'connectwise-manage': 'Completed', autotask: 'Complete' };

/** A customer tenant under `parentId` (a partner's own Acronis account), or under the client's own tenant. */
export async function customerTenant(acronis: AcronisClient, name: string, parentId?: string): Promise<string> {
  const parent = parentId ?? (await acronis.getApiClient()).tenant_id;
  return (await acronis.createTenant({ name, kind: 'customer', parent_id: parent, language: 'en' })).id;
}

export interface Machine {
  id: string;
  name: string;
}

export function machine(name: string): Machine {
  return { id: randomUUID(), name };
}

/** A `BackupFailed` alert on the machine, as the Alert Manager API raises it; raising it again re-raises the same alert. */
export async function raiseBackupFailure(acronis: AcronisClient, tenantId: string, on: Machine, planId = 'plan-daily'): Promise<Alert> {
  const id = await acronis.raiseAlert({
    type: 'BackupFailed',
    tenantId,
    details: { planId, planName: 'Daily backup', resourceId: on.id, resourceName: on.name, error: { text: 'The backup location is not reachable' } },
  });
  return acronis.getAlert(id);
}

/** Acronis clears the alert, as it does when the problem is gone. */
export async function resolveAlert(sims: RunningSimulators, alertId: string): Promise<void> {
  const response = await fetch(`${sims.urls.acronis}/_sim/alerts/${alertId}/resolve`, { method: 'POST' });
  if (!response.ok) throw new Error(`could not resolve alert ${alertId}: ${response.status}`);
}

/** A board made through the ConnectWise Manage API (and deletable like one). */
export async function createBoard(sims: RunningSimulators, name: string): Promise<number> {
  const psa = new ConnectWiseManagePsa(connectWiseManageConfig(sims.urls['connectwise-manage']));
  const answer = await psa.client.request({ method: 'POST', path: '/service/boards', json: { name } });
  return (answer.body as { id: number }).id;
}

export async function deleteBoard(sims: RunningSimulators, boardId: number): Promise<void> {
  const psa = new ConnectWiseManagePsa(connectWiseManageConfig(sims.urls['connectwise-manage']));
  await psa.client.request({ method: 'DELETE', path: `/service/boards/${boardId}` });
}

/** An Autotask admin takes a queue out of use (Autotask has no API for it). */
export async function setAutotaskQueueActive(sims: RunningSimulators, queueId: number, isActive: boolean): Promise<void> {
  const response = await fetch(`${sims.urls.autotask}/_sim/picklists/Tickets.queueID/${queueId}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ isActive }) });
  if (!response.ok) throw new Error(`could not change queue ${queueId}: ${response.status}`);
}
