import { setTimeout as delay } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { ENGINE_SEARCH_ATTRIBUTES } from '../workflows/search-attributes.ts';
import { spawnDetached } from './detached-process.ts';
import { resolveTemporalExecutable } from './temporal-binaries.ts';

export interface TemporalDevServer {
  address: string;
  uiUrl: string;
  /** Where the binary came from (env, PATH or the SDK download). */
  source: string;
  stop(): Promise<void>;
}

export interface TemporalDevServerOptions {
  port: number;
  uiPort: number;
  /** SQLite file that keeps workflows across restarts. */
  dbFile: string;
  /** The API's codec endpoint, so the Web UI can decode payloads for signed-in operators. */
  codecEndpoint: string;
  onLog?: (line: string) => void;
}

/** The CLI spells search attribute types in CamelCase: KEYWORD_LIST → KeywordList. */
function cliTypeName(type: string): string {
  return type.toLowerCase().replace(/(^|_)(\w)/g, (_, __, letter: string) => letter.toUpperCase());
}

async function waitUntilServing(address: string, hasExited: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (hasExited()) throw new Error(`the Temporal dev server exited at start (is port ${address.split(':')[1]} in use?)`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: '1 second' });
      try {
        await connection.workflowService.describeNamespace({ namespace: 'default' });
        return;
      } finally {
        await connection.close();
      }
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`the Temporal dev server did not answer on ${address} within 60 s`, { cause: error });
      await delay(250);
    }
  }
}

/**
 * The Temporal CLI dev server with its Web UI and the engine's search attributes. A binary found
 * through TEMPORAL_CLI_PATH or PATH runs in its own process group, so the launcher can stop it after
 * the worker has drained; without one, the SDK downloads and runs it.
 */
export async function startTemporalDevServer(options: TemporalDevServerOptions): Promise<TemporalDevServer> {
  const { executable, source } = resolveTemporalExecutable('dev-server');
  const address = `localhost:${options.port}`;
  const uiUrl = `http://localhost:${options.uiPort}`;

  if (executable.type === 'cached-download') {
    const env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable,
        port: options.port,
        ui: true,
        uiPort: options.uiPort,
        dbFilename: options.dbFile,
        searchAttributes: ENGINE_SEARCH_ATTRIBUTES,
        extraArgs: ['--ui-codec-endpoint', options.codecEndpoint],
      },
    });
    return { address, uiUrl, source, stop: () => env.teardown() };
  }

  const args = [
    'server', 'start-dev',
    '--port', String(options.port),
    '--ui-port', String(options.uiPort),
    '--db-filename', options.dbFile,
    '--ui-codec-endpoint', options.codecEndpoint,
    '--log-level', 'warn',
    ...ENGINE_SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=${cliTypeName(key.type)}`]),
  ];
  const server = spawnDetached(executable.path, args, { stopSignal: 'SIGTERM', onLog: options.onLog });
  try {
    await waitUntilServing(address, server.hasExited);
  } catch (error) {
    server.kill();
    throw error;
  }
  return {
    address,
    uiUrl,
    source,
    stop: () => server.stop(),
  };
}
