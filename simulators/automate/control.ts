import type { Context, Hono } from 'hono';
import { z } from 'zod';
import { PLUGIN_MONITORS } from './acronis-plugin.ts';
import type { CommandQueue } from './commands.ts';
import { renderComputer } from './inventory.ts';
import { raiseMonitorAlert } from './monitoring.ts';
import type { ScriptRunner } from './scripts.ts';
import { DEFAULT_SETTINGS, type AutomateStore, type ComputerRecord } from './store.ts';

const monitorNames = PLUGIN_MONITORS.map((monitor) => monitor.Name) as [string, ...string[]];

const newComputer = z.strictObject({
  clientId: z.number().int().positive(),
  locationId: z.number().int().positive(),
  name: z.string().trim().min(1),
  os: z.string().trim().min(1),
  osVersion: z.string().optional(),
  type: z.enum(['Workstation', 'Server']).optional(),
  online: z.boolean().optional(),
  serialNumber: z.string().optional(),
  macAddress: z.string().optional(),
  isVirtualMachine: z.boolean().optional(),
});

const settingsChange = z.strictObject({
  tokenLifetimeSeconds: z.number().int().min(1).optional(),
  absoluteTokenLifetimeSeconds: z.number().int().min(1).optional(),
  twoFactorRequired: z.boolean().optional(),
  twoFactorPasscode: z.string().min(1).optional(),
  scriptDurationMs: z.number().int().min(0).optional(),
  commandDurationMs: z.number().int().min(0).optional(),
});

const newAlert = z.strictObject({
  computerId: z.number().int().positive(),
  monitor: z.enum(monitorNames).default('Acronis Backup - Computers - Critical Issues'),
  severity: z.enum(['Critical', 'Warning', 'Informational']).default('Critical'),
  message: z.string().min(1),
  fieldName: z.string().optional(),
  ticket: z.union([z.boolean(), z.strictObject({ subject: z.string().optional(), externalId: z.number().int().optional(), priority: z.string().optional() })]).optional(),
});

type Parsed<T> = { ok: true; value: T } | { ok: false; response: Response };

/** The control surface's own problem shape, as the kit's `/_sim/faults` answers. */
async function parse<Schema extends z.ZodType>(c: Context, schema: Schema, title: string): Promise<Parsed<z.output<Schema>>> {
  const parsed = schema.safeParse(await c.req.json().catch(() => undefined));
  if (parsed.success) return { ok: true, value: parsed.data };
  const errors = parsed.error.issues.map((issue) => ({ path: issue.path.join('.') || '(body)', message: issue.message }));
  return { ok: false, response: c.json({ title, errors }, 400) };
}

const problem = (c: Context, status: 400 | 404, title: string, path: string, message: string) => c.json({ title, errors: [{ path, message }] }, status);

/** `/_sim/*` for what Automate has no public API for: agents joining, going offline, monitors firing. */
export function registerControlRoutes(control: Hono, store: AutomateStore, runner: ScriptRunner, commands: CommandQueue): void {
  control.post('/computers', async (c) => {
    const parsed = await parse(c, newComputer, 'invalid computer');
    if (!parsed.ok) return parsed.response;
    const input = parsed.value;
    const location = store.locations.get(input.locationId);
    if (!store.clients.has(input.clientId)) return problem(c, 400, 'invalid computer', 'clientId', `no client ${input.clientId}`);
    if (location?.ClientId !== input.clientId) return problem(c, 400, 'invalid computer', 'locationId', `no location ${input.locationId} in client ${input.clientId}`);
    const id = store.nextId('computer');
    const now = store.nowMs();
    const hex = (value: number) => (value & 0xff).toString(16).toUpperCase().padStart(2, '0');
    const computer: ComputerRecord = {
      id,
      clientId: input.clientId,
      locationId: input.locationId,
      name: input.name,
      os: input.os,
      osVersion: input.osVersion ?? null,
      type: input.type ?? (/server/i.test(input.os) ? 'Server' : 'Workstation'),
      online: input.online ?? true,
      lastContactMs: now,
      addedMs: now,
      lastInventoryMs: now,
      serialNumber: input.serialNumber ?? `SIM${String(id).padStart(7, '0')}`,
      macAddress: input.macAddress ?? `00:15:5D:00:${hex(id >> 8)}:${hex(id)}`,
      localIpAddress: `10.${input.clientId % 256}.${input.locationId % 256}.${(id % 250) + 2}`,
      domainName: 'WORKGROUP',
      isVirtualMachine: input.isVirtualMachine ?? false,
      backupMonitorInstalled: false,
    };
    store.computers.set(id, computer);
    return c.json(renderComputer(store, computer), 201);
  });

  control.put('/computers/:id/status', async (c) => {
    const computer = store.computers.get(Number(c.req.param('id')));
    if (!computer) return problem(c, 404, 'unknown computer', 'id', `no computer ${c.req.param('id')}`);
    const parsed = await parse(c, z.strictObject({ online: z.boolean() }), 'invalid status');
    if (!parsed.ok) return parsed.response;
    if (computer.online && !parsed.value.online) computer.lastContactMs = store.nowMs();
    computer.online = parsed.value.online;
    if (computer.online) {
      runner.resumeQueued(computer.id);
      commands.resumeQueued(computer.id);
    }
    return c.json(renderComputer(store, computer));
  });

  control.post('/computers/:id/retire', (c) => {
    const computer = store.computers.get(Number(c.req.param('id')));
    if (!computer) return problem(c, 404, 'unknown computer', 'id', `no computer ${c.req.param('id')}`);
    store.computers.delete(computer.id);
    store.retiredAssets.set(computer.id, { computer, retiredMs: store.nowMs() });
    return c.body(null, 204);
  });

  control.get('/settings', (c) => c.json({ ...store.settings, defaults: DEFAULT_SETTINGS }));
  control.patch('/settings', async (c) => {
    const parsed = await parse(c, settingsChange, 'invalid settings');
    if (!parsed.ok) return parsed.response;
    store.settings = { ...store.settings, ...Object.fromEntries(Object.entries(parsed.value).filter(([, value]) => value !== undefined)) };
    return c.json(store.settings);
  });

  control.post('/alerts', async (c) => {
    const parsed = await parse(c, newAlert, 'invalid alert');
    if (!parsed.ok) return parsed.response;
    const input = parsed.value;
    if (!store.computers.has(input.computerId)) return problem(c, 400, 'invalid alert', 'computerId', `no computer ${input.computerId}`);
    const { alert, ticket } = raiseMonitorAlert(store, {
      computerId: input.computerId,
      monitor: input.monitor,
      severity: input.severity,
      message: input.message,
      fieldName: input.fieldName,
      ticket: input.ticket === true ? {} : input.ticket || undefined,
    });
    return c.json({ alertId: alert.id, ticketId: ticket?.id ?? null }, 201);
  });
}
