import { setTimeout as delay } from 'node:timers/promises';
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { DEFAULT_CREDENTIALS } from '../default-credentials.ts';
import type { SimClock } from '../kit/sim-clock.ts';
import type { SimulatorDefinition } from '../kit/simulator-app.ts';
import { accessControl, API_MEMBER, defaultAccessSettings, type AccessSettings } from './access.ts';
import { mountCollection } from './collections.ts';
import { ConditionError } from './conditions.ts';
import {
  additionKind,
  agreementKind,
  agreementTypeKind,
  boardItemKind,
  boardKind,
  boardStatusKind,
  boardSubtypeKind,
  boardTypeKind,
  catalogKind,
  companyKind,
  companyStatusKind,
  companyTypeKind,
  contactKind,
  noteKind,
  priorityKind,
  sourceKind,
  stampAgreementOf,
  ticketKind,
  type WorldContext,
} from './entities.ts';
import { CwError, renderCwError, vendorError } from './errors.ts';
import { CwmStore } from './store.ts';

const credentials = DEFAULT_CREDENTIALS['connectwise-manage'];
const VERSION = { code: 'v2025.1', number: 'v4.6.2025.1' };

const controls = {
  codebase: z.strictObject({ codebase: z.string().regex(/^v[A-Za-z0-9_.]+\/?$/, 'like v2025_1/') }),
  cloudMode: z.strictObject({ enabled: z.boolean() }),
  rateLimit: z.strictObject({ requestsPerMinute: z.number().int().min(1).nullable() }),
  ticketCreateDelay: z.strictObject({ delayMs: z.number().int().min(0).max(600_000) }),
};

/** The simulated ConnectWise Manage instance of the company `simco`. */
export function createConnectWiseManageSimulator(world: { clock: SimClock }): SimulatorDefinition {
  const { clock } = world;
  const store = new CwmStore();
  let settings: AccessSettings = defaultAccessSettings();

  const contextOf = (c: Context): WorldContext => ({
    store,
    nowMs: clock.nowMs(),
    apiBase: `${new URL(c.req.url).origin}/${settings.codebase}apis/3.0`,
    member: API_MEMBER,
  });

  const v3 = new Hono();
  v3.use('*', accessControl(() => settings, clock));
  v3.get('/system/info', (c) =>
    c.json({ version: VERSION.number, isCloud: settings.cloudMode, serverTimeZone: 'Eastern Standard Time', cloudRegion: settings.cloudMode ? 'NA' : null, licenseBits: [] }),
  );
  mountCollection(v3, '/company/companies/types', companyTypeKind, contextOf);
  mountCollection(v3, '/company/companies/statuses', companyStatusKind, contextOf);
  mountCollection(v3, '/company/companies', companyKind, contextOf);
  mountCollection(v3, '/company/contacts', contactKind, contextOf);
  mountCollection(v3, '/procurement/catalog', catalogKind, contextOf);
  mountCollection(v3, '/finance/agreementTypes', agreementTypeKind, contextOf);
  mountCollection(v3, '/finance/agreements', agreementKind, contextOf);
  mountCollection(v3, '/finance/agreements/:parentId{[0-9]+}/additions', additionKind, contextOf, {
    parent: { label: 'Agreement', exists: (context, id) => context.store.agreements.get(id) !== undefined },
    afterWrite: stampAgreementOf,
  });
  const board = { label: 'Service Board', exists: (context: WorldContext, id: number) => context.store.boards.get(id) !== undefined };
  mountCollection(v3, '/service/boards', boardKind, contextOf);
  mountCollection(v3, '/service/boards/:parentId{[0-9]+}/statuses', boardStatusKind, contextOf, { parent: board });
  mountCollection(v3, '/service/boards/:parentId{[0-9]+}/types', boardTypeKind, contextOf, { parent: board });
  mountCollection(v3, '/service/boards/:parentId{[0-9]+}/subtypes', boardSubtypeKind, contextOf, { parent: board });
  mountCollection(v3, '/service/boards/:parentId{[0-9]+}/items', boardItemKind, contextOf, { parent: board });
  mountCollection(v3, '/service/priorities', priorityKind, contextOf);
  mountCollection(v3, '/service/sources', sourceKind, contextOf);
  mountCollection(v3, '/service/tickets', ticketKind, contextOf, {
    // Tickets have been seen to take minutes to create: the ticket exists long before the answer.
    afterCreate: async () => {
      if (settings.ticketCreateDelayMs > 0) await delay(settings.ticketCreateDelayMs);
    },
  });
  mountCollection(v3, '/service/tickets/:parentId{[0-9]+}/notes', noteKind, contextOf, {
    parent: { label: 'Ticket', exists: (context, id) => context.store.tickets.get(id) !== undefined },
  });
  v3.onError((error, c) => {
    if (error instanceof CwError) return renderCwError(c, error.status, error.code, error.message, error.errors);
    if (error instanceof ConditionError) return renderCwError(c, 400, error.code, error.message);
    throw error;
  });

  const api = new Hono();
  // Discovery needs no credentials; an unknown company is a 200 with a JSON null.
  api.get('/login/companyinfo/:company', (c) => {
    if (c.req.param('company').toLowerCase() !== credentials.companyId) return c.json(null);
    return c.json({
      CompanyName: 'Sim Co',
      Codebase: settings.codebase,
      VersionCode: VERSION.code,
      VersionNumber: VERSION.number,
      CompanyID: credentials.companyId,
      IsCloud: settings.cloudMode ? 'True' : 'False',
      SiteUrl: new URL(c.req.url).host,
    });
  });
  api.route('/:codebase/apis/3.0', v3);

  return {
    name: 'connectwise-manage',
    api,
    vendorError,
    state: () => ({
      credentials,
      settings,
      ...Object.fromEntries(Object.entries(store).map(([name, table]) => [name, (table as { all(): unknown[] }).all()])),
    }),
    reset() {
      store.reset();
      settings = defaultAccessSettings();
    },
    control(control) {
      const route = <T>(path: string, schema: z.ZodType<T>, apply: (input: T) => void) =>
        control.post(path, async (c) => {
          const parsed = schema.safeParse(await c.req.json().catch(() => undefined));
          if (!parsed.success) return c.json({ title: 'invalid control request', errors: parsed.error.issues.map((issue) => ({ path: issue.path.join('.') || '(body)', message: issue.message })) }, 400);
          apply(parsed.data);
          return c.json({ codebase: settings.codebase, cloudMode: settings.cloudMode, requestsPerMinute: settings.requestsPerMinute, ticketCreateDelayMs: settings.ticketCreateDelayMs });
        });
      route('/codebase', controls.codebase, ({ codebase }) => (settings.codebase = codebase.endsWith('/') ? codebase : `${codebase}/`));
      route('/cloud-mode', controls.cloudMode, ({ enabled }) => (settings.cloudMode = enabled));
      route('/rate-limit', controls.rateLimit, ({ requestsPerMinute }) => {
        settings.requestsPerMinute = requestsPerMinute;
        settings.throttle = { startMs: clock.nowMs(), count: 0 };
      });
      route('/ticket-create-delay', controls.ticketCreateDelay, ({ delayMs }) => (settings.ticketCreateDelayMs = delayMs));
    },
  };
}
