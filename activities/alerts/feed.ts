/**
 * The Acronis alert feed (F5.1, F5.7): which alert changes go to which lifecycle. One long-running
 * activity polls `GET /alerts?updated_at=gt(<cursor>)&show_deleted=true&order=asc(updated_at)` every
 * `tickets.pollSeconds`, hands each change of a mapped customer to its identity's lifecycle
 * (signal-with-start) and heartbeats its cursor only once everything before it was handed on.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import type { AcronisClient } from '../../clients/acronis/client.ts';
import { ConcurrencyLimit } from '../../clients/http.ts';
import type { Alert } from '../../clients/acronis/types.ts';
import { listAlertMappings } from '../../db/alert-mappings.ts';
import { databaseNow, listCompanyMappings, tenantMappingsChangedSince } from '../../db/mappings.ts';
import { failedTicketLinks, identitiesWithTickets } from '../../db/ticket-links.ts';
import { mappingFor, type AlertMapping } from '../../domain/alert-mappings.ts';
import { identityKey, identityOf, nanosOf, parseKey, ticketSummary, type AlertIdentity } from '../../domain/alert-tickets.ts';
import type { AlertOwner } from '../../temporal/alert-workflows.ts';
import type { AlertChange } from '../../workflows/contracts/alerts.ts';
import { partnerWithCapability } from '../capability-scope.ts';
import type { FollowAlertsInput, FollowAlertsResult } from './types.ts';
import { ticketPartner, ticketsScope, type AlertDeps } from './shared.ts';

/** A run hands over to the next after this long, so the loop's history records a cursor now and then. */
const RUN_MS = 60 * 60 * 1000;
/**
 * Each poll reads again the changes of the last few seconds before the cursor: one that Acronis
 * stamped before the previous poll but showed only after it is not lost. What was handed on
 * already is skipped (and a lifecycle ignores a change it has seen).
 */
const OVERLAP_NS = 5_000_000_000n;
/** Changes handed on per batch; the cursor moves past a batch once all of it was handed on. */
const BATCH = 100;
/** Signal-with-starts in flight at once. */
const HAND_ON_CONCURRENCY = 16;
/** How far before the last look at the customer mappings a change is still looked for (a mapping's time is its transaction's start). */
const MAPPING_LOOKBACK_MS = 60_000;
/** Tenants per alert query when a new customer's active alerts are read. */
const TENANTS_PER_QUERY = 50;
/** Settings used when no storm guard is set, for the window of a digest tried again. */
const DEFAULT_STORM_WINDOW_MINUTES = 60;

interface FeedProgress {
  cursor: string | null;
  /** PostgreSQL's clock when customer mappings were last looked at (ISO): a customer mapped since has its active alerts read. */
  mappingsSeenAt: string | null;
  polls: number;
  handedOn: number;
  lastPollAt: string | null;
}

interface Route {
  identity: AlertIdentity;
  change: AlertChange;
  summary: string;
}

/** Runs `work` over `items`, at most `concurrency` at a time. */
async function inPool<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  const limit = new ConcurrencyLimit(concurrency);
  await Promise.all(items.map((item) => limit.run(() => work(item))));
}

function changeOf(alert: Alert): AlertChange {
  return { alertId: alert.id, updatedNs: nanosOf(alert.updatedAt).toString(), occurrenceNs: nanosOf(alert.receivedAt).toString(), resolved: alert.deletedAt !== undefined };
}

export function createFeedActivities(deps: AlertDeps) {
  const { db } = deps;
  const inScope = ticketsScope(db);

  return {
    followAlerts: ({ partnerId, cursor, mappingsSeenAt }: FollowAlertsInput): Promise<FollowAlertsResult> =>
      inScope<FollowAlertsResult, FeedProgress>(partnerId, async (context) => {
        const abort = Context.current().cancellationSignal;
        const progress: FeedProgress = context.resumed ?? { cursor, mappingsSeenAt: mappingsSeenAt ?? null, polls: 0, handedOn: 0, lastPollAt: null };
        /** Alert id → the newest change handed on, for the overlap. */
        const recent = new Map<string, bigint>();
        /** Customer mappings whose active alerts this run has read (`<company>/<tenant>/<changed at>`). */
        const readMappings = new Set<string>();

        /** Hands the changes of mapped customers to their lifecycles; resolves also for types unmapped since their ticket was made. */
        const handOn = async (alerts: readonly Alert[], owner: AlertOwner, tenants: ReadonlyMap<string, string>, mappings: readonly AlertMapping[]): Promise<void> => {
          const routes: (Route & { mapped: boolean })[] = [];
          for (const alert of alerts) {
            const psaCompanyId = tenants.get((alert.tenant.uuid ?? '').toLowerCase());
            if (!psaCompanyId) continue;
            routes.push({ identity: identityOf(alert, psaCompanyId), change: changeOf(alert), summary: ticketSummary(alert), mapped: mappingFor(mappings, alert.type) !== undefined });
          }
          const unmappedResolves = routes.filter((route) => !route.mapped && route.change.resolved).map((route) => identityKey(route.identity));
          const ticketed = await identitiesWithTickets(db, partnerId, unmappedResolves);
          const due = routes.filter((route) => route.mapped || (route.change.resolved && ticketed.has(identityKey(route.identity))));
          if (due.length === 0) return;
          await context.assertOn();
          await inPool(due, HAND_ON_CONCURRENCY, (route) => deps.workflows.deliver(owner, route.identity, route.change, route.summary));
          progress.handedOn += due.length;
        };

        /** First run: the alerts active now; the cursor starts at Acronis's last modification, read before them. */
        const firstScan = async (acronis: AcronisClient, hand: (alerts: Alert[]) => Promise<void>): Promise<string> => {
          const { modifiedAt } = await acronis.alertStats();
          let batch: Alert[] = [];
          for await (const alert of acronis.listAlerts({ order: 'asc(updated_at)' })) {
            batch.push(alert);
            if (batch.length === BATCH) {
              await hand(batch);
              batch = [];
            }
          }
          await hand(batch);
          return (modifiedAt ? nanosOf(modifiedAt) : 0n).toString();
        };

        /**
         * A customer mapped after the feed passed its alerts (provisioning adopted the tenant, an admin
         * mapped it): its alerts active now are handed on like a first scan's.
         */
        const newCustomers = async (acronis: AcronisClient, hand: (alerts: Alert[]) => Promise<void>): Promise<void> => {
          const since = progress.mappingsSeenAt ? new Date(Date.parse(progress.mappingsSeenAt) - MAPPING_LOOKBACK_MS) : new Date(0);
          const { mappings, now } = await tenantMappingsChangedSince(db, partnerId, since);
          const fresh = mappings.filter((mapping) => !readMappings.has(`${mapping.psaCompanyId}/${mapping.tenantId}/${mapping.updatedAt.toISOString()}`));
          for (let start = 0; start < fresh.length; start += TENANTS_PER_QUERY) {
            const tenants = fresh.slice(start, start + TENANTS_PER_QUERY).map((mapping) => mapping.tenantId!);
            const alerts: Alert[] = [];
            for await (const alert of acronis.listAlerts({ tenant: tenants, order: 'asc(updated_at)' })) alerts.push(alert);
            for (let offset = 0; offset < alerts.length; offset += BATCH) await hand(alerts.slice(offset, offset + BATCH));
          }
          for (const mapping of fresh) readMappings.add(`${mapping.psaCompanyId}/${mapping.tenantId}/${mapping.updatedAt.toISOString()}`);
          progress.mappingsSeenAt = now.toISOString();
        };

        const poll = async (acronis: AcronisClient, from: bigint, hand: (alerts: Alert[]) => Promise<void>): Promise<void> => {
          let position = from;
          const flush = async (batch: Alert[]) => {
            await hand(batch);
            for (const alert of batch) {
              const updated = nanosOf(alert.updatedAt);
              recent.set(alert.id, updated);
              if (updated > position) position = updated;
            }
            progress.cursor = position.toString();
            for (const [id, updated] of recent) if (updated < position - OVERLAP_NS) recent.delete(id);
            context.report({ ...progress });
          };
          const since = from > OVERLAP_NS ? from - OVERLAP_NS : 0n;
          let batch: Alert[] = [];
          for await (const alert of acronis.listAlerts({ updatedAfterNs: since, showDeleted: true, order: 'asc(updated_at)' })) {
            const seen = recent.get(alert.id);
            if (seen !== undefined && nanosOf(alert.updatedAt) <= seen) continue;
            batch.push(alert);
            if (batch.length === BATCH) {
              await flush(batch);
              batch = [];
            }
          }
          if (batch.length > 0) await flush(batch);
        };

        const run = async (): Promise<FollowAlertsResult['stopped']> => {
          const endAt = Date.now() + RUN_MS;
          for (;;) {
            // Settings and mappings are read at every poll: a change applies within one interval.
            const partner = await partnerWithCapability(deps.db, deps.clients, partnerId, 'tickets');
            if (partner.status === 'off') return 'off';
            const { clients, settings } = partner;
            const owner: AlertOwner = { partnerId, partnerName: clients.partnerName, psaKind: clients.psaKind };
            const tenants = new Map((await listCompanyMappings(db, partnerId)).flatMap((mapping) => (mapping.tenantId ? [[mapping.tenantId.toLowerCase(), mapping.psaCompanyId] as const] : [])));
            const mappings = await listAlertMappings(db, partnerId);
            const hand = (alerts: Alert[]) => handOn(alerts, owner, tenants, mappings);
            if (progress.cursor === null) {
              progress.mappingsSeenAt = (await databaseNow(db)).toISOString();
              progress.cursor = await firstScan(clients.acronis, hand);
            } else {
              await newCustomers(clients.acronis, hand);
              await poll(clients.acronis, BigInt(progress.cursor), hand);
            }
            progress.polls++;
            progress.lastPollAt = new Date().toISOString();
            context.report({ ...progress });
            if (Date.now() >= endAt) return 'run-over';
            await delay(settings.tickets.pollSeconds * 1000, undefined, { signal: abort });
          }
        };

        try {
          return { ...progress, stopped: await run() };
        } catch (error) {
          // Cancelled ("sync now", a rollover): answer where the feed got to.
          if (abort.aborted) return { ...progress, stopped: 'interrupted' };
          throw error;
        }
      }),

    retryFailedTickets: ({ partnerId }: { partnerId: string }): Promise<number> =>
      inScope(partnerId, async (context) => {
        const partner = await ticketPartner(deps, partnerId);
        const failed = await failedTicketLinks(db, partnerId);
        if (failed.length === 0) return 0;
        await context.assertOn();
        const windowMinutes = partner.settings.tickets.storm?.windowMinutes ?? DEFAULT_STORM_WINDOW_MINUTES;
        await inPool(failed, HAND_ON_CONCURRENCY, async (link) => {
          const parsed = parseKey(link.identity);
          if (parsed?.kind === 'alert') await deps.workflows.retry(partner.owner, parsed.identity);
          else if (parsed?.kind === 'digest') await deps.workflows.retryStorm(partner.owner, { psaCompanyId: parsed.psaCompanyId, startedAtMs: parsed.startedAtMs, windowMinutes });
        });
        return failed.length;
      }),
  };
}
