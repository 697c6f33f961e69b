import { Hono } from 'hono';
import type { SimWorld } from '../world.ts';
import type { SimulatorDefinition } from '../kit/simulator-app.ts';

// Placeholder until this simulator lands.
export function createAutomateSimulator(_world: SimWorld): SimulatorDefinition {
  return {
    name: 'automate',
    api: new Hono(),
    vendorError: (c, status, message) => c.json({ message }, status as 400),
    state: () => ({}),
    reset: () => undefined,
  };
}
