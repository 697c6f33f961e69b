/** Autotask REST entities as they travel (camelCase, upper-case `ID` suffixes, picklists as integers). */

export interface UserDefinedField {
  name: string;
  value: string | null;
}

export interface Company {
  id: number;
  companyName: string;
  companyNumber?: string | null;
  companyType: number;
  phone: string;
  fax?: string | null;
  webAddress?: string | null;
  address1?: string | null;
  city?: string | null;
  postalCode?: string | null;
  isActive: boolean;
  ownerResourceID: number;
  parentCompanyID?: number | null;
  createDate?: string;
  lastTrackedModifiedDateTime?: string;
  userDefinedFields?: UserDefinedField[];
}

export interface Contact {
  id: number;
  companyID: number;
  firstName: string;
  lastName: string;
  emailAddress?: string | null;
  phone?: string | null;
  /** 1 or 0: Autotask types a contact's isActive as an integer. */
  isActive: number;
  /** The company's primary contact (one per company). */
  primaryContact?: boolean;
}

export interface Contract {
  id: number;
  companyID: number;
  contractName: string;
  contractNumber?: string | null;
  description?: string | null;
  contactID?: number | null;
  contractType: number;
  contractCategory?: number | null;
  contractPeriodType?: number | null;
  /** 1 active, 0 inactive. */
  status: number;
  startDate: string;
  endDate: string;
  isDefaultContract?: boolean;
  userDefinedFields?: UserDefinedField[];
}

export interface Service {
  id: number;
  name: string;
  description?: string | null;
  invoiceDescription?: string | null;
  unitPrice: number;
  unitCost?: number | null;
  periodType: number;
  isActive: boolean;
}

export interface ServiceBundle extends Service {
  percentageDiscount?: number | null;
  unitDiscount?: number | null;
}

export interface ServiceBundleService {
  id: number;
  serviceBundleID: number;
  serviceID: number;
}

export interface ContractService {
  id: number;
  contractID: number;
  serviceID: number;
  unitPrice?: number | null;
  unitCost?: number | null;
  adjustedPrice?: number | null;
  invoiceDescription?: string | null;
  internalDescription?: string | null;
}

/** One billing period of a contract service; an adjustment inside a period splits it. */
export interface ContractServiceUnit {
  id: number;
  contractID: number;
  contractServiceID: number;
  serviceID: number;
  startDate: string;
  endDate: string;
  /** Whole units. */
  units: number;
  price?: number | null;
  cost?: number | null;
}

/** Create-only; cannot be read back. */
export interface ContractServiceAdjustment {
  contractID: number;
  serviceID: number;
  contractServiceID?: number;
  effectiveDate: string;
  /** Integer delta, may be negative. */
  unitChange: number;
  adjustedUnitPrice?: number;
  adjustedUnitCost?: number;
  allowRepeatService?: boolean;
}

export interface Ticket {
  id: number;
  ticketNumber: string;
  title: string;
  description?: string | null;
  companyID: number;
  contactID?: number | null;
  status: number;
  priority: number;
  queueID?: number | null;
  source?: number | null;
  issueType?: number | null;
  subIssueType?: number | null;
  ticketType?: number | null;
  assignedResourceID?: number | null;
  contractID?: number | null;
  dueDateTime?: string | null;
  externalID?: string | null;
  createDate?: string;
  completedDate?: string | null;
  lastActivityDate?: string;
  userDefinedFields?: UserDefinedField[];
}

export interface TicketNote {
  id: number;
  ticketID: number;
  title: string;
  description: string;
  noteType: number;
  publish: number;
  createDateTime?: string;
}

export interface Resource {
  id: number;
  firstName: string;
  lastName: string;
  email: string;
  userName: string;
  isActive: boolean;
}

/** Entities that answer `/{Entity}/query` and `GET /{Entity}/{id}`. */
export interface AutotaskEntities {
  Companies: Company;
  Contacts: Contact;
  Contracts: Contract;
  Services: Service;
  ServiceBundles: ServiceBundle;
  ServiceBundleServices: ServiceBundleService;
  ContractServices: ContractService;
  ContractServiceUnits: ContractServiceUnit;
  Tickets: Ticket;
  TicketNotes: TicketNote;
  Resources: Resource;
}

export type QueryableEntity = keyof AutotaskEntities;

/** Entities created by `POST /{Entity}`; the others are created under their parent. */
export type RootCreatableEntity = 'Companies' | 'Contacts' | 'Contracts' | 'Services' | 'ServiceBundles' | 'Tickets';
export type UpdatableEntity = 'Companies' | 'Contacts' | 'Contracts' | 'Services' | 'ServiceBundles' | 'Tickets';

/** A create body: the entity's fields without the ones the server fills. */
export type NewEntity<T> = Partial<Omit<T, 'id' | 'ticketNumber' | 'createDate' | 'completedDate' | 'lastActivityDate' | 'lastTrackedModifiedDateTime' | 'createDateTime'>>;

export type ComparisonOperator = 'eq' | 'noteq' | 'gt' | 'gte' | 'lt' | 'lte' | 'beginsWith' | 'endsWith' | 'contains';

/** One condition of the query model; top-level conditions are AND-ed. */
export type AutotaskFilter =
  | { op: ComparisonOperator; field: string; value: string | number | boolean; udf?: boolean }
  | { op: 'exist' | 'notExist'; field: string; udf?: boolean }
  | { op: 'in' | 'notIn'; field: string; value: (string | number)[]; udf?: boolean }
  | { op: 'and' | 'or'; items: AutotaskFilter[] };

export interface PicklistValue {
  value: string;
  label: string;
  isDefaultValue: boolean;
  sortOrder: number;
  parentValue: string;
  isActive: boolean;
  isSystem: boolean;
}

export interface FieldInfo {
  name: string;
  dataType: string;
  length: number;
  isRequired: boolean;
  isReadOnly: boolean;
  isQueryable: boolean;
  isReference: boolean;
  referenceEntityType: string;
  isPickList: boolean;
  picklistValues: PicklistValue[] | null;
  picklistParentValueField: string;
}

export interface UserDefinedFieldInfo {
  name: string;
  label: string;
  type: string;
  isRequired: boolean;
  isPickList: boolean;
  picklistValues: PicklistValue[] | null;
}

export interface ZoneInformation {
  zoneName: string;
  url: string;
  webUrl: string;
  ci: number;
}

export interface ThresholdInformation {
  externalRequestThreshold: number;
  requestThresholdTimeframe: number;
  currentTimeframeRequestCount: number;
}
