import { randomInt } from 'node:crypto';
import { z } from 'zod';
import type { SimClock } from '../kit/sim-clock.ts';
import type { SimulatorDefinition } from '../kit/simulator-app.ts';
import { DEFAULT_CREDENTIALS } from '../default-credentials.ts';
import { createAutotaskApi, errorsBody } from './api.ts';
import { fieldOf, specOf } from './entities.ts';
import { RequestLimits } from './limits.ts';
import { seedPicklists } from './picklists.ts';
import { AutotaskStore } from './store.ts';
import { Zones } from './zones.ts';

const limitsSchema = z.strictObject({
  requestsPerHour: z.number().int().min(1).optional(),
  thresholdWindowSeconds: z.number().int().min(1).max(3_600).optional(),
  concurrentPerEndpoint: z.number().int().min(1).optional(),
  threadLimitStatus: z.number().int().min(400).max(599).optional(),
  latencyAtHalfMs: z.number().int().min(0).optional(),
  latencyAtThreeQuartersMs: z.number().int().min(0).optional(),
  processingMs: z.number().int().min(0).optional(),
});

const picklistValueSchema = z.strictObject({ isActive: z.boolean() });

const requiredFieldsSchema = z.strictObject({
  fields: z.array(z.string().refine((name) => fieldOf(specOf('Tickets'), name) !== undefined, 'is not a Tickets field')),
});

function problem(title: string, error: z.ZodError): { title: string; errors: { path: string; message: string }[] } {
  return { title, errors: error.issues.map((issue) => ({ path: issue.path.join('.') || '(body)', message: issue.message })) };
}

/**
 * The simulated Autotask PSA REST API. Picklist IDs are drawn once per instance (`instanceSeed`),
 * so two simulators disagree on them as two Autotask databases do; they survive `/_sim/reset`.
 */
export function createAutotaskSimulator(world: { clock: SimClock }, instanceSeed = randomInt(1, 900)): SimulatorDefinition {
  const picklists = seedPicklists(instanceSeed);
  const store = new AutotaskStore(world.clock, picklists, instanceSeed);
  const limits = new RequestLimits(world.clock);
  const zones = new Zones(instanceSeed);

  return {
    name: 'autotask',
    caseInsensitivePaths: true,
    api: createAutotaskApi({ store, limits, zones }),
    vendorError: (c, status, message) => errorsBody(c, status, message),
    state: () => ({
      credentials: DEFAULT_CREDENTIALS.autotask,
      instanceSeed,
      zone: { current: zones.current, basePath: zones.basePath() },
      limits: { ...limits.settings, requestsInLastHour: limits.usage() },
      apiUserResourceId: store.apiUserResourceId,
      ownerResourceId: store.ownerResourceId,
      picklists: Object.fromEntries(picklists),
      entities: store.snapshot(),
    }),
    reset: () => {
      store.reset();
      limits.reset();
      zones.reset();
    },
    control: (control) => {
      control.get('/limits', (c) => c.json({ ...limits.settings, requestsInLastHour: limits.usage() }));
      control.put('/limits', async (c) => {
        const parsed = limitsSchema.safeParse(await c.req.json().catch(() => undefined));
        if (!parsed.success) return c.json(problem('invalid limits', parsed.error), 400);
        limits.settings = { ...limits.settings, ...Object.fromEntries(Object.entries(parsed.data).filter(([, value]) => value !== undefined)) };
        return c.json(limits.settings);
      });
      control.post('/zone-move', (c) => {
        zones.move();
        return c.json(zones.information(new URL(c.req.url).origin));
      });
      control.put('/picklists/:field/:value', async (c) => {
        const parsed = picklistValueSchema.safeParse(await c.req.json().catch(() => undefined));
        if (!parsed.success) return c.json(problem('invalid picklist change', parsed.error), 400);
        if (!store.setPicklistValueActive(c.req.param('field'), c.req.param('value'), parsed.data.isActive)) return c.json({ title: 'no such picklist value', errors: [] }, 404);
        return c.json({ field: c.req.param('field'), value: c.req.param('value'), isActive: parsed.data.isActive });
      });
      control.put('/ticket-required-fields', async (c) => {
        const parsed = requiredFieldsSchema.safeParse(await c.req.json().catch(() => undefined));
        if (!parsed.success) return c.json(problem('invalid required fields', parsed.error), 400);
        store.ticketRequiredFields = parsed.data.fields.map((name) => fieldOf(specOf('Tickets'), name)?.name ?? name);
        return c.json({ fields: store.ticketRequiredFields });
      });
    },
  };
}
