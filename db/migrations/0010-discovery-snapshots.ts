import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // What discovery last read of each company it watches: the customer's sync uses it instead of
  // reading the PSA again, and an incremental pass compares against it.
  await db.schema
    .createTable('psa_company_lines')
    .addColumn('partner_id', 'uuid', (col) => col.notNull().references('partners.id').onDelete('cascade'))
    .addColumn('psa_company_id', 'text', (col) => col.notNull())
    .addColumn('company_name', 'text')
    .addColumn('company_active', 'boolean', (col) => col.notNull())
    .addColumn('lines', 'jsonb', (col) => col.notNull())
    .addColumn('changes_at', 'timestamptz')
    .addColumn('read_at', 'timestamptz', (col) => col.notNull())
    .addPrimaryKeyConstraint('psa_company_lines_pk', ['partner_id', 'psa_company_id'])
    .execute();
  // How far discovery has read the partner's PSA: incremental passes ask for what changed since.
  await db.schema
    .createTable('discovery_watermarks')
    .addColumn('partner_id', 'uuid', (col) => col.primaryKey().references('partners.id').onDelete('cascade'))
    .addColumn('checked_from', 'timestamptz', (col) => col.notNull())
    .addColumn('full_at', 'timestamptz', (col) => col.notNull())
    .addColumn('full_automatic', 'boolean', (col) => col.notNull())
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('discovery_watermarks').execute();
  await db.schema.dropTable('psa_company_lines').execute();
}
