/**
 * Alert → ticket rules (SPEC F5.1–F5.3, F5.9), pure: which identity an Acronis alert belongs to,
 * our reference on its ticket, what the ticket and its notes say, and what an occurrence or a
 * resolve does to the ticket the identity has. Activities run these; the workflows only carry ids.
 */
import { createHash } from 'node:crypto';
import type { Alert } from '../clients/acronis/types.ts';
import { daysLater } from './provisioning-calendar.ts';

/** One ticket per (customer, alert type, resource): the lifecycle's key. */
export interface AlertIdentity {
  psaCompanyId: string;
  alertType: string;
  /** The resource's Acronis id, a digest of its name when it has no id, or `tenant` for alerts about the tenant itself. */
  resourceKey: string;
}

const SAFE_SEGMENT = /^[\w.:@~-]{1,128}$/;

function digest(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/** A path segment as is when it is short and plain, else a digest: ids stay readable, names never appear. */
function segment(value: string): string {
  return SAFE_SEGMENT.test(value) ? value : `h-${digest(value, 16)}`;
}

function detailText(alert: Pick<Alert, 'details'>, key: string): string | undefined {
  const value = alert.details[key];
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

export function identityOf(alert: Pick<Alert, 'type' | 'details'>, psaCompanyId: string): AlertIdentity {
  const resourceId = detailText(alert, 'resourceId');
  const resourceName = detailText(alert, 'resourceName');
  // A machine name may name a person; only its digest goes into ids.
  const resourceKey = resourceId ? segment(resourceId) : resourceName ? `name-${digest(resourceName.toLowerCase(), 16)}` : 'tenant';
  return { psaCompanyId, alertType: segment(alert.type), resourceKey };
}

/** `<company>/<alert type>/<resource>`: the row key in ticket_links and the tail of the workflow id. */
export function identityKey(identity: AlertIdentity): string {
  return `${identity.psaCompanyId}/${identity.alertType}/${identity.resourceKey}`;
}

/** A storm's digest ticket: one per customer and storm window. */
export function stormKey(psaCompanyId: string, startedAtMs: number): string {
  return `${psaCompanyId}/storm-${startedAtMs}`;
}

/** What a ticket_links key names: an alert identity or a storm's digest. */
export function parseKey(key: string): { kind: 'alert'; identity: AlertIdentity } | { kind: 'digest'; psaCompanyId: string; startedAtMs: number } | undefined {
  const parts = key.split('/');
  const storm = parts.length === 2 ? /^storm-(\d+)$/.exec(parts[1]!) : null;
  if (storm) return { kind: 'digest', psaCompanyId: parts[0]!, startedAtMs: Number(storm[1]) };
  if (parts.length !== 3) return undefined;
  return { kind: 'alert', identity: { psaCompanyId: parts[0]!, alertType: parts[1]!, resourceKey: parts[2]! } };
}

/**
 * Our marker on the ticket (CWM `externalXRef`, Autotask `externalID`, at most 50 characters): the
 * same identity and generation always give the same reference, so a lookup finds a ticket whose
 * create answer was lost. Not tied to the partner's id: a partner registered again adopts its open tickets.
 */
export function ticketReference(key: string, generation: number): string {
  return `acronis-alert:${digest(key, 24)}${generation > 1 ? `:${generation}` : ''}`;
}

// --- Acronis time ---------------------------------------------------------------------------------

const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** An Alert Manager timestamp (RFC 3339 with up to nanoseconds) as Unix nanoseconds. */
export function nanosOf(timestamp: string): bigint {
  const match = RFC3339.exec(timestamp);
  const seconds = match ? Date.parse(`${match[1]}${match[3]}`) : Number.NaN;
  if (!match || Number.isNaN(seconds)) throw new RangeError(`not an RFC 3339 timestamp: ${timestamp}`);
  return BigInt(seconds) * 1_000_000n + BigInt((match[2] ?? '').padEnd(9, '0'));
}

export function millisOfNanos(nanos: bigint | string): number {
  return Number(BigInt(nanos) / 1_000_000n);
}

// --- what the ticket says ---------------------------------------------------------------------------

/** Titles as the Acronis console shows them; other types read from their id (`BackupFailed` → "Backup failed"). */
const TITLES: Record<string, string> = {
  BackupFailed: 'Backup failed',
  BackupSucceededWithWarnings: 'Backup succeeded with warnings',
  BackupCanceled: 'Backup canceled',
  BackupDidNotStart: 'Backup did not start',
  BackupNotResponding: 'Backup is not responding',
  BackupStatusUnknown: 'Backup status is unknown',
  NoBackupForXDays: 'No backup for a number of days',
  MachineOffline: 'Machine is offline',
  AgentAutoUpdateFailed: 'Agent auto-update failed',
  PlanDeploymentFailed: 'Protection plan deployment failed',
  DrStorageHardQuotaExceeds: 'Disaster recovery storage hard quota exceeded',
  EDRIncidentDetected: 'EDR incident detected',
};

/** Strips what PostgreSQL and the PSAs refuse (NUL, other control characters but tab and newline). */
export function cleanText(text: string, maxLength: number): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is removed
  const clean = text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '');
  return clean.length > maxLength ? `${clean.slice(0, maxLength - 1)}…` : clean;
}

export function alertTitle(alert: Pick<Alert, 'type' | 'details'>): string {
  const given = detailText(alert, 'title');
  if (given) return cleanText(given, 200);
  const known = TITLES[alert.type];
  if (known) return alert.type === 'NoBackupForXDays' && typeof alert.details.daysPassed === 'number' ? `No backup for ${alert.details.daysPassed} days` : known;
  const words = (alert.type.split('~').at(-1) ?? alert.type).replace(/[._]+/g, ' ').replace(/([a-z\d])([A-Z])/g, '$1 $2').trim().toLowerCase();
  return cleanText(words.charAt(0).toUpperCase() + words.slice(1), 200);
}

export function resourceNameOf(alert: Pick<Alert, 'details'>): string | undefined {
  const name = detailText(alert, 'resourceName');
  return name && cleanText(name, 200);
}

/** F5.1: `[<resource>] <alert title>`; alerts about the tenant itself carry the title alone. */
export function ticketSummary(alert: Pick<Alert, 'type' | 'details'>): string {
  const resource = resourceNameOf(alert);
  return resource ? `[${resource}] ${alertTitle(alert)}` : alertTitle(alert);
}

/** What went wrong, in the alert's own words when it has them. */
export function alertReason(alert: Pick<Alert, 'details'>): string | undefined {
  const { error, errorMessage, description } = alert.details as { error?: { text?: unknown }; errorMessage?: { reason?: unknown }; description?: unknown };
  const reason = [error?.text, errorMessage?.reason, description].find((candidate): candidate is string => typeof candidate === 'string' && candidate.trim() !== '');
  return reason && cleanText(reason, 2000);
}

export function ticketDescription(alert: Alert): string {
  const lines = [
    `Acronis Cyber Protect Cloud raised the alert "${alertTitle(alert)}" (${alert.type}, severity ${alert.severity}, category ${alert.category}).`,
    '',
    resourceNameOf(alert) ? `Resource: ${resourceNameOf(alert)}${detailText(alert, 'resourceId') ? ` (${detailText(alert, 'resourceId')})` : ''}` : '',
    detailText(alert, 'planName') ? `Protection plan: ${cleanText(detailText(alert, 'planName')!, 200)}` : '',
    `Raised: ${alert.createdAt}`,
    alert.receivedAt !== alert.createdAt ? `Last occurrence: ${alert.receivedAt}` : '',
    alertReason(alert) ? `Details: ${alertReason(alert)}` : '',
    `Acronis alert id: ${alert.id}`,
    '',
    'The integration adds a note when the alert occurs again and closes the ticket when Acronis resolves it (if auto-close is on).',
  ];
  return cleanText(lines.filter((line, index) => line !== '' || lines[index - 1] !== '').join('\n').trim(), 7000);
}

export function occurrenceNote(alert: Alert, reopened: boolean): string {
  const reason = alertReason(alert);
  return cleanText(
    [`Acronis: "${ticketSummary(alert)}" occurred again at ${alert.receivedAt}${reopened ? '; the ticket was reopened' : ''}.`, reason ? `Details: ${reason}` : ''].filter(Boolean).join('\n'),
    8000,
  );
}

export function resolvedNote(alert: Alert, closed: boolean): string {
  return `Acronis: "${ticketSummary(alert)}" was resolved at ${alert.deletedAt ?? alert.updatedAt}${closed ? '; the ticket was closed' : ''}.`;
}

export function stormSummary(companyName: string | undefined, maxAlerts: number, windowMinutes: number): string {
  return cleanText(`${companyName ? `[${companyName}] ` : ''}Acronis alert storm: more than ${maxAlerts} alerts within ${windowMinutes} minutes`, 200);
}

export function stormDescription(maxAlerts: number, windowMinutes: number, startedAt: string): string {
  return [
    `More than ${maxAlerts} Acronis alerts of this customer needed a ticket within ${windowMinutes} minutes (from ${startedAt}).`,
    'Instead of one ticket each, every further alert of this window is a note on this ticket.',
  ].join('\n');
}

export function stormNote(alert: Alert): string {
  const reason = alertReason(alert);
  const what = alert.deletedAt ? `resolved at ${alert.deletedAt}` : `${alert.severity} at ${alert.receivedAt}`;
  return cleanText([`${ticketSummary(alert)}: ${what}.`, reason && !alert.deletedAt ? `Details: ${reason}` : '', `Acronis alert id: ${alert.id}`].filter(Boolean).join('\n'), 8000);
}

// --- what an alert does to the identity's ticket ------------------------------------------------------

/** The identity's newest ticket, as PostgreSQL recorded it. */
export interface TicketLinkView {
  generation: number;
  ticketId: string | null;
  /** When the engine closed it (the workflow's clock); null while open or when a person closed it in the PSA. */
  closedAtMs: number | null;
  lastOccurrenceNs: bigint | null;
}

/** The ticket as the PSA holds it now; undefined when the PSA no longer has it. */
export interface TicketStateView {
  closed: boolean;
  closedAtMs?: number;
}

export type OccurrenceAction =
  /** No ticket yet (or the last attempt failed): create it. */
  | { action: 'create'; generation: number }
  | { action: 'note' }
  | { action: 'reopen' }
  /** Closed for `newTicketAfterDays` or more, or gone from the PSA: the next generation. */
  | { action: 'new-ticket'; generation: number }
  /** The ticket already reflects this occurrence. */
  | { action: 'none' };

export interface OccurrenceContext {
  link: TicketLinkView | undefined;
  /** Looked up only when the link has a ticket. */
  ticket: TicketStateView | undefined;
  occurrenceNs: bigint;
  nowMs: number;
  newTicketAfterDays: number | null;
  timeZone: string;
}

/** F5.2: a repeat while open adds a note; while closed, it reopens, or opens anew after N days. */
export function onOccurrence(context: OccurrenceContext): OccurrenceAction {
  const { link, ticket } = context;
  if (!link) return { action: 'create', generation: 1 };
  if (link.ticketId === null) return { action: 'create', generation: link.generation };
  if (link.lastOccurrenceNs !== null && context.occurrenceNs <= link.lastOccurrenceNs) return { action: 'none' };
  if (!ticket) return { action: 'new-ticket', generation: link.generation + 1 };
  if (!ticket.closed) return { action: 'note' };
  const closedAtMs = link.closedAtMs ?? ticket.closedAtMs ?? context.nowMs;
  const days = context.newTicketAfterDays;
  if (days !== null && context.nowMs >= daysLater(closedAtMs, days, context.timeZone)) return { action: 'new-ticket', generation: link.generation + 1 };
  return { action: 'reopen' };
}

export type ResolveAction = { action: 'close' } | { action: 'note' } | { action: 'none' };

/** F5.3: the last active alert of the identity resolved closes its open ticket (auto-close on) or notes it. */
export function onResolve(context: { ticket: TicketStateView | undefined; othersActive: boolean; autoClose: boolean }): ResolveAction {
  if (!context.ticket || context.ticket.closed || context.othersActive) return { action: 'none' };
  return context.autoClose ? { action: 'close' } : { action: 'note' };
}
