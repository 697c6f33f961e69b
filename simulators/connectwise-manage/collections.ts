import type { Context, Hono } from 'hono';
import { ConditionError, matches, matchesCustomFields, parseConditions, parseOrderBy, project, sortRecords, type Condition, type Json, type JsonObject } from './conditions.ts';
import type { EntityKind, WorldContext } from './entities.ts';
import { CwError, notFound } from './errors.ts';
import { InputReader, isObject } from './input.ts';
import { paginate } from './pagination.ts';

export type ContextOf = (c: Context) => WorldContext;

interface QueryText {
  conditions?: string;
  childConditions?: string;
  customFieldConditions?: string;
  orderBy?: string;
}

export interface CollectionOptions<T extends { id: number }> {
  /** For nested collections (`/finance/agreements/:parentId/additions`): whether the parent exists. */
  parent?: { label: string; exists(context: WorldContext, id: number): boolean };
  /** Runs after a create has been stored, before the answer is sent (a simulated slow ticket POST). */
  afterCreate?: (row: T) => Promise<void>;
  /** Runs after every create, update and delete (an addition's edit stamps its agreement). */
  afterWrite?: (context: WorldContext, row: T) => void;
}

const ID = ':id{[0-9]+}';

async function jsonBody(c: Context): Promise<Json> {
  const text = await c.req.text();
  try {
    return JSON.parse(text) as Json;
  } catch {
    throw new CwError(400, 'InvalidObject', 'The request body is not valid JSON.');
  }
}

function parseQuery(kind: EntityKind<{ id: number }>, text: QueryText): { filters: ((record: JsonObject) => boolean)[]; order: ReturnType<typeof parseOrderBy> } {
  const filters: ((record: JsonObject) => boolean)[] = [];
  const add = (source: string | undefined, use: (condition: Condition) => (record: JsonObject) => boolean, scope: 'conditions' | 'childConditions' | 'customFieldConditions') => {
    if (source && source.trim() !== '') filters.push(use(parseConditions(source, kind.schema, scope)));
  };
  add(text.conditions, (condition) => (record) => matches(condition, record), 'conditions');
  add(text.childConditions, (condition) => (record) => matches(condition, record), 'childConditions');
  add(text.customFieldConditions, (condition) => (record) => matchesCustomFields(condition, record), 'customFieldConditions');
  return { filters, order: text.orderBy && text.orderBy.trim() !== '' ? parseOrderBy(text.orderBy, kind.schema) : [] };
}

function textOf(value: Json | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** GET, count, search, and (for writable kinds) POST, PUT, PATCH and DELETE, the way every CWM collection answers. */
export function mountCollection<T extends { id: number }>(api: Hono, path: string, kind: EntityKind<T>, contextOf: ContextOf, options: CollectionOptions<T> = {}): void {
  const parentId = (c: Context): number | undefined => {
    if (!options.parent) return undefined;
    const id = Number(c.req.param('parentId'));
    if (!options.parent.exists(contextOf(c), id)) throw notFound(`${options.parent.label} ${id}`);
    return id;
  };
  const rowsOf = (c: Context): { context: WorldContext; rows: T[] } => {
    const context = contextOf(c);
    const parent = parentId(c);
    const rows = kind.table(context.store).all();
    return { context, rows: parent === undefined ? rows : rows.filter((row) => kind.parentOf?.(row) === parent) };
  };
  const select = (c: Context, text: QueryText): JsonObject[] => {
    const { context, rows } = rowsOf(c);
    const { filters, order } = parseQuery(kind as unknown as EntityKind<{ id: number }>, text);
    const records = rows.map((row) => kind.render(row, context)).filter((record) => filters.every((filter) => filter(record)));
    if (order.length > 0 && c.req.header('pagination-type')?.toLowerCase() === 'forward-only') {
      throw new ConditionError('InvalidObject', 'orderBy cannot be used with forward-only pagination.');
    }
    return order.length > 0 ? sortRecords(records, order) : records;
  };
  const list = (c: Context, text: QueryText) => {
    const url = new URL(c.req.url);
    const page = paginate(select(c, text), url, c.req.header('pagination-type')?.toLowerCase() === 'forward-only');
    const fields = url.searchParams.get('fields')?.split(',').map((field) => field.trim()).filter(Boolean);
    if (page.link !== undefined) c.header('Link', page.link);
    return c.json(fields ? page.records.map((record) => project(record, fields)) : page.records);
  };
  const queryText = (c: Context): QueryText => ({
    conditions: c.req.query('conditions'),
    childConditions: c.req.query('childConditions') ?? c.req.query('childconditions'),
    customFieldConditions: c.req.query('customFieldConditions') ?? c.req.query('customfieldconditions'),
    orderBy: c.req.query('orderBy') ?? c.req.query('orderby'),
  });
  const find = (c: Context): { context: WorldContext; row: T; parent: number | undefined } => {
    const context = contextOf(c);
    const parent = parentId(c);
    const id = Number(c.req.param('id'));
    const row = kind.table(context.store).get(id);
    if (!row || (parent !== undefined && kind.parentOf?.(row) !== parent)) throw notFound(`${kind.label} ${id}`);
    return { context, row, parent };
  };

  api.get(path, (c) => list(c, queryText(c)));
  api.get(`${path}/count`, (c) => c.json({ count: select(c, queryText(c)).length }));
  api.post(`${path}/search`, async (c) => {
    const body = await jsonBody(c);
    const text = isObject(body) ? body : {};
    return list(c, { conditions: textOf(text.conditions), childConditions: textOf(text.childConditions), customFieldConditions: textOf(text.customFieldConditions), orderBy: textOf(text.orderBy) });
  });
  api.get(`${path}/${ID}`, (c) => {
    const { context, row } = find(c);
    return c.json(kind.render(row, context));
  });

  const build = kind.build;
  if (!build) return;
  const store = (context: WorldContext, row: T) => {
    kind.table(context.store).put(row);
    options.afterWrite?.(context, row);
    return row;
  };

  api.post(path, async (c) => {
    const body = await jsonBody(c);
    if (!isObject(body)) throw new CwError(400, 'InvalidObject', `The request body must be a ${kind.resource} object.`);
    const context = contextOf(c);
    const parent = parentId(c);
    const row = build(new InputReader(body, kind.resource), context, undefined, parent);
    row.id = kind.table(context.store).nextId();
    store(context, row);
    kind.created?.(row, body, context);
    await options.afterCreate?.(row);
    return c.json(kind.render(row, context), 201);
  });
  api.put(`${path}/${ID}`, async (c) => {
    const body = await jsonBody(c);
    if (!isObject(body)) throw new CwError(400, 'InvalidObject', `The request body must be a ${kind.resource} object.`);
    const { context, row: existing, parent } = find(c);
    const row = store(context, build(new InputReader(body, kind.resource), context, existing, parent));
    return c.json(kind.render(row, context));
  });
  api.patch(`${path}/${ID}`, async (c) => {
    const body = await jsonBody(c);
    if (!Array.isArray(body)) throw new CwError(400, 'InvalidObject', 'A PATCH body is a JSON Patch array of {op, path, value}.');
    const { context, row: existing, parent } = find(c);
    const base = withoutDerived(kind.render(existing, context), kind.derived ?? []);
    for (const operation of body) applyPatch(base, operation, kind);
    const row = store(context, build(new InputReader(base, kind.resource), context, existing, parent));
    return c.json(kind.render(row, context));
  });
  api.delete(`${path}/${ID}`, (c) => {
    const { context, row } = find(c);
    kind.table(context.store).delete(row.id);
    options.afterWrite?.(context, row);
    return c.body(null, 204);
  });
}

function withoutDerived(record: JsonObject, derived: readonly string[]): JsonObject {
  const { _info: _ignored, ...rest } = record;
  for (const field of derived) delete rest[field];
  return rest;
}

function applyPatch(base: JsonObject, operation: Json, kind: EntityKind<{ id: number }> | EntityKind<never>): void {
  if (!isObject(operation) || typeof operation.op !== 'string' || typeof operation.path !== 'string') {
    throw new CwError(400, 'InvalidObject', 'Each PATCH operation needs op and path.');
  }
  const op = operation.op.toLowerCase();
  if (op !== 'add' && op !== 'replace' && op !== 'remove') throw new CwError(400, 'InvalidObject', `Unsupported PATCH op '${operation.op}'.`);
  const path = operation.path.replace(/^\//, '');
  // A sub-path such as `company/identifier` is answered 200 yet changes nothing, as the vendor does.
  if (path.includes('/')) return;
  if (!(path in kind.schema) || path === 'id') {
    throw new CwError(400, 'InvalidObject', `Cannot patch '${path}'.`, [{ code: 'InvalidField', message: `${path} is not a patchable field`, resource: kind.resource, field: path }]);
  }
  if (op === 'remove') delete base[path];
  else base[path] = operation.value ?? null;
}
