import type { Transaction } from 'kysely';
import { DEFAULT_SETTINGS, mergeSettings, settingsSchema, type Settings } from '../domain/settings.ts';
import type { Db } from './connection.ts';
import type { Database } from './schema.ts';

type Queryable = Db | Transaction<Database>;

export interface VersionedSettings {
  settings: Settings;
  version: number;
}

export async function insertDefaultSettings(db: Queryable, partnerId: string): Promise<VersionedSettings> {
  await db.insertInto('partner_settings').values({ partner_id: partnerId, document: JSON.stringify(DEFAULT_SETTINGS), version: 1 }).execute();
  return { settings: DEFAULT_SETTINGS, version: 1 };
}

/** Documents written before a setting existed get that setting's default on read. */
export async function readSettings(db: Queryable, partnerId: string): Promise<VersionedSettings | undefined> {
  const row = await db.selectFrom('partner_settings').select(['document', 'version']).where('partner_id', '=', partnerId).executeTakeFirst();
  if (!row) return undefined;
  return { settings: settingsSchema.parse(mergeSettings(DEFAULT_SETTINGS, row.document)), version: row.version };
}

export async function writeSettings(db: Queryable, partnerId: string, settings: Settings): Promise<number> {
  const row = await db
    .updateTable('partner_settings')
    .set((eb) => ({ document: JSON.stringify(settings), version: eb('version', '+', 1), updated_at: new Date() }))
    .where('partner_id', '=', partnerId)
    .returning('version')
    .executeTakeFirstOrThrow();
  return row.version;
}
