import type { Kysely } from 'kysely';
import { Migrator, type Migration, type MigrationProvider, type MigrationResultSet } from 'kysely/migration';
import * as foundation from './migrations/0001-foundation.ts';
import * as provisioning from './migrations/0002-provisioning.ts';
import * as provisioningSafety from './migrations/0003-provisioning-safety.ts';
import * as usage from './migrations/0005-usage.ts';
import * as alerts from './migrations/0006-alerts.ts';
import * as agents from './migrations/0007-agents.ts';
import * as health from './migrations/0008-health.ts';
import * as discoverySnapshots from './migrations/0010-discovery-snapshots.ts';
import * as billingLineSnapshots from './migrations/0011-billing-line-snapshots.ts';

/** Listed here rather than read from disk, so the set of migrations is part of the code under review. */
const MIGRATIONS: Record<string, Migration> = {
  '0001-foundation': foundation,
  '0002-provisioning': provisioning,
  '0003-provisioning-safety': provisioningSafety,
  '0005-usage': usage,
  '0006-alerts': alerts,
  '0007-agents': agents,
  '0008-health': health,
  '0010-discovery-snapshots': discoverySnapshots,
  '0011-billing-line-snapshots': billingLineSnapshots,
};

const provider: MigrationProvider = { getMigrations: async () => MIGRATIONS };

export class MigrationError extends Error {}

function check(result: MigrationResultSet): void {
  if (result.error) {
    const failed = result.results?.find((step) => step.status === 'Error');
    throw new MigrationError(`migration ${failed?.migrationName ?? '(unknown)'} failed: ${String(result.error)}`, { cause: result.error });
  }
}

/** Safe to call from several processes at once: kysely serialises migrators with a lock row. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run before, and apart from, the typed schema they produce
export async function migrateToLatest(db: Kysely<any>): Promise<void> {
  check(await new Migrator({ db, provider }).migrateToLatest());
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
export async function migrateDownToNothing(db: Kysely<any>): Promise<void> {
  const migrator = new Migrator({ db, provider });
  for (;;) {
    const result = await migrator.migrateDown();
    check(result);
    if (!result.results?.length) return;
  }
}
