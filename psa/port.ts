/**
 * The PSA port: what the engine needs from a PSA, in the engine's words. Workflows and activities
 * speak only this; one adapter per PSA (ConnectWise Manage, Autotask) translates. Adapters throw
 * `VendorApiError` (clients/http.ts) so callers can tell a retry from a dead end.
 */

export type PsaKind = 'connectwise-manage' | 'autotask';

export interface PsaCompany {
  /** The PSA's id, as a string (both PSAs use integers). */
  id: string;
  name: string;
  /** Type and status as the PSA names them (CWM company types/status, Autotask companyType / isActive). */
  types: string[];
  status: string;
  active: boolean;
}

/** A person at a customer company. */
export interface PsaContact {
  id: string;
  firstName: string;
  lastName: string;
  /** Absent when the PSA holds no e-mail address for the contact. */
  email: string | undefined;
}

export interface CompanyFilter {
  /** Case-insensitive substring of the name. */
  nameContains?: string;
  /** Only companies with this type name. */
  type?: string;
  /** Only companies with this status name. */
  status?: string;
  /**
   * Only companies the PSA changed after this instant (its own change stamp: CWM `lastUpdated`,
   * Autotask `lastTrackedModifiedDateTime`), those deleted or deactivated since included and shown
   * inactive, so that an incremental reader hears of them.
   */
  changedSince?: Date;
}

/** How a line is billed: prepaid quantities flow PSA → Acronis quotas; PAYG usage flows Acronis → PSA. */
export type BillingModel = 'prepaid' | 'payg';

/**
 * One line of what a customer buys, normalised: a CWM agreement addition or an Autotask contract
 * service, with the agreement/contract it belongs to.
 */
export interface ServiceLine {
  /** Addition id (CWM) or contract service id (Autotask). */
  lineId: string;
  /** Agreement id (CWM) or contract id (Autotask). */
  agreementId: string;
  productId: string;
  productName: string;
  /** Current quantity: CWM addition quantity less the included units; Autotask units of the current period. */
  quantity: number;
  billing: BillingModel;
  /** False once cancelled (CWM cancelled date reached, agreement cancelled/expired; Autotask contract inactive or ended). */
  active: boolean;
  /**
   * ISO instant at which the calendar alone will change this line, with no edit the PSA would stamp:
   * a cancellation or end date reached, an agreement starting, a new period's units. Null when none
   * is ahead.
   */
  changesAt: string | null;
}

export interface PsaProduct {
  id: string;
  name: string;
  active: boolean;
}

/** A billing period, both days inclusive, as calendar dates (YYYY-MM-DD) in the partner's time zone. */
export interface UsagePeriod {
  start: string;
  end: string;
}

/** A line's usage in one period: a CWM addition's quantity, an Autotask contract service's units in the period. */
export interface UsageTarget {
  agreementId: string;
  lineId: string;
  period: UsagePeriod;
}

export interface UsageWrite extends UsageTarget {
  /** Usage to bill for the line and period. Autotask takes whole units, so adapters round up. */
  quantity: number;
  /**
   * Write only while the PSA holds one of these values: anything else was changed by someone else
   * since, and the write is left undone (`drifted`). Absent: write whatever the PSA holds.
   */
  expect?: readonly number[];
}

export interface UsageWriteResult {
  /** What the PSA held for the line and period before this write. */
  previous: number;
  /** What it holds now. */
  current: number;
  /** False when the PSA already held `current`, or held none of `expect`: nothing was written. */
  changed: boolean;
  /** Set when the PSA held none of `expect`: nothing was written. */
  drifted?: true;
}

/** Where a new ticket goes and how it is classified, in the PSA's own ids (from the alert mapping). */
export type TicketRouting =
  | { kind: 'connectwise-manage'; boardId: number; statusId?: number; typeId?: number; subTypeId?: number; itemId?: number; priorityId?: number }
  | { kind: 'autotask'; queueId: number; status: number; priority: number; issueType?: number; subIssueType?: number; source?: number };

export interface NewTicket {
  /** Our idempotency key, at most 50 characters (CWM `externalXRef`, Autotask `externalID`). */
  externalRef: string;
  companyId: string;
  summary: string;
  description: string;
  routing: TicketRouting;
  /**
   * The PSA products the partner bills Acronis services with. Where the PSA files tickets under a
   * contract (Autotask), the ticket gets the company's active contract that holds one of them.
   */
  billingProductIds?: readonly string[];
}

export interface PsaTicket {
  id: string;
  /** Ticket number as users see it (CWM: the id; Autotask: `T20240101.0001`). */
  number: string;
  externalRef: string | undefined;
  closed: boolean;
  /** When the PSA recorded it closed (ISO instant), if it is closed and says so. */
  closedAt?: string;
  /** The status as the PSA names it. */
  status: string;
}

export interface TicketNote {
  /** Our idempotency key: a note with the same key is added once. */
  key: string;
  text: string;
  /** Autotask note type and publish picklist values; the PSA's defaults when absent. ConnectWise Manage adds internal notes. */
  noteType?: number;
  publish?: number;
}

export interface TicketFieldChoice {
  id: number;
  name: string;
}

export interface TicketStatusChoice extends TicketFieldChoice {
  closed: boolean;
}

/** What an alert mapping may choose, with the PSA's ids and names (F2.4). */
export type TicketFieldChoices =
  | {
      kind: 'connectwise-manage';
      /** Active service boards, each with its own statuses, types and subtypes (they are per board in CWM). */
      boards: (TicketFieldChoice & { statuses: TicketStatusChoice[]; types: TicketFieldChoice[]; subtypes: TicketFieldChoice[] })[];
      priorities: TicketFieldChoice[];
    }
  | {
      kind: 'autotask';
      queues: TicketFieldChoice[];
      statuses: TicketStatusChoice[];
      priorities: TicketFieldChoice[];
      issueTypes: TicketFieldChoice[];
      /** Each belongs to one issue type. */
      subIssueTypes: (TicketFieldChoice & { issueType: number })[];
      sources: TicketFieldChoice[];
      noteTypes: TicketFieldChoice[];
      notePublish: TicketFieldChoice[];
    };

export interface PsaPort {
  readonly kind: PsaKind;

  /** One cheap authenticated call: throws `VendorApiError` of kind `auth` when the credentials are wrong. */
  checkAccess(): Promise<void>;

  listCompanies(filter?: CompanyFilter): AsyncIterable<PsaCompany>;
  getCompany(companyId: string): Promise<PsaCompany | undefined>;

  /**
   * The company's primary contact, if it has one (CWM: the company's default contact; Autotask: its
   * active contact marked `primaryContact`). Provisioning makes the customer's admin from it.
   */
  primaryContact(companyId: string): Promise<PsaContact | undefined>;

  /** Every line of the company's agreements/contracts, active or not. */
  listServiceLines(companyId: string): Promise<ServiceLine[]>;
  /** The same for many companies at once, read in bulk where the PSA allows it: an entry for every id asked for. */
  listServiceLinesOf(companyIds: readonly string[]): Promise<Map<string, ServiceLine[]>>;
  /**
   * Which of `companyIds` may hold lines changed after `since`, by the PSA's change stamps (CWM: the
   * agreements' `lastUpdated`). A PSA whose lines carry no stamp answers them all (Autotask: contract
   * services and their units have none), and the caller reads their lines in bulk.
   */
  companiesWithLineChangesSince(companyIds: readonly string[], since: Date): Promise<Set<string>>;

  listProducts(): AsyncIterable<PsaProduct>;
  /** Finds the product/service by exact name (case-insensitive) or creates it; never makes a second one. */
  ensureProduct(name: string): Promise<{ product: PsaProduct; created: boolean }>;

  /** What the PSA holds for the line and period now; writes nothing. */
  readUsage(target: UsageTarget): Promise<number>;
  /**
   * Makes the PSA hold `quantity` for the line and period. A repeat with the same quantity writes
   * nothing; a retry after a lost answer does not count twice.
   */
  writeUsage(write: UsageWrite): Promise<UsageWriteResult>;

  /** The ticket fields alert mappings choose from, read afresh from the PSA (nothing cached). */
  ticketFields(): Promise<TicketFieldChoices>;

  findTicket(externalRef: string): Promise<PsaTicket | undefined>;
  /**
   * Creates the ticket unless one with `externalRef` exists, which is then returned with `created: false`.
   * A create whose answer does not come is given up after a short while and looked up again; a
   * `timeout` or `network` failure means it may still land.
   */
  createTicket(ticket: NewTicket): Promise<{ ticket: PsaTicket; created: boolean }>;
  /** Adds a note unless a note with the same `key` is already on the ticket. */
  addTicketNote(ticketId: string, note: TicketNote): Promise<{ added: boolean }>;
  /** Moves the ticket to a closed status (the PSA's default closed status when none is given). */
  closeTicket(ticketId: string, status?: string | number): Promise<PsaTicket>;
  /** Moves a closed ticket back to an open status (the PSA's default open status when none is given). */
  reopenTicket(ticketId: string, status?: string | number): Promise<PsaTicket>;
}
