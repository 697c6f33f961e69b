import type { Db } from './connection.ts';

export async function activationEmailSent(db: Db, partnerId: string, userId: string): Promise<boolean> {
  const row = await db.selectFrom('activation_emails').select('sent_at').where('partner_id', '=', partnerId).where('acronis_user_id', '=', userId).executeTakeFirst();
  return row !== undefined;
}

export async function recordActivationEmail(db: Db, partnerId: string, tenantId: string, userId: string): Promise<void> {
  await db
    .insertInto('activation_emails')
    .values({ partner_id: partnerId, acronis_user_id: userId, acronis_tenant_id: tenantId })
    .onConflict((conflict) => conflict.columns(['partner_id', 'acronis_user_id']).doNothing())
    .execute();
}
