import { Hono } from 'hono';
import type { SimClock } from '../kit/sim-clock.ts';
import type { SimulatorDefinition } from '../kit/simulator-app.ts';
import type { AcronisAgentHost } from '../world.ts';

// Placeholder until the Acronis simulator lands (issue 3).
export function createAcronisSimulator(_world: { clock: SimClock }): { definition: SimulatorDefinition; agents: AcronisAgentHost } {
  const definition: SimulatorDefinition = {
    name: 'acronis',
    api: new Hono(),
    vendorError: (c, status, message) => c.json({ error: { code: status, message, domain: 'PlatformAccountServer', details: {} } }, status as 400),
    state: () => ({}),
    reset: () => undefined,
  };
  const agents: AcronisAgentHost = {
    registerAgent: () => ({ ok: false, reason: 'not implemented' }),
    unregisterAgent: () => false,
    upgradeAgent: () => false,
    agentOf: () => undefined,
  };
  return { definition, agents };
}
