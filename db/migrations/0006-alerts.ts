import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // Alert identity ↔ PSA ticket, one row per ticket the identity has had (a new ticket after
  // `newTicketAfterDays` is the next generation). Outlives the identity's workflow, which ends
  // after its idle window: a later alert reads from here whether to note, reopen or open anew.
  await db.schema
    .createTable('ticket_links')
    .addColumn('partner_id', 'uuid', (col) => col.notNull().references('partners.id').onDelete('cascade'))
    // `<company>/<alert type>/<resource>` for an alert identity, `<company>/storm-<ms>` for a storm's digest.
    .addColumn('identity', 'text', (col) => col.notNull())
    .addColumn('generation', 'integer', (col) => col.notNull())
    .addColumn('kind', 'text', (col) => col.notNull().check(sql`kind in ('alert', 'digest')`))
    .addColumn('psa_company_id', 'text', (col) => col.notNull())
    .addColumn('alert_type', 'text')
    .addColumn('resource_name', 'text')
    .addColumn('alert_id', 'text')
    // Our marker on the ticket (CWM externalXRef, Autotask externalID): looked up before every create.
    .addColumn('external_ref', 'text', (col) => col.notNull())
    .addColumn('ticket_id', 'text')
    .addColumn('ticket_number', 'text')
    .addColumn('state', 'text', (col) => col.notNull().check(sql`state in ('pending', 'open', 'closed', 'failed')`))
    .addColumn('notes', 'integer', (col) => col.notNull().defaultTo(0))
    // The newest occurrence (Acronis receivedAt, Unix ns) the ticket already reflects.
    .addColumn('last_occurrence_ns', 'bigint')
    .addColumn('last_error', 'text')
    // Set while a create is unanswered (timed out, connection lost): until the PSA has had time to
    // finish it, a retry only looks for the ticket, so a slow create is never made twice.
    .addColumn('create_started_at', 'timestamptz')
    // In the workflow's clock, which is what "closed N days ago" and the storm window are measured in.
    .addColumn('created_at', 'timestamptz', (col) => col.notNull())
    .addColumn('closed_at', 'timestamptz')
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('ticket_links_pk', ['partner_id', 'identity', 'generation'])
    .execute();
  await db.schema.createIndex('ticket_links_storm').on('ticket_links').columns(['partner_id', 'psa_company_id', 'kind', 'created_at']).execute();
  await db.schema.createIndex('ticket_links_state').on('ticket_links').columns(['partner_id', 'state', 'updated_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('ticket_links').execute();
}
