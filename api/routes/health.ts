import { createRoute, z } from '@hono/zod-openapi';
import { sql } from 'kysely';
import { PROMETHEUS_CONTENT_TYPE, renderEngineMetrics } from '../../metrics/engine-metrics.ts';
import type { ApiDeps } from '../context.ts';
import { newRouter } from '../router.ts';
import { jsonResponse } from '../schemas.ts';

const CHECK_TIMEOUT_MS = 2_000;

const healthSchema = z
  .object({
    status: z.enum(['ok', 'degraded']),
    checks: z.object({ db: z.enum(['ok', 'down']), temporal: z.enum(['ok', 'down']) }),
  })
  .openapi('Health');

async function passes(check: () => Promise<unknown>): Promise<'ok' | 'down'> {
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), CHECK_TIMEOUT_MS).unref()),
    ]);
    return 'ok';
  } catch {
    return 'down';
  }
}

export function healthRoutes(deps: ApiDeps) {
  const router = newRouter();
  router.openapi(
    createRoute({
      method: 'get',
      path: '/healthz',
      summary: 'Whether PostgreSQL and Temporal answer (no auth)',
      tags: ['Operations'],
      responses: { 200: jsonResponse(healthSchema, 'Everything answers'), 503: jsonResponse(healthSchema, 'Something does not answer') },
    }),
    async (c) => {
      const [db, temporal] = await Promise.all([
        passes(() => sql`select 1`.execute(deps.db)),
        passes(() => deps.temporal.workflowService.getSystemInfo({})),
      ]);
      const checks = { db, temporal };
      if (db === 'ok' && temporal === 'ok') return c.json({ status: 'ok' as const, checks }, 200);
      return c.json({ status: 'degraded' as const, checks }, 503);
    },
  );
  router.openapi(
    createRoute({
      method: 'get',
      path: '/metrics',
      summary: "The engine's counters in Prometheus text: vendor calls by system, operation and outcome, usage lines, tickets, deployments (no auth)",
      tags: ['Operations'],
      responses: { 200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: z.string() } } } },
    }),
    (c) => c.text(renderEngineMetrics(), 200, { 'content-type': PROMETHEUS_CONTENT_TYPE }),
  );
  return router;
}
