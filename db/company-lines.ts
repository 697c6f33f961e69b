import type { Transaction } from 'kysely';
import type { ServiceLine } from '../psa/port.ts';
import type { Db } from './connection.ts';
import type { Database, LineReader } from './schema.ts';

export type { LineReader } from './schema.ts';

type Queryable = Db | Transaction<Database>;

/** A company's lines as a reader last read them from the PSA. */
export interface LineSnapshot {
  psaCompanyId: string;
  lines: ServiceLine[];
  /** The earliest instant the calendar alone changes one of the lines (ServiceLine.changesAt). */
  changesAt: Date | null;
  readAt: Date;
}

/** A company discovery watches, as it last read it from the PSA. */
export interface CompanyLines extends LineSnapshot {
  /** Null when the PSA no longer has the company. */
  companyName: string | null;
  companyActive: boolean;
}

/** How far a reader has read the partner's PSA. */
export interface LineWatermark {
  /** Start of the last pass that completed its reads. */
  checkedFrom: Date;
  /** Start of the last full pass that completed its reads. */
  fullAt: Date;
  /** Whether that full pass read every active company (discovery in automatic mode) or only the mapped ones. */
  fullAutomatic: boolean;
}

// PostgreSQL text and jsonb take no NUL character; a PSA name holding one is stored without it.
const withoutNul = (text: string) => text.replaceAll('\u0000', '');

const snapshotColumns = ['psa_company_id as psaCompanyId', 'lines', 'changes_at as changesAt', 'read_at as readAt'] as const;
const companyColumns = [...snapshotColumns, 'company_name as companyName', 'company_active as companyActive'] as const;

function rowsOf(db: Queryable, partnerId: string, reader: LineReader) {
  return db.selectFrom('psa_company_lines').where('partner_id', '=', partnerId).where('reader', '=', reader);
}

export async function readLineSnapshots(db: Queryable, partnerId: string, reader: LineReader): Promise<Map<string, LineSnapshot>> {
  const rows = await rowsOf(db, partnerId, reader).select(snapshotColumns).execute();
  return new Map(rows.map((row) => [row.psaCompanyId, row]));
}

export async function readCompanyLines(db: Queryable, partnerId: string): Promise<Map<string, CompanyLines>> {
  const rows = await rowsOf(db, partnerId, 'discovery').select(companyColumns).$narrowType<{ companyActive: boolean }>().execute();
  return new Map(rows.map((row) => [row.psaCompanyId, row]));
}

export async function findCompanyLines(db: Queryable, partnerId: string, psaCompanyId: string): Promise<CompanyLines | undefined> {
  return rowsOf(db, partnerId, 'discovery').select(companyColumns).$narrowType<{ companyActive: boolean }>().where('psa_company_id', '=', psaCompanyId).executeTakeFirst();
}

/** Saves what a reader read; only discovery reads the companies themselves (name, active). */
export async function saveLineSnapshots(db: Queryable, partnerId: string, reader: LineReader, companies: readonly (LineSnapshot & Partial<Pick<CompanyLines, 'companyName' | 'companyActive'>>)[]): Promise<void> {
  if (companies.length === 0) return;
  await db
    .insertInto('psa_company_lines')
    .values(
      companies.map((company) => ({
        partner_id: partnerId,
        reader,
        psa_company_id: company.psaCompanyId,
        company_name: company.companyName == null ? null : withoutNul(company.companyName),
        company_active: company.companyActive ?? null,
        lines: JSON.stringify(company.lines.map((line) => ({ ...line, productName: withoutNul(line.productName) }))),
        changes_at: company.changesAt,
        read_at: company.readAt,
      })),
    )
    .onConflict((conflict) =>
      conflict.columns(['partner_id', 'reader', 'psa_company_id']).doUpdateSet((eb) => ({
        company_name: eb.ref('excluded.company_name'),
        company_active: eb.ref('excluded.company_active'),
        lines: eb.ref('excluded.lines'),
        changes_at: eb.ref('excluded.changes_at'),
        read_at: eb.ref('excluded.read_at'),
      })),
    )
    .execute();
}

/** Forgets companies a reader no longer keeps (discovery: unmapped and inactive, or gone; billing: unmapped or without a tenant). */
export async function forgetLineSnapshots(db: Queryable, partnerId: string, reader: LineReader, psaCompanyIds: readonly string[]): Promise<void> {
  if (psaCompanyIds.length === 0) return;
  await db.deleteFrom('psa_company_lines').where('partner_id', '=', partnerId).where('reader', '=', reader).where('psa_company_id', 'in', psaCompanyIds).execute();
}

export async function readLineWatermark(db: Queryable, partnerId: string, reader: LineReader): Promise<LineWatermark | undefined> {
  return db
    .selectFrom('psa_line_watermarks')
    .select(['checked_from as checkedFrom', 'full_at as fullAt', 'full_automatic as fullAutomatic'])
    .where('partner_id', '=', partnerId)
    .where('reader', '=', reader)
    .executeTakeFirst();
}

export async function saveLineWatermark(db: Queryable, partnerId: string, reader: LineReader, watermark: LineWatermark): Promise<void> {
  const values = { checked_from: watermark.checkedFrom, full_at: watermark.fullAt, full_automatic: watermark.fullAutomatic };
  await db
    .insertInto('psa_line_watermarks')
    .values({ partner_id: partnerId, reader, ...values })
    .onConflict((conflict) => conflict.columns(['partner_id', 'reader']).doUpdateSet({ ...values, updated_at: new Date() }))
    .execute();
}

/** The partner's PSA changed (other credentials, maybe another instance): every reader's next pass reads everything. */
export async function forgetLineWatermarks(db: Queryable, partnerId: string): Promise<void> {
  await db.deleteFrom('psa_line_watermarks').where('partner_id', '=', partnerId).execute();
}
