import { createRoute, z } from '@hono/zod-openapi';
import { findPartner } from '../../db/partners.ts';
import type { ApiDeps } from '../context.ts';
import { problems } from '../problem.ts';
import { newRouter } from '../router.ts';
import { bearerSecurity, commonErrors, jsonResponse, notFound, partnerIdParams, unavailable } from '../schemas.ts';

const runSchema = z.object({
  workflowId: z.string(),
  runId: z.string(),
  status: z.string().describe('RUNNING, COMPLETED, CONTINUED_AS_NEW, FAILED ...'),
  webUiUrl: z.string(),
});

/** The partner's workflows as Temporal sees them: the supervisor's state, and every run. */
export function workflowRoutes(deps: ApiDeps) {
  const { db, workflows } = deps;
  const router = newRouter();

  router.openapi(
    createRoute({
      method: 'get',
      path: '/partners/{id}/workflow',
      summary: "The partner supervisor's status and state (its query)",
      tags: ['Workflows'],
      security: bearerSecurity,
      request: { params: partnerIdParams },
      responses: {
        200: jsonResponse(
          runSchema.extend({ state: z.record(z.string(), z.unknown()).nullable().describe('The supervisor state query; null once it has closed') }),
          'The supervisor',
        ),
        ...commonErrors,
        ...notFound,
        ...unavailable,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      if (!(await findPartner(db, id))) throw problems.notFound(`Partner ${id}`);
      const status = await workflows.supervisorStatus(id);
      if (!status) throw problems.notFound(`The workflow of partner ${id}`);
      return c.json({ ...status, state: status.state as Record<string, unknown> | null }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/partners/{id}/runs',
      summary: "The partner's workflow runs, newest first, with Web UI links",
      tags: ['Workflows'],
      security: bearerSecurity,
      request: { params: partnerIdParams },
      responses: {
        200: jsonResponse(
          z.object({ items: z.array(runSchema.extend({ type: z.string(), startedAt: z.string(), closedAt: z.string().nullable() })) }),
          'Runs, also those of a removed partner',
        ),
        ...commonErrors,
        ...unavailable,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      return c.json({ items: await workflows.listRuns(id) }, 200);
    },
  );

  return router;
}
