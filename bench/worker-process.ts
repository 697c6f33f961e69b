/**
 * The engine's worker as production runs it (`npm run worker`), in a process of its own, so a
 * benchmark can read what that process alone costs: its resident memory (/proc) and the Temporal
 * SDK's worker metrics on its metrics port (temporal/worker-metrics.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/free-port.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const START_DEADLINE_MS = 120_000;
/** The last lines the worker wrote, shown when it dies. */
const KEPT_LINES = 40;

export interface WorkerProcessOptions {
  databaseUrl: string;
  temporalAddress: string;
  /** The engine's key, base64. */
  encryptionKey: string;
  /** Lines the worker logs at warn and above go here (the benchmark's stderr by default). */
  onWarning?: (line: string) => void;
}

export interface WorkerProcess {
  pid: number;
  metricsUrl: string;
  /** Resident memory now, MiB (VmRSS), and the most it has had (VmHWM). */
  memory(): { rssMib: number; peakMib: number };
  /** The worker's Prometheus text: the SDK's metrics and the engine's counters. */
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

function statusMib(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`/proc/${pid}/status has no ${field}`);
  return Number(match[1]) / 1024;
}

/** Starts `npm run worker` (node worker.ts) and resolves once its health check answers `ok`. */
export async function startWorkerProcess(options: WorkerProcessOptions): Promise<WorkerProcess> {
  const metricsPort = await freePort();
  const child: ChildProcess = spawn(process.execPath, [join(ROOT, 'worker.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: options.databaseUrl,
      TEMPORAL_ADDRESS: options.temporalAddress,
      ENCRYPTION_KEY: options.encryptionKey,
      METRICS_PORT: String(metricsPort),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // The worker must not outlive the benchmark, however it ends.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  const recent: string[] = [];
  const onWarning = options.onWarning ?? ((line: string) => process.stderr.write(`[worker] ${line}\n`));
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream?.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (!line) continue;
        recent.push(line);
        if (recent.length > KEPT_LINES) recent.shift();
        onWarning(line);
      }
    });
  }
  const metricsUrl = `http://127.0.0.1:${metricsPort}`;
  const deadline = Date.now() + START_DEADLINE_MS;
  for (;;) {
    if (exited !== undefined) throw new Error(`the worker process exited (${exited}) at start:\n${recent.join('\n')}`);
    const healthy = await fetch(`${metricsUrl}/healthz`).then((response) => response.ok, () => false);
    if (healthy) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the worker process was not healthy within ${START_DEADLINE_MS / 1000} s:\n${recent.join('\n')}`);
    }
    await delay(250);
  }
  const pid = child.pid!;
  return {
    pid,
    metricsUrl,
    memory: () => ({ rssMib: statusMib(pid, 'VmRSS'), peakMib: statusMib(pid, 'VmHWM') }),
    async metrics() {
      if (exited !== undefined) throw new Error(`the worker process exited (${exited}):\n${recent.join('\n')}`);
      const response = await fetch(`${metricsUrl}/metrics`);
      if (!response.ok) throw new Error(`the worker's /metrics answered ${response.status}`);
      return response.text();
    },
    async stop() {
      if (exited !== undefined) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const killed = await Promise.race([gone.then(() => true), delay(45_000).then(() => false)]);
      if (!killed) {
        child.kill('SIGKILL');
        await gone;
      }
    },
  };
}
