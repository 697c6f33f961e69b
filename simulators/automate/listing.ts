import type { Context } from 'hono';
import { ConditionError, matchesCondition, parseCondition } from './condition.ts';
import { AutomateHttpError } from './http.ts';

/** [INFER] Automate documents no server default; a small one makes clients page. */
export const DEFAULT_PAGE_SIZE = 25;
/** [INFER] Clients validate 1–1000; larger sizes are cut to this. */
export const MAX_PAGE_SIZE = 1000;

type Model = Record<string, unknown>;

/**
 * Answers a list the way Automate does: a bare JSON array, no count and no Link header, shaped by
 * `condition`, `ids`, `orderBy`, `page`/`pageSize`, `includeFields`/`excludeFields`. Each option
 * is also accepted with the OpenAPI's `options.` prefix; option names ignore case.
 */
export function listResponse(c: Context, models: Model[], key = 'Id'): Response {
  return c.json(applyListOptions(new URL(c.req.url).searchParams, models, key));
}

export function applyListOptions(query: URLSearchParams, models: Model[], key: string): Model[] {
  const option = optionReader(query);
  let selected = models;

  const ids = option('ids');
  if (ids !== undefined) {
    const wanted = new Set(ids.split(',').map((id) => id.trim()).filter((id) => id !== ''));
    selected = selected.filter((model) => wanted.has(String(model[key])));
  }

  const condition = option('condition');
  if (condition !== undefined && condition.trim() !== '') {
    try {
      const parsed = parseCondition(condition);
      selected = selected.filter((model) => matchesCondition(parsed, model));
    } catch (error) {
      if (error instanceof ConditionError) throw new AutomateHttpError(400, `Invalid condition: ${error.message}`);
      throw error;
    }
  }

  selected = ordered(selected, orderFrom(option), key);

  const page = positiveInteger(option('page') ?? '1', 'page');
  const pageSize = Math.min(positiveInteger(option('pageSize') ?? String(DEFAULT_PAGE_SIZE), 'pageSize'), MAX_PAGE_SIZE);
  selected = selected.slice((page - 1) * pageSize, page * pageSize);

  const include = fieldList(option('includeFields') ?? option('includedFields'));
  const exclude = fieldList(option('excludeFields') ?? option('excludedFields'));
  if (include || exclude) selected = selected.map((model) => projected(model, include, exclude));
  return selected;
}

function optionReader(query: URLSearchParams): (name: string) => string | undefined {
  const byName = new Map<string, string>();
  for (const [name, value] of query) {
    const lower = name.toLowerCase();
    if (!byName.has(lower)) byName.set(lower, value);
  }
  return (name) => byName.get(name.toLowerCase()) ?? byName.get(`options.${name.toLowerCase()}`);
}

function orderFrom(option: (name: string) => string | undefined): { field: string; descending: boolean }[] {
  const orderBy = option('orderBy');
  if (orderBy !== undefined && orderBy.trim() !== '') {
    return orderBy.split(',').map((part) => {
      const [field = '', direction = 'asc', ...extra] = part.trim().split(/\s+/);
      if (extra.length > 0 || !/^(asc|desc)$/i.test(direction) || !/^[A-Za-z_][\w.]*$/.test(field)) {
        throw new AutomateHttpError(400, `Invalid orderBy '${part.trim()}': expected 'Field asc' or 'Field desc'.`);
      }
      return { field, descending: direction.toLowerCase() === 'desc' };
    });
  }
  const name = option('orderBy.name');
  if (name !== undefined) return [{ field: name, descending: (option('orderBy.type') ?? '').toLowerCase() === 'desc' }];
  return [];
}

function ordered(models: Model[], order: { field: string; descending: boolean }[], key: string): Model[] {
  const keys = [...order, { field: key, descending: false }];
  return [...models].sort((left, right) => {
    for (const { field, descending } of keys) {
      const difference = compareValues(valueAt(left, field), valueAt(right, field));
      if (difference !== 0) return descending ? -difference : difference;
    }
    return 0;
  });
}

function valueAt(model: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((value, segment) => {
    if (typeof value !== 'object' || value === null) return undefined;
    const name = Object.keys(value).find((candidate) => candidate.toLowerCase() === segment.toLowerCase());
    if (name === undefined) throw new AutomateHttpError(400, `Invalid orderBy: '${path}' does not name a field.`);
    return (value as Record<string, unknown>)[name];
  }, model);
}

function compareValues(left: unknown, right: unknown): number {
  if (left === right) return 0;
  if (left === null || left === undefined) return -1;
  if (right === null || right === undefined) return 1;
  if (typeof left === 'number' && typeof right === 'number') return left - right;
  return String(left).toLowerCase().localeCompare(String(right).toLowerCase());
}

function positiveInteger(raw: string, name: string): number {
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < 1) throw new AutomateHttpError(400, `The value '${raw}' is not valid for ${name}.`);
  return Number(raw);
}

function fieldList(raw: string | undefined): Set<string> | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  return new Set(raw.split(',').map((field) => field.trim().toLowerCase()));
}

function projected(model: Model, include: Set<string> | undefined, exclude: Set<string> | undefined): Model {
  return Object.fromEntries(Object.entries(model).filter(([name]) => (!include || include.has(name.toLowerCase())) && !exclude?.has(name.toLowerCase())));
}
