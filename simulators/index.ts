import { createAcronisSimulator } from './acronis/simulator.ts';
import { createAutomateSimulator } from './automate/simulator.ts';
import { createAutotaskSimulator } from './autotask/simulator.ts';
import { createConnectWiseManageSimulator } from './connectwise-manage/simulator.ts';
import { listen, type RunningServer } from './kit/serve.ts';
import { SimClock } from './kit/sim-clock.ts';
import { createSimulatorApp, type SimulatorApp, type SimulatorDefinition } from './kit/simulator-app.ts';
import { SIMULATED_VENDORS, type SimulatedVendor } from './ports.ts';
import type { SimWorld } from './world.ts';

export interface RunningSimulators {
  world: SimWorld;
  urls: Record<SimulatedVendor, string>;
  /** `POST /_sim/reset` on every simulator, and the clock back to real time. */
  reset(): void;
  close(): Promise<void>;
}

/** One world, four HTTP servers. Port 0 picks a free port (tests). */
export async function startSimulators(ports: Record<SimulatedVendor, number>, hostname = 'localhost'): Promise<RunningSimulators> {
  const clock = new SimClock();
  const acronis = createAcronisSimulator({ clock });
  const world: SimWorld = { clock, agents: acronis.agents };
  const definitions: Record<SimulatedVendor, SimulatorDefinition> = {
    acronis: acronis.definition,
    'connectwise-manage': createConnectWiseManageSimulator({ clock }),
    autotask: createAutotaskSimulator({ clock }),
    automate: createAutomateSimulator(world),
  };
  const apps = Object.fromEntries(SIMULATED_VENDORS.map((vendor) => [vendor, createSimulatorApp(definitions[vendor], clock)])) as Record<SimulatedVendor, SimulatorApp>;
  const servers: Partial<Record<SimulatedVendor, RunningServer>> = {};
  try {
    for (const vendor of SIMULATED_VENDORS) servers[vendor] = await listen(apps[vendor], ports[vendor], hostname);
  } catch (error) {
    await Promise.all(Object.values(servers).map((server) => server.close()));
    throw error;
  }
  const running = servers as Record<SimulatedVendor, RunningServer>;
  return {
    world,
    urls: Object.fromEntries(SIMULATED_VENDORS.map((vendor) => [vendor, running[vendor].url])) as Record<SimulatedVendor, string>,
    reset() {
      for (const vendor of SIMULATED_VENDORS) apps[vendor].reset();
      clock.reset();
    },
    close: () => Promise.all(SIMULATED_VENDORS.map((vendor) => running[vendor].close())).then(() => clock.reset()),
  };
}
