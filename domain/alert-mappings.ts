/**
 * Alert mappings (SPEC F2.4): per Acronis alert type, on or off, and the PSA ticket fields its
 * tickets get, as the PSA's own ids. `*` is the default for types without an entry of their own.
 */
import type { PsaKind, TicketRouting } from '../psa/port.ts';

export const DEFAULT_ALERT_TYPE = '*';

/** ConnectWise Manage: board, status, type, subtype and priority ids (CONTRACT). */
export interface ConnectWiseTicketFields {
  boardId: number;
  statusId: number;
  typeId?: number;
  subtypeId?: number;
  priorityId?: number;
}

/** Autotask: queue and picklist values (CONTRACT). */
export interface AutotaskTicketFields {
  queueId: number;
  status: number;
  priority: number;
  issueType?: number;
  subIssueType?: number;
  source?: number;
}

export type AlertTicketFields = ConnectWiseTicketFields | AutotaskTicketFields;

export interface AlertMapping {
  alertType: string;
  enabled: boolean;
  /** Empty for a disabled entry saved without fields. */
  ticket: Partial<AlertTicketFields>;
}

/** The entry that decides the type's tickets: its own, else the default; undefined when none is on. */
export function mappingFor(mappings: readonly AlertMapping[], alertType: string): AlertMapping | undefined {
  const mapping = mappings.find((candidate) => candidate.alertType === alertType) ?? mappings.find((candidate) => candidate.alertType === DEFAULT_ALERT_TYPE);
  return mapping?.enabled ? mapping : undefined;
}

/** Where the PSA puts the ticket; undefined when the stored fields do not fit the partner's PSA. */
export function routingOf(psaKind: PsaKind, ticket: Partial<AlertTicketFields>): TicketRouting | undefined {
  if (psaKind === 'connectwise-manage') {
    const fields = ticket as Partial<ConnectWiseTicketFields>;
    if (fields.boardId === undefined) return undefined;
    return { kind: psaKind, boardId: fields.boardId, statusId: fields.statusId, typeId: fields.typeId, subTypeId: fields.subtypeId, priorityId: fields.priorityId };
  }
  const fields = ticket as Partial<AutotaskTicketFields>;
  if (fields.queueId === undefined || fields.status === undefined || fields.priority === undefined) return undefined;
  return { kind: psaKind, queueId: fields.queueId, status: fields.status, priority: fields.priority, issueType: fields.issueType, subIssueType: fields.subIssueType, source: fields.source };
}
