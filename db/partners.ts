import { sql, type Transaction } from 'kysely';
import type { AcronisAccount, CredentialKind, ExternalSystem, PsaKind, RmmKind } from '../domain/partner.ts';
import type { Db } from './connection.ts';
import type { Database } from './schema.ts';

type Queryable = Db | Transaction<Database>;

export interface PartnerRow {
  id: string;
  name: string;
  timezone: string;
  psaKind: PsaKind;
  rmmKind: RmmKind | null;
  /** The Acronis partner tenant of the API client, read when the credentials were checked; null for rows saved before. */
  acronisTenantId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface CredentialRow {
  system: ExternalSystem;
  kind: CredentialKind;
  visible: Record<string, string>;
  sealedSecrets: string;
}

export interface PartnerWithCredentials extends PartnerRow {
  credentials: Partial<Record<ExternalSystem, CredentialRow>>;
}

const partnerColumns = [
  'id', 'name', 'timezone', 'psa_kind as psaKind', 'rmm_kind as rmmKind', 'acronis_tenant_id as acronisTenantId', 'created_at as createdAt', 'updated_at as updatedAt',
] as const;

export async function insertPartner(db: Queryable, partner: Pick<PartnerRow, 'id' | 'name' | 'timezone' | 'psaKind' | 'rmmKind'> & Partial<Pick<PartnerRow, 'acronisTenantId'>>): Promise<void> {
  await db
    .insertInto('partners')
    .values({ id: partner.id, name: partner.name, timezone: partner.timezone, psa_kind: partner.psaKind, rmm_kind: partner.rmmKind, acronis_tenant_id: partner.acronisTenantId ?? null, deleted_at: null })
    .execute();
}

export async function updatePartner(db: Queryable, id: string, changes: Partial<Pick<PartnerRow, 'name' | 'timezone' | 'rmmKind' | 'acronisTenantId'>>): Promise<void> {
  await db
    .updateTable('partners')
    .set({
      ...(changes.name !== undefined && { name: changes.name }),
      ...(changes.timezone !== undefined && { timezone: changes.timezone }),
      ...(changes.rmmKind !== undefined && { rmm_kind: changes.rmmKind }),
      ...(changes.acronisTenantId !== undefined && { acronis_tenant_id: changes.acronisTenantId }),
      updated_at: new Date(),
    })
    .where('id', '=', id)
    .execute();
}

/** Removes a partner from service; its credentials are destroyed with it, its records stay. */
export async function markPartnerDeleted(db: Queryable, id: string): Promise<void> {
  await db.deleteFrom('credentials').where('partner_id', '=', id).execute();
  await db.updateTable('partners').set({ deleted_at: new Date(), updated_at: new Date() }).where('id', '=', id).execute();
}

export async function saveCredential(db: Queryable, partnerId: string, credential: CredentialRow): Promise<void> {
  const values = {
    partner_id: partnerId,
    system: credential.system,
    kind: credential.kind,
    visible: JSON.stringify(credential.visible),
    sealed_secrets: credential.sealedSecrets,
  };
  await db
    .insertInto('credentials')
    .values(values)
    .onConflict((conflict) =>
      conflict.columns(['partner_id', 'system']).doUpdateSet({ kind: values.kind, visible: values.visible, sealed_secrets: values.sealed_secrets, updated_at: new Date() }),
    )
    .execute();
}

export async function deleteCredential(db: Queryable, partnerId: string, system: ExternalSystem): Promise<void> {
  await db.deleteFrom('credentials').where('partner_id', '=', partnerId).where('system', '=', system).execute();
}

async function attachCredentials(db: Queryable, partners: PartnerRow[]): Promise<PartnerWithCredentials[]> {
  if (partners.length === 0) return [];
  const rows = await db
    .selectFrom('credentials')
    .select(['partner_id as partnerId', 'system', 'kind', 'visible', 'sealed_secrets as sealedSecrets'])
    .where('partner_id', 'in', partners.map((partner) => partner.id))
    .execute();
  return partners.map((partner) => ({
    ...partner,
    credentials: Object.fromEntries(rows.filter((row) => row.partnerId === partner.id).map(({ partnerId: _, ...row }) => [row.system, row])),
  }));
}

/** A live (not removed) partner; `forUpdate` locks its row for the rest of the transaction. */
export async function findPartner(db: Queryable, id: string, options: { forUpdate?: boolean } = {}): Promise<PartnerWithCredentials | undefined> {
  let query = db.selectFrom('partners').select(partnerColumns).where('id', '=', id).where('deleted_at', 'is', null);
  if (options.forUpdate) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  return row ? (await attachCredentials(db, [row]))[0] : undefined;
}

export async function listPartners(db: Queryable): Promise<PartnerWithCredentials[]> {
  const rows = await db.selectFrom('partners').select(partnerColumns).where('deleted_at', 'is', null).orderBy('created_at').orderBy('id').execute();
  return attachCredentials(db, rows);
}

/** Whether the partner exists and whether it was removed: a removed partner's workflows end. */
export async function partnerLifecycle(db: Queryable, id: string): Promise<'live' | 'removed' | 'unknown'> {
  const row = await db.selectFrom('partners').select('deleted_at').where('id', '=', id).executeTakeFirst();
  if (!row) return 'unknown';
  return row.deleted_at ? 'removed' : 'live';
}

/** The advisory lock behind "one live partner per Acronis account" (an arbitrary, fixed number). */
const ACRONIS_ACCOUNTS_LOCK = 7_305_001;

/**
 * Holds, until the transaction ends, the right to check and claim an Acronis account: two
 * registrations of one account at once are checked one after the other, and the second sees the
 * first once it has committed. A lock rather than a unique index, since accounts compare after
 * normalising addresses that may have been stored before they were normalised.
 */
export async function lockAcronisAccounts(tx: Transaction<Database>): Promise<void> {
  await sql`select pg_advisory_xact_lock(${ACRONIS_ACCOUNTS_LOCK})`.execute(tx);
}

/** Live partners on this Acronis partner tenant or API client id (compared case-insensitively), on any server. */
export async function livePartnersOnAcronisAccount(db: Queryable, account: Pick<AcronisAccount, 'clientId' | 'tenantId'>): Promise<(Pick<PartnerRow, 'id' | 'name'> & AcronisAccount)[]> {
  const rows = await db
    .selectFrom('partners')
    .innerJoin('credentials', 'credentials.partner_id', 'partners.id')
    .select(['partners.id as id', 'partners.name as name', 'partners.acronis_tenant_id as tenantId', 'credentials.visible as visible'])
    .where('partners.deleted_at', 'is', null)
    .where('credentials.system', '=', 'acronis')
    .where((eb) =>
      eb.or([
        eb(sql<string>`lower(credentials.visible->>'clientId')`, '=', account.clientId.toLowerCase()),
        ...(account.tenantId ? [eb(sql<string>`lower(partners.acronis_tenant_id)`, '=', account.tenantId.toLowerCase())] : []),
      ]),
    )
    .execute();
  return rows.map((row) => ({ id: row.id, name: row.name, baseUrl: row.visible.baseUrl ?? '', clientId: row.visible.clientId ?? '', tenantId: row.tenantId }));
}
