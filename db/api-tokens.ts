import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Db } from './connection.ts';
import type { TokenRole } from './schema.ts';

export interface ApiToken {
  id: string;
  name: string;
  role: TokenRole;
  /** Set: the token sees and changes only this partner (SPEC F10.2). */
  partnerId: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
}

const TOKEN_PREFIX = 'aci_';
const BOOTSTRAP_NAME = 'bootstrap (ADMIN_TOKEN)';

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

const columns = ['id', 'name', 'role', 'partner_id as partnerId', 'created_at as createdAt', 'last_used_at as lastUsedAt'] as const;

export async function createToken(db: Db, name: string, role: TokenRole, partnerId: string | null = null): Promise<{ token: string; record: ApiToken }> {
  const token = generateToken();
  const record = await db
    .insertInto('api_tokens')
    .values({ id: randomUUID(), name, role, partner_id: partnerId, token_hash: hashToken(token), last_used_at: null, revoked_at: null })
    .returning(columns)
    .executeTakeFirstOrThrow();
  return { token, record };
}

/** The live token with this value, if any; marks it used (at most once a minute, to spare the row). */
export async function authenticateToken(db: Db, token: string): Promise<ApiToken | undefined> {
  const record = await db
    .selectFrom('api_tokens')
    .select(columns)
    .where('token_hash', '=', hashToken(token))
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (record && (!record.lastUsedAt || Date.now() - record.lastUsedAt.getTime() > 60_000)) {
    await db.updateTable('api_tokens').set({ last_used_at: new Date() }).where('id', '=', record.id).execute();
  }
  return record;
}

export async function listTokens(db: Db): Promise<ApiToken[]> {
  return db.selectFrom('api_tokens').select(columns).where('revoked_at', 'is', null).orderBy('created_at').execute();
}

export async function revokeToken(db: Db, id: string): Promise<boolean> {
  const result = await db.updateTable('api_tokens').set({ revoked_at: new Date() }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/**
 * Makes ADMIN_TOKEN a working admin token. When it changes, the previous bootstrap token is revoked,
 * so rotating the variable rotates the credential.
 */
export async function ensureBootstrapToken(db: Db, token: string): Promise<void> {
  const hash = hashToken(token);
  await db.transaction().execute(async (tx) => {
    await tx.updateTable('api_tokens').set({ revoked_at: new Date() }).where('name', '=', BOOTSTRAP_NAME).where('token_hash', '!=', hash).where('revoked_at', 'is', null).execute();
    await tx
      .insertInto('api_tokens')
      .values({ id: randomUUID(), name: BOOTSTRAP_NAME, role: 'admin', token_hash: hash, last_used_at: null, revoked_at: null })
      .onConflict((conflict) => conflict.column('token_hash').doUpdateSet({ revoked_at: null, role: 'admin' }))
      .execute();
  });
}

export async function adminTokenExists(db: Db): Promise<boolean> {
  const row = await db.selectFrom('api_tokens').select('id').where('role', '=', 'admin').where('partner_id', 'is', null).where('revoked_at', 'is', null).executeTakeFirst();
  return row !== undefined;
}

export async function findLiveToken(db: Db, id: string): Promise<ApiToken | undefined> {
  return db.selectFrom('api_tokens').select(columns).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
}
