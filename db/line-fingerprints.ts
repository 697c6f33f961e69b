import type { Transaction } from 'kysely';
import type { Db } from './connection.ts';
import type { Database } from './schema.ts';

type Queryable = Db | Transaction<Database>;

/** What discovery last told each mapped company's workflow, and when, by PSA company id. */
export async function readFingerprints(db: Queryable, partnerId: string): Promise<Map<string, { fingerprint: string; seenAt: Date }>> {
  const rows = await db.selectFrom('customer_line_fingerprints').select(['psa_company_id', 'fingerprint', 'seen_at']).where('partner_id', '=', partnerId).execute();
  return new Map(rows.map((row) => [row.psa_company_id, { fingerprint: row.fingerprint, seenAt: row.seen_at }]));
}

export async function saveFingerprint(db: Queryable, partnerId: string, psaCompanyId: string, fingerprint: string): Promise<void> {
  await db
    .insertInto('customer_line_fingerprints')
    .values({ partner_id: partnerId, psa_company_id: psaCompanyId, fingerprint })
    .onConflict((conflict) => conflict.columns(['partner_id', 'psa_company_id']).doUpdateSet({ fingerprint, seen_at: new Date() }))
    .execute();
}

/** Forgets the companies that are no longer mapped, so a mapping made again is signalled again. */
export async function keepFingerprintsOf(db: Queryable, partnerId: string, psaCompanyIds: readonly string[]): Promise<void> {
  let query = db.deleteFrom('customer_line_fingerprints').where('partner_id', '=', partnerId);
  if (psaCompanyIds.length > 0) query = query.where('psa_company_id', 'not in', psaCompanyIds);
  await query.execute();
}
