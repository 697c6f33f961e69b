/**
 * The worker's metrics port (METRICS_PORT): `GET /metrics` answers the Temporal SDK's worker
 * metrics (its Prometheus exporter listens on a loopback port of its own) followed by the engine's
 * counters, in one Prometheus text document; `GET /healthz` answers from the workers' states.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { State } from '@temporalio/worker';
import { PROMETHEUS_CONTENT_TYPE, renderEngineMetrics } from '../metrics/engine-metrics.ts';

const SDK_SCRAPE_TIMEOUT_MS = 2_000;

/** A loopback port nobody listens on, for the SDK's own exporter (Runtime.install needs a fixed address). */
export async function freeLoopbackPort(): Promise<number> {
  const server = createNetServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface WorkerMetricsOptions {
  port: number;
  host?: string;
  /** The SDK's exporter: `http://127.0.0.1:<port>/metrics`. */
  sdkMetricsUrl: string;
  /** The engine workers' states; healthy while every one runs. */
  states: () => State[];
}

async function sdkMetrics(url: string): Promise<string> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(SDK_SCRAPE_TIMEOUT_MS) });
    if (!response.ok) return `# Temporal SDK metrics unavailable: HTTP ${response.status}\n`;
    const text = await response.text();
    return text.endsWith('\n') || text === '' ? text : `${text}\n`;
  } catch (error) {
    return `# Temporal SDK metrics unavailable: ${error instanceof Error ? error.message : String(error)}\n`;
  }
}

export async function serveWorkerMetrics(options: WorkerMetricsOptions): Promise<Server> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method === 'GET' && path === '/metrics') {
      void sdkMetrics(options.sdkMetricsUrl).then((sdk) => {
        response.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE });
        response.end(sdk + renderEngineMetrics());
      });
      return;
    }
    if (request.method === 'GET' && path === '/healthz') {
      const [main, long] = options.states();
      const healthy = main === 'RUNNING' && long === 'RUNNING';
      response.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ status: healthy ? 'ok' : 'degraded', workers: { main, long } }));
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain' });
    response.end('not found: GET /metrics or /healthz\n');
  });
  server.listen(options.port, options.host ?? '0.0.0.0');
  await once(server, 'listening');
  return server;
}
