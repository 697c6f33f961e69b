/**
 * The REST query model: `{ filter: [...], MaxRecords, IncludeFields }`, with keys, field names and
 * operator names matched case-insensitively, top-level conditions AND-ed, `and`/`or` groups with
 * `items`, and `udf: true` conditions against `userDefinedFields`. Mistakes answer as Autotask
 * does: 500 with `{errors: [...]}` (`ne` is not an operator; `noteq` is).
 */
import { fieldOf, type DataType, type EntitySpec } from './entities.ts';
import type { EntityRecord } from './store.ts';

export class AutotaskRequestError extends Error {
  readonly status: number;

  constructor(message: string, status = 500) {
    super(message);
    this.status = status;
  }
}

export const MAX_RECORDS = 500;
const MAX_OR_CONDITIONS = 500;

const COMPARISONS = ['eq', 'noteq', 'gt', 'gte', 'lt', 'lte', 'beginswith', 'endswith', 'contains'] as const;
const EXISTENCE = ['exist', 'notexist'] as const;
const LISTS = ['in', 'notin'] as const;
const GROUPS = ['and', 'or'] as const;

export type Predicate = (record: EntityRecord) => boolean;

export interface ParsedQuery {
  predicate: Predicate;
  maxRecords: number;
  includeFields: string[] | undefined;
}

/** Reads an object's keys case-insensitively, as Autotask's deserialiser does. */
export function property(source: Record<string, unknown>, name: string): unknown {
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(source)) if (key.toLowerCase() === lower) return value;
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function parseQuery(raw: unknown, spec: EntitySpec): ParsedQuery {
  if (!isObject(raw)) throw new AutotaskRequestError('The search parameter is not a valid JSON query object.');
  const filter = property(raw, 'filter');
  if (!Array.isArray(filter) || filter.length === 0) throw new AutotaskRequestError('A query must contain at least one filter condition; use {"op":"exist","field":"id"} to query every record.');
  const counter = { or: 0 };
  const conditions = filter.map((item) => compile(item, spec, counter, false));
  const maxRecordsRaw = property(raw, 'maxRecords');
  const maxRecords = maxRecordsRaw === undefined || maxRecordsRaw === null ? MAX_RECORDS : Number(maxRecordsRaw);
  if (!Number.isInteger(maxRecords) || maxRecords < 1 || maxRecords > MAX_RECORDS) throw new AutotaskRequestError(`MaxRecords must be between 1 and ${MAX_RECORDS}.`);
  const includeRaw = property(raw, 'includeFields');
  let includeFields: string[] | undefined;
  if (Array.isArray(includeRaw) && includeRaw.length > 0) {
    includeFields = includeRaw.map((name) => {
      const field = typeof name === 'string' ? fieldOf(spec, name) : undefined;
      if (!field) throw new AutotaskRequestError(`Unable to find field '${String(name)}' in the ${spec.name} entity (IncludeFields).`);
      return field.name;
    });
  }
  return { predicate: (record) => conditions.every((condition) => condition(record)), maxRecords, includeFields };
}

function compile(raw: unknown, spec: EntitySpec, counter: { or: number }, insideOr: boolean): Predicate {
  if (!isObject(raw)) throw new AutotaskRequestError('Each filter condition must be an object with an op.');
  const opRaw = property(raw, 'op');
  const op = typeof opRaw === 'string' ? opRaw.toLowerCase() : '';
  if ((GROUPS as readonly string[]).includes(op)) {
    const items = property(raw, 'items');
    if (!Array.isArray(items) || items.length === 0) throw new AutotaskRequestError(`The '${op}' condition requires a non-empty items array.`);
    const parts = items.map((item) => compile(item, spec, counter, op === 'or' || insideOr));
    return op === 'and' ? (record) => parts.every((part) => part(record)) : (record) => parts.some((part) => part(record));
  }
  if (![...COMPARISONS, ...EXISTENCE, ...LISTS].includes(op as never)) throw new AutotaskRequestError(`'${String(opRaw)}' is not a valid query operator.`);
  if (insideOr && ++counter.or > MAX_OR_CONDITIONS) throw new AutotaskRequestError(`Invalid query syntax: a query is limited to ${MAX_OR_CONDITIONS} OR conditions.`);

  const fieldName = property(raw, 'field');
  if (typeof fieldName !== 'string' || fieldName === '') throw new AutotaskRequestError(`The '${op}' condition requires a field.`);
  const udf = property(raw, 'udf') === true;
  const read = udf ? udfReader(fieldName) : fieldReader(spec, fieldName);
  const dataType: DataType = udf ? 'string' : (fieldOf(spec, fieldName)?.dataType ?? 'string');

  if (op === 'exist') return (record) => present(read(record));
  if (op === 'notexist') return (record) => !present(read(record));

  const value = property(raw, 'value');
  if (op === 'in' || op === 'notin') {
    if (!Array.isArray(value)) throw new AutotaskRequestError(`The '${op}' operator requires an array value for field ${fieldName}.`);
    const wanted = value.map((item) => coerce(item, dataType, fieldName));
    const isIn = (record: EntityRecord) => {
      const actual = comparable(read(record), dataType);
      return actual !== undefined && wanted.some((candidate) => candidate === actual);
    };
    return op === 'in' ? isIn : (record) => !isIn(record);
  }
  const expected = coerce(value, dataType, fieldName);
  return (record) => {
    const actual = comparable(read(record), dataType);
    if (actual === undefined) return op === 'noteq';
    switch (op) {
      case 'eq':
        return actual === expected;
      case 'noteq':
        return actual !== expected;
      case 'gt':
        return actual > expected;
      case 'gte':
        return actual >= expected;
      case 'lt':
        return actual < expected;
      case 'lte':
        return actual <= expected;
      case 'beginswith':
        return String(actual).startsWith(String(expected));
      case 'endswith':
        return String(actual).endsWith(String(expected));
      default:
        return String(actual).includes(String(expected));
    }
  };
}

function fieldReader(spec: EntitySpec, name: string): (record: EntityRecord) => unknown {
  const field = fieldOf(spec, name);
  if (!field) throw new AutotaskRequestError(`Unable to find field '${name}' in the ${spec.name} entity.`);
  return (record) => record[field.name];
}

function udfReader(name: string): (record: EntityRecord) => unknown {
  const lower = name.toLowerCase();
  return (record) => record.userDefinedFields?.find((udf) => udf.name.toLowerCase() === lower)?.value;
}

function present(value: unknown): boolean {
  return value !== null && value !== undefined && value !== '';
}

type Comparable = string | number | boolean;

/** A stored value in the form conditions compare against (strings compare case-insensitively). */
function comparable(value: unknown, dataType: DataType): Comparable | undefined {
  if (value === null || value === undefined) return undefined;
  if (dataType === 'datetime') return Date.parse(String(value));
  if (typeof value === 'string') return dataType === 'string' ? value.toLowerCase() : value;
  return value as Comparable;
}

function coerce(value: unknown, dataType: DataType, field: string): Comparable {
  if (value === undefined) throw new AutotaskRequestError(`A value is required to filter on field ${field}.`);
  switch (dataType) {
    case 'boolean':
      if (value === true || value === 1 || value === 'true' || value === '1') return true;
      if (value === false || value === 0 || value === 'false' || value === '0') return false;
      throw new AutotaskRequestError(`Invalid value '${String(value)}' for boolean field ${field}: must be true or false.`);
    case 'integer':
    case 'long':
    case 'decimal': {
      const number = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
      if (Number.isNaN(number)) throw new AutotaskRequestError(`Invalid value '${String(value)}' for numeric field ${field}.`);
      return number;
    }
    case 'datetime': {
      const at = typeof value === 'string' ? Date.parse(value) : Number.NaN;
      if (Number.isNaN(at)) throw new AutotaskRequestError(`Invalid value '${String(value)}' for date field ${field}.`);
      return at;
    }
    default:
      if (value === null || typeof value === 'object') throw new AutotaskRequestError(`Invalid value for field ${field}.`);
      return String(value).toLowerCase();
  }
}
