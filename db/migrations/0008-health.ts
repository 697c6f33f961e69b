import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // The last success and the last failure of each partner's calls to each system (acronis, psa,
  // rmm): what GET /partners/{id}/health and the partner list show, and what pauses the loops
  // when a system refuses the credentials. One row per system, rewritten at most once per activity.
  await db.schema
    .createTable('partner_health')
    .addColumn('partner_id', 'uuid', (col) => col.notNull().references('partners.id').onDelete('cascade'))
    .addColumn('system', 'text', (col) => col.notNull().check(sql`system in ('acronis', 'psa', 'rmm')`))
    .addColumn('last_success_at', 'timestamptz')
    .addColumn('last_failure_at', 'timestamptz')
    .addColumn('last_failure_kind', 'text')
    .addColumn('last_failure_message', 'text')
    .addPrimaryKeyConstraint('partner_health_pk', ['partner_id', 'system'])
    .execute();

  // The Acronis partner tenant the API client acts for, read from Acronis when the credentials are
  // saved: one Acronis account (tenant) serves one live partner, whichever of its API clients is used.
  await db.schema.alterTable('partners').addColumn('acronis_tenant_id', 'text').execute();

  // A token with a partner sees and changes only that partner (SPEC F10.2).
  await db.schema.alterTable('api_tokens').addColumn('partner_id', 'uuid', (col) => col.references('partners.id').onDelete('cascade')).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('api_tokens').dropColumn('partner_id').execute();
  await db.schema.alterTable('partners').dropColumn('acronis_tenant_id').execute();
  await db.schema.dropTable('partner_health').execute();
}
