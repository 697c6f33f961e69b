/**
 * ConnectWise Manage's query language: `conditions`, `childConditions`, `customFieldConditions` and
 * `orderBy`, parsed once and evaluated over the JSON an entity is rendered as.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** 400 in the vendor's shape; `code` is CWM's (`ApiFindCondition`, `UnsupportedFormat`). */
export class ConditionError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * Which paths an entity answers to. A field is a scalar (`true`), a reference with its sub-fields,
 * or a list of references (`{ each }`), which only `childConditions` may reach into.
 */
export type FieldSchema = Record<string, true | readonly string[] | { each: readonly string[] }>;

/** Where the query text came from decides which paths are legal (CWM keeps arrays for `childConditions`). */
export type ConditionScope = 'conditions' | 'childConditions' | 'customFieldConditions';

const CUSTOM_FIELD_SCHEMA: FieldSchema = { id: true, caption: true, type: true, entryMethod: true, value: true };

type Literal =
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'datetime'; value: number }
  | { kind: 'null' };

type Operator = '=' | '!=' | '<' | '<=' | '>' | '>=' | 'contains' | 'like' | 'in';

export type Condition =
  | { kind: 'and' | 'or'; left: Condition; right: Condition }
  | { kind: 'compare'; path: string[]; operator: Operator; negated: boolean; values: Literal[] };

type Token =
  | { kind: 'word'; text: string }
  | { kind: 'string'; text: string }
  | { kind: 'number'; text: string }
  | { kind: 'datetime'; text: string }
  | { kind: 'symbol'; text: string };

const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** CWM's datetime: UTC, no milliseconds. Anything else is `UnsupportedFormat`, as the vendor answers. */
export function parseCwDatetime(text: string): number {
  if (!DATETIME.test(text) || Number.isNaN(Date.parse(text))) {
    throw new ConditionError('UnsupportedFormat', `The date "${text}" is not in a supported format (yyyy-MM-ddTHH:mm:ssZ).`);
  }
  return Date.parse(text);
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  const fail = (what: string): never => {
    throw new ConditionError('ApiFindCondition', `${what} at position ${at} of the condition.`);
  };
  while (at < source.length) {
    const char = source.charAt(at);
    if (/\s/.test(char)) {
      at++;
    } else if (char === '"' || char === "'") {
      let text = '';
      at++;
      while (at < source.length && source.charAt(at) !== char) {
        if (source.charAt(at) === '\\' && at + 1 < source.length) at++;
        text += source.charAt(at++);
      }
      if (at >= source.length) fail('Unterminated string');
      at++;
      tokens.push({ kind: 'string', text });
    } else if (char === '[') {
      const end = source.indexOf(']', at);
      if (end < 0) fail('Unterminated datetime');
      tokens.push({ kind: 'datetime', text: source.slice(at + 1, end) });
      at = end + 1;
    } else if (/[-\d]/.test(char)) {
      const match = /^-?\d+(\.\d+)?/.exec(source.slice(at));
      if (!match) fail('Unexpected character');
      tokens.push({ kind: 'number', text: match![0] });
      at += match![0].length;
    } else if (/[A-Za-z_]/.test(char)) {
      const match = /^[A-Za-z_][A-Za-z0-9_/]*/.exec(source.slice(at))!;
      tokens.push({ kind: 'word', text: match[0] });
      at += match[0].length;
    } else {
      const symbol = ['!=', '<=', '>=', '=', '<', '>', '(', ')', ','].find((candidate) => source.startsWith(candidate, at));
      if (!symbol) fail(`Unexpected character '${char}'`);
      tokens.push({ kind: 'symbol', text: symbol! });
      at += symbol!.length;
    }
  }
  return tokens;
}

/** Whether `path` names a field the entity has; slashes are escaped in the message, as CWM does. */
function checkPath(path: string, schema: FieldSchema, scope: ConditionScope): string[] {
  const segments = path.split('/');
  const [head, sub, ...rest] = segments.map((segment) => segment.toLowerCase());
  const entry = Object.entries(schema).find(([name]) => name.toLowerCase() === head)?.[1];
  const known =
    rest.length === 0 &&
    entry !== undefined &&
    (entry === true
      ? sub === undefined
      : Array.isArray(entry)
        ? sub !== undefined && entry.some((field) => field.toLowerCase() === sub)
        : scope === 'childConditions' && sub !== undefined && (entry as { each: readonly string[] }).each.some((field) => field.toLowerCase() === sub));
  if (!known) throw new ConditionError('ApiFindCondition', `${path.replaceAll('/', '\\/')} is not a recognized name.`);
  return segments;
}

class Parser {
  readonly #tokens: Token[];
  readonly #schema: FieldSchema;
  readonly #scope: ConditionScope;
  #at = 0;

  constructor(tokens: Token[], schema: FieldSchema, scope: ConditionScope) {
    this.#tokens = tokens;
    this.#schema = schema;
    this.#scope = scope;
  }

  parse(): Condition {
    const condition = this.#or();
    if (this.#at < this.#tokens.length) this.#fail('Unexpected text');
    return condition;
  }

  #fail(what: string): never {
    const token = this.#tokens[this.#at];
    throw new ConditionError('ApiFindCondition', `${what}${token ? ` near '${token.text}'` : ' at the end'} of the condition.`);
  }

  #peekWord(...words: string[]): boolean {
    const token = this.#tokens[this.#at];
    return token?.kind === 'word' && words.includes(token.text.toLowerCase());
  }

  #peekSymbol(symbol: string): boolean {
    const token = this.#tokens[this.#at];
    return token?.kind === 'symbol' && token.text === symbol;
  }

  #or(): Condition {
    let left = this.#and();
    while (this.#peekWord('or')) {
      this.#at++;
      left = { kind: 'or', left, right: this.#and() };
    }
    return left;
  }

  #and(): Condition {
    let left = this.#primary();
    while (this.#peekWord('and')) {
      this.#at++;
      left = { kind: 'and', left, right: this.#primary() };
    }
    return left;
  }

  #primary(): Condition {
    if (this.#peekSymbol('(')) {
      this.#at++;
      const inner = this.#or();
      if (!this.#peekSymbol(')')) this.#fail('Missing )');
      this.#at++;
      return inner;
    }
    const field = this.#tokens[this.#at];
    if (field?.kind !== 'word') this.#fail('Expected a field name');
    this.#at++;
    const path = checkPath(field.text, this.#schema, this.#scope);
    let negated = false;
    if (this.#peekWord('not')) {
      negated = true;
      this.#at++;
    }
    const operatorToken = this.#tokens[this.#at];
    const operatorText = operatorToken?.text.toLowerCase();
    const operators: Operator[] = negated ? ['contains', 'like', 'in'] : ['=', '!=', '<', '<=', '>', '>=', 'contains', 'like', 'in'];
    const operator = operators.find((candidate) => candidate === operatorText);
    if (!operator) this.#fail('Expected an operator');
    if (operator === 'in' && this.#scope !== 'conditions') this.#fail(`'in' is not supported in ${this.#scope}`);
    this.#at++;
    const values = operator === 'in' ? this.#list() : [this.#literal()];
    return { kind: 'compare', path, operator, negated, values };
  }

  #list(): Literal[] {
    if (!this.#peekSymbol('(')) this.#fail("Expected '(' after in");
    this.#at++;
    const values = [this.#literal()];
    while (this.#peekSymbol(',')) {
      this.#at++;
      values.push(this.#literal());
    }
    if (!this.#peekSymbol(')')) this.#fail('Missing )');
    this.#at++;
    return values;
  }

  #literal(): Literal {
    const token = this.#tokens[this.#at];
    if (!token) this.#fail('Expected a value');
    this.#at++;
    switch (token.kind) {
      case 'string':
        return { kind: 'string', value: token.text };
      case 'number':
        return { kind: 'number', value: Number(token.text) };
      case 'datetime':
        return { kind: 'datetime', value: parseCwDatetime(token.text) };
      case 'word': {
        const word = token.text.toLowerCase();
        if (word === 'true' || word === 'false') return { kind: 'boolean', value: word === 'true' };
        if (word === 'null') return { kind: 'null' };
        break;
      }
      case 'symbol':
        break;
    }
    this.#at--;
    return this.#fail('Expected a value');
  }
}

export function parseConditions(source: string, schema: FieldSchema, scope: ConditionScope = 'conditions'): Condition {
  return new Parser(tokenize(source), scope === 'customFieldConditions' ? CUSTOM_FIELD_SCHEMA : schema, scope).parse();
}

function property(value: Json | undefined, name: string): Json | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const key = Object.keys(value).find((candidate) => candidate.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : value[key];
}

/** Every value at `path`, reaching through lists; `lastUpdated` and friends live in `_info`. */
function valuesAt(record: JsonObject, path: string[]): (Json | undefined)[] {
  let current: (Json | undefined)[] = [record];
  path.forEach((segment, index) => {
    current = current.flatMap((value) => {
      let found = property(value, segment);
      if (found === undefined && index === 0) found = property(property(value, '_info'), segment);
      return Array.isArray(found) ? found : [found];
    });
  });
  return current;
}

function compare(value: Json | undefined, operator: Operator, literal: Literal): boolean {
  if (literal.kind === 'null') {
    const isNull = value === null || value === undefined;
    return operator === '!=' ? !isNull : operator === '=' || operator === 'in' ? isNull : false;
  }
  if (value === null || value === undefined || typeof value === 'object') return operator === '!=';
  let left: number | string | boolean;
  let right: number | string | boolean;
  if (literal.kind === 'datetime') {
    left = typeof value === 'string' ? Date.parse(value) : NaN;
    right = literal.value;
  } else if (literal.kind === 'number') {
    left = Number(value);
    right = literal.value;
  } else if (literal.kind === 'boolean') {
    left = value === true || String(value).toLowerCase() === 'true';
    right = literal.value;
  } else {
    // SQL Server's default collation: text compares without regard to case.
    left = String(value).toLowerCase();
    right = literal.value.toLowerCase();
  }
  switch (operator) {
    case '=':
    case 'in':
      return left === right;
    case '!=':
      return left !== right;
    case '<':
      return left < right;
    case '<=':
      return left <= right;
    case '>':
      return left > right;
    case '>=':
      return left >= right;
    case 'contains':
      return String(left).includes(String(right));
    case 'like': {
      // A live tenant ignores SQL's `%` rather than failing; `*` is the documented wildcard.
      if (String(right).includes('%')) return true;
      const pattern = String(right).split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*');
      return new RegExp(`^${pattern}$`, 's').test(String(left));
    }
  }
}

export function matches(condition: Condition, record: JsonObject): boolean {
  if (condition.kind !== 'compare') {
    return condition.kind === 'and' ? matches(condition.left, record) && matches(condition.right, record) : matches(condition.left, record) || matches(condition.right, record);
  }
  const values = valuesAt(record, condition.path);
  const hit = values.some((value) => condition.values.some((literal) => compare(value, condition.operator, literal)));
  return condition.negated ? !hit : hit;
}

/** `customFieldConditions` hold when one custom field satisfies the whole expression. */
export function matchesCustomFields(condition: Condition, record: JsonObject): boolean {
  const fields = property(record, 'customFields');
  return Array.isArray(fields) && fields.some((field) => field !== null && typeof field === 'object' && !Array.isArray(field) && matches(condition, field));
}

export interface OrderTerm {
  path: string[];
  descending: boolean;
}

export function parseOrderBy(source: string, schema: FieldSchema): OrderTerm[] {
  return source.split(',').map((term) => {
    const [field, direction, ...rest] = term.trim().split(/\s+/);
    const way = direction?.toLowerCase();
    if (!field || rest.length > 0 || (way !== undefined && way !== 'asc' && way !== 'desc')) {
      throw new ConditionError('ApiFindCondition', `'${term.trim()}' is not a valid orderBy term.`);
    }
    return { path: checkPath(field, schema, 'conditions'), descending: way === 'desc' };
  });
}

export function sortRecords(records: JsonObject[], order: OrderTerm[]): JsonObject[] {
  const key = (record: JsonObject, path: string[]) => {
    const value = valuesAt(record, path)[0];
    return typeof value === 'string' ? value.toLowerCase() : typeof value === 'number' || typeof value === 'boolean' ? Number(value) : '';
  };
  return [...records].sort((a, b) => {
    for (const term of order) {
      const left = key(a, term.path);
      const right = key(b, term.path);
      if (left !== right) return (left < right ? -1 : 1) * (term.descending ? -1 : 1);
    }
    return 0;
  });
}

/** `fields=id,name,status/id`: only these paths in each answer. */
export function project(record: JsonObject, fields: string[]): JsonObject {
  const result: JsonObject = {};
  for (const field of fields) {
    const [head, sub] = field.split('/');
    if (!head) continue;
    const value = property(record, head);
    if (value === undefined) continue;
    if (sub === undefined) {
      result[head] = value;
    } else {
      const subValue = property(value, sub);
      const existing = result[head];
      const target: JsonObject = existing !== null && typeof existing === 'object' && !Array.isArray(existing) ? existing : {};
      if (subValue !== undefined) target[sub] = subValue;
      result[head] = target;
    }
  }
  return result;
}
