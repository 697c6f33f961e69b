/** What the services share on the wire: query reading, cursors, filter operators, time formats. */
import type { Context } from 'hono';
import type { z } from 'zod';
import { AcronisError, badRequest, type AcronisService } from './errors.ts';

export interface Caller {
  clientId: string;
  tenantId: string;
}
export type AcronisEnv = { Variables: { caller: Caller } };
export type AcronisContext = Context<AcronisEnv>;

/** A query string as a multi-map: `category=Backup&category=Monitoring` keeps both. */
export type QueryParams = Record<string, string[]>;

export function queryOf(c: Context): QueryParams {
  const params: QueryParams = {};
  for (const [name, value] of new URL(c.req.url).searchParams) (params[name] ??= []).push(value);
  return params;
}

export const first = (params: QueryParams, name: string): string | undefined => params[name]?.[0];

/** Every value of a multi-valued filter: repeated parameters, `or(a,b)`, and (where `commas`) `a,b`. */
export function allOf(params: QueryParams, name: string, options: { commas?: boolean } = {}): string[] {
  return (params[name] ?? []).flatMap((raw) => {
    const operator = parseOperator(raw);
    if (operator.op === 'or') return operator.args;
    return options.commas ? raw.split(',').map((part) => part.trim()).filter(Boolean) : [raw];
  });
}

export function flag(params: QueryParams, name: string): boolean {
  return first(params, name) === 'true';
}

/** `gt(5)` → `{ op: 'gt', args: ['5'] }`; a bare value is `eq`. */
export function parseOperator(raw: string): { op: string; args: string[] } {
  const match = /^(eq|ne|lt|gt|le|ge|or|not|like|hlike|tlike|asc|desc)\((.*)\)$/s.exec(raw.trim());
  if (!match) return { op: 'eq', args: [raw] };
  return { op: match[1]!, args: match[2]!.split(',').map((arg) => arg.trim()) };
}

/** Compares with the operator syntax of the alert/task/agent services. */
export function compare<T>(value: T, raw: string, parse: (text: string) => T, order: (a: T, b: T) => number): boolean {
  const { op, args } = parseOperator(raw);
  const operands = args.map(parse);
  const against = operands[0]!;
  switch (op) {
    case 'lt':
      return order(value, against) < 0;
    case 'le':
      return order(value, against) <= 0;
    case 'gt':
      return order(value, against) > 0;
    case 'ge':
      return order(value, against) >= 0;
    case 'ne':
      return order(value, against) !== 0;
    case 'or':
      return operands.some((operand) => order(value, operand) === 0);
    case 'not':
      return operands.every((operand) => order(value, operand) !== 0);
    default:
      return order(value, against) === 0;
  }
}

export const textMatches = (value: string, raw: string): boolean => {
  const { op, args } = parseOperator(raw);
  const needle = (args[0] ?? '').toLowerCase();
  const haystack = value.toLowerCase();
  if (op === 'hlike') return haystack.startsWith(needle);
  if (op === 'tlike') return haystack.endsWith(needle);
  if (op === 'like') return haystack.includes(needle.replaceAll('%', ''));
  if (op === 'or') return args.some((arg) => arg.toLowerCase() === haystack);
  return haystack === needle;
};

// --- cursors -----------------------------------------------------------------------------------

/**
 * Opaque cursors that carry the whole query, so the next page needs only `after` (and `limit`).
 * Plain base64 with a prefix that encodes to `+` characters: a client that does not URL-encode
 * the cursor sends spaces and is refused, as the real cloud would.
 */
const CURSOR_MAGIC = Buffer.from([0xfb, 0xef, 0xbe]);

interface CursorContent {
  p: QueryParams;
  o: number;
  l: number;
}

function encodeCursor(content: CursorContent): string {
  return Buffer.concat([CURSOR_MAGIC, Buffer.from(JSON.stringify(content))]).toString('base64');
}

function decodeCursor(service: AcronisService, cursor: string): CursorContent {
  const bytes = Buffer.from(cursor, 'base64');
  if (!/^[A-Za-z0-9+/]+=*$/.test(cursor) || !bytes.subarray(0, CURSOR_MAGIC.length).equals(CURSOR_MAGIC)) throw badRequest(service, 'Invalid cursor');
  try {
    return JSON.parse(bytes.subarray(CURSOR_MAGIC.length).toString()) as CursorContent;
  } catch {
    throw badRequest(service, 'Invalid cursor');
  }
}

export interface PageSizes {
  defaultLimit: number;
  maxLimit: number;
}

/** Small on purpose: a client that does not follow cursors sees only the first page. */
export const PAGE_SIZES: PageSizes = { defaultLimit: 10, maxLimit: 100 };

export interface ListRequest {
  params: QueryParams;
  offset: number;
  limit: number;
}

/** The list query: from the cursor when there is one (other filters are then ignored), else from the URL. */
export function listRequest(c: Context, service: AcronisService, options: { limitRequiredForCursor?: boolean } = {}): ListRequest {
  const all = queryOf(c);
  const after = first(all, 'after');
  const before = first(all, 'before');
  const rawLimit = first(all, 'limit');
  let limit: number | undefined;
  if (rawLimit !== undefined) {
    limit = Number(rawLimit);
    if (!Number.isInteger(limit) || limit < 0) throw badRequest(service, 'limit must be a non-negative integer');
    if (limit === 0) limit = PAGE_SIZES.maxLimit;
  }
  if (after !== undefined && before !== undefined) throw badRequest(service, 'after and before are mutually exclusive');
  const cursor = after ?? before;
  if (cursor !== undefined) {
    if (options.limitRequiredForCursor && limit === undefined) throw badRequest(service, 'after is only valid together with limit');
    const content = decodeCursor(service, cursor);
    return { params: content.p, offset: content.o, limit: Math.min(limit ?? content.l, PAGE_SIZES.maxLimit) };
  }
  const params = Object.fromEntries(Object.entries(all).filter(([name]) => name !== 'limit'));
  return { params, offset: 0, limit: Math.min(limit ?? PAGE_SIZES.defaultLimit, PAGE_SIZES.maxLimit) };
}

export interface Page<T> {
  items: T[];
  after?: string;
  before?: string;
  total: number;
}

export function pageOf<T>(items: T[], request: ListRequest): Page<T> {
  const { offset, limit, params } = request;
  const page: Page<T> = { items: items.slice(offset, offset + limit), total: items.length };
  if (offset + limit < items.length) page.after = encodeCursor({ p: params, o: offset + limit, l: limit });
  if (offset > 0) page.before = encodeCursor({ p: params, o: Math.max(0, offset - limit), l: limit });
  return page;
}

export function cursorsOf(page: Page<unknown>): { after?: string; before?: string } {
  return { ...(page.after ? { after: page.after } : {}), ...(page.before ? { before: page.before } : {}) };
}

// --- bodies ------------------------------------------------------------------------------------

export async function bodyOf<T extends z.ZodType>(c: Context, service: AcronisService, schema: T): Promise<z.output<T>> {
  const type = c.req.header('content-type') ?? '';
  if (!/json/i.test(type)) throw new AcronisError(service, 415, service === 'agents' ? 'UNSUPPORTED_MEDIA_TYPE' : 'UnsupportedMediaType', 'Content-Type must be application/json');
  const raw: unknown = await c.req.json().catch(() => undefined);
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`).join('; ');
    throw badRequest(service, `Invalid request body: ${problems}`);
  }
  return parsed.data;
}

/**
 * JSON where int64 ids are bare numbers even beyond 2^53, as the Task Manager writes them: a field
 * is written bare when its object also carries the `<field>String` twin.
 */
export function int64Json(c: Context, body: unknown): Response {
  const marker = '\u0000int64:';
  const text = JSON.stringify(body, function (this: Record<string, unknown>, key: string, value: unknown) {
    return typeof value === 'string' && /^\d+$/.test(value) && this[`${key}String`] === value ? `${marker}${value}` : value;
  });
  return c.body(text.replace(/"\\u0000int64:(\d+)"/g, '$1'), 200, { 'content-type': 'application/json' });
}

// --- time --------------------------------------------------------------------------------------

const isoSeconds = (ms: number) => new Date(ms).toISOString().slice(0, 19);

/** Account Management's zone-less timestamps: `2016-06-22T18:25:16`. */
export const naiveTime = (ms: number): string => isoSeconds(ms);
/** Users carry microseconds and an offset: `2019-07-25T07:11:02.807354+00:00`. */
export const microTime = (ms: number): string => `${new Date(ms).toISOString().slice(0, 23)}000+00:00`;
/** RFC 3339 with milliseconds and Z. */
export const isoTime = (ms: number): string => new Date(ms).toISOString();
/** RFC 3339 with nanoseconds: `2023-11-07T14:39:57.556577425Z`. */
export function nanoTime(ns: string): string {
  const value = BigInt(ns);
  const ms = Number(value / 1_000_000n);
  return `${isoSeconds(ms)}.${(value % 1_000_000_000n).toString().padStart(9, '0')}Z`;
}
/** The Agent Manager's RFC 1123 dates: `Wed, 29 Apr 2020 15:18:40 +0000`. */
export const rfc1123Time = (ms: number): string => new Date(ms).toUTCString().replace('GMT', '+0000');

export function parseTime(service: AcronisService, text: string): number {
  const ms = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text}Z`);
  if (Number.isNaN(ms)) throw badRequest(service, `Invalid timestamp: ${text}`);
  return ms;
}
