/**
 * One identity's ticket, one piece of work at a time (F5.1–F5.4, F5.6, F5.8, F5.9). Every step
 * reads ticket_links and the PSA first and writes only what is missing, so a retry after any
 * failure (a lost answer, a dead worker) repeats nothing: creates look up our reference, notes
 * carry a key, close and reopen check the status.
 */
import type { Alert } from '../../clients/acronis/types.ts';
import { VendorApiError } from '../../clients/http.ts';
import { listProductMappings } from '../../db/mappings.ts';
import { claimTicket, findTicketLink, latestTicketLink, updateTicketLink, type TicketLink, type TicketLinkKey } from '../../db/ticket-links.ts';
import { mappingFor, routingOf } from '../../domain/alert-mappings.ts';
import {
  identityKey,
  identityOf,
  nanosOf,
  occurrenceNote,
  onOccurrence,
  onResolve,
  resolvedNote,
  resourceNameOf,
  stormDescription,
  stormKey,
  stormNote,
  stormSummary,
  ticketDescription,
  ticketReference,
  ticketSummary,
  type AlertIdentity,
} from '../../domain/alert-tickets.ts';
import type { PsaTicket, TicketNote } from '../../psa/port.ts';
import type { AlertChange, TicketOutcome, TicketPhase } from '../../workflows/contracts/alerts.ts';
import type { CapabilityContext } from '../capability-scope.ts';
import type { AlertWorkInput, StormWorkInput } from './types.ts';
import { alertIfExists, createTicketOnce, refusalText, ticketPartner, ticketRef, ticketsScope, type AlertDeps, type TicketPartner } from './shared.ts';

type Phase = Exclude<TicketPhase, 'stopped'>;

function linkPhase(link: TicketLink | undefined): Phase {
  if (!link) return 'waiting';
  if (link.state === 'pending') return 'creating';
  return link.state;
}

function outcome(link: TicketLink | undefined, action: string, reason: string | null, phase: Phase = linkPhase(link)): TicketOutcome {
  return { phase, action, ticket: link?.ticketId ? { generation: link.generation, ticketId: link.ticketId, number: link.ticketNumber ?? link.ticketId } : null, reason };
}

function keyOf(link: TicketLink): TicketLinkKey {
  return { partnerId: link.partnerId, identity: link.identity, generation: link.generation };
}

function changeOf(alert: Alert): AlertChange {
  return { alertId: alert.id, updatedNs: nanosOf(alert.updatedAt).toString(), occurrenceNs: nanosOf(alert.receivedAt).toString(), resolved: alert.deletedAt !== undefined };
}

export function createTicketActivities(deps: AlertDeps) {
  const { db } = deps;
  const inScope = ticketsScope(db);

  /** A note with the partner's note type and publish setting (F5.4); true when it was added now. */
  async function note(partner: TicketPartner, ticketId: string, key: string, text: string): Promise<boolean> {
    const { noteType, notePublish } = partner.settings.tickets;
    const request: TicketNote = { key, text, ...(noteType !== null ? { noteType } : {}), ...(notePublish !== null ? { publish: notePublish } : {}) };
    return (await partner.clients.psa.addTicketNote(ticketId, request)).added;
  }

  /** The ticket's state as the PSA holds it now, by our reference. */
  async function ticketNow(partner: TicketPartner, link: TicketLink): Promise<PsaTicket | undefined> {
    return link.ticketId ? partner.clients.psa.findTicket(link.externalRef) : undefined;
  }

  /** The identity's alerts other than `alert` that Acronis still shows active. */
  async function othersActive(partner: TicketPartner, alert: Alert, identity: AlertIdentity): Promise<boolean> {
    const key = identityKey(identity);
    for await (const other of partner.clients.acronis.listAlerts({ tenant: [alert.tenant.uuid ?? alert.tenant.id], type: [alert.type] })) {
      if (other.id.toUpperCase() !== alert.id.toUpperCase() && identityKey(identityOf(other, identity.psaCompanyId)) === key) return true;
    }
    return false;
  }

  /**
   * Opens the identity's ticket of this generation by the alert's mapping, unless the storm guard
   * sends the alert to the customer's digest. A refusal is recorded as `failed` with the PSA's words.
   */
  async function open(context: CapabilityContext<unknown>, partner: TicketPartner, identity: AlertIdentity, generation: number, alert: Alert, atMs: number, latest: TicketLink | undefined): Promise<TicketOutcome> {
    const key = identityKey(identity);
    const linkKey: TicketLinkKey = { partnerId: partner.owner.partnerId, identity: key, generation };
    const existing = latest?.generation === generation ? latest : undefined;
    const mapping = mappingFor(partner.mappings, alert.type);
    const routing = mapping && routingOf(partner.clients.psaKind, mapping.ticket);
    if (!routing) {
      const reason = `no enabled alert mapping for ${alert.type} (nor a default "*") that fits this PSA`;
      if (existing) await updateTicketLink(db, linkKey, { state: 'failed', lastError: reason });
      return outcome(existing, 'none', reason, existing ? 'failed' : 'waiting');
    }
    await context.assertOn();
    const storm = partner.settings.tickets.storm;
    const claim = await claimTicket(
      db,
      { ...linkKey, kind: 'alert', psaCompanyId: identity.psaCompanyId, alertType: alert.type, resourceName: resourceNameOf(alert) ?? null, alertId: alert.id, externalRef: ticketReference(key, generation), createdAtMs: atMs },
      storm,
      (stormIdentity) => ticketReference(stormIdentity, 1),
    );
    if (claim.route === 'storm' && storm) {
      await deps.workflows.deliverToStorm(partner.owner, { psaCompanyId: identity.psaCompanyId, startedAtMs: claim.startedAtMs, windowMinutes: storm.windowMinutes }, changeOf(alert));
      return { phase: 'in-storm-digest', action: 'sent to the storm digest', ticket: null, reason: `more than ${storm.maxAlerts} tickets of this customer within ${storm.windowMinutes} minutes` };
    }
    // Only a PSA that files tickets under a contract needs the products the partner bills with.
    const billingProductIds =
      routing.kind === 'autotask' ? (await listProductMappings(db, partner.owner.partnerId)).flatMap((entry) => (entry.psaProductId ? [entry.psaProductId] : [])) : undefined;
    const created = await createTicketOnce(
      db,
      partner.clients.psa,
      linkKey,
      { externalRef: ticketReference(key, generation), companyId: identity.psaCompanyId, summary: ticketSummary(alert), description: ticketDescription(alert), routing, billingProductIds },
      existing?.createStartedAt ?? null,
    );
    if ('refused' in created) {
      await updateTicketLink(db, linkKey, { state: 'failed', lastError: created.refused, alertId: alert.id });
      return outcome(await findTicketLink(db, linkKey), 'refused by the PSA', created.refused, 'failed');
    }
    const { ticket } = created;
    await updateTicketLink(db, linkKey, {
      ticketId: ticket.id,
      ticketNumber: ticket.number,
      state: ticket.closed ? 'closed' : 'open',
      alertId: alert.id,
      lastOccurrenceNs: nanosOf(alert.receivedAt),
      closedAtMs: null,
      lastError: null,
      createStartedAt: null,
    });
    return { phase: ticket.closed ? 'closed' : 'open', action: generation > 1 ? 'opened a new ticket' : 'created', ticket: ticketRef(generation, ticket), reason: null };
  }

  /** F5.2: the first occurrence creates; a repeat notes, reopens, or opens anew after N days. */
  async function occurred(context: CapabilityContext<unknown>, partner: TicketPartner, identity: AlertIdentity, link: TicketLink | undefined, alert: Alert, change: AlertChange, atMs: number): Promise<TicketOutcome> {
    const ticket = link ? await ticketNow(partner, link) : undefined;
    const occurrenceNs = BigInt(change.occurrenceNs);
    const decision = onOccurrence({
      link: link && { generation: link.generation, ticketId: link.ticketId, closedAtMs: link.closedAt?.getTime() ?? null, lastOccurrenceNs: link.lastOccurrenceNs },
      ticket: ticket && { closed: ticket.closed, ...(ticket.closedAt ? { closedAtMs: Date.parse(ticket.closedAt) } : {}) },
      occurrenceNs,
      nowMs: atMs,
      newTicketAfterDays: partner.settings.tickets.newTicketAfterDays,
      timeZone: partner.clients.timezone,
    });
    if (decision.action === 'create' || decision.action === 'new-ticket') return open(context, partner, identity, decision.generation, alert, atMs, link);
    if (decision.action === 'none' || !link?.ticketId || !ticket) return outcome(link, 'none', null);
    await context.assertOn();
    const reopen = decision.action === 'reopen';
    if (reopen) await partner.clients.psa.reopenTicket(link.ticketId);
    const added = await note(partner, link.ticketId, `occurrence:${alert.id}:${change.occurrenceNs}`, occurrenceNote(alert, reopen));
    await updateTicketLink(db, keyOf(link), {
      state: 'open',
      alertId: alert.id,
      lastOccurrenceNs: occurrenceNs,
      notesAdded: added ? 1 : 0,
      ...(reopen ? { closedAtMs: null } : {}),
      lastError: null,
    });
    return outcome({ ...link, state: 'open' }, reopen ? 'reopened' : 'noted', null);
  }

  /** F5.3: the identity's last active alert resolved closes the ticket (auto-close on) with a note, or notes it. */
  async function resolved(context: CapabilityContext<unknown>, partner: TicketPartner, identity: AlertIdentity, link: TicketLink | undefined, alert: Alert, change: AlertChange, atMs: number): Promise<TicketOutcome> {
    if (!link?.ticketId) return outcome(link, 'none', null);
    const ticket = await ticketNow(partner, link);
    const { autoClose } = partner.settings.tickets;
    const decision = onResolve({ ticket, othersActive: ticket && !ticket.closed ? await othersActive(partner, alert, identity) : false, autoClose: autoClose.enabled });
    if (decision.action === 'none') {
      // Closed by a person in the PSA: the link follows.
      if (ticket?.closed && link.state !== 'closed') await updateTicketLink(db, keyOf(link), { state: 'closed' });
      return outcome(ticket?.closed ? { ...link, state: 'closed' } : link, 'none', null);
    }
    await context.assertOn();
    const close = decision.action === 'close';
    const added = await note(partner, link.ticketId, `resolved:${alert.id}:${change.updatedNs}`, resolvedNote(alert, close));
    if (close) await partner.clients.psa.closeTicket(link.ticketId, autoClose.status ?? undefined);
    await updateTicketLink(db, keyOf(link), { notesAdded: added ? 1 : 0, ...(close ? { state: 'closed', closedAtMs: atMs } : {}), lastError: null });
    return outcome({ ...link, state: close ? 'closed' : link.state }, close ? 'closed' : 'noted the resolve', null);
  }

  /** The storm's digest ticket, made once; an outcome when it cannot be made (refused, no mapping). */
  async function openDigest(context: CapabilityContext<unknown>, partner: TicketPartner, storm: TicketLink, windowMinutes: number): Promise<TicketLink | TicketOutcome> {
    const mapping = mappingFor(partner.mappings, storm.alertType ?? '*');
    const routing = mapping && routingOf(partner.clients.psaKind, mapping.ticket);
    const key = keyOf(storm);
    if (!routing) {
      const reason = `no enabled alert mapping for ${storm.alertType ?? 'the default "*"'} that fits this PSA`;
      await updateTicketLink(db, key, { state: 'failed', lastError: reason });
      return outcome(storm, 'none', reason, 'failed');
    }
    const maxAlerts = partner.settings.tickets.storm?.maxAlerts ?? 0;
    await context.assertOn();
    const created = await createTicketOnce(
      db,
      partner.clients.psa,
      key,
      {
        externalRef: storm.externalRef,
        companyId: storm.psaCompanyId,
        summary: stormSummary((await partner.clients.psa.getCompany(storm.psaCompanyId))?.name, maxAlerts, windowMinutes),
        description: stormDescription(maxAlerts, windowMinutes, storm.createdAt.toISOString()),
        routing,
      },
      storm.createStartedAt,
    );
    if ('refused' in created) {
      await updateTicketLink(db, key, { state: 'failed', lastError: created.refused });
      return outcome(storm, 'refused by the PSA', created.refused, 'failed');
    }
    await updateTicketLink(db, key, { ticketId: created.ticket.id, ticketNumber: created.ticket.number, state: 'open', lastError: null, createStartedAt: null });
    return { ...storm, ticketId: created.ticket.id, ticketNumber: created.ticket.number, state: 'open' };
  }

  /**
   * A refusal retrying cannot mend after the ticket exists (a closed status the board lacks, a
   * note type the PSA refuses) is recorded on the link and answered, so the lifecycle goes on.
   */
  async function recordingRefusals(link: TicketLink | undefined, work: () => Promise<TicketOutcome>): Promise<TicketOutcome> {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof VendorApiError) || error.retryable || !link) throw error;
      const reason = refusalText(error);
      await updateTicketLink(db, keyOf(link), { lastError: reason, ...(link.ticketId ? {} : { state: 'failed' }) });
      return outcome(link, 'refused by the PSA', reason, link.ticketId ? linkPhase(link) : 'failed');
    }
  }

  return {
    handleAlertWork: ({ partnerId, identity, work, atMs }: AlertWorkInput): Promise<TicketOutcome> =>
      inScope(partnerId, async (context) => {
        const partner = await ticketPartner(deps, partnerId);
        const link = await latestTicketLink(db, partnerId, identityKey(identity));
        if (work.kind === 'retry') {
          if (link?.state !== 'failed' || link.ticketId) return outcome(link, 'none', null);
          const alert = link.alertId ? await alertIfExists(partner.clients.acronis, link.alertId) : undefined;
          if (!alert) return outcome(link, 'none', link.lastError);
          return recordingRefusals(link, () => open(context, partner, identity, link.generation, alert, atMs, link));
        }
        const alert = await alertIfExists(partner.clients.acronis, work.change.alertId);
        if (!alert) return outcome(link, 'none', 'Acronis no longer has the alert');
        const handle = work.change.resolved ? resolved : occurred;
        return recordingRefusals(link, () => handle(context, partner, identity, link, alert, work.change, atMs));
      }),

    noteStormAlert: ({ partnerId, psaCompanyId, startedAtMs, windowMinutes, work }: StormWorkInput): Promise<TicketOutcome> =>
      inScope(partnerId, async (context) => {
        const partner = await ticketPartner(deps, partnerId);
        const storm = await findTicketLink(db, { partnerId, identity: stormKey(psaCompanyId, startedAtMs), generation: 1 });
        if (!storm) return outcome(undefined, 'none', 'the storm digest is not recorded');
        return recordingRefusals(storm, async () => {
          const digest = storm.ticketId ? storm : await openDigest(context, partner, storm, windowMinutes);
          if ('action' in digest) return digest;
          if (work.kind === 'retry' || !digest.ticketId) return outcome(digest, 'none', null);
          const alert = await alertIfExists(partner.clients.acronis, work.change.alertId);
          if (!alert) return outcome(digest, 'none', 'Acronis no longer has the alert');
          await context.assertOn();
          const added = await note(partner, digest.ticketId, `storm:${alert.id}:${work.change.updatedNs}`, stormNote(alert));
          if (added) await updateTicketLink(db, keyOf(digest), { notesAdded: 1, alertId: alert.id });
          return outcome(digest, added ? 'noted' : 'none', null);
        });
      }),
  };
}
