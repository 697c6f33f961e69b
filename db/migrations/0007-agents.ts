import { sql, type Kysely } from 'kysely';

// Agents and backup plans through the RMM (SPEC F6).
export async function up(db: Kysely<unknown>): Promise<void> {
  // F6.8: an Automate client an admin tied to an Acronis customer tenant; it outranks the link
  // through the client's PSA company.
  await db.schema
    .createTable('rmm_client_links')
    .addColumn('partner_id', 'uuid', (col) => col.notNull().references('partners.id').onDelete('cascade'))
    .addColumn('automate_client_id', 'integer', (col) => col.notNull())
    .addColumn('acronis_tenant_id', 'text', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('rmm_client_links_pk', ['partner_id', 'automate_client_id'])
    .execute();

  // F6.3, F6.4: per client (location null) or per location; the scan writes what it last did.
  await db.schema
    .createTable('agent_policies')
    .addColumn('partner_id', 'uuid', (col) => col.notNull().references('partners.id').onDelete('cascade'))
    .addColumn('automate_client_id', 'integer', (col) => col.notNull())
    .addColumn('automate_location_id', 'integer')
    .addColumn('auto_deploy', 'boolean', (col) => col.notNull())
    .addColumn('with_backup_monitor', 'boolean', (col) => col.notNull())
    .addColumn('default_plan_id', 'text')
    .addColumn('last_scan_at', 'timestamptz')
    .addColumn('last_scan_note', 'text')
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create unique index agent_policies_one_per_place on agent_policies (partner_id, automate_client_id, coalesce(automate_location_id, 0))`.execute(db);

  // F6.7: a customer's plan made available to every customer; copies are made in each customer
  // tenant on first use, from the policies kept here.
  await db.schema
    .createTable('imported_plans')
    .addColumn('partner_id', 'uuid', (col) => col.notNull().references('partners.id').onDelete('cascade'))
    .addColumn('plan_id', 'text', (col) => col.notNull())
    .addColumn('source_tenant_id', 'text', (col) => col.notNull())
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('policies', 'jsonb', (col) => col.notNull())
    .addColumn('is_default', 'boolean', (col) => col.notNull().defaultTo(false))
    .addColumn('imported_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('imported_plans_pk', ['partner_id', 'plan_id'])
    .execute();
  await sql`create unique index imported_plans_one_default on imported_plans (partner_id) where is_default`.execute(db);

  // Agent Manager filters by the legacy numeric tenant id, Account Management answers UUIDs; the pair never changes.
  await db.schema
    .createTable('acronis_tenant_numbers')
    .addColumn('partner_id', 'uuid', (col) => col.notNull().references('partners.id').onDelete('cascade'))
    .addColumn('tenant_id', 'text', (col) => col.notNull())
    .addColumn('numeric_id', 'text', (col) => col.notNull())
    .addPrimaryKeyConstraint('acronis_tenant_numbers_pk', ['partner_id', 'tenant_id'])
    .execute();

  // F6.2: one install, update or uninstall run over a set of computers.
  await db.schema
    .createTable('agent_deployments')
    .addColumn('id', 'uuid', (col) => col.primaryKey())
    .addColumn('partner_id', 'uuid', (col) => col.notNull().references('partners.id').onDelete('cascade'))
    .addColumn('action', 'text', (col) => col.notNull().check(sql`action in ('install', 'update', 'uninstall')`))
    .addColumn('trigger', 'text', (col) => col.notNull().check(sql`trigger in ('api', 'scan')`))
    .addColumn('status', 'text', (col) => col.notNull().check(sql`status in ('running', 'done')`))
    .addColumn('window_ends_at', 'timestamptz', (col) => col.notNull())
    .addColumn('registration_timeout_seconds', 'integer', (col) => col.notNull())
    .addColumn('requested_by', 'text', (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('finished_at', 'timestamptz')
    .addColumn('end_reason', 'text')
    .execute();
  await db.schema.createIndex('agent_deployments_by_partner').on('agent_deployments').columns(['partner_id', 'created_at']).execute();

  // Each computer's progress and outcome. `script_claimed_at` is written before a script is sent
  // and only where it is null: a computer is scripted at most once per deployment, whatever restarts.
  await db.schema
    .createTable('agent_deployment_computers')
    .addColumn('deployment_id', 'uuid', (col) => col.notNull().references('agent_deployments.id').onDelete('cascade'))
    .addColumn('computer_id', 'integer', (col) => col.notNull())
    .addColumn('partner_id', 'uuid', (col) => col.notNull().references('partners.id').onDelete('cascade'))
    .addColumn('automate_client_id', 'integer', (col) => col.notNull())
    .addColumn('automate_location_id', 'integer', (col) => col.notNull())
    .addColumn('computer_name', 'text', (col) => col.notNull())
    .addColumn('tenant_id', 'text', (col) => col.notNull())
    .addColumn('with_backup_monitor', 'boolean', (col) => col.notNull())
    .addColumn('status', 'text', (col) => col.notNull().check(sql`status in ('pending', 'running', 'succeeded', 'failed')`))
    .addColumn('agent_id', 'text')
    .addColumn('reason', 'text')
    .addColumn('script_claimed_at', 'timestamptz')
    .addColumn('script_sent_at', 'timestamptz')
    .addColumn('scripts_sent', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('wait_until', 'timestamptz')
    .addColumn('finished_at', 'timestamptz')
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('agent_deployment_computers_pk', ['deployment_id', 'computer_id'])
    .execute();
  await db.schema.createIndex('agent_deployment_computers_by_computer').on('agent_deployment_computers').columns(['partner_id', 'computer_id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['agent_deployment_computers', 'agent_deployments', 'acronis_tenant_numbers', 'imported_plans', 'agent_policies', 'rmm_client_links']) {
    await db.schema.dropTable(table).execute();
  }
}
