import { Hono } from 'hono';
import type { SimClock } from '../kit/sim-clock.ts';
import type { SimulatorDefinition } from '../kit/simulator-app.ts';

// Placeholder until this simulator lands.
export function createConnectWiseManageSimulator(_world: { clock: SimClock }): SimulatorDefinition {
  return {
    name: 'cwm',
    api: new Hono(),
    vendorError: (c, status, message) => c.json({ message }, status as 400),
    state: () => ({}),
    reset: () => undefined,
  };
}
