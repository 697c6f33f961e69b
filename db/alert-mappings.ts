import type { Transaction } from 'kysely';
import type { AlertMapping } from '../domain/alert-mappings.ts';
import type { Db } from './connection.ts';
import type { Database } from './schema.ts';

type Queryable = Db | Transaction<Database>;

export async function listAlertMappings(db: Queryable, partnerId: string): Promise<AlertMapping[]> {
  const rows = await db.selectFrom('alert_mappings').select(['alert_type', 'enabled', 'ticket']).where('partner_id', '=', partnerId).orderBy('alert_type').execute();
  return rows.map((row) => ({ alertType: row.alert_type, enabled: row.enabled, ticket: row.ticket }));
}

/** The whole set at once, as the API's PUT gives it: types not listed fall back to the default `*`. */
export async function replaceAlertMappings(db: Queryable, partnerId: string, mappings: readonly AlertMapping[]): Promise<void> {
  await db.deleteFrom('alert_mappings').where('partner_id', '=', partnerId).execute();
  if (mappings.length === 0) return;
  await db
    .insertInto('alert_mappings')
    .values(mappings.map((mapping) => ({ partner_id: partnerId, alert_type: mapping.alertType, enabled: mapping.enabled, ticket: JSON.stringify(mapping.ticket) })))
    .execute();
}
