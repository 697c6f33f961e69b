import { sql, type Kysely } from 'kysely';

// Usage reporting (SPEC F4). Quantities are numeric(18,2): exact hundredths, as ConnectWise Manage
// bills them; raw Acronis figures (bytes) are numeric(30,0).
export async function up(db: Kysely<unknown>): Promise<void> {
  // One pass of the usage loop, an approval's target and what the billing-runs routes show.
  await db.schema
    .createTable('billing_runs')
    .addColumn('id', 'uuid', (col) => col.primaryKey())
    .addColumn('partner_id', 'uuid', (col) => col.notNull().references('partners.id').onDelete('cascade'))
    .addColumn('trigger', 'text', (col) => col.notNull().check(sql`trigger in ('scheduled', 'sync-now', 'backfill')`))
    .addColumn('period_start', 'date', (col) => col.notNull())
    .addColumn('period_end', 'date', (col) => col.notNull())
    .addColumn('status', 'text', (col) => col.notNull().check(sql`status in ('running', 'written', 'awaiting-approval', 'approved', 'rejected', 'partly-written')`))
    .addColumn('due_at', 'timestamptz')
    .addColumn('note', 'text')
    .addColumn('unchanged', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('workflow_id', 'text', (col) => col.notNull())
    .addColumn('workflow_run_id', 'text', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('completed_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('billing_runs_by_partner').on('billing_runs').columns(['partner_id', 'created_at desc']).execute();

  // The ledger (F4.6, F4.8): every line a run wrote, held, had rejected, found in conflict or saw
  // refused. A line appears once per run and period; a write in flight (`writing`) is claimed before
  // the PSA call, one at a time per line and period, so no retry or second run can add it twice.
  await db.schema
    .createTable('usage_writes')
    .addColumn('id', 'bigserial', (col) => col.primaryKey())
    .addColumn('partner_id', 'uuid', (col) => col.notNull().references('partners.id').onDelete('cascade'))
    .addColumn('billing_run_id', 'uuid', (col) => col.notNull().references('billing_runs.id').onDelete('cascade'))
    .addColumn('psa_company_id', 'text', (col) => col.notNull())
    .addColumn('tenant_id', 'text', (col) => col.notNull())
    .addColumn('offering_item', 'text', (col) => col.notNull())
    .addColumn('psa_product_id', 'text', (col) => col.notNull())
    .addColumn('agreement_id', 'text', (col) => col.notNull())
    .addColumn('line_id', 'text', (col) => col.notNull())
    .addColumn('period_start', 'date', (col) => col.notNull())
    .addColumn('period_end', 'date', (col) => col.notNull())
    .addColumn('old_value', 'numeric(18, 2)')
    .addColumn('new_value', 'numeric(18, 2)', (col) => col.notNull())
    .addColumn('status', 'text', (col) => col.notNull().check(sql`status in ('writing', 'written', 'held', 'rejected', 'conflict', 'failed')`))
    .addColumn('reason', 'text')
    .addColumn('figure_read_at', 'timestamptz')
    .addColumn('decided_by', 'text')
    .addColumn('approved', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('workflow_run_id', 'text', (col) => col.notNull())
    .addColumn('at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('usage_writes_once_per_run', ['partner_id', 'psa_company_id', 'offering_item', 'period_start', 'billing_run_id'])
    .execute();
  await sql`create unique index usage_writes_one_in_flight on usage_writes (partner_id, psa_company_id, offering_item, period_start) where status = 'writing'`.execute(db);
  await db.schema.createIndex('usage_writes_by_period').on('usage_writes').columns(['partner_id', 'period_start', 'period_end']).execute();
  await db.schema.createIndex('usage_writes_by_run').on('usage_writes').columns(['billing_run_id']).execute();

  // What the engine knows of each line per period: the figure it last settled and what the PSA holds
  // unless someone changed it. A pass asks the PSA only about lines whose figure moved.
  await db.schema
    .createTable('usage_lines')
    .addColumn('partner_id', 'uuid', (col) => col.notNull().references('partners.id').onDelete('cascade'))
    .addColumn('psa_company_id', 'text', (col) => col.notNull())
    .addColumn('offering_item', 'text', (col) => col.notNull())
    .addColumn('period_start', 'date', (col) => col.notNull())
    .addColumn('period_end', 'date', (col) => col.notNull())
    .addColumn('agreement_id', 'text', (col) => col.notNull())
    .addColumn('line_id', 'text', (col) => col.notNull())
    .addColumn('reported_value', 'numeric(18, 2)')
    .addColumn('psa_value', 'numeric(18, 2)')
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('usage_lines_pk', ['partner_id', 'psa_company_id', 'offering_item', 'period_start'])
    .execute();

  // Acronis figures as read, per tenant, offering item and period (F4.9): the month to date keeps its
  // latest reading; a closed period keeps the first reading taken after its end plus the refresh lag,
  // so later passes, catch-ups and backfills report that period from the same figures.
  await db.schema
    .createTable('usage_figures')
    .addColumn('partner_id', 'uuid', (col) => col.notNull().references('partners.id').onDelete('cascade'))
    .addColumn('tenant_id', 'text', (col) => col.notNull())
    .addColumn('offering_item', 'text', (col) => col.notNull())
    .addColumn('period_start', 'date', (col) => col.notNull())
    .addColumn('value', 'numeric(30, 0)', (col) => col.notNull())
    .addColumn('measurement_unit', 'text', (col) => col.notNull())
    .addColumn('read_at', 'timestamptz', (col) => col.notNull())
    .addPrimaryKeyConstraint('usage_figures_pk', ['partner_id', 'tenant_id', 'offering_item', 'period_start'])
    .execute();

  // Drift found before a write (F4.11); one open conflict per line until an admin resolves it.
  await db.schema
    .createTable('usage_conflicts')
    .addColumn('id', 'uuid', (col) => col.primaryKey())
    .addColumn('partner_id', 'uuid', (col) => col.notNull().references('partners.id').onDelete('cascade'))
    .addColumn('billing_run_id', 'uuid', (col) => col.notNull().references('billing_runs.id').onDelete('cascade'))
    .addColumn('psa_company_id', 'text', (col) => col.notNull())
    .addColumn('offering_item', 'text', (col) => col.notNull())
    .addColumn('period_start', 'date', (col) => col.notNull())
    .addColumn('period_end', 'date', (col) => col.notNull())
    .addColumn('agreement_id', 'text', (col) => col.notNull())
    .addColumn('line_id', 'text', (col) => col.notNull())
    .addColumn('field', 'text', (col) => col.notNull())
    .addColumn('ours', 'numeric(18, 2)', (col) => col.notNull())
    .addColumn('theirs', 'numeric(18, 2)', (col) => col.notNull())
    .addColumn('next_value', 'numeric(18, 2)', (col) => col.notNull())
    .addColumn('found_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('resolved_at', 'timestamptz')
    .addColumn('resolution', 'text', (col) => col.check(sql`resolution in ('ours', 'theirs')`))
    .addColumn('resolved_by', 'text')
    .execute();
  await sql`create unique index usage_conflicts_one_open on usage_conflicts (partner_id, psa_company_id, offering_item) where resolved_at is null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['usage_conflicts', 'usage_figures', 'usage_lines', 'usage_writes', 'billing_runs']) await db.schema.dropTable(table).execute();
}
