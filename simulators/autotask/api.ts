/**
 * The REST routes under `{zone}/atservicesrest/v1.0/`. Autotask's clients spell path segments in
 * several casings (`ATServicesRest`, `V1.0`, `companies`), so routing is by lower-cased segment
 * rather than Hono's case-sensitive router.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { Hono, type Context } from 'hono';
import { ENTITY_SPECS, entitySpec, type ChildRoute, type EntitySpec } from './entities.ts';
import type { RequestLimits } from './limits.ts';
import { pageOf, readPageToken } from './paging.ts';
import { AutotaskRequestError, parseQuery } from './query.ts';
import type { AutotaskStore, EntityRecord, ParentLink } from './store.ts';
import { authenticate, isKnownUser, type Zones } from './zones.ts';

export interface AutotaskApiParts {
  store: AutotaskStore;
  limits: RequestLimits;
  zones: Zones;
}

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

/** What a route needs from the request, already read. */
interface Call {
  method: Method;
  url: URL;
  body: unknown;
}

export function errorsBody(c: Context, status: number, ...errors: string[]): Response {
  return c.json({ errors }, status as 500);
}

export function createAutotaskApi({ store, limits, zones }: AutotaskApiParts): Hono {
  const api = new Hono();
  api.all('*', async (c) => {
    const url = new URL(c.req.url);
    const located = zones.parse(url.pathname);
    if (!located) return errorsBody(c, 404, `No route for ${c.req.method} ${url.pathname}`);
    const segments = located.rest.split('/').filter((segment) => segment !== '');
    const [version, first] = segments.map((segment) => segment.toLowerCase());
    if (version === 'versioninformation' && segments.length === 1) return c.json({ apiVersions: ['v1.0'] });
    if (version !== 'v1.0' || first === undefined) return errorsBody(c, 404, `No route for ${c.req.method} ${url.pathname}`);

    if (first === 'zoneinformation' && segments.length === 2 && c.req.method === 'GET') {
      const user = url.searchParams.get('user') ?? undefined;
      if (!isKnownUser(user)) return errorsBody(c, 500, `Zone information could not be determined for user '${user ?? ''}'.`);
      return c.json(zones.information(url.origin));
    }

    const identity = authenticate((name) => c.req.header(name));
    if ('problem' in identity) return errorsBody(c, 401, identity.problem);
    if (located.zone !== zones.current) return errorsBody(c, 401, 'Authentication failed: this database is not served from this zone. Look the zone up again.');

    const admission = limits.admit(identity.integrationCode, segments[1] ?? first);
    if (!admission.admitted) {
      const response = errorsBody(c, admission.status, admission.message);
      if (admission.retryAfterSeconds !== undefined) response.headers.set('Retry-After', String(admission.retryAfterSeconds));
      return response;
    }
    try {
      if (admission.delayMs > 0) await delay(admission.delayMs);
      const call: Call = { method: c.req.method as Method, url, body: await readBody(c) };
      if (first === 'thresholdinformation' && segments.length === 2 && call.method === 'GET') {
        return c.json({ externalRequestThreshold: limits.settings.requestsPerHour, requestThresholdTimeframe: limits.settings.thresholdWindowSeconds / 60, currentTimeframeRequestCount: limits.usage() });
      }
      const spec = entitySpec(first);
      const answer = spec ? route(store, spec, segments.slice(2), call) : undefined;
      return answer === undefined ? errorsBody(c, 404, `No route for ${c.req.method} ${url.pathname}`) : c.json(answer as object);
    } catch (error) {
      if (error instanceof AutotaskRequestError) return errorsBody(c, error.status, error.message);
      throw error;
    } finally {
      admission.release();
    }
  });
  return api;
}

async function readBody(c: Context): Promise<unknown> {
  if (c.req.method === 'GET' || c.req.method === 'DELETE') return undefined;
  const text = await c.req.text();
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new AutotaskRequestError('The request body is not valid JSON.', 400);
  }
}

function objectBody(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new AutotaskRequestError('The request body must be a JSON object.');
  return body as Record<string, unknown>;
}

function integerSegment(segment: string | undefined): number | undefined {
  return segment !== undefined && /^\d+$/.test(segment) ? Number(segment) : undefined;
}

/** The answer for an entity route, or undefined when there is no such route (404). */
function route(store: AutotaskStore, spec: EntitySpec, rest: string[], call: Call): unknown {
  const [second, third, fourth] = rest.map((segment) => segment.toLowerCase());
  const { method } = call;
  if (rest.length === 0) {
    if (method === 'POST' && spec.rootCreate) return { itemId: store.create(spec.name, objectBody(call.body)) };
    if ((method === 'PATCH' || method === 'PUT') && spec.canUpdate) return { itemId: store.update(spec.name, objectBody(call.body), method === 'PUT') };
    return undefined;
  }
  if (second === 'query' && spec.canQuery && (method === 'GET' || method === 'POST')) {
    if (rest.length === 1) return query(store, spec, call);
    if (third === 'count' && rest.length === 2) {
      const { predicate } = parseQuery(searchOf(call), spec);
      return { queryCount: store.rows(spec.name).filter(predicate).length };
    }
    return undefined;
  }
  if (second === 'entityinformation' && method === 'GET') return entityInformation(store, spec, third, rest.length);

  const id = integerSegment(rest[0]);
  if (id === undefined) return undefined;
  if (rest.length === 1) {
    if (method === 'GET' && spec.canQuery) return { item: store.get(spec.name, id) ?? null };
    if (method === 'DELETE' && spec.canDelete) return { itemId: store.delete(spec.name, id) };
    return undefined;
  }
  const child = spec.children?.find((candidate) => candidate.segment.toLowerCase() === third);
  if (!child) return undefined;
  return childRoute(store, spec, child, { field: child.parentField, id }, fourth, rest.length, call);
}

function childRoute(store: AutotaskStore, parentSpec: EntitySpec, child: ChildRoute, parent: ParentLink, childIdSegment: string | undefined, depth: number, call: Call): unknown {
  const { method } = call;
  const childSpec = entitySpec(child.child);
  if (!childSpec) return undefined;
  if (depth === 2) {
    if (method === 'POST' && child.canCreate) {
      if (!store.get(parentSpec.name, parent.id)) throw new AutotaskRequestError(`No matching records found for parent id ${parent.id}.`);
      return { itemId: store.create(child.child, objectBody(call.body), parent) };
    }
    if ((method === 'PATCH' || method === 'PUT') && child.canUpdate) return { itemId: store.update(child.child, objectBody(call.body), method === 'PUT', parent) };
    if (method === 'GET' && childSpec.canQuery) return listPage(store.rows(child.child).filter((row) => row[parent.field] === parent.id), call, 'GET', undefined);
    return undefined;
  }
  const childId = integerSegment(childIdSegment);
  if (depth !== 3 || childId === undefined) return undefined;
  if (method === 'GET' && childSpec.canQuery) {
    const item = store.get(child.child, childId);
    return { item: item && item[parent.field] === parent.id ? item : null };
  }
  if (method === 'DELETE' && child.canDelete) return { itemId: store.delete(child.child, childId, parent) };
  return undefined;
}

/** The query model: the POST body, or the GET's URL-encoded `search`. */
function searchOf(call: Call): unknown {
  if (call.method === 'POST') {
    if (call.body === undefined) throw new AutotaskRequestError('The query body is required.');
    return call.body;
  }
  const search = call.url.searchParams.get('search');
  if (search === null) throw new AutotaskRequestError('The search parameter is required.');
  try {
    return JSON.parse(search) as unknown;
  } catch {
    throw new AutotaskRequestError('The search parameter is not valid JSON.');
  }
}

function query(store: AutotaskStore, spec: EntitySpec, call: Call): unknown {
  const { predicate, maxRecords, includeFields } = parseQuery(searchOf(call), spec);
  return listPage(store.rows(spec.name).filter(predicate), call, call.method as 'GET' | 'POST', { maxRecords, includeFields, hasUdfs: spec.hasUserDefinedFields });
}

function listPage(rows: EntityRecord[], call: Call, origin: 'GET' | 'POST', options: { maxRecords: number; includeFields: string[] | undefined; hasUdfs: boolean } | undefined): unknown {
  const page = pageOf(rows, readPageToken(call.url.searchParams.get('paging') ?? undefined), options?.maxRecords ?? 500);
  const linkTo = (token: string | undefined) => {
    if (token === undefined) return null;
    const link = new URL(call.url.pathname, call.url.origin);
    const search = call.url.searchParams.get('search');
    if (origin === 'GET' && search !== null) link.searchParams.set('search', search);
    link.searchParams.set('paging', token);
    return link.toString();
  };
  const include = options?.includeFields;
  const items = include ? page.items.map((item) => project(item, include, options.hasUdfs)) : page.items;
  return { items, pageDetails: { count: items.length, requestCount: page.pageSize, prevPageUrl: linkTo(page.previous), nextPageUrl: linkTo(page.next) } };
}

/** `IncludeFields`: the named fields and the id (which paging needs); UDFs come along as they do in the field. */
function project(item: EntityRecord, fields: string[], hasUdfs: boolean): Record<string, unknown> {
  const projected: Record<string, unknown> = { id: item.id };
  for (const field of fields) projected[field] = item[field];
  if (hasUdfs) projected.userDefinedFields = item.userDefinedFields ?? [];
  return projected;
}

function entityInformation(store: AutotaskStore, spec: EntitySpec, part: string | undefined, depth: number): unknown {
  if (depth === 1) {
    return {
      info: {
        name: spec.name,
        canCreate: spec.rootCreate || ENTITY_SPECS.some((parent) => parent.children?.some((child) => child.canCreate && child.child === spec.name)),
        canUpdate: spec.canUpdate,
        canQuery: spec.canQuery,
        canDelete: spec.canDelete,
        hasUserDefinedFields: spec.hasUserDefinedFields,
        supportsWebhookCallouts: false,
        userAccessForCreate: 'All',
        userAccessForDelete: spec.canDelete ? 'All' : 'None',
        userAccessForQuery: spec.canQuery ? 'All' : 'None',
        userAccessForUpdate: spec.canUpdate ? 'All' : 'None',
      },
    };
  }
  if (depth !== 2) return undefined;
  if (part === 'fields') {
    return {
      fields: spec.fields.map((field) => ({
        name: field.name,
        dataType: field.dataType,
        length: field.length ?? 0,
        isRequired: store.isRequired(spec, field),
        isReadOnly: field.isReadOnly ?? false,
        isQueryable: spec.canQuery,
        isReference: field.reference !== undefined,
        referenceEntityType: field.reference ?? '',
        isPickList: field.isPickList ?? false,
        picklistValues: field.isPickList ? store.picklistValues(`${spec.name}.${field.name}`) : null,
        picklistParentValueField: field.picklistParentValueField ?? '',
        isSupportedWebhookField: false,
      })),
    };
  }
  if (part === 'userdefinedfields') {
    return {
      fields: store.udfDefinitions(spec.name).map((definition) => ({
        name: definition.name,
        label: definition.label,
        type: definition.type,
        length: definition.length,
        description: '',
        isRequired: definition.isRequired,
        isPickList: definition.isPickList,
        isActive: true,
        isProtected: false,
        isEncrypted: false,
        picklistValues: definition.picklistKey ? store.picklistValues(definition.picklistKey) : null,
      })),
    };
  }
  return undefined;
}
