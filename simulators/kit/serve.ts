import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { SimulatorApp } from './simulator-app.ts';

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Serves a simulator on `port` (0 picks a free one) and resolves once it listens. */
export function listen(simulator: SimulatorApp, port: number, hostname = 'localhost'): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: simulator.app.fetch, port, hostname }, (info: AddressInfo) => {
      resolve({
        url: `http://localhost:${info.port}`,
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            simulator.shutdown();
            server.close(() => done());
            if ('closeAllConnections' in server) server.closeAllConnections();
          }),
      });
    });
    server.once('error', reject);
  });
}
