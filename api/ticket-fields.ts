/**
 * Checks of what admins choose for tickets against what the PSA has (F2.4): alert mappings' ids,
 * and the ticket settings that name PSA values (auto-close status, Autotask note type and publish).
 */
import { z } from '@hono/zod-openapi';
import { DEFAULT_ALERT_TYPE, type AlertMapping, type AutotaskTicketFields, type ConnectWiseTicketFields } from '../domain/alert-mappings.ts';
import type { SettingsPatch } from '../domain/settings.ts';
import type { PsaKind, TicketFieldChoice, TicketFieldChoices } from '../psa/port.ts';
import { fieldPath, type FieldError } from './problem.ts';

const psaId = z.int().min(1).max(2_147_483_647);

export const connectWiseTicketSchema = z
  .strictObject({
    boardId: psaId.describe('Service board'),
    statusId: psaId.describe("An open status of the board; new tickets get it"),
    typeId: psaId.optional().describe('A type of the board'),
    subtypeId: psaId.optional().describe('A subtype of the board'),
    priorityId: psaId.optional(),
  })
  .openapi('ConnectWiseAlertTicket');

export const autotaskTicketSchema = z
  .strictObject({
    queueId: psaId,
    status: psaId.describe('A status other than Complete; new tickets get it'),
    priority: psaId,
    issueType: psaId.optional(),
    subIssueType: psaId.optional().describe('A sub-issue type of `issueType`'),
    source: psaId.optional(),
  })
  .openapi('AutotaskAlertTicket');

/** The ticket fields of a mapping on this PSA, with each problem named by its path. */
export function parseTicketFields(kind: PsaKind, value: unknown, path: readonly PropertyKey[]): { fields?: Partial<ConnectWiseTicketFields | AutotaskTicketFields>; errors: FieldError[] } {
  const parsed = (kind === 'connectwise-manage' ? connectWiseTicketSchema : autotaskTicketSchema).safeParse(value);
  if (parsed.success) return { fields: parsed.data, errors: [] };
  return {
    errors: parsed.error.issues.flatMap((issue) =>
      issue.code === 'unrecognized_keys'
        ? issue.keys.map((key) => ({ path: fieldPath([...path, ...issue.path, key]), message: `is not a ${kind === 'connectwise-manage' ? 'ConnectWise Manage' : 'Autotask'} ticket field` }))
        : [{ path: fieldPath([...path, ...issue.path]), message: issue.message }],
    ),
  };
}

const has = (choices: readonly TicketFieldChoice[], id: number | undefined) => id === undefined || choices.some((choice) => choice.id === id);

/** Every id of every mapping against the PSA's choices; `closedStatus` is the auto-close status, which each board must have. */
export function checkAgainstPsa(mappings: readonly AlertMapping[], choices: TicketFieldChoices, closedStatus: string | null): FieldError[] {
  const errors: FieldError[] = [];
  const fail = (index: number, field: string, message: string) => errors.push({ path: fieldPath([index, 'ticket', field]), message });
  mappings.forEach((mapping, index) => {
    if (choices.kind === 'connectwise-manage') {
      const ticket = mapping.ticket as Partial<ConnectWiseTicketFields>;
      if (ticket.boardId === undefined) return;
      const board = choices.boards.find((candidate) => candidate.id === ticket.boardId);
      if (!board) return fail(index, 'boardId', 'is not an active service board in ConnectWise Manage');
      const status = board.statuses.find((candidate) => candidate.id === ticket.statusId);
      if (ticket.statusId !== undefined && !status) fail(index, 'statusId', `is not a status of board "${board.name}"`);
      if (status?.closed) fail(index, 'statusId', `"${status.name}" is a closed status: new tickets need an open one`);
      if (!has(board.types, ticket.typeId)) fail(index, 'typeId', `is not a type of board "${board.name}"`);
      if (!has(board.subtypes, ticket.subtypeId)) fail(index, 'subtypeId', `is not a subtype of board "${board.name}"`);
      if (!has(choices.priorities, ticket.priorityId)) fail(index, 'priorityId', 'is not a priority in ConnectWise Manage');
      if (mapping.enabled && closedStatus && !board.statuses.some((candidate) => candidate.closed && candidate.name.toLowerCase() === closedStatus.toLowerCase())) {
        fail(index, 'boardId', `board "${board.name}" has no closed status "${closedStatus}" (tickets.autoClose.status)`);
      }
      return;
    }
    const ticket = mapping.ticket as Partial<AutotaskTicketFields>;
    if (!has(choices.queues, ticket.queueId)) fail(index, 'queueId', 'is not an active queue in Autotask');
    const status = choices.statuses.find((candidate) => candidate.id === ticket.status);
    if (ticket.status !== undefined && !status) fail(index, 'status', 'is not an active ticket status in Autotask');
    if (status?.closed) fail(index, 'status', `"${status.name}" completes the ticket: new tickets need an open status`);
    if (!has(choices.priorities, ticket.priority)) fail(index, 'priority', 'is not an active ticket priority in Autotask');
    if (!has(choices.issueTypes, ticket.issueType)) fail(index, 'issueType', 'is not an active issue type in Autotask');
    const subIssue = choices.subIssueTypes.find((candidate) => candidate.id === ticket.subIssueType);
    if (ticket.subIssueType !== undefined && !subIssue) fail(index, 'subIssueType', 'is not an active sub-issue type in Autotask');
    else if (subIssue && subIssue.issueType !== ticket.issueType) fail(index, 'subIssueType', `belongs to issue type ${subIssue.issueType}, not to issueType ${ticket.issueType ?? '(none)'}`);
    if (!has(choices.sources, ticket.source)) fail(index, 'source', 'is not an active ticket source in Autotask');
  });
  return errors;
}

/** Whether the alert type is one an alert mapping may name: `*`, an Acronis alert type, or a CyberApp (CTI) type. */
export function isMappableAlertType(alertType: string, known: ReadonlySet<string>): boolean {
  return alertType === DEFAULT_ALERT_TYPE || known.has(alertType) || alertType.startsWith('cti.');
}

/** Ticket settings that name PSA values, against the PSA (only what the patch sets). */
export function checkTicketSettings(patch: SettingsPatch, choices: TicketFieldChoices): FieldError[] {
  const tickets = patch.tickets;
  if (!tickets) return [];
  const errors: FieldError[] = [];
  const status = tickets.autoClose?.status;
  if (choices.kind === 'connectwise-manage') {
    for (const field of ['noteType', 'notePublish'] as const) {
      if (tickets[field] !== undefined && tickets[field] !== null) errors.push({ path: `tickets.${field}`, message: 'applies to Autotask only: ConnectWise Manage notes are internal notes without a type' });
    }
    if (status && !choices.boards.some((board) => board.statuses.some((candidate) => candidate.closed && candidate.name.toLowerCase() === status.toLowerCase()))) {
      errors.push({ path: 'tickets.autoClose.status', message: 'is not a closed status of any service board in ConnectWise Manage' });
    }
    return errors;
  }
  if (tickets.noteType && !has(choices.noteTypes, tickets.noteType)) errors.push({ path: 'tickets.noteType', message: 'is not an active note type in Autotask' });
  if (tickets.notePublish && !has(choices.notePublish, tickets.notePublish)) errors.push({ path: 'tickets.notePublish', message: 'is not an active note publish value in Autotask' });
  if (status && !choices.statuses.some((candidate) => candidate.closed && (candidate.name.toLowerCase() === status.toLowerCase() || String(candidate.id) === status))) {
    errors.push({ path: 'tickets.autoClose.status', message: `is not a status that completes tickets in Autotask (${choices.statuses.filter((candidate) => candidate.closed).map((candidate) => candidate.name).join(', ')})` });
  }
  return errors;
}

/** Whether the patch names PSA values that need checking. */
export function namesTicketFields(patch: SettingsPatch): boolean {
  const tickets = patch.tickets;
  return Boolean(tickets && ((tickets.noteType ?? null) !== null || (tickets.notePublish ?? null) !== null || tickets.autoClose?.status));
}
