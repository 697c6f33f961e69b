/** The entities this simulator serves: their fields as `entityInformation/fields` describes them, and which routes each has. */

export type DataType = 'integer' | 'long' | 'string' | 'boolean' | 'datetime' | 'decimal';

export interface FieldSpec {
  name: string;
  dataType: DataType;
  length?: number;
  isRequired?: boolean;
  isReadOnly?: boolean;
  isPickList?: boolean;
  /** The entity an ID field points at; a write naming a missing record fails. */
  reference?: EntityName;
  picklistParentValueField?: string;
  /** Filled when a create leaves it out. */
  defaultValue?: unknown;
}

export type EntityName =
  | 'Companies'
  | 'Contacts'
  | 'Contracts'
  | 'Services'
  | 'ServiceBundles'
  | 'ServiceBundleServices'
  | 'ContractServices'
  | 'ContractServiceUnits'
  | 'ContractServiceAdjustments'
  | 'Tickets'
  | 'TicketNotes'
  | 'Resources';

export interface ChildRoute {
  /** The path segment under `/{Parent}/{id}/`. */
  segment: string;
  child: EntityName;
  /** The child's field that holds the parent's ID. */
  parentField: string;
  canCreate: boolean;
  canUpdate: boolean;
  canDelete: boolean;
}

export interface EntitySpec {
  name: EntityName;
  fields: FieldSpec[];
  hasUserDefinedFields: boolean;
  /** `POST /{Entity}`; several entities are created only under their parent. */
  rootCreate: boolean;
  canUpdate: boolean;
  canQuery: boolean;
  canDelete: boolean;
  /** Fields an update may change when not all writable fields may be (ContractServices). */
  updatableFields?: string[];
  children?: ChildRoute[];
}

const id: FieldSpec = { name: 'id', dataType: 'long', isReadOnly: true };
const readOnly = (name: string, dataType: DataType = 'datetime'): FieldSpec => ({ name, dataType, isReadOnly: true });
const text = (name: string, length: number, isRequired = false): FieldSpec => ({ name, dataType: 'string', length, isRequired });
const picklist = (name: string, isRequired = false): FieldSpec => ({ name, dataType: 'integer', isPickList: true, isRequired });
const ref = (name: string, reference: EntityName, isRequired = false): FieldSpec => ({ name, dataType: 'integer', reference, isRequired });
const decimal = (name: string, isRequired = false): FieldSpec => ({ name, dataType: 'decimal', isRequired });

const serviceFields: FieldSpec[] = [
  id,
  text('name', 150, true),
  text('description', 400),
  text('invoiceDescription', 1000),
  decimal('unitPrice', true),
  decimal('unitCost'),
  picklist('periodType', true),
  { name: 'isActive', dataType: 'boolean', defaultValue: true },
  readOnly('createDate'),
  readOnly('lastModifiedDate'),
  readOnly('creatorResourceID', 'integer'),
];

export const ENTITY_SPECS: readonly EntitySpec[] = [
  {
    name: 'Companies',
    fields: [
      id,
      text('companyName', 100, true),
      text('companyNumber', 50),
      picklist('companyType', true),
      text('phone', 25, true),
      text('fax', 25),
      text('webAddress', 255),
      text('address1', 128),
      text('address2', 128),
      text('city', 50),
      text('state', 25),
      text('postalCode', 10),
      { name: 'isActive', dataType: 'boolean', defaultValue: true },
      ref('ownerResourceID', 'Resources', true),
      ref('parentCompanyID', 'Companies'),
      readOnly('createDate'),
      readOnly('lastActivityDate'),
      readOnly('lastTrackedModifiedDateTime'),
    ],
    hasUserDefinedFields: true,
    rootCreate: true,
    canUpdate: true,
    canQuery: true,
    canDelete: false,
  },
  {
    name: 'Contacts',
    fields: [
      id,
      ref('companyID', 'Companies', true),
      text('firstName', 50, true),
      text('lastName', 50, true),
      text('emailAddress', 254),
      text('phone', 25),
      text('title', 50),
      // Autotask's quirk: a contact's isActive is an integer (1/0), not a boolean.
      { name: 'isActive', dataType: 'integer', isRequired: true, defaultValue: 1 },
      { name: 'primaryContact', dataType: 'boolean', defaultValue: false },
      readOnly('createDate'),
      readOnly('lastActivityDate'),
    ],
    hasUserDefinedFields: true,
    rootCreate: true,
    canUpdate: true,
    canQuery: true,
    canDelete: true,
  },
  {
    name: 'Contracts',
    fields: [
      id,
      ref('companyID', 'Companies', true),
      text('contractName', 100, true),
      text('contractNumber', 50),
      text('description', 2000),
      ref('contactID', 'Contacts'),
      picklist('contractType', true),
      picklist('contractCategory'),
      picklist('contractPeriodType'),
      picklist('status', true),
      { name: 'startDate', dataType: 'datetime', isRequired: true },
      { name: 'endDate', dataType: 'datetime', isRequired: true },
      { name: 'isDefaultContract', dataType: 'boolean', defaultValue: false },
      decimal('setupFee'),
      decimal('estimatedRevenue'),
      text('purchaseOrderNumber', 50),
      readOnly('lastModifiedDateTime'),
    ],
    hasUserDefinedFields: true,
    rootCreate: true,
    canUpdate: true,
    canQuery: true,
    canDelete: false,
    children: [
      { segment: 'Services', child: 'ContractServices', parentField: 'contractID', canCreate: true, canUpdate: true, canDelete: true },
      { segment: 'ServiceUnits', child: 'ContractServiceUnits', parentField: 'contractID', canCreate: false, canUpdate: false, canDelete: false },
      { segment: 'ServiceAdjustments', child: 'ContractServiceAdjustments', parentField: 'contractID', canCreate: true, canUpdate: false, canDelete: false },
    ],
  },
  { name: 'Services', fields: serviceFields, hasUserDefinedFields: false, rootCreate: true, canUpdate: true, canQuery: true, canDelete: false },
  {
    name: 'ServiceBundles',
    fields: [...serviceFields.map((field) => (field.name === 'unitPrice' ? { ...field, isRequired: false } : field)), decimal('percentageDiscount'), decimal('unitDiscount')],
    hasUserDefinedFields: false,
    rootCreate: true,
    canUpdate: true,
    canQuery: true,
    canDelete: false,
    children: [{ segment: 'Services', child: 'ServiceBundleServices', parentField: 'serviceBundleID', canCreate: true, canUpdate: false, canDelete: true }],
  },
  {
    name: 'ServiceBundleServices',
    fields: [id, ref('serviceBundleID', 'ServiceBundles', true), ref('serviceID', 'Services', true)],
    hasUserDefinedFields: false,
    rootCreate: false,
    canUpdate: false,
    canQuery: true,
    canDelete: false,
  },
  {
    name: 'ContractServices',
    fields: [
      id,
      ref('contractID', 'Contracts', true),
      ref('serviceID', 'Services', true),
      decimal('unitPrice'),
      decimal('unitCost'),
      decimal('adjustedPrice'),
      readOnly('internalCurrencyUnitPrice', 'decimal'),
      readOnly('internalCurrencyAdjustedPrice', 'decimal'),
      text('invoiceDescription', 1000),
      text('internalDescription', 1000),
      { name: 'quoteItemID', dataType: 'integer' },
    ],
    hasUserDefinedFields: false,
    rootCreate: false,
    canUpdate: true,
    canQuery: true,
    canDelete: false,
    updatableFields: ['adjustedPrice', 'invoiceDescription'],
  },
  {
    name: 'ContractServiceUnits',
    fields: [
      id,
      readOnly('contractID', 'integer'),
      readOnly('contractServiceID', 'integer'),
      readOnly('serviceID', 'integer'),
      readOnly('startDate'),
      readOnly('endDate'),
      readOnly('units', 'integer'),
      readOnly('price', 'decimal'),
      readOnly('cost', 'decimal'),
      readOnly('internalCurrencyPrice', 'decimal'),
      readOnly('approveAndPostDate'),
      readOnly('vendorCompanyID', 'integer'),
      readOnly('organizationalLevelAssociationID', 'integer'),
    ],
    hasUserDefinedFields: false,
    rootCreate: false,
    canUpdate: false,
    canQuery: true,
    canDelete: false,
  },
  {
    name: 'ContractServiceAdjustments',
    fields: [
      id,
      ref('contractID', 'Contracts', true),
      ref('serviceID', 'Services', true),
      ref('contractServiceID', 'ContractServices'),
      { name: 'effectiveDate', dataType: 'datetime', isRequired: true },
      { name: 'unitChange', dataType: 'integer', isRequired: true },
      decimal('adjustedUnitPrice'),
      decimal('adjustedUnitCost'),
      { name: 'allowRepeatService', dataType: 'boolean', defaultValue: false },
      { name: 'quoteItemID', dataType: 'integer' },
    ],
    hasUserDefinedFields: false,
    rootCreate: true,
    canUpdate: false,
    canQuery: false,
    canDelete: false,
  },
  {
    name: 'Tickets',
    fields: [
      id,
      readOnly('ticketNumber', 'string'),
      text('title', 255),
      text('description', 8000),
      ref('companyID', 'Companies'),
      { name: 'companyLocationID', dataType: 'integer' },
      ref('contactID', 'Contacts'),
      picklist('status'),
      picklist('priority'),
      picklist('queueID'),
      picklist('source'),
      picklist('issueType'),
      { ...picklist('subIssueType'), picklistParentValueField: 'issueType' },
      picklist('ticketType'),
      ref('assignedResourceID', 'Resources'),
      { name: 'assignedResourceRoleID', dataType: 'integer' },
      ref('contractID', 'Contracts'),
      ref('contractServiceID', 'ContractServices'),
      { name: 'billingCodeID', dataType: 'integer' },
      { name: 'dueDateTime', dataType: 'datetime' },
      text('resolution', 32000),
      decimal('estimatedHours'),
      text('externalID', 50),
      { name: 'configurationItemID', dataType: 'integer' },
      { name: 'monitorID', dataType: 'integer' },
      { name: 'monitorTypeID', dataType: 'integer' },
      text('rmmAlertID', 50),
      { name: 'apiVendorID', dataType: 'integer' },
      readOnly('createDate'),
      readOnly('completedDate'),
      readOnly('completedByResourceID', 'integer'),
      readOnly('lastActivityDate'),
      readOnly('lastTrackedModificationDateTime'),
    ],
    hasUserDefinedFields: true,
    rootCreate: true,
    canUpdate: true,
    canQuery: true,
    canDelete: false,
    children: [{ segment: 'Notes', child: 'TicketNotes', parentField: 'ticketID', canCreate: true, canUpdate: true, canDelete: false }],
  },
  {
    name: 'TicketNotes',
    fields: [
      id,
      ref('ticketID', 'Tickets', true),
      text('title', 250, true),
      text('description', 32000, true),
      picklist('noteType', true),
      picklist('publish', true),
      readOnly('createDateTime'),
      readOnly('lastActivityDate'),
      readOnly('creatorResourceID', 'integer'),
    ],
    hasUserDefinedFields: false,
    rootCreate: false,
    canUpdate: false,
    canQuery: true,
    canDelete: false,
  },
  {
    name: 'Resources',
    fields: [id, text('firstName', 50), text('lastName', 50), text('email', 254), text('userName', 32), text('title', 50), text('resourceType', 20), { name: 'isActive', dataType: 'boolean' }],
    hasUserDefinedFields: true,
    rootCreate: false,
    canUpdate: false,
    canQuery: true,
    canDelete: false,
  },
];

const BY_LOWER_NAME = new Map(ENTITY_SPECS.map((spec) => [spec.name.toLowerCase(), spec]));

export function entitySpec(name: string): EntitySpec | undefined {
  return BY_LOWER_NAME.get(name.toLowerCase());
}

export function specOf(name: EntityName): EntitySpec {
  const spec = BY_LOWER_NAME.get(name.toLowerCase());
  if (!spec) throw new Error(`unknown entity ${name}`);
  return spec;
}

/** The spec's field by name, case-insensitively (Autotask matches names that way). */
export function fieldOf(spec: EntitySpec, name: string): FieldSpec | undefined {
  const lower = name.toLowerCase();
  return spec.fields.find((field) => field.name.toLowerCase() === lower);
}
