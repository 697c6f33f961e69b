import { Hono } from 'hono';
import { z } from 'zod';
import { DEFAULT_CREDENTIALS } from '../default-credentials.ts';
import type { SimClock } from '../kit/sim-clock.ts';
import type { SimulatorDefinition } from '../kit/simulator-app.ts';
import type { AcronisAgentHost } from '../world.ts';
import { AgentRegistry, agentRoutes } from './agents.ts';
import { alertRoutes, clearAlert } from './alerts.ts';
import { AcronisError, errorForStatus, renderError, type AcronisService } from './errors.ts';
import { clientRoutes, requireToken, tokenRoutes } from './idp.ts';
import { licensingRoutes, setUsage } from './licensing.ts';
import { BackupEngine, protectionRoutes } from './protection.ts';
import { AcronisStore } from './state.ts';
import { taskRoutes } from './tasks.ts';
import { tenantRoutes } from './tenants.ts';
import { userRoutes } from './users.ts';
import type { AcronisEnv } from './wire.ts';

const usageControl = z.strictObject({
  tenantId: z.string(),
  usageName: z.string(),
  value: z.number().int().min(0),
  absoluteValue: z.number().int().min(0).optional(),
  infraId: z.string().optional(),
});
/** One usage, or many at once (`{items}`): benchmarks and the demo set thousands. */
const usageBatchControl = z.union([usageControl, z.strictObject({ items: z.array(usageControl).max(100_000) })]);
const backupOutcomeControl = z.strictObject({ resourceId: z.string(), outcome: z.enum(['fail', 'succeed']), error: z.string().optional() });

/** The simulated Acronis Cyber Protect Cloud: all services on one origin, as a data centre serves them. */
export function createAcronisSimulator(world: { clock: SimClock }): { definition: SimulatorDefinition; agents: AcronisAgentHost } {
  const store = new AcronisStore(world.clock);
  const backups = new BackupEngine(store);
  const agents = new AgentRegistry(store, backups);

  const secured = (service: AcronisService, ...routes: Hono<AcronisEnv>[]) => {
    const app = new Hono<AcronisEnv>();
    app.use('*', requireToken(store, service));
    for (const route of routes) app.route('/', route);
    return app;
  };

  const api = new Hono();
  api.onError((error, c) => {
    if (error instanceof AcronisError) return renderError(error);
    console.error(`[acronis simulator] ${c.req.method} ${c.req.path} failed:`, error);
    return errorForStatus(c.req.path, 500, 'Internal server error');
  });
  api.route('/api/2/idp', tokenRoutes(store));
  api.route('/bc/idp', tokenRoutes(store));
  // Data-centre discovery by login (legacy API v1): everyone lives here.
  api.get('/api/1/accounts', (c) => c.json({ server_url: new URL(c.req.url).origin }));
  // Licensing first: its `/tenants/usages` must win over `/tenants/:id`.
  api.route('/api/2', secured('account', clientRoutes(store), licensingRoutes(store), userRoutes(store), tenantRoutes(store)));
  api.route('/api/alert_manager/v1', secured('alerts', alertRoutes(store)));
  api.route('/api/task_manager/v2', secured('tasks', taskRoutes(store)));
  const protection = protectionRoutes(store, backups);
  api.route('/api/resource_management/v4', secured('resources', protection.resources));
  api.route('/api/policy_management/v4', secured('policies', protection.policies));
  api.route('/api/agent_manager/v2', secured('agents', agentRoutes(store, agents)));

  const definition: SimulatorDefinition = {
    name: 'acronis',
    api,
    vendorError: (c, status, message) => errorForStatus(new URL(c.req.url).pathname, status, message),
    state: () => ({ credentials: DEFAULT_CREDENTIALS.acronis, ...store.data }),
    reset: () => {
      backups.reset();
      store.reset();
    },
    control: (control) => {
      control.put('/usage', async (c) => {
        const parsed = usageBatchControl.safeParse(await c.req.json().catch(() => undefined));
        if (!parsed.success) return c.json({ title: 'invalid usage', errors: parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })) }, 400);
        const usages = 'items' in parsed.data ? parsed.data.items : [parsed.data];
        const tenants = usages.map(({ tenantId }) => (/^\d+$/.test(tenantId) ? store.tenantByNumericId(tenantId) : store.tenant(tenantId)));
        const missing = usages.find((_, index) => !tenants[index]);
        if (missing) return c.json({ title: `no tenant ${missing.tenantId}` }, 404);
        try {
          const records = usages.map(({ usageName, value, absoluteValue, infraId }, index) => ({ ...setUsage(store, tenants[index]!, usageName, value, { absoluteValue, infraId }) }));
          return c.json('items' in parsed.data ? { items: records } : records[0]);
        } catch (error) {
          if (error instanceof AcronisError) return c.json({ title: error.message }, 400);
          throw error;
        }
      });
      control.post('/alerts/:id/resolve', (c) => {
        const alert = store.data.alerts[c.req.param('id').toUpperCase()];
        if (!alert) return c.json({ title: `no alert ${c.req.param('id')}` }, 404);
        clearAlert(store, alert);
        return c.body(null, 204);
      });
      control.post('/backups/outcome', async (c) => {
        const parsed = backupOutcomeControl.safeParse(await c.req.json().catch(() => undefined));
        if (!parsed.success) return c.json({ title: 'invalid outcome', errors: parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })) }, 400);
        const { resourceId, outcome, error } = parsed.data;
        if (!store.data.resources[resourceId]) return c.json({ title: `no resource ${resourceId}` }, 404);
        store.data.backupOutcomes[resourceId] = { outcome, error: error ?? 'Simulated backup failure: the backup location is not reachable' };
        return c.body(null, 204);
      });
    },
  };
  return { definition, agents };
}
