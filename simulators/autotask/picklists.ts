/**
 * Picklists as one Autotask instance holds them. Apart from the system values every instance
 * shares (ticket status New 1 / Complete 5 / Waiting Customer 7, the contract types with Recurring
 * Service 7, contract status, note publish), the IDs come from a per-instance seed: a client that
 * hard-codes a queue or priority ID works against one instance and fails against the next, as in
 * the field. Clients must read them through `entityInformation/fields`.
 */

export interface PicklistValue {
  value: string;
  label: string;
  isDefaultValue: boolean;
  sortOrder: number;
  parentValue: string;
  isActive: boolean;
  isSystem: boolean;
}

/** Keyed `Entity.field` (for example `Tickets.queueID`), or `Entity.udf.<name>` for a UDF's list. */
export type Picklists = ReadonlyMap<string, readonly PicklistValue[]>;

export const PAYG_UDF_NAME = 'Acronis PAYG';
export const TICKET_STATUS_NEW = 1;
export const TICKET_STATUS_COMPLETE = 5;
export const CONTRACT_TYPE_RECURRING_SERVICE = 7;

interface ValueSpec {
  label: string;
  /** A system value with the same ID in every instance. */
  system?: number;
  default?: boolean;
  /** Label of the parent value (dependent picklists such as sub-issue types). */
  parent?: string;
}

const PERIOD_TYPES: ValueSpec[] = [{ label: 'Monthly', default: true }, { label: 'Quarterly' }, { label: 'Semi-Annual' }, { label: 'Yearly' }];

const LISTS: Record<string, ValueSpec[]> = {
  'Companies.companyType': [{ label: 'Customer', default: true }, { label: 'Lead' }, { label: 'Prospect' }, { label: 'Dead' }, { label: 'Vendor' }, { label: 'Partner' }],
  'Contracts.contractType': [
    { label: 'Time and Materials', system: 1 },
    { label: 'Fixed Price', system: 3 },
    { label: 'Block Hours', system: 4 },
    { label: 'Retainer', system: 6 },
    { label: 'Recurring Service', system: CONTRACT_TYPE_RECURRING_SERVICE, default: true },
    { label: 'Per Ticket', system: 8 },
  ],
  'Contracts.status': [{ label: 'Inactive', system: 0 }, { label: 'Active', system: 1, default: true }],
  'Contracts.contractCategory': [{ label: 'Standard', default: true }, { label: 'Managed Services' }, { label: 'Backup' }],
  'Contracts.contractPeriodType': PERIOD_TYPES,
  'Services.periodType': PERIOD_TYPES,
  'ServiceBundles.periodType': PERIOD_TYPES,
  'Tickets.status': [
    { label: 'New', system: TICKET_STATUS_NEW, default: true },
    { label: 'In Progress' },
    { label: 'Complete', system: TICKET_STATUS_COMPLETE },
    { label: 'Waiting Customer', system: 7 },
    { label: 'Waiting Vendor' },
    { label: 'Escalate' },
  ],
  'Tickets.priority': [{ label: 'Critical' }, { label: 'High' }, { label: 'Medium', default: true }, { label: 'Low' }],
  'Tickets.queueID': [{ label: 'Client Portal' }, { label: 'Post Sale' }, { label: 'Level I Support', default: true }, { label: 'Monitoring Alert' }],
  'Tickets.source': [{ label: 'Phone' }, { label: 'Email' }, { label: 'Monitoring Alert', default: true }, { label: 'Web Portal' }],
  'Tickets.issueType': [{ label: 'Backup' }, { label: 'Hardware' }],
  'Tickets.subIssueType': [
    { label: 'Backup Failed', parent: 'Backup' },
    { label: 'Quota Exceeded', parent: 'Backup' },
    { label: 'Disk Failure', parent: 'Hardware' },
  ],
  'Tickets.ticketType': [{ label: 'Service Request', default: true }, { label: 'Incident' }, { label: 'Problem' }, { label: 'Alert' }],
  'TicketNotes.noteType': [{ label: 'Task Detail', default: true }, { label: 'Task Notes' }, { label: 'Resolution' }],
  'TicketNotes.publish': [{ label: 'All Autotask Users', system: 1, default: true }, { label: 'Internal Only', system: 2 }],
  [`Contracts.udf.${PAYG_UDF_NAME}`]: [{ label: 'Yes' }, { label: 'No', default: true }],
};

/** The instance's picklists; `instanceSeed` spreads the non-system IDs (distinct seeds, distinct IDs). */
export function seedPicklists(instanceSeed: number): Picklists {
  let next = 29_600_000 + instanceSeed * 100;
  const lists = new Map<string, PicklistValue[]>();
  for (const [key, specs] of Object.entries(LISTS)) {
    const values: PicklistValue[] = [];
    for (const [index, spec] of specs.entries()) {
      const parentList = key === 'Tickets.subIssueType' ? lists.get('Tickets.issueType') : undefined;
      values.push({
        value: String(spec.system ?? next++),
        label: spec.label,
        isDefaultValue: spec.default ?? false,
        sortOrder: index + 1,
        parentValue: parentList?.find((parent) => parent.label === spec.parent)?.value ?? '',
        isActive: true,
        isSystem: spec.system !== undefined,
      });
    }
    lists.set(key, values);
  }
  return lists;
}
