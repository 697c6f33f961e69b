import type { Transaction } from 'kysely';
import type { ServiceLine } from '../psa/port.ts';
import type { Db } from './connection.ts';
import type { Database } from './schema.ts';

type Queryable = Db | Transaction<Database>;

/** A company discovery watches, as it last read it from the PSA. */
export interface CompanyLines {
  psaCompanyId: string;
  /** Null when the PSA no longer has the company. */
  companyName: string | null;
  companyActive: boolean;
  lines: ServiceLine[];
  /** The earliest instant the calendar alone changes one of the lines (ServiceLine.changesAt). */
  changesAt: Date | null;
  readAt: Date;
}

/** How far discovery has read the partner's PSA. */
export interface DiscoveryWatermark {
  /** Start of the last pass that completed its reads. */
  checkedFrom: Date;
  /** Start of the last full pass that completed its reads. */
  fullAt: Date;
  /** Whether that full pass read every active company (automatic mode) or only the mapped ones. */
  fullAutomatic: boolean;
}

// PostgreSQL text and jsonb take no NUL character; a PSA name holding one is stored without it.
const withoutNul = (text: string) => text.replaceAll('\u0000', '');

const columns = ['psa_company_id as psaCompanyId', 'company_name as companyName', 'company_active as companyActive', 'lines', 'changes_at as changesAt', 'read_at as readAt'] as const;

export async function readCompanyLines(db: Queryable, partnerId: string): Promise<Map<string, CompanyLines>> {
  const rows = await db.selectFrom('psa_company_lines').select(columns).where('partner_id', '=', partnerId).execute();
  return new Map(rows.map((row) => [row.psaCompanyId, row]));
}

export async function findCompanyLines(db: Queryable, partnerId: string, psaCompanyId: string): Promise<CompanyLines | undefined> {
  return db.selectFrom('psa_company_lines').select(columns).where('partner_id', '=', partnerId).where('psa_company_id', '=', psaCompanyId).executeTakeFirst();
}

export async function saveCompanyLines(db: Queryable, partnerId: string, companies: readonly CompanyLines[]): Promise<void> {
  if (companies.length === 0) return;
  await db
    .insertInto('psa_company_lines')
    .values(
      companies.map((company) => ({
        partner_id: partnerId,
        psa_company_id: company.psaCompanyId,
        company_name: company.companyName === null ? null : withoutNul(company.companyName),
        company_active: company.companyActive,
        lines: JSON.stringify(company.lines.map((line) => ({ ...line, productName: withoutNul(line.productName) }))),
        changes_at: company.changesAt,
        read_at: company.readAt,
      })),
    )
    .onConflict((conflict) =>
      conflict.columns(['partner_id', 'psa_company_id']).doUpdateSet((eb) => ({
        company_name: eb.ref('excluded.company_name'),
        company_active: eb.ref('excluded.company_active'),
        lines: eb.ref('excluded.lines'),
        changes_at: eb.ref('excluded.changes_at'),
        read_at: eb.ref('excluded.read_at'),
      })),
    )
    .execute();
}

/** Forgets companies discovery no longer watches (unmapped and inactive, or gone). */
export async function forgetCompanyLines(db: Queryable, partnerId: string, psaCompanyIds: readonly string[]): Promise<void> {
  if (psaCompanyIds.length === 0) return;
  await db.deleteFrom('psa_company_lines').where('partner_id', '=', partnerId).where('psa_company_id', 'in', psaCompanyIds).execute();
}

export async function readDiscoveryWatermark(db: Queryable, partnerId: string): Promise<DiscoveryWatermark | undefined> {
  return db
    .selectFrom('discovery_watermarks')
    .select(['checked_from as checkedFrom', 'full_at as fullAt', 'full_automatic as fullAutomatic'])
    .where('partner_id', '=', partnerId)
    .executeTakeFirst();
}

export async function saveDiscoveryWatermark(db: Queryable, partnerId: string, watermark: DiscoveryWatermark): Promise<void> {
  const values = { checked_from: watermark.checkedFrom, full_at: watermark.fullAt, full_automatic: watermark.fullAutomatic };
  await db
    .insertInto('discovery_watermarks')
    .values({ partner_id: partnerId, ...values })
    .onConflict((conflict) => conflict.column('partner_id').doUpdateSet({ ...values, updated_at: new Date() }))
    .execute();
}

/** The partner's PSA changed (other credentials, maybe another instance): the next pass reads everything. */
export async function forgetDiscoveryWatermark(db: Queryable, partnerId: string): Promise<void> {
  await db.deleteFrom('discovery_watermarks').where('partner_id', '=', partnerId).execute();
}
