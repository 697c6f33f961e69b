import { createRoute, z } from '@hono/zod-openapi';
import { findPartner } from '../../db/partners.ts';
import { listTicketLinks } from '../../db/ticket-links.ts';
import { alertWorkflowId } from '../../workflows/contracts/alerts.ts';
import type { ApiDeps } from '../context.ts';
import { problems } from '../problem.ts';
import { newRouter } from '../router.ts';
import { bearerSecurity, commonErrors, jsonResponse, notFound, partnerIdParams, psaCompanyParams } from '../schemas.ts';

const DEFAULT_LIMIT = 200;
const MAX_LIMIT = 5_000;

const ticketSchema = z
  .object({
    alertId: z.string().nullable().describe('The newest Acronis alert of the identity; null for a storm digest'),
    alertType: z.string().nullable(),
    psaCompanyId: z.string(),
    resourceName: z.string().nullable(),
    ticketId: z.string().nullable().describe('null until the PSA has the ticket'),
    ticketNumber: z.string().nullable(),
    state: z.enum(['pending', 'open', 'closed', 'failed']).describe('pending: being created (lastError says why it waits); failed: the PSA refused it (lastError), tried again when the alert mappings change'),
    kind: z.enum(['alert', 'digest']).describe('digest: the storm guard\'s ticket for a customer and window'),
    generation: z.int().describe('2 and more: a new ticket after the previous one was closed for `newTicketAfterDays`'),
    notes: z.int().describe('Notes the engine added (repeats, resolves, storm alerts)'),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    closedAt: z.iso.datetime().nullable().describe('When the engine closed it'),
    lastError: z.string().nullable().describe("The PSA's refusal, or the outage the create waits out"),
    workflowId: z.string(),
  })
  .openapi('AlertTicket');

const listQuery = z.object({
  state: z.enum(['pending', 'open', 'closed', 'failed']).optional(),
  psaCompanyId: psaCompanyParams.shape.psaCompanyId.optional().openapi({ param: { name: 'psaCompanyId', in: 'query' } }),
  limit: z.coerce.number().int().min(1).max(MAX_LIMIT).default(DEFAULT_LIMIT).describe('At most this many, newest change first'),
});

export function ticketRoutes(deps: ApiDeps) {
  const { db } = deps;
  const router = newRouter();

  router.openapi(
    createRoute({
      method: 'get',
      path: '/partners/{id}/tickets',
      summary: 'Alert identity ↔ PSA ticket links with their state (kept after the alert workflows end)',
      tags: ['Tickets'],
      security: bearerSecurity,
      request: { params: partnerIdParams, query: listQuery },
      responses: { 200: jsonResponse(z.object({ items: z.array(ticketSchema) }), 'Newest change first'), ...commonErrors, ...notFound },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const query = c.req.valid('query');
      if (!(await findPartner(db, id))) throw problems.notFound(`Partner ${id}`);
      const links = await listTicketLinks(db, id, { state: query.state, psaCompanyId: query.psaCompanyId, limit: query.limit });
      const items = links.map((link) => ({
        alertId: link.alertId,
        alertType: link.alertType,
        psaCompanyId: link.psaCompanyId,
        resourceName: link.resourceName,
        ticketId: link.ticketId,
        ticketNumber: link.ticketNumber,
        state: link.state,
        kind: link.kind,
        generation: link.generation,
        notes: link.notes,
        createdAt: link.createdAt.toISOString(),
        updatedAt: link.updatedAt.toISOString(),
        closedAt: link.closedAt?.toISOString() ?? null,
        lastError: link.lastError,
        workflowId: alertWorkflowId(id, link.identity),
      }));
      return c.json({ items }, 200);
    },
  );

  return router;
}
