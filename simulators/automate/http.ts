import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';

/** Paths are relative to this, as on a real Automate server. */
export const API_BASE = '/cwa/api/v1';

/** ASP.NET Web API's error body: `{ "Message": ... }`, with `ModelState` for binding failures. */
export function automateError(c: Context, status: number, message: string, modelState?: Record<string, string[]>): Response {
  return c.json(modelState ? { Message: message, ModelState: modelState } : { Message: message }, status as ContentfulStatusCode);
}

/** Thrown by handlers and helpers; the API's error handler renders it in the vendor's shape. */
export class AutomateHttpError extends Error {
  readonly status: number;
  readonly modelState: Record<string, string[]> | undefined;

  constructor(status: number, message: string, modelState?: Record<string, string[]>) {
    super(message);
    this.status = status;
    this.modelState = modelState;
  }
}

export const notFound = (what: string): AutomateHttpError => new AutomateHttpError(404, `${what} was not found.`);

/**
 * ASP.NET routes ignore case, so the API matches on a lowercased path and registers its routes
 * through `caseless`, which lowercases everything but the `:param` names.
 */
export function lowercasedPath(request: Request): string {
  return new URL(request.url).pathname.toLowerCase();
}

export function caseless(path: string): string {
  return path
    .split('/')
    .map((segment) => (segment.startsWith(':') ? segment : segment.toLowerCase()))
    .join('/');
}

/** A numeric route id; anything else is a 404, as ASP.NET's `{id:int}` routes answer. */
export function idParam(c: Context, name: string): number {
  const raw = c.req.param(name) ?? '';
  if (!/^\d+$/.test(raw)) throw new AutomateHttpError(404, `No HTTP resource was found that matches the request URI '${new URL(c.req.url).pathname}'.`);
  return Number(raw);
}

/**
 * Reads a JSON body the way ASP.NET model binding does: property names match whatever their case
 * (`username`, `UserName`), unknown properties are ignored, a mismatch is a 400 with `ModelState`.
 */
export async function bindJson<Schema extends z.ZodType>(c: Context, schema: Schema): Promise<z.output<Schema>> {
  const text = await c.req.text();
  let raw: unknown;
  try {
    raw = text === '' ? undefined : (JSON.parse(text) as unknown);
  } catch {
    throw new AutomateHttpError(400, 'The request is invalid.', { request: ['The request body is not valid JSON.'] });
  }
  const parsed = schema.safeParse(canonicalKeys(schema, raw));
  if (parsed.success) return parsed.data;
  const modelState: Record<string, string[]> = {};
  for (const issue of parsed.error.issues) {
    const key = ['request', ...issue.path.map(String)].join('.');
    (modelState[key] ??= []).push(issue.message);
  }
  throw new AutomateHttpError(400, 'The request is invalid.', modelState);
}

function canonicalKeys(schema: z.ZodType, value: unknown): unknown {
  const inner = unwrapped(schema);
  if (inner instanceof z.ZodArray && Array.isArray(value)) return value.map((item) => canonicalKeys(inner.element as z.ZodType, item));
  if (!(inner instanceof z.ZodObject) || typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const shape = inner.shape as Record<string, z.ZodType>;
  const byLowercase = new Map(Object.keys(shape).map((name) => [name.toLowerCase(), name]));
  return Object.fromEntries(
    Object.entries(value).map(([name, field]) => {
      const canonical = byLowercase.get(name.toLowerCase()) ?? name;
      const fieldSchema = shape[canonical];
      return [canonical, fieldSchema ? canonicalKeys(fieldSchema, field) : field];
    }),
  );
}

function unwrapped(schema: z.ZodType): z.ZodType {
  let current = schema;
  while (current instanceof z.ZodOptional || current instanceof z.ZodNullable || current instanceof z.ZodDefault || current instanceof z.ZodCatch) {
    current = current.unwrap() as z.ZodType;
  }
  return current;
}

/** Automate ids arrive as numbers or numeric strings (the spec types some as strings). */
export const numericId = z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/).transform(Number)]);

/** A nested `{ "Id": n }` reference, as in `"Client": { "Id": 3 }`. */
export const reference = z.object({ Id: numericId });

export const isoDate = z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'must be a date');
