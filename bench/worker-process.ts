/**
 * The engine's worker as production runs it (`npm run worker`), in a process of its own, so a
 * benchmark can read what that process alone costs: its resident memory (/proc) and the Temporal
 * SDK's worker metrics on its metrics port (temporal/worker-metrics.ts).
 */
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { startNodeProcess } from '../dev/node-process.ts';
import { freePort } from '../test/free-port.ts';

const START_DEADLINE_MS = 120_000;
/** The last lines the worker wrote, shown when it dies. */
const KEPT_LINES = 40;
/** pino's `warn`. */
const WARN_LEVEL = 40;

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

/** A log line at warn or above, or one that is not a log line at all (a stack trace). */
function isWarning(line: string): boolean {
  try {
    return !((JSON.parse(line) as { level?: number }).level! < WARN_LEVEL);
  } catch {
    return true;
  }
}

/** Starts `npm run worker` (node worker.ts) and resolves once it runs. */
export async function startWorkerProcess(options: WorkerProcessOptions): Promise<WorkerProcess> {
  const metricsPort = await freePort();
  const recent: string[] = [];
  const onWarning = options.onWarning ?? ((line: string) => process.stderr.write(`[worker] ${line}\n`));
  const worker = await startNodeProcess('worker.ts', {
    env: {
      ...process.env,
      DATABASE_URL: options.databaseUrl,
      TEMPORAL_ADDRESS: options.temporalAddress,
      ENCRYPTION_KEY: options.encryptionKey,
      METRICS_PORT: String(metricsPort),
      LOG_LEVEL: 'info',
    },
    readyMessage: 'worker running',
    readyWithinMs: START_DEADLINE_MS,
    onLine(line) {
      if (!line) return;
      recent.push(line);
      if (recent.length > KEPT_LINES) recent.shift();
      if (isWarning(line)) onWarning(line);
    },
  });
  const pid = worker.child.pid!;
  const metricsUrl = `http://127.0.0.1:${metricsPort}`;
  return {
    pid,
    metricsUrl,
    memory: () => ({ rssMib: statusMib(pid, 'VmRSS'), peakMib: statusMib(pid, 'VmHWM') }),
    async metrics() {
      if (worker.hasExited()) throw new Error(`the worker process exited (${await worker.exited}):\n${recent.join('\n')}`);
      const response = await fetch(`${metricsUrl}/metrics`);
      if (!response.ok) throw new Error(`the worker's /metrics answered ${response.status}`);
      return response.text();
    },
    async stop() {
      const stopped = worker.stop('SIGTERM');
      const gone = await Promise.race([stopped.then(() => true), delay(45_000).then(() => false)]);
      if (!gone) await worker.stop('SIGKILL');
    },
  };
}
