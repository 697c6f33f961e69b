import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // An admin user's activation e-mail, once sent: a pass that failed after giving the user its role
  // sends it again, and no pass sends it twice.
  await db.schema
    .createTable('activation_emails')
    .addColumn('partner_id', 'uuid', (col) => col.notNull().references('partners.id').onDelete('cascade'))
    .addColumn('acronis_user_id', 'text', (col) => col.notNull())
    .addColumn('acronis_tenant_id', 'text', (col) => col.notNull())
    .addColumn('sent_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('activation_emails_pk', ['partner_id', 'acronis_user_id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('activation_emails').execute();
}
