/**
 * ConnectWise Manage entities as the REST API 3.0 returns them: camelCase, references as nested
 * objects, null fields left out (hence the optional properties).
 */

export interface Reference {
  id: number;
  name?: string;
  identifier?: string;
  _info?: Record<string, string>;
}

/** A reference on write: by id, identifier or name. */
export type ReferenceInput = { id: number } | { identifier: string } | { name: string };

export interface RecordInfo {
  dateEntered?: string;
  enteredBy?: string;
  lastUpdated?: string;
  updatedBy?: string;
  [link: string]: string | undefined;
}

export interface CustomFieldValue {
  id: number;
  caption?: string;
  type?: string;
  entryMethod?: string;
  numberOfDecimals?: number;
  value?: string | number | boolean | null;
}

export interface CompanyInfo {
  CompanyName: string;
  Codebase: string;
  VersionCode: string;
  VersionNumber: string;
  CompanyID: string;
  IsCloud: 'True' | 'False';
  SiteUrl?: string;
}

export interface SystemInfo {
  version: string;
  isCloud: boolean;
  serverTimeZone?: string;
  cloudRegion?: string;
  licenseBits?: unknown[];
}

export interface Company {
  id: number;
  identifier: string;
  name: string;
  status?: Reference;
  types?: Reference[];
  addressLine1?: string;
  addressLine2?: string;
  city?: string;
  state?: string;
  zip?: string;
  phoneNumber?: string;
  website?: string;
  defaultContact?: Reference;
  deletedFlag?: boolean;
  leadFlag?: boolean;
  customFields?: CustomFieldValue[];
  _info?: RecordInfo;
}

export interface NewCompany {
  identifier: string;
  name: string;
  status?: ReferenceInput;
  /** Only on create: CWM ignores types on later writes. */
  types?: ReferenceInput[];
  addressLine1?: string;
  addressLine2?: string;
  city?: string;
  state?: string;
  zip?: string;
  phoneNumber?: string;
  website?: string;
  customFields?: CustomFieldValue[];
}

export interface CompanyType {
  id: number;
  name: string;
  defaultFlag?: boolean;
  vendorFlag?: boolean;
}

export interface CompanyStatus {
  id: number;
  name: string;
  defaultFlag?: boolean;
  inactiveFlag?: boolean;
}

export interface CommunicationItem {
  type?: { id?: number; name?: string };
  value: string;
  defaultFlag?: boolean;
  communicationType?: 'Email' | 'Phone' | 'Fax';
}

export interface Contact {
  id: number;
  firstName: string;
  lastName?: string;
  title?: string;
  company?: Reference;
  inactiveFlag?: boolean;
  communicationItems?: CommunicationItem[];
  _info?: RecordInfo;
}

export interface NewContact {
  firstName: string;
  lastName?: string;
  title?: string;
  company?: ReferenceInput;
  communicationItems?: CommunicationItem[];
}

export type ProductClass = 'Agreement' | 'Bundle' | 'Inventory' | 'NonInventory' | 'Service';

export interface CatalogItem {
  id: number;
  identifier: string;
  description: string;
  customerDescription?: string;
  productClass?: ProductClass;
  price?: number;
  cost?: number;
  taxableFlag?: boolean;
  inactiveFlag?: boolean;
  integrationXRef?: string;
  customFields?: CustomFieldValue[];
  _info?: RecordInfo;
}

export interface NewCatalogItem {
  identifier: string;
  description: string;
  customerDescription?: string;
  productClass?: ProductClass;
  price?: number;
  cost?: number;
  taxableFlag?: boolean;
  integrationXRef?: string;
}

export type AgreementStatus = 'Active' | 'Cancelled' | 'Expired' | 'Inactive';

export interface Agreement {
  id: number;
  name: string;
  type?: Reference;
  company?: Reference;
  contact?: Reference;
  agreementStatus?: AgreementStatus;
  startDate?: string;
  endDate?: string;
  noEndingDateFlag?: boolean;
  cancelledFlag?: boolean;
  dateCancelled?: string;
  reasonCancelled?: string;
  billAmount?: number;
  customFields?: CustomFieldValue[];
  _info?: RecordInfo;
}

export interface NewAgreement {
  name: string;
  type: ReferenceInput;
  company: ReferenceInput;
  contact?: ReferenceInput;
  startDate?: string;
  endDate?: string;
  noEndingDateFlag?: boolean;
  billAmount?: number;
}

export type BillCustomer = 'Billable' | 'DoNotBill' | 'NoCharge';

export interface AgreementAddition {
  id: number;
  agreementId: number;
  agreementStatus?: AgreementStatus;
  product: Reference & { description?: string };
  quantity: number;
  lessIncluded?: number;
  billedQuantity?: number;
  unitPrice?: number;
  unitCost?: number;
  extPrice?: number;
  extCost?: number;
  margin?: number;
  billCustomer: BillCustomer;
  taxableFlag?: boolean;
  effectiveDate?: string;
  cancelledDate?: string;
  description?: string;
  invoiceDescription?: string;
  uom?: string;
  sequenceNumber?: number;
  customFields?: CustomFieldValue[];
  _info?: RecordInfo;
}

export interface NewAgreementAddition {
  product: ReferenceInput;
  quantity?: number;
  lessIncluded?: number;
  unitPrice?: number;
  unitCost?: number;
  billCustomer: BillCustomer;
  taxableFlag?: boolean;
  effectiveDate?: string;
  cancelledDate?: string;
  description?: string;
  invoiceDescription?: string;
}

export interface Board {
  id: number;
  name: string;
  inactiveFlag?: boolean;
  projectFlag?: boolean;
}

export interface BoardStatus {
  id: number;
  name: string;
  board?: Reference;
  sortOrder?: number;
  defaultFlag?: boolean;
  closedStatus?: boolean;
  inactive?: boolean;
  escalationStatus?: string;
}

export interface BoardType {
  id: number;
  name: string;
  board?: Reference;
  category?: 'Reactive' | 'Proactive';
  defaultFlag?: boolean;
  inactiveFlag?: boolean;
}

export interface BoardSubtype {
  id: number;
  name: string;
  board?: Reference;
  inactiveFlag?: boolean;
}

export type BoardItem = BoardSubtype;

export interface Priority {
  id: number;
  name: string;
  color?: string;
  sortOrder?: number;
  defaultFlag?: boolean;
}

export interface Ticket {
  id: number;
  summary: string;
  recordType?: 'ServiceTicket' | 'ProjectTicket' | 'ProjectIssue';
  board?: Reference;
  status?: Reference & { sort?: number };
  company?: Reference;
  contact?: Reference;
  priority?: Reference & { sort?: number };
  type?: Reference;
  subType?: Reference;
  item?: Reference;
  source?: Reference;
  agreement?: Reference;
  severity?: 'Low' | 'Medium' | 'High';
  impact?: 'Low' | 'Medium' | 'High';
  closedFlag?: boolean;
  closedDate?: string;
  closedBy?: string;
  externalXRef?: string;
  customFields?: CustomFieldValue[];
  _info?: RecordInfo;
}

export interface NewTicket {
  /** At most 100 characters. */
  summary: string;
  company: ReferenceInput;
  board?: ReferenceInput;
  status?: ReferenceInput;
  priority?: ReferenceInput;
  type?: ReferenceInput;
  subType?: ReferenceInput;
  item?: ReferenceInput;
  source?: ReferenceInput;
  contact?: ReferenceInput;
  /** POST-only: becomes the first note, never returned on the ticket. */
  initialDescription?: string;
  initialInternalAnalysis?: string;
  /** Our idempotency marker, at most 100 characters. */
  externalXRef?: string;
  processNotifications?: boolean;
}

export interface ServiceNote {
  id: number;
  ticketId: number;
  text: string;
  detailDescriptionFlag?: boolean;
  internalAnalysisFlag?: boolean;
  resolutionFlag?: boolean;
  internalFlag?: boolean;
  externalFlag?: boolean;
  dateCreated?: string;
  createdBy?: string;
  _info?: RecordInfo;
}

export interface NewServiceNote {
  text: string;
  detailDescriptionFlag?: boolean;
  internalAnalysisFlag?: boolean;
  resolutionFlag?: boolean;
  internalFlag?: boolean;
  externalFlag?: boolean;
  processNotifications?: boolean;
}

/** One JSON-Patch operation in CWM's dialect: a bare top-level field name as `path`. */
export interface PatchOperation {
  op: 'add' | 'replace' | 'remove';
  path: string;
  value?: unknown;
}
