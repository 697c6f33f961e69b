import { randomUUID } from 'node:crypto';
import type { AcronisClient } from '../clients/acronis/client.ts';
import type { Alert } from '../clients/acronis/types.ts';
import type { PsaKind } from '../domain/partner.ts';
import { demoAlertTicket } from '../dev/demo-world.ts';
import type { PsaPort } from '../psa/port.ts';
import type { RunningSimulators } from '../simulators/index.ts';
import type { PsaSeeder } from '../simulators/seeding/psa-seeder.ts';
import { acronisOf, CLOSED_STATUS, customerTenant, psaCredentialsOf, psaOf, psaSeederOf } from './alert-world.ts';
import type { ApiHarness } from './api-harness.ts';
import { eventually } from './eventually.ts';
import { newAcronisPartnerAccount } from './partners.ts';

/** Alert → ticket set-up as an admin does it, through the admin API (the vendor side through the vendors' APIs). */

export async function callOk(api: ApiHarness, method: string, path: string, body?: unknown) {
  const response = await api.request(method, path, { body });
  if (response.status >= 300) throw new Error(`${method} ${path} → ${response.status} ${response.text}`);
  return response.json;
}

export interface TicketItem {
  alertId: string | null;
  alertType: string | null;
  psaCompanyId: string;
  resourceName: string | null;
  ticketId: string | null;
  state: 'pending' | 'open' | 'closed' | 'failed';
  kind: 'alert' | 'digest';
  generation: number;
  notes: number;
  lastError: string | null;
  workflowId: string;
}

/** The mapping an MSP picks from GET …/psa/ticket-fields, as the demo partners do. */
export const pickTicketFields = demoAlertTicket;

export interface Customer {
  companyId: string;
  tenantId: string;
}

export interface TicketWorld {
  kind: PsaKind;
  partnerId: string;
  acronis: AcronisClient;
  seeder: PsaSeeder;
  psa: PsaPort;
  mapping: Record<string, number>;
  customer: Customer;
  call(method: string, path: string, body?: unknown): Promise<any>;
  addCustomer(): Promise<Customer>;
  tickets(query?: string): Promise<TicketItem[]>;
  /** The alert's ticket link once `done` holds (by default: open). */
  ticketOf(alert: Alert, done?: (item: TicketItem) => boolean): Promise<TicketItem>;
  /** The partner's own Acronis partner tenant, where its customers live. */
  accountTenantId: string;
}

/** A partner with one mapped customer, a `*` alert mapping picked from the PSA's fields, and ticket sync on (polling every second). */
export async function buildTicketWorld(api: ApiHarness, sims: RunningSimulators, kind: PsaKind, settings: Record<string, unknown> = {}): Promise<TicketWorld> {
  const call = (method: string, path: string, body?: unknown) => callOk(api, method, path, body);
  const acronis = acronisOf(sims);
  const seeder = psaSeederOf(sims, kind);
  // One Acronis account per partner: registration refuses a second partner on one.
  const { tenantId: accountTenantId, clientId, clientSecret } = await newAcronisPartnerAccount(sims.urls.acronis);
  const { id: partnerId } = await call('POST', '/v1/partners', {
    name: `MSP ${randomUUID().slice(0, 8)}`,
    timezone: 'Europe/Berlin',
    acronis: { baseUrl: sims.urls.acronis, clientId, clientSecret },
    psa: psaCredentialsOf(sims, kind),
  });
  const addCustomer = async (): Promise<Customer> => {
    const name = `Customer ${randomUUID().slice(0, 8)}`;
    const companyId = await seeder.createCompany(name);
    const tenantId = await customerTenant(acronis, name, accountTenantId);
    await call('PUT', `/v1/partners/${partnerId}/customers/${companyId}/mapping`, { tenantId });
    return { companyId, tenantId };
  };
  const customer = await addCustomer();
  const mapping = pickTicketFields(await call('GET', `/v1/partners/${partnerId}/psa/ticket-fields`));
  await call('PUT', `/v1/partners/${partnerId}/alert-mappings`, [{ alertType: '*', enabled: true, ticket: mapping }]);
  await call('PUT', `/v1/partners/${partnerId}/settings`, { tickets: { enabled: true, pollSeconds: 1, autoClose: { enabled: true, status: CLOSED_STATUS[kind] }, ...settings } });
  const tickets = async (query = '') => (await call('GET', `/v1/partners/${partnerId}/tickets${query}`)).items as TicketItem[];
  const ticketOf = async (alert: Alert, done: (item: TicketItem) => boolean = (item) => item.state === 'open') => {
    const matching = (items: TicketItem[]) => items.find((item) => item.alertId === alert.id && done(item));
    return matching(await eventually(`the ticket of ${String(alert.details.resourceName)}`, tickets, (items) => matching(items) !== undefined))!;
  };
  return { kind, partnerId, accountTenantId, acronis, seeder, psa: psaOf(sims, kind), mapping, customer, call, addCustomer, tickets, ticketOf };
}
