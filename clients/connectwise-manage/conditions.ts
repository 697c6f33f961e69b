/**
 * Builds ConnectWise Manage `conditions` text without string pasting: values are quoted and escaped,
 * datetimes bracketed without milliseconds, field paths checked.
 */

export type ConditionValue = string | number | boolean | Date | null;
export type ConditionOperator = '=' | '!=' | '<' | '<=' | '>' | '>=' | 'contains' | 'like' | 'not contains' | 'not like' | 'in' | 'not in';

const FIELD_PATH = /^[A-Za-z_][A-Za-z0-9_]*(\/[A-Za-z_][A-Za-z0-9_]*)*$/;

export function conditionLiteral(value: ConditionValue): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`not a finite number: ${value}`);
    return String(value);
  }
  if (value instanceof Date) return `[${value.toISOString().replace(/\.\d{3}Z$/, 'Z')}]`;
  return `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/** `field op value`; `in` takes a list. */
export function condition(field: string, operator: ConditionOperator, value: ConditionValue | readonly ConditionValue[]): string {
  if (!FIELD_PATH.test(field)) throw new RangeError(`not a ConnectWise field path: ${field}`);
  const listOperator = operator === 'in' || operator === 'not in';
  if (listOperator !== Array.isArray(value)) throw new TypeError(`${operator} ${listOperator ? 'needs a list' : 'takes a single value'}`);
  const text = Array.isArray(value) ? `(${(value as readonly ConditionValue[]).map(conditionLiteral).join(', ')})` : conditionLiteral(value as ConditionValue);
  return `${field} ${operator} ${text}`;
}

function join(word: 'and' | 'or', parts: readonly (string | undefined)[]): string | undefined {
  const present = parts.filter((part): part is string => part !== undefined && part !== '');
  if (present.length <= 1) return present[0];
  return present.map((part) => `(${part})`).join(` ${word} `);
}

/** Conjunction of the given parts, skipping undefined ones; undefined when nothing is left. */
export function allOf(...parts: (string | undefined)[]): string | undefined {
  return join('and', parts);
}

export function anyOf(...parts: (string | undefined)[]): string | undefined {
  return join('or', parts);
}
