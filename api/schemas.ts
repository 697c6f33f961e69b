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

/** In the refinement of a list body: each entry whose `field` repeats an earlier entry's is named. */
export function flagRepeats<T>(entries: readonly T[], field: keyof T & string, ctx: z.RefinementCtx): void {
  const firstIndex = new Map<unknown, number>();
  entries.forEach((entry, index) => {
    const earlier = firstIndex.get(entry[field]);
    if (earlier === undefined) firstIndex.set(entry[field], index);
    else ctx.addIssue({ code: 'custom', path: [index, field], message: `is listed twice (also at index ${earlier})` });
  });
}
