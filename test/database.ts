import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { inject } from 'vitest';
import { connectDatabase, type Db } from '../db/connection.ts';
import { migrateToLatest } from '../db/migrate.ts';

export interface TestDatabase {
  db: Db;
  url: string;
  drop(): Promise<void>;
}

async function admin<T>(adminUrl: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** A new, empty database on the shared test server (or the server of `adminUrl`, outside vitest), optionally migrated. */
export async function createTestDatabase(options: { migrate?: boolean; adminUrl?: string } = {}): Promise<TestDatabase> {
  const adminUrl = options.adminUrl ?? inject('postgresAdminUrl');
  const name = `test_${randomBytes(6).toString('hex')}`;
  await admin(adminUrl, (client) => client.query(`create database ${name}`));
  const url = adminUrl.replace(/\/postgres$/, `/${name}`);
  const db = connectDatabase(url, { maxConnections: 5 });
  if (options.migrate !== false) await migrateToLatest(db);
  return {
    db,
    url,
    async drop() {
      await db.destroy();
      await admin(adminUrl, async (client) => {
        // The pool has let its connections go, but they may still be closing: forced off now, one
        // of them would raise an error nobody listens to any more. Only what still holds on after
        // the deadline is forced off.
        const deadline = Date.now() + 5_000;
        const open = async () => (await client.query<{ open: number }>('select count(*)::int as open from pg_stat_activity where datname = $1', [name])).rows[0]?.open ?? 0;
        while ((await open()) > 0 && Date.now() < deadline) await delay(20);
        await client.query(`drop database ${name} with (force)`);
      });
    },
  };
}
