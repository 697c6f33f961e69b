import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../test/database.ts';
import { migrateDownToNothing, migrateToLatest } from './migrate.ts';

async function tables(database: TestDatabase): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = 'public' and table_name not like 'kysely_%' order by 1`.execute(database.db);
  return rows.map((row) => row.name);
}

const TABLES = ['acronis_tenant_numbers', 'activation_emails', 'agent_deployment_computers', 'agent_deployments', 'agent_policies', 'alert_mappings', 'api_tokens', 'audit_log', 'billing_runs', 'company_mappings', 'credentials', 'customer_line_fingerprints', 'imported_plans', 'partner_health', 'partner_settings', 'partners', 'product_mappings', 'psa_company_lines', 'psa_line_watermarks', 'rmm_client_links', 'ticket_links', 'usage_conflicts', 'usage_figures', 'usage_lines', 'usage_writes'];

describe('migrations', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase({ migrate: false });
  });
  afterAll(() => database.drop());

  it('create every table on an empty database', async () => {
    await migrateToLatest(database.db);
    expect(await tables(database)).toEqual(TABLES);
  });

  it('are a no-op when run again, also from two processes at once', async () => {
    await Promise.all([migrateToLatest(database.db), migrateToLatest(database.db)]);
    expect(await tables(database)).toEqual(TABLES);
  });

  it('roll back to nothing and forward again', async () => {
    await migrateDownToNothing(database.db);
    expect(await tables(database)).toEqual([]);
    await migrateToLatest(database.db);
    expect(await tables(database)).toEqual(TABLES);
  });
});
