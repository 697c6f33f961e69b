import { z } from 'zod';
import { runMain } from '../run-main.ts';
import { ConfigError } from '../config.ts';
import { DEFAULT_CREDENTIALS } from './default-credentials.ts';
import { SIMULATED_VENDORS, SIMULATOR_PORTS, startSimulators, type SimulatedVendor } from './index.ts';

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
  const say = (line = '') => process.stdout.write(`${line}\n`);
  say('Simulated vendor APIs are running (one shared world; control surface under /_sim/):');
  for (const vendor of SIMULATED_VENDORS) {
    const credentials = Object.entries(DEFAULT_CREDENTIALS[vendor]).map(([key, value]) => `${key}=${value}`).join(' ');
    say(`  ${vendor.padEnd(19)} ${simulators.urls[vendor].padEnd(23)} ${credentials}`);
  }
  say('Press Ctrl-C to stop.');
  // A line for launchers that wait for readiness (npm start).
  process.stderr.write(`${JSON.stringify({ level: 30, time: Date.now(), msg: 'simulators listening', urls: simulators.urls })}\n`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void simulators.close().then(() => process.exit(0)));
  }
});
