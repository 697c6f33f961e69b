import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/database.ts';
import { migrateDownToNothing, migrateToLatest } from './migrate.ts';

async function tables(database: TestDatabase): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = 'public' and table_name not like 'kysely_%' order by 1`.execute(database.db);
  return rows.map((row) => row.name);
}

describe('migrations', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase({ migrate: false });
  });
  afterAll(() => database.drop());

  it('create every table on an empty database', async () => {
    await migrateToLatest(database.db);
    expect(await tables(database)).toEqual(['activation_emails', 'alert_mappings', 'api_tokens', 'audit_log', 'company_mappings', 'credentials', 'customer_line_fingerprints', 'partner_settings', 'partners', 'product_mappings', 'ticket_links']);
  });

  it('are a no-op when run again, also from two processes at once', async () => {
    await Promise.all([migrateToLatest(database.db), migrateToLatest(database.db)]);
    expect(await tables(database)).toHaveLength(11);
  });

  it('roll back to nothing and forward again', async () => {
    await migrateDownToNothing(database.db);
    expect(await tables(database)).toEqual([]);
    await migrateToLatest(database.db);
    expect(await tables(database)).toHaveLength(11);
  });
});
