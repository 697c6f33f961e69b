import { sql, type Kysely } from 'kysely';

/**
 * Billing keeps a snapshot of the PSA's lines of its own, beside discovery's, in the same table:
 * each reader has its own rows and watermark, because each reads its own companies on its own
 * schedule (billing runs with provisioning off, and its companies are the mapped ones with a tenant).
 * Billing does not read the company itself, so its rows carry no name and no active flag.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('psa_company_lines').addColumn('reader', 'text', (col) => col.notNull().defaultTo('discovery')).execute();
  await db.schema.alterTable('psa_company_lines').alterColumn('reader', (col) => col.dropDefault()).execute();
  await db.schema.alterTable('psa_company_lines').addCheckConstraint('psa_company_lines_reader', sql`reader in ('discovery', 'billing')`).execute();
  await db.schema.alterTable('psa_company_lines').alterColumn('company_active', (col) => col.dropNotNull()).execute();
  await db.schema.alterTable('psa_company_lines').dropConstraint('psa_company_lines_pk').execute();
  await db.schema.alterTable('psa_company_lines').addPrimaryKeyConstraint('psa_company_lines_pk', ['partner_id', 'reader', 'psa_company_id']).execute();

  await db.schema.alterTable('discovery_watermarks').renameTo('psa_line_watermarks').execute();
  await db.schema.alterTable('psa_line_watermarks').addColumn('reader', 'text', (col) => col.notNull().defaultTo('discovery')).execute();
  await db.schema.alterTable('psa_line_watermarks').alterColumn('reader', (col) => col.dropDefault()).execute();
  await db.schema.alterTable('psa_line_watermarks').addCheckConstraint('psa_line_watermarks_reader', sql`reader in ('discovery', 'billing')`).execute();
  await db.schema.alterTable('psa_line_watermarks').dropConstraint('discovery_watermarks_pkey').execute();
  await db.schema.alterTable('psa_line_watermarks').addPrimaryKeyConstraint('psa_line_watermarks_pk', ['partner_id', 'reader']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`delete from psa_line_watermarks where reader <> 'discovery'`.execute(db);
  await db.schema.alterTable('psa_line_watermarks').dropConstraint('psa_line_watermarks_pk').execute();
  await db.schema.alterTable('psa_line_watermarks').dropConstraint('psa_line_watermarks_reader').execute();
  await db.schema.alterTable('psa_line_watermarks').dropColumn('reader').execute();
  await db.schema.alterTable('psa_line_watermarks').addPrimaryKeyConstraint('discovery_watermarks_pkey', ['partner_id']).execute();
  await db.schema.alterTable('psa_line_watermarks').renameTo('discovery_watermarks').execute();

  await sql`delete from psa_company_lines where reader <> 'discovery'`.execute(db);
  await db.schema.alterTable('psa_company_lines').dropConstraint('psa_company_lines_pk').execute();
  await db.schema.alterTable('psa_company_lines').dropConstraint('psa_company_lines_reader').execute();
  await db.schema.alterTable('psa_company_lines').dropColumn('reader').execute();
  await db.schema.alterTable('psa_company_lines').alterColumn('company_active', (col) => col.setNotNull()).execute();
  await db.schema.alterTable('psa_company_lines').addPrimaryKeyConstraint('psa_company_lines_pk', ['partner_id', 'psa_company_id']).execute();
}
