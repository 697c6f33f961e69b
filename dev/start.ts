import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync, createWriteStream } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { generateToken } from '../db/api-tokens.ts';
import { registerDemoPartners, seedDemoWorld, type DemoWorld, type SimulatorUrls } from './demo-world.ts';
import { forEachLine } from './node-process.ts';
import { startPostgresServer, type PostgresServer } from './postgres-server.ts';
import { SIMULATED_VENDORS, SIMULATOR_PORTS, type SimulatedVendor } from '../simulators/ports.ts';
import { startTemporalDevServer, type TemporalDevServer } from './temporal-server.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;
const dataDir = resolve(env.DATA_DIR ?? join(ROOT, '.data'));
const shownDataDir = relative(process.cwd(), dataDir) || '.';
const port = Number(env.PORT ?? 3000);
const publicUrl = `http://localhost:${port}`;
const DATABASE_NAME = 'integration';

function simulatorUrl(vendor: SimulatedVendor): string {
  const { port: fallback, variable } = SIMULATOR_PORTS[vendor];
  return `http://localhost:${Number(env[variable] ?? fallback)}`;
}

function say(line = ''): void {
  process.stdout.write(`${line}\n`);
}

/** Dev-only secrets live in .data/ so restarts keep them; production passes them in the environment. */
function persisted(file: string, create: () => string): string {
  const path = join(dataDir, file);
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  const value = create();
  writeFileSync(path, `${value}\n`, { mode: 0o600 });
  return value;
}

function logFile(name: string): (line: string) => void {
  mkdirSync(join(dataDir, 'logs'), { recursive: true });
  const stream = createWriteStream(join(dataDir, 'logs', `${name}.log`), { flags: 'a' });
  return (line) => stream.write(`${line}\n`);
}

const LEVEL_NAMES: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** The children log JSON lines (for collectors); the terminal gets them readable. */
function readable(name: string, line: string): string {
  try {
    const { level, time, msg, component: _component, pid: _pid, hostname: _hostname, ...rest } = JSON.parse(line) as Record<string, unknown>;
    const fields = Object.entries(rest).map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
    const at = new Date(Number(time)).toISOString().slice(11, 19);
    return `${at} ${name.padEnd(6)} ${(LEVEL_NAMES[Number(level)] ?? '').padEnd(5)} ${String(msg)} ${fields.join(' ')}`.trimEnd();
  } catch {
    return `${name.padEnd(6)} ${line}`;
  }
}

const children: { name: string; process: ChildProcess }[] = [];
let postgres: PostgresServer | undefined;
let temporal: TemporalDevServer | undefined;
let stopping = false;

/** Starts a child and resolves once it logs `readyMessage`. */
function startChild(name: string, script: string, childEnv: NodeJS.ProcessEnv, readyMessage: string): Promise<void> {
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  // Own process group: a Ctrl-C reaches the launcher only, which stops the children in order.
  const child = spawn(process.execPath, [join(ROOT, script)], { cwd: ROOT, env: childEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  forEachLine(child, (line) => {
    if (!line.trim()) return;
    if (line.includes(`"msg":"${readyMessage}"`)) markReady();
    say(readable(name, line));
  });
  child.once('exit', (code, signal) => {
    if (stopping) return;
    say(`${name} exited unexpectedly (${signal ?? `code ${code}`}); stopping everything.`);
    void stop(1);
  });
  process.once('exit', () => child.kill('SIGKILL'));
  children.push({ name, process: child });
  return ready;
}

async function waitForHealth(deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${publicUrl}/healthz`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await delay(500);
  }
  throw new Error(`the admin API did not report healthy within ${deadlineMs / 1000} s`);
}

async function stop(exitCode: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  say('\nStopping: admin API, worker and simulators, then Temporal, then PostgreSQL ...');
  await Promise.all(
    children.map(async ({ process: child }) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      // The worker's grace period for in-flight activities is 30 s.
      const forced = delay(35_000).then(() => child.kill('SIGKILL'));
      await Promise.race([exited, forced]);
    }),
  );
  await temporal?.stop().catch((error: unknown) => say(`Temporal did not stop cleanly: ${String(error)}`));
  await postgres?.stop().catch((error: unknown) => say(`PostgreSQL did not stop cleanly: ${String(error)}`));
  say('Stopped.');
  process.exit(exitCode);
}

async function main(): Promise<void> {
  mkdirSync(dataDir, { recursive: true });
  say(`Starting the Acronis MSP integration (state in ${shownDataDir}) ...`);
  const encryptionKey = env.ENCRYPTION_KEY ?? persisted('encryption.key', () => randomBytes(32).toString('base64'));
  const adminToken = env.ADMIN_TOKEN ?? persisted('admin-token', generateToken);

  let databaseUrl = env.DATABASE_URL;
  let databaseLabel = 'external (DATABASE_URL)';
  if (!databaseUrl) {
    const pgPort = Number(env.EMBEDDED_PG_PORT ?? 5433);
    postgres = await startPostgresServer({ dataDir: join(dataDir, 'postgres'), port: pgPort, onLog: logFile('postgres') });
    await postgres.ensureDatabase(DATABASE_NAME);
    databaseUrl = postgres.url(DATABASE_NAME);
    databaseLabel = `embedded, localhost:${pgPort}/${DATABASE_NAME}`;
  }

  let temporalAddress = env.TEMPORAL_ADDRESS;
  let temporalUiUrl = env.TEMPORAL_UI_URL ?? 'http://localhost:8233';
  let temporalLabel = 'external (TEMPORAL_ADDRESS)';
  if (!temporalAddress) {
    const temporalPort = Number(env.TEMPORAL_PORT ?? 7233);
    temporal = await startTemporalDevServer({
      port: temporalPort,
      uiPort: Number(env.TEMPORAL_UI_PORT ?? temporalPort + 1000),
      dbFile: join(dataDir, 'temporal.sqlite'),
      codecEndpoint: `${publicUrl}/codec`,
      onLog: logFile('temporal'),
    });
    temporalAddress = temporal.address;
    temporalUiUrl = temporal.uiUrl;
    temporalLabel = `dev server from ${temporal.source}`;
  }

  const childEnv: NodeJS.ProcessEnv = {
    ...env,
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_UI_URL: temporalUiUrl,
    ENCRYPTION_KEY: encryptionKey,
    ADMIN_TOKEN: adminToken,
    PORT: String(port),
    PUBLIC_URL: publicUrl,
  };
  const simulatorsOn = env.SIMULATORS !== 'off';
  const demoOn = simulatorsOn && env.DEMO !== 'off';
  const simulators = Object.fromEntries(SIMULATED_VENDORS.map((vendor) => [vendor, simulatorUrl(vendor)])) as SimulatorUrls;
  // Before the worker: partners' workflows (the demo partners' after a restart too) find the
  // simulated vendors up and seeded. The API boots meanwhile; only the worker runs workflows.
  if (simulatorsOn) await startChild('sim', 'simulators/main.ts', childEnv, 'simulators listening');
  const apiReady = startChild('api', 'api/server.ts', childEnv, 'admin API listening');
  let demoWorld: DemoWorld | undefined;
  if (demoOn) {
    say('Seeding the demo world into the simulated vendors (DEMO=off skips it) ...');
    demoWorld = await seedDemoWorld(simulators);
  }
  const workerReady = startChild('worker', 'worker.ts', childEnv, 'worker running');
  await Promise.all([workerReady, apiReady]);
  await waitForHealth(90_000);
  const demoPartners = demoWorld && (await registerDemoPartners({ url: publicUrl, token: adminToken }, simulators));

  say('');
  say('Acronis MSP integration is running.');
  say(`  Admin API        ${publicUrl}   (reference: ${publicUrl}/docs)`);
  say(`  Admin token      ${adminToken}${env.ADMIN_TOKEN ? '' : `   (kept in ${join(shownDataDir, 'admin-token')}; ADMIN_TOKEN overrides)`}`);
  say(`  Temporal Web UI  ${temporalUiUrl}   (decode payloads: sign in at ${publicUrl}/codec/login)`);
  say(`  Temporal         ${temporalAddress}   ${temporalLabel}`);
  say(`  Metrics          ${publicUrl}/metrics (API), http://localhost:${env.METRICS_PORT ?? 9464}/metrics and /healthz (worker)`);
  say(`  PostgreSQL       ${databaseLabel}`);
  if (simulatorsOn) {
    say('  Simulated vendors (credentials: GET <url>/_sim/state)');
    for (const vendor of SIMULATED_VENDORS) say(`    ${vendor.padEnd(19)} ${simulators[vendor]}`);
  } else {
    say('  Simulated vendors off (SIMULATORS=off)');
  }
  if (demoWorld && demoPartners) {
    say('  Demo world (DEMO=off skips it)');
    for (const { label, what } of demoWorld.made) say(`    ${label.padEnd(19)} ${what}`);
    for (const partner of demoPartners.partners) say(`    ${'Demo partner'.padEnd(19)} ${partner.name}  ${partner.id}  ${partner.replaced ? `(replaces ${partner.replaced} of the previous start)` : '(registered now)'}`);
    for (const problem of [...demoWorld.problems, ...demoPartners.problems]) say(`  WARNING: the demo world is incomplete, ${problem}`);
  } else if (simulatorsOn) {
    say('  Demo world       off (DEMO=off)');
  }
  say(`  Server logs      ${join(shownDataDir, 'logs')}/`);
  say('Press Ctrl-C to stop everything.');
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stop(0));
main().catch(async (error: unknown) => {
  say(`npm start failed: ${error instanceof Error ? error.message : String(error)}`);
  await stop(1);
});
