import { VendorApiError } from '../http.ts';

/**
 * A `condition` for Automate list queries, built only from checked fields and quoted values, so
 * no caller-supplied text can change the query's shape.
 */
export interface Condition {
  readonly text: string;
}

export type ConditionValue = string | number | boolean | Date | null;

const FIELD = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

function invalid(message: string): VendorApiError {
  return new VendorApiError({ system: 'connectwise-automate', kind: 'validation', operation: 'build condition', message });
}

function field(name: string): string {
  if (!FIELD.test(name)) throw invalid(`'${name}' is not a field name (letters, digits, '_' and dots only)`);
  return name;
}

/** Automate's grammar has no escape: a string is quoted with whichever quote it does not contain. */
function literal(value: ConditionValue): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalid(`${value} is not a finite number`);
    return String(value);
  }
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw invalid('invalid date');
    return value.toISOString();
  }
  if (!value.includes("'")) return `'${value}'`;
  if (!value.includes('"')) return `"${value}"`;
  throw invalid('a condition value cannot contain both single and double quotes');
}

const compare = (name: string, operator: string, value: ConditionValue): Condition => ({ text: `${field(name)} ${operator} ${literal(value)}` });

function list(values: readonly ConditionValue[]): string {
  if (values.length === 0) throw invalid("'in' needs at least one value");
  return `(${values.map(literal).join(',')})`;
}

function combine(operator: 'and' | 'or', conditions: readonly Condition[]): Condition {
  if (conditions.length === 0) throw invalid(`'${operator}' needs at least one condition`);
  if (conditions.length === 1 && conditions[0]) return conditions[0];
  return { text: conditions.map((condition) => `(${condition.text})`).join(` ${operator} `) };
}

export const where = {
  eq: (name: string, value: ConditionValue) => compare(name, '=', value),
  ne: (name: string, value: ConditionValue) => compare(name, '!=', value),
  gt: (name: string, value: number | Date) => compare(name, '>', value),
  gte: (name: string, value: number | Date) => compare(name, '>=', value),
  lt: (name: string, value: number | Date) => compare(name, '<', value),
  lte: (name: string, value: number | Date) => compare(name, '<=', value),
  /** SQL pattern: `%` any run, `_` one character. */
  like: (name: string, pattern: string) => compare(name, 'like', pattern),
  notLike: (name: string, pattern: string) => compare(name, 'not like', pattern),
  /** Substring of a text field, or an element of an array field (`OpenPortsTCP`). */
  contains: (name: string, value: string | number) => compare(name, 'contains', value),
  notContains: (name: string, value: string | number) => compare(name, 'not contains', value),
  in: (name: string, values: readonly ConditionValue[]): Condition => ({ text: `${field(name)} in ${list(values)}` }),
  notIn: (name: string, values: readonly ConditionValue[]): Condition => ({ text: `${field(name)} not in ${list(values)}` }),
  and: (...conditions: Condition[]) => combine('and', conditions),
  or: (...conditions: Condition[]) => combine('or', conditions),
};
