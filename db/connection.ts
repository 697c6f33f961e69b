import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.ts';

export type Db = Kysely<Database>;

export function connectDatabase(url: string, options: { maxConnections?: number } = {}): Db {
  const pool = new pg.Pool({ connectionString: url, max: options.maxConnections ?? 10, connectionTimeoutMillis: 5_000 });
  // An idle connection the server closes (a restart, a failover) is dropped from the pool and the next
  // query opens another; without a listener, pg's 'error' event would end the whole process.
  pool.on('error', () => undefined);
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
