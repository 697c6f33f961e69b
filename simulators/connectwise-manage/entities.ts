import type { FieldSchema, Json, JsonObject } from './conditions.ts';
import { cwDatetime, isObject, type InputReader } from './input.ts';
import type { Addition, Agreement, Audit, BillCustomer, Board, BoardChild, BoardStatus, BoardType, CatalogItem, Company, CompanyStatus, CompanyType, Contact, CwmStore, Named, Note, Priority, Table, Ticket } from './store.ts';

/** What rendering and building need besides the record: the world, the time, and where links point. */
export interface WorldContext {
  store: CwmStore;
  nowMs: number;
  /** `http://host/{codebase}apis/3.0`, for `_info` links. */
  apiBase: string;
  /** The API member the request authenticated as (`_info.enteredBy`, `closedBy`). */
  member: string;
}

/** One kind of record the API serves: how it is queried, shown and written. */
export interface EntityKind<T extends { id: number }> {
  /** `resource` in `errors[]` entries. */
  resource: string;
  /** How a missing record is named in a 404 message. */
  label: string;
  schema: FieldSchema;
  table(store: CwmStore): Table<T>;
  /** For nested collections: the parent's id on the record. */
  parentOf?(row: T): number;
  render(row: T, context: WorldContext): JsonObject;
  /** Builds the record a POST (no `existing`), PUT or PATCH asks for; validation problems throw `CwError`. */
  build?(input: InputReader, context: WorldContext, existing: T | undefined, parentId: number | undefined): T;
  /** Rendered fields that only reflect others: left out of the base a PATCH applies to unless named. */
  derived?: readonly string[];
  /** Side effects of a create (a ticket's initial description becomes its first note). */
  created?(row: T, body: JsonObject, context: WorldContext): void;
}

/** CWM leaves null fields out of its answers. */
function withoutNulls(record: Record<string, Json | undefined>): JsonObject {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== null && value !== undefined)) as JsonObject;
}

function info(audit: Audit, links: Record<string, string> = {}): JsonObject {
  return { ...audit, ...links };
}

function audited(context: WorldContext, existing: { audit: Audit } | undefined): Audit {
  const now = cwDatetime(context.nowMs);
  return { dateEntered: existing?.audit.dateEntered ?? now, enteredBy: existing?.audit.enteredBy ?? context.member, lastUpdated: now, updatedBy: context.member };
}

function ref(context: WorldContext, row: { id: number; name?: string; identifier?: string } | undefined, hrefName: string, path: string): JsonObject | null {
  if (!row) return null;
  return withoutNulls({ id: row.id, identifier: row.identifier ?? null, name: row.name ?? null, _info: { [`${hrefName}_href`]: `${context.apiBase}${path}/${row.id}` } });
}

const boardRef = (context: WorldContext, boardId: number) => ref(context, context.store.boards.get(boardId), 'board', '/service/boards');

const AUDIT_FIELDS = { lastUpdated: true, dateEntered: true, enteredBy: true, updatedBy: true } as const;
const NAMED = { id: true, name: true } as const;

function agreementStatus(agreement: Agreement, nowMs: number): string {
  if (agreement.cancelledFlag) return 'Cancelled';
  if (!agreement.noEndingDateFlag && agreement.endDate && Date.parse(agreement.endDate) < nowMs) return 'Expired';
  if (Date.parse(agreement.startDate) > nowMs) return 'Inactive';
  return 'Active';
}

function readOnlyKind<T extends Named>(resource: string, label: string, select: (store: CwmStore) => Table<T>, render: (row: T, context: WorldContext) => JsonObject, extra: FieldSchema, parentOf?: (row: T) => number): EntityKind<T> {
  return { resource, label, schema: { ...NAMED, ...extra }, table: select, render, parentOf };
}

export const companyTypeKind = readOnlyKind<CompanyType>('companyType', 'Company Type', (store) => store.companyTypes, (row) => ({ ...row }), { defaultFlag: true, vendorFlag: true });
export const companyStatusKind = readOnlyKind<CompanyStatus>('companyStatus', 'Company Status', (store) => store.companyStatuses, (row) => ({ ...row }), { defaultFlag: true, inactiveFlag: true });
export const agreementTypeKind = readOnlyKind<Named & { defaultFlag: boolean }>('agreementType', 'Agreement Type', (store) => store.agreementTypes, (row) => ({ ...row }), { defaultFlag: true });
/** Boards can be made and deleted (an admin deleting the board alert tickets go to is a failure the engine must report). */
export const boardKind: EntityKind<Board> = {
  ...readOnlyKind<Board>('board', 'Service Board', (store) => store.boards, (row) => ({ ...row }), { inactiveFlag: true, projectFlag: true }),
  build(input, context, existing) {
    const name = input.string('name', { max: 50, required: true });
    if (context.store.boards.all().some((board) => board.name.toLowerCase() === name.toLowerCase() && board.id !== existing?.id)) input.problem('name', 'ObjectExists', `The board name ${name} is already in use`);
    const row: Board = { id: existing?.id ?? 0, name, inactiveFlag: input.boolean('inactiveFlag', false), projectFlag: input.boolean('projectFlag', false) };
    input.finish();
    return row;
  },
  created: (row, _body, context) => context.store.addBoardChildren(row.id),
};
export const priorityKind = readOnlyKind<Priority>('priority', 'Priority', (store) => store.priorities, (row) => ({ ...row }), { color: true, sortOrder: true, defaultFlag: true });
export const sourceKind = readOnlyKind<Named & { defaultFlag: boolean }>('source', 'Source', (store) => store.sources, (row) => ({ ...row }), { defaultFlag: true });

function boardChild<T extends Named & { boardId: number }>(resource: string, label: string, select: (store: CwmStore) => Table<T>, extra: FieldSchema): EntityKind<T> {
  return readOnlyKind<T>(
    resource,
    label,
    select,
    ({ boardId, ...row }, context) => ({ ...(row as unknown as JsonObject), board: boardRef(context, boardId) }),
    { ...extra, board: ['id', 'name'] },
    (row) => row.boardId,
  );
}

export const boardStatusKind = boardChild<BoardStatus>('boardStatus', 'Service Status', (store) => store.boardStatuses, { sortOrder: true, defaultFlag: true, closedStatus: true, inactive: true, escalationStatus: true });
export const boardTypeKind = boardChild<BoardType>('boardType', 'Service Type', (store) => store.boardTypes, { category: true, defaultFlag: true, inactiveFlag: true });
export const boardSubtypeKind = boardChild<BoardChild>('boardSubType', 'Service SubType', (store) => store.boardSubtypes, { inactiveFlag: true });
export const boardItemKind = boardChild<BoardChild>('boardItem', 'Service Item', (store) => store.boardItems, { inactiveFlag: true });

const ADDRESS_FIELDS = ['addressLine1', 'addressLine2', 'city', 'state', 'zip'] as const;

export const companyKind: EntityKind<Company> = {
  resource: 'company',
  label: 'Company',
  schema: {
    ...NAMED,
    identifier: true,
    status: ['id', 'name'],
    types: { each: ['id', 'name'] },
    addressLine1: true,
    addressLine2: true,
    city: true,
    state: true,
    zip: true,
    phoneNumber: true,
    website: true,
    defaultContact: ['id', 'name'],
    deletedFlag: true,
    leadFlag: true,
    customFields: true,
    ...AUDIT_FIELDS,
  },
  table: (store) => store.companies,
  render(row, context) {
    const { store } = context;
    const contact = row.defaultContactId === null ? undefined : store.contacts.get(row.defaultContactId);
    return withoutNulls({
      id: row.id,
      identifier: row.identifier,
      name: row.name,
      status: ref(context, store.companyStatuses.get(row.statusId), 'status', '/company/companies/statuses'),
      types: row.typeIds.map((id) => ref(context, store.companyTypes.get(id), 'type', '/company/companies/types')),
      addressLine1: row.addressLine1,
      addressLine2: row.addressLine2,
      city: row.city,
      state: row.state,
      zip: row.zip,
      phoneNumber: row.phoneNumber,
      website: row.website,
      defaultContact: contact ? ref(context, { id: contact.id, name: `${contact.firstName} ${contact.lastName ?? ''}`.trim() }, 'contact', '/company/contacts') : null,
      deletedFlag: row.deletedFlag,
      leadFlag: row.leadFlag,
      customFields: row.customFields,
      _info: info(row.audit, { contacts_href: `${context.apiBase}/company/contacts?conditions=company/id=${row.id}`, agreements_href: `${context.apiBase}/finance/agreements?conditions=company/id=${row.id}` }),
    });
  },
  build(input, context, existing) {
    const { store } = context;
    const identifier = input.string('identifier', { max: 30, required: true });
    const name = input.string('name', { max: 50, required: true });
    const status = input.has('status') ? input.ref('status', store.companyStatuses.all(), 'Company Status') : store.companyStatuses.all().find((candidate) => candidate.defaultFlag);
    // Types can only be given on create; later writes keep them.
    const types = existing ? undefined : typesFrom(input, store);
    if (!existing && !ADDRESS_FIELDS.some((field) => input.has(field))) input.problem('addressLine1', 'NullValue', 'At least one address field is required');
    const duplicate = store.companies.all().find((company) => company.identifier.toLowerCase() === identifier.toLowerCase() && company.id !== existing?.id);
    if (duplicate) input.problem('identifier', 'ObjectExists', `The company identifier ${identifier} is already in use`);
    const contact = input.has('defaultContact') ? input.ref('defaultContact', store.contacts.all().map((row) => ({ id: row.id })), 'Contact') : undefined;
    const row: Company = {
      id: existing?.id ?? 0,
      identifier,
      name,
      statusId: status?.id ?? 0,
      typeIds: types ?? existing?.typeIds ?? [],
      addressLine1: input.string('addressLine1', { max: 50 }),
      addressLine2: input.string('addressLine2', { max: 50 }),
      city: input.string('city', { max: 50 }),
      state: input.string('state', { max: 50 }),
      zip: input.string('zip', { max: 12 }),
      phoneNumber: input.string('phoneNumber', { max: 30 }),
      website: input.string('website', { max: 255 }),
      defaultContactId: contact?.id ?? null,
      deletedFlag: input.boolean('deletedFlag', false),
      leadFlag: input.boolean('leadFlag', false),
      customFields: input.customFields(),
      audit: audited(context, existing),
    };
    input.finish();
    return row;
  },
};

/** `types: [{id} | {name}]`, each resolved like any reference. */
function typesFrom(input: InputReader, store: CwmStore): number[] {
  return input.list('types').flatMap((value, index) => {
    const found = input.resolve(`types/${index}`, value, store.companyTypes.all(), 'Company Type');
    return found ? [found.id] : [];
  });
}

export const contactKind: EntityKind<Contact> = {
  resource: 'contact',
  label: 'Contact',
  schema: {
    id: true,
    firstName: true,
    lastName: true,
    title: true,
    company: ['id', 'identifier', 'name'],
    inactiveFlag: true,
    communicationItems: { each: ['value', 'defaultFlag', 'communicationType'] },
    customFields: true,
    ...AUDIT_FIELDS,
  },
  table: (store) => store.contacts,
  render(row, context) {
    return withoutNulls({
      id: row.id,
      firstName: row.firstName,
      lastName: row.lastName,
      title: row.title,
      company: ref(context, row.companyId === null ? undefined : context.store.companies.get(row.companyId), 'company', '/company/companies'),
      inactiveFlag: row.inactiveFlag,
      communicationItems: row.communicationItems.map((item) => ({ type: { name: item.type }, value: item.value, defaultFlag: item.defaultFlag, communicationType: item.type === 'Email' ? 'Email' : 'Phone' })),
      customFields: row.customFields,
      _info: info(row.audit),
    });
  },
  build(input, context, existing) {
    const company = input.ref('company', context.store.companies.all(), 'Company');
    const items = input.list('communicationItems').flatMap((value) => {
      if (!isObject(value) || typeof value.value !== 'string') return [];
      const type = isObject(value.type) && typeof value.type.name === 'string' ? value.type.name : typeof value.communicationType === 'string' ? value.communicationType : 'Email';
      return [{ type, value: value.value, defaultFlag: value.defaultFlag === true }];
    });
    const row: Contact = {
      id: existing?.id ?? 0,
      firstName: input.string('firstName', { max: 30, required: true }),
      lastName: input.string('lastName', { max: 60 }),
      title: input.string('title', { max: 100 }),
      companyId: company?.id ?? null,
      inactiveFlag: input.boolean('inactiveFlag', false),
      communicationItems: items,
      customFields: input.customFields(),
      audit: audited(context, existing),
    };
    input.finish();
    return row;
  },
};

export const catalogKind: EntityKind<CatalogItem> = {
  resource: 'catalogItem',
  label: 'Catalog Item',
  schema: { id: true, identifier: true, description: true, customerDescription: true, productClass: true, price: true, cost: true, taxableFlag: true, inactiveFlag: true, integrationXRef: true, customFields: true, ...AUDIT_FIELDS },
  table: (store) => store.catalog,
  render(row, context) {
    return withoutNulls({ ...row, unitOfMeasure: row.unitOfMeasure === null ? null : { name: row.unitOfMeasure }, audit: undefined, _info: info(row.audit, { catalog_href: `${context.apiBase}/procurement/catalog/${row.id}` }) });
  },
  build(input, context, existing) {
    const identifier = input.string('identifier', { max: 60, required: true });
    const description = input.string('description', { max: 60, required: true });
    if (context.store.catalog.all().some((item) => item.identifier.toLowerCase() === identifier.toLowerCase() && item.id !== existing?.id)) {
      input.problem('identifier', 'ObjectExists', `The product identifier ${identifier} is already in use`);
    }
    const unit = input.has('unitOfMeasure') ? input.ref('unitOfMeasure', [{ id: 1, name: 'Each' }, { id: 2, name: 'GB' }, { id: 3, name: 'Month' }], 'Unit of Measure') : undefined;
    const row: CatalogItem = {
      id: existing?.id ?? 0,
      identifier,
      description,
      customerDescription: input.string('customerDescription', { max: 6000, fallback: description }) ?? description,
      productClass: input.choice('productClass', ['Agreement', 'Bundle', 'Inventory', 'NonInventory', 'Service'] as const, 'NonInventory'),
      price: input.number('price', 0),
      cost: input.number('cost', 0),
      taxableFlag: input.boolean('taxableFlag', false),
      inactiveFlag: input.boolean('inactiveFlag', false),
      unitOfMeasure: unit?.name ?? null,
      integrationXRef: input.string('integrationXRef', { max: 50 }),
      customFields: input.customFields(),
      audit: audited(context, existing),
    };
    input.finish();
    return row;
  },
};

export const agreementKind: EntityKind<Agreement> = {
  resource: 'agreement',
  label: 'Agreement',
  schema: {
    ...NAMED,
    type: ['id', 'name'],
    company: ['id', 'identifier', 'name'],
    contact: ['id', 'name'],
    agreementStatus: true,
    startDate: true,
    endDate: true,
    noEndingDateFlag: true,
    cancelledFlag: true,
    dateCancelled: true,
    reasonCancelled: true,
    billAmount: true,
    customFields: true,
    ...AUDIT_FIELDS,
  },
  derived: ['agreementStatus'],
  table: (store) => store.agreements,
  render(row, context) {
    const { store } = context;
    const contact = row.contactId === null ? undefined : store.contacts.get(row.contactId);
    return withoutNulls({
      id: row.id,
      name: row.name,
      type: ref(context, store.agreementTypes.get(row.typeId), 'type', '/finance/agreementTypes'),
      company: ref(context, store.companies.get(row.companyId), 'company', '/company/companies'),
      contact: contact ? ref(context, { id: contact.id, name: `${contact.firstName} ${contact.lastName ?? ''}`.trim() }, 'contact', '/company/contacts') : null,
      agreementStatus: agreementStatus(row, context.nowMs),
      startDate: row.startDate,
      endDate: row.endDate,
      noEndingDateFlag: row.noEndingDateFlag,
      cancelledFlag: row.cancelledFlag,
      dateCancelled: row.dateCancelled,
      reasonCancelled: row.reasonCancelled,
      billAmount: row.billAmount,
      customFields: row.customFields,
      _info: info(row.audit, { additions_href: `${context.apiBase}/finance/agreements/${row.id}/additions` }),
    });
  },
  build(input, context, existing) {
    const { store } = context;
    const name = input.string('name', { max: 100, required: true });
    const type = input.ref('type', store.agreementTypes.all(), 'Agreement Type', { required: true });
    const company = input.ref('company', store.companies.all(), 'Company', { required: true });
    const contact = input.has('contact') ? input.ref('contact', store.contacts.all().map((row) => ({ id: row.id })), 'Contact') : undefined;
    const endDate = input.datetime('endDate', null);
    const cancelledFlag = input.boolean('cancelledFlag', false);
    const row: Agreement = {
      id: existing?.id ?? 0,
      name,
      typeId: type?.id ?? 0,
      companyId: company?.id ?? 0,
      contactId: contact?.id ?? null,
      startDate: input.datetime('startDate', null) ?? cwDatetime(Math.floor(context.nowMs / 86_400_000) * 86_400_000),
      endDate,
      noEndingDateFlag: input.boolean('noEndingDateFlag', endDate === null),
      cancelledFlag,
      dateCancelled: input.datetime('dateCancelled', cancelledFlag ? (existing?.dateCancelled ?? cwDatetime(context.nowMs)) : null),
      reasonCancelled: input.string('reasonCancelled', { max: 50 }),
      billAmount: input.number('billAmount', 0),
      customFields: input.customFields(),
      audit: audited(context, existing),
    };
    input.finish();
    return row;
  },
};

const BILL_CUSTOMER: readonly BillCustomer[] = ['Billable', 'DoNotBill', 'NoCharge'];

export const additionKind: EntityKind<Addition> = {
  resource: 'addition',
  label: 'Addition',
  schema: {
    id: true,
    agreementId: true,
    agreementStatus: true,
    product: ['id', 'identifier', 'description'],
    quantity: true,
    lessIncluded: true,
    billedQuantity: true,
    unitPrice: true,
    unitCost: true,
    extPrice: true,
    extCost: true,
    margin: true,
    billCustomer: true,
    taxableFlag: true,
    effectiveDate: true,
    cancelledDate: true,
    description: true,
    invoiceDescription: true,
    uom: true,
    sequenceNumber: true,
    customFields: true,
    ...AUDIT_FIELDS,
  },
  derived: ['agreementStatus', 'billedQuantity', 'extPrice', 'extCost', 'margin'],
  table: (store) => store.additions,
  parentOf: (row) => row.agreementId,
  render(row, context) {
    const { store } = context;
    const product = store.catalog.get(row.productId);
    const agreement = store.agreements.get(row.agreementId);
    const billedQuantity = Math.max(0, row.quantity - row.lessIncluded);
    const extPrice = round(billedQuantity * row.unitPrice);
    const extCost = round(billedQuantity * row.unitCost);
    return withoutNulls({
      id: row.id,
      agreementId: row.agreementId,
      agreementStatus: agreement ? agreementStatus(agreement, context.nowMs) : null,
      product: product ? withoutNulls({ id: product.id, identifier: product.identifier, description: product.description, _info: { product_href: `${context.apiBase}/procurement/catalog/${product.id}` } }) : null,
      quantity: row.quantity,
      lessIncluded: row.lessIncluded,
      billedQuantity,
      unitPrice: row.unitPrice,
      unitCost: row.unitCost,
      extPrice,
      extCost,
      margin: round(extPrice - extCost),
      billCustomer: row.billCustomer,
      taxableFlag: row.taxableFlag,
      effectiveDate: row.effectiveDate,
      cancelledDate: row.cancelledDate,
      description: row.description,
      invoiceDescription: row.invoiceDescription,
      uom: row.uom,
      sequenceNumber: row.sequenceNumber,
      customFields: row.customFields,
      _info: info(row.audit, { agreement_href: `${context.apiBase}/finance/agreements/${row.agreementId}` }),
    });
  },
  build(input, context, existing, agreementId) {
    const { store } = context;
    const parent = store.agreements.get(agreementId ?? 0);
    const product = input.ref('product', store.catalog.all(), 'Product', { required: true });
    const siblings = store.additions.all().filter((addition) => addition.agreementId === agreementId);
    const row: Addition = {
      id: existing?.id ?? 0,
      agreementId: agreementId ?? 0,
      productId: product?.id ?? 0,
      quantity: input.number('quantity', 0),
      lessIncluded: input.number('lessIncluded', 0),
      unitPrice: input.number('unitPrice', product?.price ?? 0),
      unitCost: input.number('unitCost', product?.cost ?? 0),
      billCustomer: input.choice('billCustomer', BILL_CUSTOMER, 'Billable'),
      taxableFlag: input.boolean('taxableFlag', product?.taxableFlag ?? false),
      effectiveDate: input.datetime('effectiveDate', parent?.startDate ?? null),
      cancelledDate: input.datetime('cancelledDate', null),
      description: input.string('description', { max: 6000, fallback: product?.description ?? '' }) ?? '',
      invoiceDescription: input.string('invoiceDescription', { max: 6000 }),
      uom: input.string('uom', { max: 50 }),
      sequenceNumber: input.number('sequenceNumber', existing?.sequenceNumber ?? siblings.length + 1),
      customFields: input.customFields(),
      audit: audited(context, existing),
    };
    input.finish();
    return row;
  },
};

/**
 * An addition's create, edit or delete stamps its agreement's `_info.lastUpdated` too, so that
 * `GET /finance/agreements?conditions=lastUpdated>[…]` finds agreements whose additions changed.
 * Modelled, not confirmed on a live instance (README, "Change stamps").
 */
export function stampAgreementOf(context: WorldContext, addition: Addition): void {
  const agreement = context.store.agreements.get(addition.agreementId);
  if (agreement) context.store.agreements.put({ ...agreement, audit: audited(context, agreement) });
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

const SEVERITY = ['Low', 'Medium', 'High'] as const;

export const ticketKind: EntityKind<Ticket> = {
  resource: 'ticket',
  label: 'Ticket',
  schema: {
    id: true,
    summary: true,
    recordType: true,
    board: ['id', 'name'],
    status: ['id', 'name'],
    company: ['id', 'identifier', 'name'],
    contact: ['id', 'name'],
    priority: ['id', 'name'],
    type: ['id', 'name'],
    subType: ['id', 'name'],
    item: ['id', 'name'],
    source: ['id', 'name'],
    agreement: ['id', 'name'],
    severity: true,
    impact: true,
    closedFlag: true,
    closedDate: true,
    closedBy: true,
    externalXRef: true,
    customFields: true,
    ...AUDIT_FIELDS,
  },
  derived: ['closedFlag', 'closedDate', 'closedBy'],
  table: (store) => store.tickets,
  render(row, context) {
    const { store } = context;
    const status = store.boardStatuses.get(row.statusId);
    const priority = store.priorities.get(row.priorityId);
    const contact = row.contactId === null ? undefined : store.contacts.get(row.contactId);
    const child = (table: Table<BoardChild | BoardType>, id: number | null, href: string) => ref(context, id === null ? undefined : table.get(id), href, `/service/boards/${row.boardId}/${href}s`);
    return withoutNulls({
      id: row.id,
      summary: row.summary,
      recordType: row.recordType,
      board: boardRef(context, row.boardId),
      status: status ? { ...ref(context, status, 'status', `/service/boards/${row.boardId}/statuses`), sort: status.sortOrder } : null,
      company: ref(context, store.companies.get(row.companyId), 'company', '/company/companies'),
      contact: contact ? ref(context, { id: contact.id, name: `${contact.firstName} ${contact.lastName ?? ''}`.trim() }, 'contact', '/company/contacts') : null,
      priority: priority ? { ...ref(context, priority, 'priority', '/service/priorities'), sort: priority.sortOrder } : null,
      type: child(store.boardTypes, row.typeId, 'type'),
      subType: child(store.boardSubtypes, row.subTypeId, 'subType'),
      item: child(store.boardItems, row.itemId, 'item'),
      source: ref(context, row.sourceId === null ? undefined : store.sources.get(row.sourceId), 'source', '/service/sources'),
      agreement: ref(context, row.agreementId === null ? undefined : store.agreements.get(row.agreementId), 'agreement', '/finance/agreements'),
      severity: row.severity,
      impact: row.impact,
      closedFlag: status?.closedStatus ?? false,
      closedDate: row.closedDate,
      closedBy: row.closedBy,
      externalXRef: row.externalXRef,
      customFields: row.customFields,
      _info: info(row.audit, { notes_href: `${context.apiBase}/service/tickets/${row.id}/notes` }),
    });
  },
  build(input, context, existing) {
    const { store } = context;
    const summary = input.string('summary', { max: 100, required: true });
    const board = input.has('board') ? input.ref('board', store.boards.all(), 'Service Board') : store.boards.all()[0];
    const boardId = board?.id ?? 0;
    const scope = board ? `Service Board ${board.id}` : undefined;
    const onBoard = <T extends { id: number; boardId: number }>(table: Table<T>) => table.all().filter((row) => row.boardId === boardId);
    const statuses = onBoard(store.boardStatuses);
    let status = input.has('status') ? input.ref('status', statuses, 'Service Status', { scope }) : statuses.find((candidate) => candidate.defaultFlag);
    // Setting closedFlag alone moves the ticket to the board's first closed status, or back to its default one.
    if (input.has('closedFlag') && status && input.boolean('closedFlag', false) !== status.closedStatus) {
      status = status.closedStatus ? statuses.find((candidate) => candidate.defaultFlag) : statuses.find((candidate) => candidate.closedStatus);
    }
    const optional = <T extends { id: number; name: string }>(field: string, rows: T[], label: string) => (input.has(field) ? input.ref(field, rows, label, { scope }) : undefined);
    const company = input.ref('company', store.companies.all(), 'Company', { required: true });
    const priority = input.has('priority') ? input.ref('priority', store.priorities.all(), 'Priority') : store.priorities.all().find((candidate) => candidate.defaultFlag);
    const wasClosed = existing ? (store.boardStatuses.get(existing.statusId)?.closedStatus ?? false) : false;
    const closed = status?.closedStatus ?? false;
    const row: Ticket = {
      id: existing?.id ?? 0,
      summary,
      recordType: input.choice('recordType', ['ServiceTicket', 'ProjectTicket', 'ProjectIssue'] as const, 'ServiceTicket'),
      boardId,
      statusId: status?.id ?? 0,
      companyId: company?.id ?? 0,
      contactId: optional('contact', store.contacts.all().map((row) => ({ id: row.id, name: `${row.firstName} ${row.lastName ?? ''}`.trim() })), 'Contact')?.id ?? null,
      priorityId: priority?.id ?? 0,
      typeId: optional('type', onBoard(store.boardTypes), 'Service Type')?.id ?? null,
      subTypeId: optional('subType', onBoard(store.boardSubtypes), 'Service SubType')?.id ?? null,
      itemId: optional('item', onBoard(store.boardItems), 'Service Item')?.id ?? null,
      sourceId: (input.has('source') ? input.ref('source', store.sources.all(), 'Source') : store.sources.all().find((candidate) => candidate.defaultFlag))?.id ?? null,
      agreementId: (input.has('agreement') ? input.ref('agreement', store.agreements.all(), 'Agreement') : undefined)?.id ?? null,
      severity: input.choice('severity', SEVERITY, 'Medium'),
      impact: input.choice('impact', SEVERITY, 'Medium'),
      closedDate: closed ? (wasClosed ? (existing?.closedDate ?? null) : cwDatetime(context.nowMs)) : null,
      closedBy: closed ? (wasClosed ? (existing?.closedBy ?? null) : context.member) : null,
      externalXRef: input.string('externalXRef', { max: 100 }),
      customFields: input.customFields(),
      audit: audited(context, existing),
      enteredAtMs: existing?.enteredAtMs ?? context.nowMs,
    };
    input.finish();
    return row;
  },
  created(row, body, context) {
    // The initial texts are POST-only and never returned: they live on as the ticket's first notes.
    const initial: [string, 'detailDescriptionFlag' | 'internalAnalysisFlag' | 'resolutionFlag'][] = [
      ['initialDescription', 'detailDescriptionFlag'],
      ['initialInternalAnalysis', 'internalAnalysisFlag'],
      ['initialResolution', 'resolutionFlag'],
    ];
    for (const [field, flag] of initial) {
      const text = body[field];
      if (typeof text !== 'string' || text === '') continue;
      const { notes } = context.store;
      const now = cwDatetime(context.nowMs);
      notes.put({
        id: notes.nextId(),
        ticketId: row.id,
        text,
        detailDescriptionFlag: flag === 'detailDescriptionFlag',
        internalAnalysisFlag: flag === 'internalAnalysisFlag',
        resolutionFlag: flag === 'resolutionFlag',
        internalFlag: flag === 'internalAnalysisFlag',
        externalFlag: flag !== 'internalAnalysisFlag',
        customerUpdatedFlag: false,
        dateCreated: now,
        createdBy: context.member,
        audit: audited(context, undefined),
      });
    }
  },
};

export const noteKind: EntityKind<Note> = {
  resource: 'serviceNote',
  label: 'Service Note',
  schema: {
    id: true,
    ticketId: true,
    text: true,
    detailDescriptionFlag: true,
    internalAnalysisFlag: true,
    resolutionFlag: true,
    internalFlag: true,
    externalFlag: true,
    customerUpdatedFlag: true,
    dateCreated: true,
    createdBy: true,
    ...AUDIT_FIELDS,
  },
  table: (store) => store.notes,
  parentOf: (row) => row.ticketId,
  render(row, context) {
    const { audit, ...rest } = row;
    return withoutNulls({ ...rest, _info: info(audit, { ticket_href: `${context.apiBase}/service/tickets/${row.ticketId}` }) });
  },
  build(input, context, existing, ticketId) {
    const flags = {
      detailDescriptionFlag: input.boolean('detailDescriptionFlag', false),
      internalAnalysisFlag: input.boolean('internalAnalysisFlag', false),
      resolutionFlag: input.boolean('resolutionFlag', false),
    };
    if (!flags.detailDescriptionFlag && !flags.internalAnalysisFlag && !flags.resolutionFlag) {
      input.problem('detailDescriptionFlag', 'InvalidField', 'One of detailDescriptionFlag, internalAnalysisFlag or resolutionFlag must be true');
    }
    const row: Note = {
      id: existing?.id ?? 0,
      ticketId: ticketId ?? 0,
      text: input.string('text', { max: 100_000, required: true }),
      ...flags,
      internalFlag: input.boolean('internalFlag', flags.internalAnalysisFlag),
      externalFlag: input.boolean('externalFlag', !flags.internalAnalysisFlag),
      customerUpdatedFlag: input.boolean('customerUpdatedFlag', false),
      dateCreated: existing?.dateCreated ?? cwDatetime(context.nowMs),
      createdBy: existing?.createdBy ?? context.member,
      audit: audited(context, existing),
    };
    input.finish();
    return row;
  },
};
