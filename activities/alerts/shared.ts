/** What the alert activities share: the partner as they may act for it, and the ticket create that never makes a second ticket. */
import { activityInfo } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Alert } from '../../clients/acronis/types.ts';
import type { AcronisClient } from '../../clients/acronis/client.ts';
import { currentCallScope, runInCallScope } from '../../clients/call-scope.ts';
import { VendorApiError } from '../../clients/http.ts';
import type { PartnerClients, PartnerClientsCache } from '../../clients/partner-clients.ts';
import { listAlertMappings } from '../../db/alert-mappings.ts';
import type { Db } from '../../db/connection.ts';
import { updateTicketLink, type TicketLinkKey } from '../../db/ticket-links.ts';
import type { AlertMapping } from '../../domain/alert-mappings.ts';
import { cleanText } from '../../domain/alert-tickets.ts';
import type { Settings } from '../../domain/settings.ts';
import type { NewTicket, PsaPort, PsaTicket } from '../../psa/port.ts';
import type { AlertOwner, AlertWorkflows } from '../../temporal/alert-workflows.ts';
import type { TicketRef } from '../../workflows/contracts/alerts.ts';
import { capabilityOffFailure, capabilityScope, partnerWithCapability } from '../capability-scope.ts';
import { vendorFailure } from '../vendor-failure.ts';

export interface AlertDeps {
  db: Db;
  clients: PartnerClientsCache;
  workflows: AlertWorkflows;
}

export function ticketsScope(db: Db) {
  return capabilityScope(db, 'tickets');
}

/** The partner as a ticket activity acts for it, read at the moment it acts. */
export interface TicketPartner {
  clients: PartnerClients;
  settings: Settings;
  owner: AlertOwner;
  mappings: AlertMapping[];
}

/** The partner with ticket sync on; else the activity fails as `CapabilityOff`, having written nothing. */
export async function ticketPartner(deps: Pick<AlertDeps, 'db' | 'clients'>, partnerId: string): Promise<TicketPartner> {
  const partner = await partnerWithCapability(deps.db, deps.clients, partnerId, 'tickets');
  if (partner.status === 'off') throw capabilityOffFailure(partner.reason);
  const { clients, settings } = partner;
  return { clients, settings, owner: { partnerId, partnerName: clients.partnerName, psaKind: clients.psaKind }, mappings: await listAlertMappings(deps.db, partnerId) };
}

/** The alert as Acronis holds it now (dismissed ones too), or undefined when Acronis no longer has it. */
export async function alertIfExists(acronis: AcronisClient, alertId: string): Promise<Alert | undefined> {
  try {
    return await acronis.getAlert(alertId, { showDeleted: true });
  } catch (error) {
    if (error instanceof VendorApiError && error.kind === 'not-found') return undefined;
    throw error;
  }
}

/** The vendor's refusal as GET /tickets and the partner's health show it: system, operation, the vendor's words. */
export function refusalText(error: unknown): string {
  const failure = vendorFailure(error);
  return cleanText(failure instanceof Error ? failure.message : String(failure), 2000);
}

export function ticketRef(generation: number, ticket: PsaTicket): TicketRef {
  return { generation, ticketId: ticket.id, number: ticket.number };
}

/**
 * How long a create that never answered (timed out, connection lost) may still land in the PSA:
 * until then a retry only looks for the ticket. ConnectWise Manage creates have been seen to take minutes.
 */
const CREATE_GRACE_MS = 3 * 60 * 1000;
/** How soon a retry looks again while the grace runs. */
const LOOK_AGAIN_MS = 15_000;
/**
 * What a create may take: the adapters give up waiting for its answer after 10 s, then look. A try
 * with less time left sends no create (its cancellation mid-create would leave the grace to wait out).
 */
const CREATE_NEEDS_MS = 15_000;
const DEFERRED = 'TicketCreateDeferred';

export type CreateResult = { ticket: PsaTicket } | { refused: string };

/**
 * F5.6: never a second ticket (`startedAt`: the link's unanswered create, if any). The PSA adapter looks the ticket up by our reference before it
 * creates (and again after a lost answer); on top of that, a create that went out is marked in
 * ticket_links until the PSA answers, and while a create that never answered may still land,
 * every retry only looks for the ticket. A refusal
 * retrying cannot mend (board deleted, field missing) is answered as `refused` with the PSA's words;
 * an outage is thrown, to be retried, and its error recorded meanwhile.
 */
export async function createTicketOnce(db: Db, psa: PsaPort, key: TicketLinkKey, ticket: NewTicket, startedAt: Date | null): Promise<CreateResult> {
  if (startedAt && Date.now() - startedAt.getTime() < CREATE_GRACE_MS) {
    const found = await psa.findTicket(ticket.externalRef);
    if (found) return { ticket: found };
    throw ApplicationFailure.create({
      type: 'TicketCreateUnanswered',
      message: `an earlier create of this ticket (${startedAt.toISOString()}) got no answer and may still land in the PSA; looking for it again before creating`,
      nextRetryDelay: LOOK_AGAIN_MS,
    });
  }
  // Marked at the moment the create goes out (its concurrency slot taken), after the scope's own checks:
  // a create that waited for a slot and was given up never went out, and needs no grace.
  const outer = currentCallScope();
  const info = activityInfo();
  const deadline = info.currentAttemptScheduledTimestampMs + info.startToCloseTimeoutMs;
  const markSent = async (operation: string) => {
    await outer?.beforeWrite?.(operation);
    if (deadline - Date.now() < CREATE_NEEDS_MS) {
      throw ApplicationFailure.create({ type: DEFERRED, message: 'too little of this attempt is left to wait for a create; the next attempt makes it', nextRetryDelay: '1 second' });
    }
    await updateTicketLink(db, key, { createStartedAt: new Date() });
  };
  try {
    const { ticket: made } = await runInCallScope({ signal: outer?.signal, beforeWrite: markSent }, () => psa.createTicket(ticket));
    return { ticket: made };
  } catch (error) {
    if (error instanceof ApplicationFailure && error.type === DEFERRED) throw error;
    // With an answer the PSA did not make the ticket; without one (timeout, lost connection, cancelled) it still may.
    const answered = error instanceof VendorApiError && error.status !== undefined;
    await updateTicketLink(db, key, { lastError: refusalText(error), ...(answered ? { createStartedAt: null } : {}) });
    if (error instanceof VendorApiError && !error.retryable) return { refused: refusalText(error) };
    throw error;
  }
}
