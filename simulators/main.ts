import { z } from 'zod';
import { runMain } from '../run-main.ts';
import { ConfigError } from '../config.ts';
import { createLogger } from '../log.ts';
import { DEFAULT_CREDENTIALS } from './default-credentials.ts';
import { startSimulators } from './index.ts';
import { SIMULATED_VENDORS, SIMULATOR_PORTS, type SimulatedVendor } from './ports.ts';

const port = z.coerce.number().int().min(0).max(65535);

function configuredPorts(env: NodeJS.ProcessEnv): Record<SimulatedVendor, number> {
  const ports = {} as Record<SimulatedVendor, number>;
  for (const vendor of SIMULATED_VENDORS) {
    const { port: fallback, variable } = SIMULATOR_PORTS[vendor];
    const parsed = port.safeParse(env[variable] ?? fallback);
    if (!parsed.success) throw new ConfigError(`invalid configuration:\n  ${variable}: must be a port number`);
    ports[vendor] = parsed.data;
  }
  return ports;
}

runMain('simulators', async () => {
  const simulators = await startSimulators(configuredPorts(process.env), process.env.SIM_HOST ?? 'localhost');
  // The launcher (npm start) waits for this line and prints its own summary.
  createLogger('simulators').info({ urls: simulators.urls }, 'simulators listening');
  if (process.stdout.isTTY) {
    const say = (line = '') => process.stdout.write(`${line}\n`);
    say('Simulated vendor APIs are running (one shared world; control surface under /_sim/):');
    for (const vendor of SIMULATED_VENDORS) {
      const credentials = Object.entries(DEFAULT_CREDENTIALS[vendor]).map(([key, value]) => `${key}=${value}`).join(' ');
      say(`  ${vendor.padEnd(19)} ${simulators.urls[vendor].padEnd(23)} ${credentials}`);
    }
    say('Press Ctrl-C to stop.');
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void simulators.close().then(() => process.exit(0)));
  }
});
