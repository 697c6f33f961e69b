import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // What discovery saw of each mapped company's lines at its last pass: a customer workflow is
  // signalled only when this changes, and the pages themselves stay out of workflow histories.
  await db.schema
    .createTable('customer_line_fingerprints')
    .addColumn('partner_id', 'uuid', (col) => col.notNull().references('partners.id').onDelete('cascade'))
    .addColumn('psa_company_id', 'text', (col) => col.notNull())
    .addColumn('fingerprint', 'text', (col) => col.notNull())
    .addColumn('seen_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('customer_line_fingerprints_pk', ['partner_id', 'psa_company_id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('customer_line_fingerprints').execute();
}
