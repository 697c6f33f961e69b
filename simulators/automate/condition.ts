/**
 * Automate's `condition` query language: `(Client.Id = 12) and (Status = 'Online')`,
 * `ComputerName like '%SRV%'`, `Id in (1,5,9)`, `OpenPortsTCP contains 443`,
 * `RemoteAgentLastContact <= 2019-12-18T00:50:19.575Z`. String comparisons ignore case, as
 * Automate's MySQL collation does.
 */

export class ConditionError extends Error {}

type Literal =
  | { type: 'string'; value: string }
  | { type: 'number'; value: number }
  | { type: 'boolean'; value: boolean }
  | { type: 'date'; value: number }
  | { type: 'null' };

type Operator = '=' | '!=' | '>' | '>=' | '<' | '<=' | 'like' | 'contains' | 'in';

export type Condition =
  | { kind: 'and' | 'or'; left: Condition; right: Condition }
  | { kind: 'compare'; field: string[]; operator: Operator; negated: boolean; values: Literal[] };

type Token = { type: 'open' | 'close' | 'comma' } | { type: 'symbol'; text: string } | { type: 'string'; text: string } | { type: 'word'; text: string };

const SYMBOLS = ['!=', '>=', '<=', '=', '>', '<'] as const;
const WORD_END = /[\s()=,!<>'"]/;
const FIELD = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const NUMBER = /^-?\d+(\.\d+)?$/;
const DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  while (at < source.length) {
    const char = source.charAt(at);
    if (/\s/.test(char)) {
      at++;
    } else if (char === '(' || char === ')' || char === ',') {
      tokens.push({ type: char === '(' ? 'open' : char === ')' ? 'close' : 'comma' });
      at++;
    } else if (char === "'" || char === '"') {
      const end = source.indexOf(char, at + 1);
      if (end < 0) throw new ConditionError(`unterminated string starting at position ${at}`);
      tokens.push({ type: 'string', text: source.slice(at + 1, end) });
      at = end + 1;
    } else {
      const symbol = SYMBOLS.find((candidate) => source.startsWith(candidate, at));
      if (symbol) {
        tokens.push({ type: 'symbol', text: symbol });
        at += symbol.length;
        continue;
      }
      let end = at;
      while (end < source.length && !WORD_END.test(source.charAt(end))) end++;
      if (end === at) throw new ConditionError(`unexpected '${char}' at position ${at}`);
      tokens.push({ type: 'word', text: source.slice(at, end) });
      at = end;
    }
  }
  return tokens;
}

export function parseCondition(source: string): Condition {
  const tokens = tokenize(source);
  let position = 0;
  const peek = (): Token | undefined => tokens[position];
  const isWord = (token: Token | undefined, word: string): boolean => token?.type === 'word' && token.text.toLowerCase() === word;
  const describe = (token: Token | undefined): string => (!token ? 'end of condition' : 'text' in token ? `'${token.text}'` : token.type === 'open' ? "'('" : token.type === 'close' ? "')'" : "','");

  function expect(type: 'open' | 'close'): void {
    const token = tokens[position++];
    if (token?.type !== type) throw new ConditionError(`expected '${type === 'open' ? '(' : ')'}' but found ${describe(token)}`);
  }

  function parseOr(): Condition {
    let left = parseAnd();
    while (isWord(peek(), 'or')) {
      position++;
      left = { kind: 'or', left, right: parseAnd() };
    }
    return left;
  }

  function parseAnd(): Condition {
    let left = parsePrimary();
    while (isWord(peek(), 'and')) {
      position++;
      left = { kind: 'and', left, right: parsePrimary() };
    }
    return left;
  }

  function parsePrimary(): Condition {
    if (peek()?.type === 'open') {
      position++;
      const inner = parseOr();
      expect('close');
      return inner;
    }
    return parseComparison();
  }

  function parseOperator(): { operator: Operator; negated: boolean } {
    const token = tokens[position++];
    if (token?.type === 'symbol') return token.text === '!=' ? { operator: '=', negated: true } : { operator: token.text as Operator, negated: false };
    const word = token?.type === 'word' ? token.text.toLowerCase() : '';
    if (word === 'eq') return { operator: '=', negated: false };
    if (word === 'like' || word === 'contains' || word === 'in') return { operator: word, negated: false };
    if (word === 'not') {
      const next = tokens[position++];
      const negatable = next?.type === 'word' ? next.text.toLowerCase() : '';
      if (negatable === 'like' || negatable === 'contains' || negatable === 'in') return { operator: negatable, negated: true };
      throw new ConditionError(`'not' combines only with like, in or contains, not with ${describe(next)}`);
    }
    throw new ConditionError(`expected an operator but found ${describe(token)}`);
  }

  function parseLiteral(): Literal {
    const token = tokens[position++];
    if (token?.type === 'string') return { type: 'string', value: token.text };
    if (token?.type === 'word') {
      const lower = token.text.toLowerCase();
      if (lower === 'true' || lower === 'false') return { type: 'boolean', value: lower === 'true' };
      if (lower === 'null') return { type: 'null' };
      if (NUMBER.test(token.text)) return { type: 'number', value: Number(token.text) };
      if (DATE.test(token.text) && !Number.isNaN(Date.parse(token.text))) return { type: 'date', value: Date.parse(token.text) };
    }
    throw new ConditionError(`expected a value (quoted text, number, true/false or date) but found ${describe(token)}`);
  }

  function parseComparison(): Condition {
    const fieldToken = tokens[position++];
    if (fieldToken?.type !== 'word' || !FIELD.test(fieldToken.text)) throw new ConditionError(`expected a field name but found ${describe(fieldToken)}`);
    const { operator, negated } = parseOperator();
    const values: Literal[] = [];
    if (operator === 'in') {
      expect('open');
      values.push(parseLiteral());
      while (peek()?.type === 'comma') {
        position++;
        values.push(parseLiteral());
      }
      expect('close');
    } else {
      values.push(parseLiteral());
    }
    return { kind: 'compare', field: fieldToken.text.split('.'), operator, negated, values };
  }

  if (tokens.length === 0) throw new ConditionError('the condition is empty');
  const condition = parseOr();
  if (position < tokens.length) throw new ConditionError(`unexpected ${describe(peek())} after a complete condition`);
  return condition;
}

/** Whether `record` (a rendered PascalCase model) satisfies `condition`. */
export function matchesCondition(condition: Condition, record: unknown): boolean {
  if (condition.kind !== 'compare') {
    const left = matchesCondition(condition.left, record);
    return condition.kind === 'and' ? left && matchesCondition(condition.right, record) : left || matchesCondition(condition.right, record);
  }
  const actual = resolveField(record, condition.field, condition.field.join('.'));
  return compare(actual, condition) !== condition.negated;
}

/** Case-insensitive dot path; through an array it collects every element's value. */
function resolveField(value: unknown, path: string[], fullName: string): unknown {
  const [head, ...rest] = path;
  if (head === undefined) return value;
  if (value === null || value === undefined) return undefined;
  if (Array.isArray(value)) return value.flatMap((element) => resolveField(element, path, fullName));
  if (typeof value !== 'object') throw new ConditionError(`'${fullName}' does not name a field`);
  const key = Object.keys(value).find((name) => name.toLowerCase() === head.toLowerCase());
  if (key === undefined) throw new ConditionError(`'${fullName}' does not name a field`);
  return resolveField((value as Record<string, unknown>)[key], rest, fullName);
}

function compare(actual: unknown, condition: Extract<Condition, { kind: 'compare' }>): boolean {
  const [first] = condition.values;
  if (!first) return false;
  switch (condition.operator) {
    case 'contains':
      if (Array.isArray(actual)) return actual.some((element) => equals(element, first));
      return typeof actual === 'string' && first.type !== 'null' && actual.toLowerCase().includes(String(first.value).toLowerCase());
    case 'in':
      return anyElement(actual, (element) => condition.values.some((literal) => equals(element, literal)));
    case 'like':
      return anyElement(actual, (element) => typeof element === 'string' && first.type === 'string' && likePattern(first.value).test(element));
    case '=':
      return anyElement(actual, (element) => equals(element, first));
    default: {
      const operator = condition.operator;
      return anyElement(actual, (element) => {
        const order = ordering(element, first);
        if (order === undefined) return false;
        return operator === '>' ? order > 0 : operator === '>=' ? order >= 0 : operator === '<' ? order < 0 : order <= 0;
      });
    }
  }
}

function anyElement(actual: unknown, test: (element: unknown) => boolean): boolean {
  return Array.isArray(actual) ? actual.some(test) : test(actual);
}

function equals(actual: unknown, literal: Literal): boolean {
  switch (literal.type) {
    case 'null':
      return actual === null || actual === undefined;
    case 'boolean':
      return actual === literal.value;
    case 'number':
      return (typeof actual === 'number' || (typeof actual === 'string' && NUMBER.test(actual))) && Number(actual) === literal.value;
    case 'date':
      return typeof actual === 'string' && Date.parse(actual) === literal.value;
    case 'string':
      return (typeof actual === 'string' || typeof actual === 'number') && String(actual).toLowerCase() === literal.value.toLowerCase();
  }
}

function ordering(actual: unknown, literal: Literal): number | undefined {
  if (literal.type === 'number' && (typeof actual === 'number' || (typeof actual === 'string' && NUMBER.test(actual)))) return Number(actual) - literal.value;
  if (literal.type === 'date' && typeof actual === 'string' && !Number.isNaN(Date.parse(actual))) return Date.parse(actual) - literal.value;
  if (literal.type === 'string' && typeof actual === 'string') return actual.toLowerCase().localeCompare(literal.value.toLowerCase());
  return undefined;
}

function likePattern(pattern: string): RegExp {
  const source = [...pattern].map((char) => (char === '%' ? '.*' : char === '_' ? '.' : char.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('');
  return new RegExp(`^${source}$`, 'is');
}
