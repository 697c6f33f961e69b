import { sql, type Kysely } from 'kysely';

// Migrations take Kysely<unknown>: they describe the schema as it was then, not as the types say today.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('partners')
    .addColumn('id', 'uuid', (col) => col.primaryKey())
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('timezone', 'text', (col) => col.notNull())
    .addColumn('psa_kind', 'text', (col) => col.notNull().check(sql`psa_kind in ('connectwise-manage', 'autotask')`))
    .addColumn('rmm_kind', 'text', (col) => col.check(sql`rmm_kind in ('connectwise-automate')`))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('deleted_at', 'timestamptz')
    .execute();
  // Names identify partners to admins; two live partners with one name would be a mistake (or a retried POST).
  await sql`create unique index partners_live_name on partners (lower(name)) where deleted_at is null`.execute(db);

  await db.schema
    .createTable('credentials')
    .addColumn('partner_id', 'uuid', (col) => col.notNull().references('partners.id').onDelete('cascade'))
    .addColumn('system', 'text', (col) => col.notNull().check(sql`system in ('acronis', 'psa', 'rmm')`))
    .addColumn('kind', 'text', (col) => col.notNull())
    .addColumn('visible', 'jsonb', (col) => col.notNull())
    .addColumn('sealed_secrets', 'text', (col) => col.notNull())
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('credentials_pk', ['partner_id', 'system'])
    .execute();

  await db.schema
    .createTable('partner_settings')
    .addColumn('partner_id', 'uuid', (col) => col.primaryKey().references('partners.id').onDelete('cascade'))
    .addColumn('document', 'jsonb', (col) => col.notNull())
    .addColumn('version', 'integer', (col) => col.notNull().defaultTo(1))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('product_mappings')
    .addColumn('partner_id', 'uuid', (col) => col.notNull().references('partners.id').onDelete('cascade'))
    .addColumn('offering_item', 'text', (col) => col.notNull())
    .addColumn('psa_product_id', 'text')
    .addColumn('free', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('product_mappings_pk', ['partner_id', 'offering_item'])
    .addCheckConstraint('product_mappings_free_or_product', sql`not (free and psa_product_id is not null)`)
    .execute();

  await db.schema
    .createTable('company_mappings')
    .addColumn('partner_id', 'uuid', (col) => col.notNull().references('partners.id').onDelete('cascade'))
    .addColumn('psa_company_id', 'text', (col) => col.notNull())
    .addColumn('acronis_tenant_id', 'text')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('company_mappings_pk', ['partner_id', 'psa_company_id'])
    .addUniqueConstraint('company_mappings_one_company_per_tenant', ['partner_id', 'acronis_tenant_id'])
    .execute();

  await db.schema
    .createTable('alert_mappings')
    .addColumn('partner_id', 'uuid', (col) => col.notNull().references('partners.id').onDelete('cascade'))
    .addColumn('alert_type', 'text', (col) => col.notNull())
    .addColumn('enabled', 'boolean', (col) => col.notNull())
    .addColumn('ticket', 'jsonb', (col) => col.notNull())
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('alert_mappings_pk', ['partner_id', 'alert_type'])
    .execute();

  await db.schema
    .createTable('api_tokens')
    .addColumn('id', 'uuid', (col) => col.primaryKey())
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('role', 'text', (col) => col.notNull().check(sql`role in ('admin', 'read-only')`))
    .addColumn('token_hash', 'text', (col) => col.notNull().unique())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('last_used_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .execute();

  await db.schema
    .createTable('audit_log')
    .addColumn('id', 'bigint', (col) => col.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('actor', 'text', (col) => col.notNull())
    .addColumn('action', 'text', (col) => col.notNull())
    .addColumn('partner_id', 'uuid')
    .addColumn('target', 'text', (col) => col.notNull())
    .addColumn('details', 'jsonb', (col) => col.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('request_id', 'text')
    .execute();
  await db.schema.createIndex('audit_log_partner_at').on('audit_log').columns(['partner_id', 'at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['audit_log', 'api_tokens', 'alert_mappings', 'company_mappings', 'product_mappings', 'partner_settings', 'credentials', 'partners']) {
    await db.schema.dropTable(table).execute();
  }
}
