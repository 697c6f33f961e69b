import { sql, type Transaction } from 'kysely';
import type { ExternalSystem } from '../domain/partner.ts';
import { healthStatus, type SystemHealthRecord } from '../domain/health.ts';
import type { Db } from './connection.ts';
import type { Database } from './schema.ts';

type Queryable = Db | Transaction<Database>;

const columns = [
  'system',
  'last_success_at as lastSuccessAt',
  'last_failure_at as lastFailureAt',
  'last_failure_kind as lastFailureKind',
  'last_failure_message as lastFailureMessage',
] as const;

/**
 * Merges what an activity saw into the partner's record, in one statement: each system keeps its
 * latest success and its latest failure, whichever activity saw them (activities end out of order).
 */
export async function recordHealth(db: Queryable, partnerId: string, records: readonly SystemHealthRecord[]): Promise<void> {
  if (records.length === 0) return;
  const newerFailure = sql`excluded.last_failure_at is not null and (partner_health.last_failure_at is null or excluded.last_failure_at >= partner_health.last_failure_at)`;
  await db
    .insertInto('partner_health')
    .values(records.map((record) => ({
      partner_id: partnerId,
      system: record.system,
      last_success_at: record.lastSuccessAt,
      last_failure_at: record.lastFailureAt,
      last_failure_kind: record.lastFailureKind,
      last_failure_message: record.lastFailureMessage,
    })))
    .onConflict((conflict) =>
      conflict.columns(['partner_id', 'system']).doUpdateSet({
        last_success_at: sql`greatest(partner_health.last_success_at, excluded.last_success_at)`,
        last_failure_at: sql`greatest(partner_health.last_failure_at, excluded.last_failure_at)`,
        last_failure_kind: sql`case when ${newerFailure} then excluded.last_failure_kind else partner_health.last_failure_kind end`,
        last_failure_message: sql`case when ${newerFailure} then excluded.last_failure_message else partner_health.last_failure_message end`,
      }),
    )
    .execute();
}

/** The credentials of these systems were just accepted (checked on save): a success now. */
export async function recordAcceptedCredentials(db: Queryable, partnerId: string, systems: readonly ExternalSystem[], at = new Date()): Promise<void> {
  await recordHealth(db, partnerId, systems.map((system) => ({ system, lastSuccessAt: at, lastFailureAt: null, lastFailureKind: null, lastFailureMessage: null })));
}

export async function readHealth(db: Queryable, partnerId: string): Promise<SystemHealthRecord[]> {
  return db.selectFrom('partner_health').select(columns).where('partner_id', '=', partnerId).execute();
}

/** Every listed partner's records, for the partner list. */
export async function readHealthOf(db: Queryable, partnerIds: readonly string[]): Promise<Map<string, SystemHealthRecord[]>> {
  const byPartner = new Map<string, SystemHealthRecord[]>(partnerIds.map((id) => [id, []]));
  if (partnerIds.length === 0) return byPartner;
  const rows = await db.selectFrom('partner_health').select(['partner_id as partnerId', ...columns]).where('partner_id', 'in', partnerIds).execute();
  for (const { partnerId, ...record } of rows) byPartner.get(partnerId)?.push(record);
  return byPartner;
}

/** The systems whose last word was a refusal of the partner's credentials. */
export async function rejectedSystems(db: Queryable, partnerId: string): Promise<ExternalSystem[]> {
  return (await readHealth(db, partnerId)).filter((record) => healthStatus(record) === 'credentials-rejected').map((record) => record.system);
}
