import type { JsonObject } from './conditions.ts';

/** Audit data CWM keeps on every record (`_info`). */
export interface Audit {
  dateEntered: string;
  enteredBy: string;
  lastUpdated: string;
  updatedBy: string;
}

export type CustomField = JsonObject & { id: number };

export interface Named {
  id: number;
  name: string;
}

export interface CompanyType extends Named {
  defaultFlag: boolean;
  vendorFlag: boolean;
}

export interface CompanyStatus extends Named {
  defaultFlag: boolean;
  inactiveFlag: boolean;
}

export interface Company {
  id: number;
  identifier: string;
  name: string;
  statusId: number;
  typeIds: number[];
  addressLine1: string | null;
  addressLine2: string | null;
  city: string | null;
  state: string | null;
  zip: string | null;
  phoneNumber: string | null;
  website: string | null;
  defaultContactId: number | null;
  deletedFlag: boolean;
  leadFlag: boolean;
  customFields: CustomField[];
  audit: Audit;
}

export interface CommunicationItem {
  type: string;
  value: string;
  defaultFlag: boolean;
}

export interface Contact {
  id: number;
  firstName: string;
  lastName: string | null;
  companyId: number | null;
  title: string | null;
  inactiveFlag: boolean;
  communicationItems: CommunicationItem[];
  customFields: CustomField[];
  audit: Audit;
}

export interface CatalogItem {
  id: number;
  identifier: string;
  description: string;
  customerDescription: string;
  productClass: string;
  price: number;
  cost: number;
  taxableFlag: boolean;
  inactiveFlag: boolean;
  unitOfMeasure: string | null;
  integrationXRef: string | null;
  customFields: CustomField[];
  audit: Audit;
}

export interface Agreement {
  id: number;
  name: string;
  typeId: number;
  companyId: number;
  contactId: number | null;
  startDate: string;
  endDate: string | null;
  noEndingDateFlag: boolean;
  cancelledFlag: boolean;
  dateCancelled: string | null;
  reasonCancelled: string | null;
  billAmount: number;
  customFields: CustomField[];
  audit: Audit;
}

export type BillCustomer = 'Billable' | 'DoNotBill' | 'NoCharge';

export interface Addition {
  id: number;
  agreementId: number;
  productId: number;
  quantity: number;
  lessIncluded: number;
  unitPrice: number;
  unitCost: number;
  billCustomer: BillCustomer;
  taxableFlag: boolean;
  effectiveDate: string | null;
  cancelledDate: string | null;
  description: string;
  invoiceDescription: string | null;
  uom: string | null;
  sequenceNumber: number;
  customFields: CustomField[];
  audit: Audit;
}

export interface Board extends Named {
  inactiveFlag: boolean;
  projectFlag: boolean;
}

export interface BoardStatus extends Named {
  boardId: number;
  sortOrder: number;
  defaultFlag: boolean;
  closedStatus: boolean;
  inactive: boolean;
  escalationStatus: string;
}

export interface BoardType extends Named {
  boardId: number;
  category: 'Reactive' | 'Proactive';
  defaultFlag: boolean;
  inactiveFlag: boolean;
}

export interface BoardChild extends Named {
  boardId: number;
  inactiveFlag: boolean;
}

export interface Priority extends Named {
  color: string;
  sortOrder: number;
  defaultFlag: boolean;
}

export interface Ticket {
  id: number;
  summary: string;
  recordType: string;
  boardId: number;
  statusId: number;
  companyId: number;
  contactId: number | null;
  priorityId: number;
  typeId: number | null;
  subTypeId: number | null;
  itemId: number | null;
  sourceId: number | null;
  agreementId: number | null;
  severity: string;
  impact: string;
  closedDate: string | null;
  closedBy: string | null;
  externalXRef: string | null;
  customFields: CustomField[];
  audit: Audit;
  /** When the ticket was stored, to the millisecond (`_info.dateEntered` has seconds only); in `/_sim/state`, never in the API. */
  enteredAtMs: number;
}

export interface Note {
  id: number;
  ticketId: number;
  text: string;
  detailDescriptionFlag: boolean;
  internalAnalysisFlag: boolean;
  resolutionFlag: boolean;
  internalFlag: boolean;
  externalFlag: boolean;
  customerUpdatedFlag: boolean;
  dateCreated: string;
  createdBy: string;
  audit: Audit;
}

/** Records of one kind with the vendor's increasing integer ids. */
export class Table<T extends { id: number }> {
  readonly #rows = new Map<number, T>();
  #nextId: number;
  readonly #firstId: number;
  /** Rows usually arrive in id order, so the map's order is the id order and listing need not sort. */
  #inIdOrder = true;
  #highestId = -Infinity;

  constructor(firstId = 1) {
    this.#firstId = firstId;
    this.#nextId = firstId;
  }

  nextId(): number {
    return this.#nextId++;
  }

  put(row: T): T {
    if (!this.#rows.has(row.id)) {
      if (row.id < this.#highestId) this.#inIdOrder = false;
      this.#highestId = Math.max(this.#highestId, row.id);
    }
    this.#rows.set(row.id, row);
    return row;
  }

  get(id: number): T | undefined {
    return this.#rows.get(id);
  }

  delete(id: number): boolean {
    return this.#rows.delete(id);
  }

  all(): T[] {
    const rows = [...this.#rows.values()];
    return this.#inIdOrder ? rows : rows.sort((a, b) => a.id - b.id);
  }

  clear(): void {
    this.#rows.clear();
    this.#nextId = this.#firstId;
    this.#inIdOrder = true;
    this.#highestId = -Infinity;
  }
}

/** Everything an instance holds. Reference data is seeded; the rest arrives through the API. */
type BoardStatusSeed = [string, { defaultFlag?: boolean; closedStatus?: boolean; escalationStatus: string }];

/** What a board made through the API starts with. */
const DEFAULT_BOARD_STATUSES: BoardStatusSeed[] = [
  ['New', { defaultFlag: true, escalationStatus: 'NotResponded' }],
  ['In Progress', { escalationStatus: 'Responded' }],
  ['Closed', { closedStatus: true, escalationStatus: 'Resolved' }],
];

export class CwmStore {
  readonly companyTypes = new Table<CompanyType>();
  readonly companyStatuses = new Table<CompanyStatus>();
  readonly agreementTypes = new Table<Named & { defaultFlag: boolean }>();
  readonly boards = new Table<Board>();
  readonly boardStatuses = new Table<BoardStatus>();
  readonly boardTypes = new Table<BoardType>();
  readonly boardSubtypes = new Table<BoardChild>();
  readonly boardItems = new Table<BoardChild>();
  readonly priorities = new Table<Priority>();
  readonly sources = new Table<Named & { defaultFlag: boolean }>();
  // Real tenants never start at 1; distinct ranges also catch an id used for the wrong kind.
  readonly companies = new Table<Company>(250);
  readonly contacts = new Table<Contact>(400);
  readonly catalog = new Table<CatalogItem>(700);
  readonly agreements = new Table<Agreement>(50);
  readonly additions = new Table<Addition>(900);
  readonly tickets = new Table<Ticket>(1000);
  readonly notes = new Table<Note>(5000);

  constructor() {
    this.reset();
  }

  reset(): void {
    for (const table of Object.values(this)) if (table instanceof Table) table.clear();
    this.#seed();
  }

  #seed(): void {
    const companyTypes: [string, boolean][] = [['Client', false], ['Prospect', false], ['Vendor', true], ['Partner', false], ['Competitor', false], ['Suspect', false]];
    for (const [name, vendorFlag] of companyTypes) this.companyTypes.put({ id: this.companyTypes.nextId(), name, defaultFlag: name === 'Prospect', vendorFlag });
    for (const [name, inactiveFlag] of [['Active', false], ['Inactive', true], ['Not-Approved', false], ['Credit Hold', false]] as const) {
      this.companyStatuses.put({ id: this.companyStatuses.nextId(), name, defaultFlag: name === 'Active', inactiveFlag });
    }
    for (const name of ['Managed Services', 'Backup Services', 'Block Time', 'Service Agreement']) {
      this.agreementTypes.put({ id: this.agreementTypes.nextId(), name, defaultFlag: name === 'Managed Services' });
    }
    const boards: { name: string; statuses: BoardStatusSeed[] }[] = [
      {
        name: 'Help Desk',
        statuses: [
          ['New', { defaultFlag: true, escalationStatus: 'NotResponded' }],
          ['In Progress', { escalationStatus: 'Responded' }],
          ['Waiting Customer', { escalationStatus: 'Responded' }],
          ['Completed', { closedStatus: true, escalationStatus: 'Resolved' }],
          ['Closed', { closedStatus: true, escalationStatus: 'Resolved' }],
        ],
      },
      {
        name: 'Professional Services',
        statuses: [
          ['New (not responded)', { defaultFlag: true, escalationStatus: 'NotResponded' }],
          ['Scheduled', { escalationStatus: 'Responded' }],
          ['Closed (resolved)', { closedStatus: true, escalationStatus: 'Resolved' }],
        ],
      },
    ];
    for (const { name, statuses } of boards) this.addBoard(name, statuses);
    const priorities: [string, string][] = [
      ['Priority 1 - Emergency Response', 'Red'],
      ['Priority 2 - Quick Response', 'Orange'],
      ['Priority 3 - Normal Response', 'Yellow'],
      ['Priority 4 - Schedule Maintenance', 'Green'],
    ];
    priorities.forEach(([name, color], index) => this.priorities.put({ id: this.priorities.nextId(), name, color, sortOrder: index + 1, defaultFlag: index === 2 }));
    for (const name of ['Email', 'Phone', 'Portal', 'API']) this.sources.put({ id: this.sources.nextId(), name, defaultFlag: name === 'API' });
  }

  addBoard(name: string, statuses: BoardStatusSeed[]): Board {
    const board = this.boards.put({ id: this.boards.nextId(), name, inactiveFlag: false, projectFlag: false });
    this.addBoardChildren(board.id, statuses);
    return board;
  }

  /** The board's statuses, and the types, subtypes and items every board of this instance starts with. */
  addBoardChildren(boardId: number, statuses: BoardStatusSeed[] = DEFAULT_BOARD_STATUSES): void {
    statuses.forEach(([statusName, flags], index) => {
      this.boardStatuses.put({
        id: this.boardStatuses.nextId(),
        name: statusName,
        boardId,
        sortOrder: index,
        defaultFlag: flags.defaultFlag ?? false,
        closedStatus: flags.closedStatus ?? false,
        inactive: false,
        escalationStatus: flags.escalationStatus,
      });
    });
    for (const [typeName, category] of [['Break-fix', 'Reactive'], ['Backup', 'Reactive'], ['Maintenance', 'Proactive']] as const) {
      this.boardTypes.put({ id: this.boardTypes.nextId(), name: typeName, boardId, category, defaultFlag: typeName === 'Break-fix', inactiveFlag: false });
    }
    for (const subtype of ['Common subtype', 'Backup failure', 'Agent']) this.boardSubtypes.put({ id: this.boardSubtypes.nextId(), name: subtype, boardId, inactiveFlag: false });
    for (const item of ['Server', 'Workstation', 'Cloud']) this.boardItems.put({ id: this.boardItems.nextId(), name: item, boardId, inactiveFlag: false });
  }

  statusesOf(boardId: number): BoardStatus[] {
    return this.boardStatuses.all().filter((status) => status.boardId === boardId);
  }
}
