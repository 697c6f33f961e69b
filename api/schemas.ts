import { z } from '@hono/zod-openapi';

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.int(),
    detail: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })),
    requestId: z.string().optional(),
  })
  .openapi('Problem');

const problemContent = { 'application/problem+json': { schema: problemSchema } };

/** The error answers every authenticated route can give. */
export const commonErrors = {
  400: { description: 'Invalid input; `errors` names each field', content: problemContent },
  401: { description: 'No or unknown bearer token', content: problemContent },
  403: { description: 'The token may not do this', content: problemContent },
} as const;

export const notFound = { 404: { description: 'No such resource', content: problemContent } } as const;
export const conflict = { 409: { description: 'Conflicts with the current state', content: problemContent } } as const;
export const unavailable = { 503: { description: 'Temporal or PostgreSQL is unreachable; nothing was changed', content: problemContent } } as const;
export const vendorFailure = {
  502: { description: 'Acronis or the PSA is unavailable or refused the credentials; `title` names the system', content: problemContent },
} as const;

export const credentialsChecked = {
  422: { description: 'A system refused the credentials: `errors[].path` names the field (`acronis.clientSecret`, `psa.companyId` ...), the message the system and the cause; nothing was saved', content: problemContent },
  502: { description: 'A system did not answer, so its credentials could not be checked; `title` names it; nothing was saved', content: problemContent },
} as const;

export const partnerIdParams = z.object({
  id: z.uuid({ error: 'must be a partner id (UUID)' }).openapi({ param: { name: 'id', in: 'path' } }),
});

export const psaCompanyParams = partnerIdParams.extend({
  psaCompanyId: z
    .string()
    .regex(/^[\w-]{1,64}$/, { error: 'must be a PSA company id' })
    .openapi({ param: { name: 'psaCompanyId', in: 'path' }, description: "The company's id in the PSA" }),
});

export const bearerSecurity = [{ bearerAuth: [] }];

export function jsonBody<T extends z.ZodType>(schema: T, description: string) {
  return { required: true, description, content: { 'application/json': { schema } } };
}

export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } };
}

/** The answers the app's middleware gives any route that takes a body, before the route's own validation. */
const BODY_ANSWERS = {
  413: { description: 'The body is larger than the route accepts', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } },
  415: { description: 'The body is not sent as JSON (`Content-Type: application/json`)', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } },
} as const;

interface DocumentedOperation {
  requestBody?: unknown;
  responses?: Record<string, unknown>;
}

/**
 * The document with what middleware answers on every route documented on each, so no route can
 * forget it: 413 and 415 wherever a body is taken.
 */
export function withAppWideAnswers<D extends { paths?: object }>(document: D): D {
  for (const methods of Object.values(document.paths ?? {}) as object[]) {
    for (const operation of Object.values(methods) as DocumentedOperation[]) {
      if (operation.requestBody !== undefined) operation.responses = { ...BODY_ANSWERS, ...operation.responses };
    }
  }
  return document;
}

/** In the refinement of a list body: each entry whose `field` repeats an earlier entry's is named. */
export function flagRepeats<T>(entries: readonly T[], field: keyof T & string, ctx: z.RefinementCtx): void {
  const firstIndex = new Map<unknown, number>();
  entries.forEach((entry, index) => {
    const earlier = firstIndex.get(entry[field]);
    if (earlier === undefined) firstIndex.set(entry[field], index);
    else ctx.addIssue({ code: 'custom', path: [index, field], message: `is listed twice (also at index ${earlier})` });
  });
}
