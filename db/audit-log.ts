import type { Transaction } from 'kysely';
import type { Db } from './connection.ts';
import type { Database } from './schema.ts';

type Queryable = Db | Transaction<Database>;

export interface AuditEntry {
  actor: string;
  action: string;
  partnerId: string | null;
  target: string;
  details: Record<string, unknown>;
  requestId: string | null;
}

export interface AuditRecord extends AuditEntry {
  id: string;
  at: Date;
}

/** Written in the same transaction as the change it describes: no change without its entry. */
export async function recordAudit(db: Queryable, entry: AuditEntry): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      actor: entry.actor,
      action: entry.action,
      partner_id: entry.partnerId,
      target: entry.target,
      details: JSON.stringify(entry.details),
      request_id: entry.requestId,
    })
    .execute();
}

export async function readAudit(db: Queryable, filter: { partnerId?: string | undefined; beforeId?: string | undefined; limit: number }): Promise<AuditRecord[]> {
  let query = db
    .selectFrom('audit_log')
    .select(['id', 'at', 'actor', 'action', 'partner_id as partnerId', 'target', 'details', 'request_id as requestId'])
    .orderBy('id', 'desc')
    .limit(filter.limit);
  if (filter.partnerId) query = query.where('partner_id', '=', filter.partnerId);
  if (filter.beforeId) query = query.where('id', '<', filter.beforeId);
  return query.execute();
}
