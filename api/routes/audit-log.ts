import { createRoute, z } from '@hono/zod-openapi';
import { readAudit } from '../../db/audit-log.ts';
import type { ApiDeps } from '../context.ts';
import { problems } from '../problem.ts';
import { newRouter } from '../router.ts';
import { bearerSecurity, commonErrors, jsonResponse } from '../schemas.ts';

/** Entry ids are PostgreSQL bigints: a larger cursor would fail the query instead of naming the field. */
const MAX_BIGINT = 2n ** 63n - 1n;

const entryView = z
  .object({
    id: z.string(),
    at: z.iso.datetime(),
    actor: z.string(),
    action: z.string(),
    partnerId: z.string().nullable(),
    target: z.string(),
    details: z.record(z.string(), z.unknown()),
    requestId: z.string().nullable(),
  })
  .openapi('AuditEntry');

export function auditLogRoutes(deps: ApiDeps) {
  const router = newRouter();
  router.openapi(
    createRoute({
      method: 'get',
      path: '/audit-log',
      summary: 'Who changed what, newest first',
      tags: ['Audit'],
      security: bearerSecurity,
      request: {
        query: z.object({
          partnerId: z.uuid({ error: 'must be a partner id (UUID)' }).optional(),
          before: z
            .string()
            .regex(/^\d{1,19}$/, { error: 'must be an entry id', abort: true })
            .refine((value) => BigInt(value) <= MAX_BIGINT, 'must be an entry id')
            .optional()
            .describe('Entries older than this id (paging)'),
          limit: z.coerce.number().int().min(1).max(500).default(100),
        }),
      },
      responses: { 200: jsonResponse(z.object({ items: z.array(entryView) }), 'Entries'), ...commonErrors },
    }),
    async (c) => {
      const query = c.req.valid('query');
      const scope = c.get('token').partnerId;
      if (scope !== null && query.partnerId !== undefined && query.partnerId !== scope) throw problems.notFound(`Partner ${query.partnerId}`);
      const entries = await readAudit(deps.db, { partnerId: scope ?? query.partnerId, beforeId: query.before, limit: query.limit });
      return c.json({ items: entries.map((entry) => ({ ...entry, at: entry.at.toISOString() })) }, 200);
    },
  );
  return router;
}
