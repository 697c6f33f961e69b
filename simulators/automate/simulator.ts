import { Hono } from 'hono';
import { DEFAULT_CREDENTIALS } from '../default-credentials.ts';
import type { SimulatorDefinition } from '../kit/simulator-app.ts';
import type { SimWorld } from '../world.ts';
import { machineKeyOf, PLUGIN_MONITORS, PLUGIN_SCRIPTS, renderScript } from './acronis-plugin.ts';
import { registerTokenRoutes, requireAuthorization } from './auth.ts';
import { CommandQueue, registerCommandRoutes } from './commands.ts';
import { registerControlRoutes } from './control.ts';
import { API_BASE, automateError, AutomateHttpError, lowercasedPath } from './http.ts';
import { registerInventoryRoutes, renderClient, renderComputer, renderLocation } from './inventory.ts';
import { registerMonitoringRoutes } from './monitoring.ts';
import { registerScriptRoutes, ScriptRunner } from './scripts.ts';
import { AutomateStore } from './store.ts';

/** ConnectWise Automate (formerly LabTech): REST API under `/cwa/api/v1`, with the Acronis plugin's scripts. */
export function createAutomateSimulator(world: SimWorld): SimulatorDefinition {
  const store = new AutomateStore(world.clock);
  const runner = new ScriptRunner(store, world.agents);
  const commands = new CommandQueue(store);

  const automate = new Hono({ getPath: lowercasedPath }).basePath(API_BASE);
  // Token routes come first: they answer before the authorization check that guards the rest.
  registerTokenRoutes(automate, store);
  automate.use('*', requireAuthorization(store));
  registerInventoryRoutes(automate, store, world.agents);
  registerScriptRoutes(automate, store, runner);
  registerCommandRoutes(automate, store, commands);
  registerMonitoringRoutes(automate, store);
  automate.notFound((c) => automateError(c, 404, `No HTTP resource was found that matches the request URI '${new URL(c.req.url).pathname}'.`));
  automate.onError((error, c) => {
    if (error instanceof AutomateHttpError) return automateError(c, error.status, error.message, error.modelState);
    throw error;
  });

  // The kit mounts `api` on its own case-sensitive router; this app matches paths ignoring case.
  const api = new Hono();
  api.all('*', (c) => automate.fetch(c.req.raw));

  return {
    name: 'automate',
    caseInsensitivePaths: true,
    api,
    vendorError: (c, status, message) => automateError(c, status, message),
    state: () => ({
      credentials: { ...DEFAULT_CREDENTIALS.automate, twoFactorPasscode: store.settings.twoFactorPasscode },
      settings: store.settings,
      activeTokens: [...store.tokens.values()].filter((token) => token.expiresAtMs > store.nowMs()).length,
      clients: [...store.clients.values()].map((client) => renderClient(store, client)),
      locations: [...store.locations.values()].map((location) => renderLocation(store, location)),
      computers: [...store.computers.values()].map((computer) => ({
        ...renderComputer(store, computer),
        acronisMachineKey: machineKeyOf(store, computer.id),
        acronisAgent: world.agents.agentOf(machineKeyOf(store, computer.id)) ?? null,
        backupMonitorInstalled: computer.backupMonitorInstalled,
      })),
      retiredAssets: [...store.retiredAssets.values()].map(({ computer, retiredMs }) => ({ id: computer.id, name: computer.name, retiredAt: new Date(retiredMs).toISOString() })),
      networkDevices: [...store.networkDevices.values()],
      scripts: PLUGIN_SCRIPTS.map(renderScript),
      monitors: PLUGIN_MONITORS,
      scheduledScripts: [...store.schedules.values()],
      scriptRuns: [...store.runs.values()],
      commandExecutions: [...store.commandExecutions.values()],
      alerts: [...store.alerts.values()],
      tickets: [...store.tickets.values()],
    }),
    reset: () => {
      store.reset();
      commands.reset();
    },
    control: (control) => registerControlRoutes(control, store, runner, commands),
  };
}
