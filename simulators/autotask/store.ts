/**
 * The instance's records and Autotask's write rules: picklist and reference checks, required
 * fields (configurable on Tickets), tickets completing and reopening, contract services only on
 * Recurring Service contracts, and the create-only, whole-unit ContractServiceAdjustments that
 * ContractServiceUnits are computed from (one row per monthly period, split at each adjustment's
 * effective date).
 */
import type { SimClock } from '../kit/sim-clock.ts';
import { DEFAULT_CREDENTIALS } from '../default-credentials.ts';
import { ENTITY_SPECS, fieldOf, specOf, type EntityName, type EntitySpec, type FieldSpec } from './entities.ts';
import { CONTRACT_TYPE_RECURRING_SERVICE, PAYG_UDF_NAME, TICKET_STATUS_COMPLETE, type PicklistValue, type Picklists } from './picklists.ts';
import { AutotaskRequestError, property } from './query.ts';

export interface UserDefinedField {
  name: string;
  value: string | null;
}

export type EntityRecord = Record<string, unknown> & { id: number; userDefinedFields?: UserDefinedField[] };

export interface UdfDefinition {
  name: string;
  label: string;
  type: 'string' | 'number' | 'date';
  length: number;
  isRequired: boolean;
  isPickList: boolean;
  picklistKey?: string;
}

export const DEFAULT_TICKET_REQUIRED_FIELDS = ['companyID', 'title', 'status', 'priority', 'queueID'];

const UDF_DEFINITIONS: Partial<Record<EntityName, UdfDefinition[]>> = {
  Contracts: [{ name: PAYG_UDF_NAME, label: PAYG_UDF_NAME, type: 'string', length: 0, isRequired: false, isPickList: true, picklistKey: `Contracts.udf.${PAYG_UDF_NAME}` }],
};

/** Where a child create or update came in (`/Contracts/{id}/Services`): the parent's field and ID. */
export interface ParentLink {
  field: string;
  id: number;
}

const DAY_MS = 86_400_000;
const MAX_PERIODS_PER_SERVICE = 240;

export class AutotaskStore {
  readonly #clock: SimClock;
  readonly #picklists: Picklists;
  readonly #firstId: number;
  #records = new Map<EntityName, Map<number, EntityRecord>>();
  #nextIds = new Map<EntityName, number>();
  #adjustments: EntityRecord[] = [];
  /** Units rows are computed; their IDs stay put once given out. */
  #unitRowIds = new Map<string, number>();
  #ticketSequence = 0;
  /** `Entity.field|value` of picklist values an admin deactivated (a queue taken out of use). */
  #inactivePicklistValues = new Set<string>();
  ticketRequiredFields: string[] = [...DEFAULT_TICKET_REQUIRED_FIELDS];
  apiUserResourceId = 0;
  ownerResourceId = 0;

  constructor(clock: SimClock, picklists: Picklists, instanceSeed: number) {
    this.#clock = clock;
    this.#picklists = picklists;
    this.#firstId = 29_700_000 + instanceSeed * 10;
    this.reset();
  }

  /** Empty, but for the API user and one resource to own companies. */
  reset(): void {
    this.#records = new Map(ENTITY_SPECS.map((spec) => [spec.name, new Map()]));
    this.#nextIds = new Map(ENTITY_SPECS.map((spec) => [spec.name, this.#firstId]));
    this.#adjustments = [];
    this.#unitRowIds = new Map();
    this.#ticketSequence = 0;
    this.#inactivePicklistValues = new Set();
    this.ticketRequiredFields = [...DEFAULT_TICKET_REQUIRED_FIELDS];
    const { username } = DEFAULT_CREDENTIALS.autotask;
    this.apiUserResourceId = this.#insert('Resources', { firstName: 'Sim', lastName: 'API User', email: username, userName: username, title: 'API User (system)', resourceType: 'API', isActive: true });
    this.ownerResourceId = this.#insert('Resources', { firstName: 'Alex', lastName: 'Owner', email: 'alex.owner@example.com', userName: 'aowner', title: 'Account Manager', resourceType: 'Employee', isActive: true });
  }

  picklistValues(key: string): readonly PicklistValue[] {
    return (this.#picklists.get(key) ?? []).map((entry) => (this.#inactivePicklistValues.has(`${key}|${entry.value}`) ? { ...entry, isActive: false } : entry));
  }

  /** What an admin does in Autotask's UI (there is no API for it); false when the list has no such value. */
  setPicklistValueActive(key: string, value: string, active: boolean): boolean {
    if (!(this.#picklists.get(key) ?? []).some((entry) => entry.value === value)) return false;
    if (active) this.#inactivePicklistValues.delete(`${key}|${value}`);
    else this.#inactivePicklistValues.add(`${key}|${value}`);
    return true;
  }

  udfDefinitions(entity: EntityName): UdfDefinition[] {
    return UDF_DEFINITIONS[entity] ?? [];
  }

  isRequired(spec: EntitySpec, field: FieldSpec): boolean {
    return spec.name === 'Tickets' ? this.ticketRequiredFields.some((name) => name.toLowerCase() === field.name.toLowerCase()) : field.isRequired === true;
  }

  /** Every record of the entity, ordered by id as Autotask answers queries. */
  rows(entity: EntityName): EntityRecord[] {
    const rows = entity === 'ContractServiceUnits' ? this.#unitRows() : [...this.#table(entity).values()];
    return rows.sort((a, b) => a.id - b.id);
  }

  get(entity: EntityName, id: number): EntityRecord | undefined {
    return entity === 'ContractServiceUnits' ? this.#unitRows().find((row) => row.id === id) : this.#table(entity).get(id);
  }

  create(entity: EntityName, body: Record<string, unknown>, parent?: ParentLink): number {
    const spec = specOf(entity);
    const input = parent ? { ...body, [parent.field]: parent.id } : body;
    const record = this.#validated(spec, input, undefined, false);
    if (entity === 'ContractServiceAdjustments') return this.#adjust(record);
    if (entity === 'ContractServices') this.#checkContractService(record);
    this.#stamp(spec, record, undefined);
    return this.#insert(entity, record);
  }

  /** PATCH (changed fields only) or PUT (`replace`: omitted fields are reset); the id is in the body. */
  update(entity: EntityName, body: Record<string, unknown>, replace: boolean, parent?: ParentLink): number {
    const spec = specOf(entity);
    const id = Number(property(body, 'id'));
    const existing = Number.isInteger(id) ? this.#table(entity).get(id) : undefined;
    if (!existing || (parent && existing[parent.field] !== parent.id)) throw new AutotaskRequestError(`No matching records found for ${entity} id ${String(property(body, 'id'))}. The logged in Resource may not have the required permissions to update the data.`);
    const record = this.#validated(spec, parent ? { ...body, [parent.field]: parent.id } : body, existing, replace);
    this.#stamp(spec, record, existing);
    this.#table(entity).set(id, record);
    return id;
  }

  delete(entity: EntityName, id: number, parent?: ParentLink): number {
    const existing = this.#table(entity).get(id);
    if (!existing || (parent && existing[parent.field] !== parent.id)) throw new AutotaskRequestError('No matching records found. The logged in Resource may not have the required permissions to delete the data.');
    if (entity === 'ContractServices' && this.#adjustments.some((adjustment) => adjustment.contractServiceID === id)) {
      throw new AutotaskRequestError('A contract service that has unit adjustments cannot be deleted.');
    }
    this.#table(entity).delete(id);
    return id;
  }

  snapshot(): Record<string, unknown> {
    return {
      ...Object.fromEntries(ENTITY_SPECS.filter((spec) => spec.canQuery).map((spec) => [spec.name, this.rows(spec.name)])),
      ContractServiceAdjustments: this.#adjustments,
      ticketRequiredFields: this.ticketRequiredFields,
    };
  }

  #table(entity: EntityName): Map<number, EntityRecord> {
    const table = this.#records.get(entity);
    if (!table) throw new Error(`no table for ${entity}`);
    return table;
  }

  #newId(entity: EntityName): number {
    const id = this.#nextIds.get(entity) ?? this.#firstId;
    this.#nextIds.set(entity, id + 1);
    return id;
  }

  #insert(entity: EntityName, fields: Record<string, unknown>): number {
    const id = this.#newId(entity);
    this.#table(entity).set(id, { ...fields, id } as EntityRecord);
    return id;
  }

  #validated(spec: EntitySpec, body: Record<string, unknown>, existing: EntityRecord | undefined, replace: boolean): EntityRecord {
    const record: Record<string, unknown> = {};
    const base = existing && !replace ? existing : undefined;
    for (const field of spec.fields) {
      if (field.name === 'id') continue;
      record[field.name] = base ? base[field.name] : field.isReadOnly && existing ? existing[field.name] : (field.defaultValue ?? null);
    }
    for (const [key, value] of Object.entries(body)) {
      const field = fieldOf(spec, key);
      if (!field || field.name === 'id' || field.isReadOnly) continue;
      if (existing && spec.updatableFields && !spec.updatableFields.includes(field.name)) continue;
      record[field.name] = value === null ? null : this.#checkedValue(spec, field, value);
    }
    for (const field of spec.fields) {
      if (this.isRequired(spec, field) && (record[field.name] === null || record[field.name] === undefined || record[field.name] === '')) {
        throw new AutotaskRequestError(`Value does not exist for the required field ${field.name}.`);
      }
      if (field.picklistParentValueField && record[field.name] !== null) {
        const parentValue = String(record[field.picklistParentValueField] ?? '');
        const entry = this.picklistValues(`${spec.name}.${field.name}`).find((candidate) => candidate.value === String(record[field.name]));
        if (entry?.parentValue !== parentValue) throw new AutotaskRequestError(`Value ${String(record[field.name])} is not a valid picklist value for field ${field.name} under ${field.picklistParentValueField} ${parentValue || '(none)'}.`);
      }
    }
    if (spec.hasUserDefinedFields) record.userDefinedFields = this.#userDefinedFields(spec, property(body, 'userDefinedFields'), base?.userDefinedFields);
    const result = { id: existing?.id ?? 0, ...record } as EntityRecord;
    this.#checkDates(spec, result);
    return result;
  }

  #checkedValue(spec: EntitySpec, field: FieldSpec, value: unknown): unknown {
    const invalid = (why: string) => new AutotaskRequestError(`Invalid value '${String(value)}' for field ${field.name}: ${why}.`);
    let checked: unknown;
    switch (field.dataType) {
      case 'integer':
      case 'long': {
        const number = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
        if (typeof number !== 'number' || !Number.isInteger(number)) throw invalid('must be a whole number');
        checked = number;
        break;
      }
      case 'decimal': {
        const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
        if (typeof number !== 'number' || !Number.isFinite(number)) throw invalid('must be a number');
        checked = number;
        break;
      }
      case 'boolean':
        if (typeof value !== 'boolean') throw invalid('must be true or false');
        checked = value;
        break;
      case 'datetime': {
        const at = typeof value === 'string' ? Date.parse(value) : Number.NaN;
        if (Number.isNaN(at)) throw invalid('must be an ISO-8601 date');
        checked = new Date(at).toISOString();
        break;
      }
      default:
        if (typeof value !== 'string') throw invalid('must be a string');
        if (field.length && value.length > field.length) throw new AutotaskRequestError(`The value for field ${field.name} exceeds the maximum length of ${field.length}.`);
        checked = value;
    }
    if (field.isPickList && !this.picklistValues(`${spec.name}.${field.name}`).some((entry) => entry.isActive && entry.value === String(checked))) {
      throw new AutotaskRequestError(`Value ${String(checked)} is not a valid picklist value for field ${field.name}.`);
    }
    if (field.reference && !this.#table(field.reference).has(checked as number)) {
      throw new AutotaskRequestError(`Reference value on field: ${field.name} of type: ${field.reference} does not exist or is invalid.`);
    }
    return checked;
  }

  #userDefinedFields(spec: EntitySpec, raw: unknown, previous: UserDefinedField[] | undefined): UserDefinedField[] {
    const definitions = this.udfDefinitions(spec.name);
    const values = new Map(definitions.map((definition) => [definition.name, previous?.find((udf) => udf.name === definition.name)?.value ?? null]));
    if (raw !== undefined && raw !== null) {
      if (!Array.isArray(raw)) throw new AutotaskRequestError('userDefinedFields must be an array of {name, value}.');
      for (const item of raw as unknown[]) {
        const name = typeof item === 'object' && item !== null ? property(item as Record<string, unknown>, 'name') : undefined;
        const definition = definitions.find((candidate) => typeof name === 'string' && candidate.name.toLowerCase() === name.toLowerCase());
        if (!definition) throw new AutotaskRequestError(`Unable to find user-defined field '${String(name)}' on ${spec.name}.`);
        const value = property(item as Record<string, unknown>, 'value');
        if (value !== null && value !== undefined && typeof value !== 'string') throw new AutotaskRequestError(`Invalid value for user-defined field '${definition.name}': must be a string.`);
        if (definition.picklistKey && typeof value === 'string' && !this.picklistValues(definition.picklistKey).some((entry) => entry.value === value)) {
          throw new AutotaskRequestError(`Value ${value} is not a valid picklist value for user-defined field '${definition.name}'.`);
        }
        values.set(definition.name, value ?? null);
      }
    }
    for (const definition of definitions) {
      if (definition.isRequired && values.get(definition.name) === null) throw new AutotaskRequestError(`Value does not exist for the required user-defined field ${definition.name}.`);
    }
    return [...values].map(([name, value]) => ({ name, value }));
  }

  #checkDates(spec: EntitySpec, record: EntityRecord): void {
    if (spec.name === 'Contracts' && typeof record.startDate === 'string' && typeof record.endDate === 'string' && record.endDate < record.startDate) {
      throw new AutotaskRequestError('The contract end date must not be before its start date.');
    }
  }

  /** System-maintained fields: creation times, ticket numbers, completion. */
  #stamp(spec: EntitySpec, record: EntityRecord, existing: EntityRecord | undefined): void {
    const now = this.#clock.now().toISOString();
    const set = (name: string, value: unknown) => {
      if (fieldOf(spec, name)) record[name] = value;
    };
    if (!existing) {
      set('createDate', now);
      set('createDateTime', now);
      set('creatorResourceID', this.apiUserResourceId);
    }
    set('lastActivityDate', now);
    set('lastModifiedDate', now);
    set('lastModifiedDateTime', now);
    set('lastTrackedModifiedDateTime', now);
    set('lastTrackedModificationDateTime', now);
    if (spec.name !== 'Tickets') return;
    if (!existing) record.ticketNumber = `T${now.slice(0, 10).replaceAll('-', '')}.${String(++this.#ticketSequence).padStart(4, '0')}`;
    const completed = record.status === TICKET_STATUS_COMPLETE;
    if (completed && existing?.status !== TICKET_STATUS_COMPLETE) {
      record.completedDate = now;
      record.completedByResourceID = this.apiUserResourceId;
    } else if (!completed) {
      record.completedDate = null;
      record.completedByResourceID = null;
    }
  }

  #recurringContract(contractId: unknown): EntityRecord {
    const contract = this.#table('Contracts').get(contractId as number);
    if (!contract) throw new AutotaskRequestError(`Reference value on field: contractID of type: Contracts does not exist or is invalid.`);
    if (contract.contractType !== CONTRACT_TYPE_RECURRING_SERVICE) throw new AutotaskRequestError('Services cannot be added to a contract that is not a Recurring Service contract.');
    return contract;
  }

  #checkContractService(record: EntityRecord): void {
    this.#recurringContract(record.contractID);
    if (this.rows('ContractServices').some((existing) => existing.contractID === record.contractID && existing.serviceID === record.serviceID)) {
      throw new AutotaskRequestError('The service is already on this contract and cannot be added again.');
    }
    if (record.unitPrice === null) record.unitPrice = this.#table('Services').get(record.serviceID as number)?.unitPrice ?? 0;
  }

  /** Records the adjustment (creating the contract service when the contract lacks it); units follow from it. */
  #adjust(record: EntityRecord): number {
    const contract = this.#recurringContract(record.contractID);
    const effective = String(record.effectiveDate).slice(0, 10);
    if (effective < String(contract.startDate).slice(0, 10) || effective > String(contract.endDate).slice(0, 10)) {
      throw new AutotaskRequestError("The effective date must be within the contract's start and end dates.");
    }
    let contractService = this.rows('ContractServices').find((candidate) =>
      record.contractServiceID !== null ? candidate.id === record.contractServiceID : candidate.contractID === record.contractID && candidate.serviceID === record.serviceID,
    );
    if (contractService && (contractService.contractID !== record.contractID || contractService.serviceID !== record.serviceID)) {
      throw new AutotaskRequestError('The contractServiceID is not valid for this contract and service.');
    }
    if (!contractService) {
      const created = this.create('ContractServices', { contractID: record.contractID, serviceID: record.serviceID });
      contractService = this.#table('ContractServices').get(created);
    }
    const id = this.#newId('ContractServiceAdjustments');
    this.#adjustments.push({ ...record, id, contractServiceID: contractService?.id ?? null, effectiveDate: `${effective}T00:00:00.000Z` });
    return id;
  }

  #unitRows(): EntityRecord[] {
    const rows: EntityRecord[] = [];
    for (const contractService of this.#table('ContractServices').values()) {
      const contract = this.#table('Contracts').get(contractService.contractID as number);
      if (!contract) continue;
      const start = String(contract.startDate).slice(0, 10);
      const end = String(contract.endDate).slice(0, 10);
      const adjustments = this.#adjustments.filter((adjustment) => adjustment.contractServiceID === contractService.id);
      const boundaries = new Set(monthStarts(start, end));
      for (const adjustment of adjustments) {
        const effective = String(adjustment.effectiveDate).slice(0, 10);
        if (effective >= start && effective <= end) boundaries.add(effective);
      }
      const starts = [...boundaries].sort();
      for (const [index, rowStart] of starts.entries()) {
        const next = starts[index + 1];
        const units = adjustments.filter((adjustment) => String(adjustment.effectiveDate).slice(0, 10) <= rowStart).reduce((sum, adjustment) => sum + Number(adjustment.unitChange), 0);
        const key = `${contractService.id}:${rowStart}`;
        let id = this.#unitRowIds.get(key);
        if (id === undefined) {
          id = this.#newId('ContractServiceUnits');
          this.#unitRowIds.set(key, id);
        }
        const unitPrice = Number(contractService.adjustedPrice ?? contractService.unitPrice ?? 0);
        const unitCost = Number(contractService.unitCost ?? 0);
        rows.push({
          id,
          contractID: contract.id,
          contractServiceID: contractService.id,
          serviceID: contractService.serviceID,
          startDate: `${rowStart}T00:00:00.000Z`,
          endDate: `${next ? addDays(next, -1) : end}T00:00:00.000Z`,
          units,
          price: units * unitPrice,
          cost: units * unitCost,
          internalCurrencyPrice: units * unitPrice,
          approveAndPostDate: null,
          vendorCompanyID: null,
          organizationalLevelAssociationID: null,
        });
      }
    }
    return rows;
  }
}

function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/** The contract's billing periods: its start, then the first of every month up to its end. */
function monthStarts(start: string, end: string): string[] {
  const starts = [start];
  let year = Number(start.slice(0, 4));
  let month = Number(start.slice(5, 7));
  while (starts.length < MAX_PERIODS_PER_SERVICE) {
    month += 1;
    if (month > 12) {
      year += 1;
      month = 1;
    }
    const next = `${year}-${String(month).padStart(2, '0')}-01`;
    if (next > end) break;
    starts.push(next);
  }
  return starts;
}
