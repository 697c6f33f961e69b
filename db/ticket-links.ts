/**
 * ticket_links: which PSA ticket each alert identity (and each storm's digest) has had, its state
 * and times. Written by the alert activities, read by them to decide (note, reopen, open anew)
 * and by the API (`GET /tickets`) and the partner's health (failed tickets with the PSA's reason).
 */
import { sql, type Transaction } from 'kysely';
import type { Db } from './connection.ts';
import type { Database, TicketLinkKind, TicketLinkState } from './schema.ts';

type Queryable = Db | Transaction<Database>;

export interface TicketLinkKey {
  partnerId: string;
  identity: string;
  generation: number;
}

export interface TicketLink extends TicketLinkKey {
  kind: TicketLinkKind;
  psaCompanyId: string;
  alertType: string | null;
  resourceName: string | null;
  alertId: string | null;
  externalRef: string;
  ticketId: string | null;
  ticketNumber: string | null;
  state: TicketLinkState;
  notes: number;
  lastOccurrenceNs: bigint | null;
  lastError: string | null;
  /** A create whose answer never came started then; null once the PSA answered. */
  createStartedAt: Date | null;
  createdAt: Date;
  closedAt: Date | null;
  updatedAt: Date;
}

const columns = [
  'partner_id', 'identity', 'generation', 'kind', 'psa_company_id', 'alert_type', 'resource_name', 'alert_id', 'external_ref', 'ticket_id',
  'ticket_number', 'state', 'notes', 'last_occurrence_ns', 'last_error', 'create_started_at', 'created_at', 'closed_at', 'updated_at',
] as const;

type Row = Pick<Database['ticket_links'], (typeof columns)[number]> & { notes: number; last_occurrence_ns: string | null; updated_at: Date };

function toLink(row: Row): TicketLink {
  return {
    partnerId: row.partner_id,
    identity: row.identity,
    generation: row.generation,
    kind: row.kind,
    psaCompanyId: row.psa_company_id,
    alertType: row.alert_type,
    resourceName: row.resource_name,
    alertId: row.alert_id,
    externalRef: row.external_ref,
    ticketId: row.ticket_id,
    ticketNumber: row.ticket_number,
    state: row.state,
    notes: row.notes,
    lastOccurrenceNs: row.last_occurrence_ns === null ? null : BigInt(row.last_occurrence_ns),
    lastError: row.last_error,
    createStartedAt: row.create_started_at,
    createdAt: row.created_at,
    closedAt: row.closed_at,
    updatedAt: row.updated_at,
  };
}

/** The identity's newest ticket (highest generation), if it ever had one. */
export async function latestTicketLink(db: Queryable, partnerId: string, identity: string): Promise<TicketLink | undefined> {
  const row = await db
    .selectFrom('ticket_links')
    .select(columns)
    .where('partner_id', '=', partnerId)
    .where('identity', '=', identity)
    .orderBy('generation', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row && toLink(row as Row);
}

export async function findTicketLink(db: Queryable, key: TicketLinkKey): Promise<TicketLink | undefined> {
  const row = await db
    .selectFrom('ticket_links')
    .select(columns)
    .where('partner_id', '=', key.partnerId)
    .where('identity', '=', key.identity)
    .where('generation', '=', key.generation)
    .executeTakeFirst();
  return row && toLink(row as Row);
}

/** Which of these identities have had a ticket (or a failed attempt at one). */
export async function identitiesWithTickets(db: Queryable, partnerId: string, identities: readonly string[]): Promise<Set<string>> {
  if (identities.length === 0) return new Set();
  const rows = await db.selectFrom('ticket_links').select('identity').distinct().where('partner_id', '=', partnerId).where('identity', 'in', [...new Set(identities)]).execute();
  return new Set(rows.map((row) => row.identity));
}

/** A link as the alert activities open it: what the alert says, before the PSA has answered. */
export interface NewTicketLink extends Pick<TicketLink, keyof TicketLinkKey | 'kind' | 'psaCompanyId' | 'alertType' | 'resourceName' | 'alertId' | 'externalRef'> {
  createdAtMs: number;
}

export interface StormGuard {
  maxAlerts: number;
  windowMinutes: number;
}

/**
 * Where a new ticket of a customer goes (F5.9). Serialised per customer, so concurrent alerts
 * count each other: within an active storm, or past `maxAlerts` tickets made in the window, the
 * alert goes to the storm's digest (whose row this records when the storm starts); else the
 * identity's own row is recorded `pending`. A second claim of the same ticket changes nothing.
 */
export async function claimTicket(
  db: Db,
  link: NewTicketLink,
  storm: StormGuard | null,
  stormRef: (stormIdentity: string) => string,
): Promise<{ route: 'own' } | { route: 'storm'; identity: string; startedAtMs: number }> {
  // Without a storm guard nothing is counted: one insert, no lock.
  if (!storm) {
    await insertLink(db, link);
    return { route: 'own' };
  }
  return db.transaction().execute(async (tx) => {
    await sql`select pg_advisory_xact_lock(hashtextextended(${`${link.partnerId}/${link.psaCompanyId}`}, 0))`.execute(tx);
    const existing = await tx
      .selectFrom('ticket_links')
      .select('identity')
      .where('partner_id', '=', link.partnerId)
      .where('identity', '=', link.identity)
      .where('generation', '=', link.generation)
      .executeTakeFirst();
    if (existing) return { route: 'own' as const };
    const windowStart = new Date(link.createdAtMs - storm.windowMinutes * 60_000);
    const forCustomer = tx.selectFrom('ticket_links').where('partner_id', '=', link.partnerId).where('psa_company_id', '=', link.psaCompanyId).where('created_at', '>', windowStart);
    const digest = await forCustomer.select(['identity', 'created_at']).where('kind', '=', 'digest').orderBy('created_at', 'desc').limit(1).executeTakeFirst();
    if (digest) return { route: 'storm' as const, identity: digest.identity, startedAtMs: digest.created_at.getTime() };
    const { made } = await forCustomer.select((eb) => eb.fn.countAll<string>().as('made')).where('kind', '=', 'alert').executeTakeFirstOrThrow();
    if (Number(made) >= storm.maxAlerts) {
      const identity = `${link.psaCompanyId}/storm-${link.createdAtMs}`;
      // The digest keeps the first alert's type: its tickets go where that type's mapping says.
      await insertLink(tx, { ...link, identity, generation: 1, kind: 'digest', resourceName: null, alertId: null, externalRef: stormRef(identity) });
      return { route: 'storm' as const, identity, startedAtMs: link.createdAtMs };
    }
    await insertLink(tx, link);
    return { route: 'own' as const };
  });
}

async function insertLink(db: Queryable, link: NewTicketLink): Promise<void> {
  await db
    .insertInto('ticket_links')
    .values({
      partner_id: link.partnerId,
      identity: link.identity,
      generation: link.generation,
      kind: link.kind,
      psa_company_id: link.psaCompanyId,
      alert_type: link.alertType,
      resource_name: link.resourceName,
      alert_id: link.alertId,
      external_ref: link.externalRef,
      ticket_id: null,
      ticket_number: null,
      state: 'pending',
      last_error: null,
      create_started_at: null,
      created_at: new Date(link.createdAtMs),
      closed_at: null,
    })
    .onConflict((conflict) => conflict.columns(['partner_id', 'identity', 'generation']).doNothing())
    .execute();
}

export interface TicketLinkChange {
  ticketId?: string;
  ticketNumber?: string;
  state?: TicketLinkState;
  alertId?: string;
  resourceName?: string | null;
  /** Only ever moves forward. */
  lastOccurrenceNs?: bigint;
  notesAdded?: number;
  /** null clears it. */
  closedAtMs?: number | null;
  /** null clears it. */
  lastError?: string | null;
  /** null clears it. */
  createStartedAt?: Date | null;
}

export async function updateTicketLink(db: Queryable, key: TicketLinkKey, change: TicketLinkChange): Promise<void> {
  await db
    .updateTable('ticket_links')
    .set((eb) => ({
      updated_at: new Date(),
      ...(change.ticketId !== undefined ? { ticket_id: change.ticketId } : {}),
      ...(change.ticketNumber !== undefined ? { ticket_number: change.ticketNumber } : {}),
      ...(change.state !== undefined ? { state: change.state } : {}),
      ...(change.alertId !== undefined ? { alert_id: change.alertId } : {}),
      ...(change.resourceName !== undefined ? { resource_name: change.resourceName } : {}),
      ...(change.lastOccurrenceNs !== undefined
        ? { last_occurrence_ns: sql<string>`greatest(coalesce(${eb.ref('last_occurrence_ns')}, 0), ${change.lastOccurrenceNs.toString()}::bigint)` }
        : {}),
      ...(change.notesAdded ? { notes: eb('notes', '+', change.notesAdded) } : {}),
      ...(change.closedAtMs !== undefined ? { closed_at: change.closedAtMs === null ? null : new Date(change.closedAtMs) } : {}),
      ...(change.lastError !== undefined ? { last_error: change.lastError } : {}),
      ...(change.createStartedAt !== undefined ? { create_started_at: change.createStartedAt } : {}),
    }))
    .where('partner_id', '=', key.partnerId)
    .where('identity', '=', key.identity)
    .where('generation', '=', key.generation)
    .execute();
}

export interface TicketLinkFilter {
  state?: TicketLinkState;
  psaCompanyId?: string;
  limit: number;
}

/** Newest first. */
export async function listTicketLinks(db: Queryable, partnerId: string, filter: TicketLinkFilter): Promise<TicketLink[]> {
  let query = db.selectFrom('ticket_links').select(columns).where('partner_id', '=', partnerId);
  if (filter.state) query = query.where('state', '=', filter.state);
  if (filter.psaCompanyId) query = query.where('psa_company_id', '=', filter.psaCompanyId);
  const rows = await query.orderBy('updated_at', 'desc').orderBy('identity').orderBy('generation', 'desc').limit(filter.limit).execute();
  return rows.map((row) => toLink(row as Row));
}

/** Tickets the PSA refused, with its reason (F5.8): retried when the alert mappings change, and shown in the partner's health. */
export async function failedTicketLinks(db: Queryable, partnerId: string): Promise<TicketLink[]> {
  return listTicketLinks(db, partnerId, { state: 'failed', limit: 10_000 });
}
