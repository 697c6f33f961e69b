/**
 * Mappings that no longer work (SPEC F2.5): they hold the vendors' ids, and what an id pointed at
 * can be deleted or switched off in the vendor's own tool. Found by asking the vendors now, listed
 * in the partner's health and beside the mapping in its own list, and never skipped or wiped.
 */
import { collect } from '../clients/collect.ts';
import type { PartnerClients } from '../clients/partner-clients.ts';
import { VendorApiError } from '../clients/http.ts';
import type { Db } from '../db/connection.ts';
import { listCompanyMappings, listProductMappings, type CompanyMapping, type ProductMapping } from '../db/mappings.ts';
import type { PsaProduct } from '../psa/port.ts';
import { AutotaskPsa } from '../psa/autotask.ts';
import { ConnectWiseManagePsa } from '../psa/connectwise-manage.ts';
import { collectUpTo, mapConcurrently } from './vendor-lookups.ts';

export interface BrokenMapping {
  kind: 'product' | 'company' | 'alert';
  /** The mapping's key: the offering item, the PSA company id, the alert type. */
  key: string;
  reason: string;
}

/** A larger catalog is not read whole: a product missing from the part read is not called deleted. */
const MAX_PRODUCTS = 5_000;
const LOOKUP_CONCURRENCY = 8;

/** Why a product mapping no longer works, or null. `catalogComplete` false: a missing product may just be beyond what was read. */
export function productMappingProblem(mapping: ProductMapping, product: PsaProduct | undefined, catalogComplete: boolean): string | null {
  if (mapping.psaProductId === null) return null;
  if (!product) return catalogComplete ? `PSA product ${mapping.psaProductId} no longer exists; map the item again` : null;
  return product.active ? null : `PSA product "${product.name}" is inactive`;
}

export async function brokenProductMappings(db: Db, partnerId: string, clients: PartnerClients): Promise<BrokenMapping[]> {
  const mappings = (await listProductMappings(db, partnerId)).filter((mapping) => mapping.psaProductId !== null);
  if (mappings.length === 0) return [];
  const catalog = await collectUpTo(clients.psa.listProducts(), MAX_PRODUCTS);
  const products = new Map(catalog.items.map((product) => [product.id, product]));
  return mappings.flatMap((mapping) => {
    const reason = productMappingProblem(mapping, products.get(mapping.psaProductId!), !catalog.truncated);
    return reason ? [{ kind: 'product' as const, key: mapping.offeringItem, reason }] : [];
  });
}

const isGone = (error: unknown) => error instanceof VendorApiError && (error.kind === 'not-found' || error.kind === 'forbidden');

/** A mapped company deleted in the PSA, or mapped to a tenant deleted in Acronis (or moved out of the partner's reach). */
async function companyMappingProblem(clients: PartnerClients, mapping: CompanyMapping): Promise<string | null> {
  const company = await clients.psa.getCompany(mapping.psaCompanyId);
  if (!company) return `PSA company ${mapping.psaCompanyId} no longer exists`;
  if (mapping.tenantId === null) return null;
  try {
    const tenant = await clients.acronis.getTenant(mapping.tenantId);
    return tenant.deleted_at ? `Acronis tenant ${mapping.tenantId} was deleted` : null;
  } catch (error) {
    if (isGone(error)) return `Acronis tenant ${mapping.tenantId} no longer exists (or is out of the partner's reach)`;
    throw error;
  }
}

export async function brokenCompanyMappings(db: Db, partnerId: string, clients: PartnerClients): Promise<BrokenMapping[]> {
  const mappings = await listCompanyMappings(db, partnerId);
  const problems = await mapConcurrently(mappings, LOOKUP_CONCURRENCY, (mapping) => companyMappingProblem(clients, mapping));
  return mappings.flatMap((mapping, index) => (problems[index] ? [{ kind: 'company' as const, key: mapping.psaCompanyId, reason: problems[index] }] : []));
}

/** What an alert mapping's ticket names that the PSA must still have: a board and status (CWM), a queue and status (Autotask). */
async function alertTicketProblems(clients: PartnerClients, tickets: { alertType: string; ticket: Record<string, unknown> }[]): Promise<BrokenMapping[]> {
  const broken: BrokenMapping[] = [];
  const id = (value: unknown) => (value === undefined || value === null ? undefined : String(value));
  if (clients.psa instanceof ConnectWiseManagePsa) {
    const client = clients.psa.client;
    const boards = new Map((await collect(client.boards())).map((board) => [String(board.id), board]));
    const statuses = new Map<string, Set<string>>();
    for (const { alertType, ticket } of tickets) {
      const boardId = id(ticket.boardId);
      const statusId = id(ticket.statusId);
      const board = boardId ? boards.get(boardId) : undefined;
      if (boardId && (!board || board.inactiveFlag)) {
        broken.push({ kind: 'alert', key: alertType, reason: board ? `service board "${board.name}" is inactive` : `service board ${boardId} no longer exists` });
        continue;
      }
      if (!boardId || !statusId) continue;
      if (!statuses.has(boardId)) statuses.set(boardId, new Set((await collect(client.boardStatuses(Number(boardId)))).filter((status) => !status.inactive).map((status) => String(status.id))));
      if (!statuses.get(boardId)!.has(statusId)) broken.push({ kind: 'alert', key: alertType, reason: `status ${statusId} is no longer an active status of board "${board!.name}"` });
    }
  } else if (clients.psa instanceof AutotaskPsa) {
    const fields = await clients.psa.client.fields('Tickets');
    const active = (name: string) => new Set((fields.find((field) => field.name === name)?.picklistValues ?? []).filter((value) => value.isActive).map((value) => value.value));
    const [queues, statuses] = [active('queueID'), active('status')];
    for (const { alertType, ticket } of tickets) {
      const queueId = id(ticket.queueId);
      const status = id(ticket.status);
      if (queueId && !queues.has(queueId)) broken.push({ kind: 'alert', key: alertType, reason: `queue ${queueId} is no longer an active Autotask queue` });
      else if (status && !statuses.has(status)) broken.push({ kind: 'alert', key: alertType, reason: `ticket status ${status} is no longer active in Autotask` });
    }
  }
  return broken;
}

export async function brokenAlertMappings(db: Db, partnerId: string, clients: PartnerClients): Promise<BrokenMapping[]> {
  const rows = await db.selectFrom('alert_mappings').select(['alert_type as alertType', 'ticket', 'enabled']).where('partner_id', '=', partnerId).execute();
  const tickets = rows.filter((row) => row.enabled);
  return tickets.length === 0 ? [] : alertTicketProblems(clients, tickets);
}
