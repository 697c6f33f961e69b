import { sql, type Transaction } from 'kysely';
import type { Db } from './connection.ts';
import type { Database } from './schema.ts';

type Queryable = Db | Transaction<Database>;

/** An offering item mapped to a PSA product, marked Free, or (psaProductId null, free false) left unmapped. */
export interface ProductMapping {
  offeringItem: string;
  psaProductId: string | null;
  free: boolean;
}

/** A PSA company mapped to an Acronis customer tenant; `tenantId` null means "a new tenant, not created yet". */
export interface CompanyMapping {
  psaCompanyId: string;
  tenantId: string | null;
  createdAt: Date;
}

export async function listProductMappings(db: Queryable, partnerId: string): Promise<ProductMapping[]> {
  return db
    .selectFrom('product_mappings')
    .select(['offering_item as offeringItem', 'psa_product_id as psaProductId', 'free'])
    .where('partner_id', '=', partnerId)
    .orderBy('offering_item')
    .execute();
}

/** The whole set at once, as the API's PUT gives it: items not listed are no longer mapped. */
export async function replaceProductMappings(db: Queryable, partnerId: string, mappings: readonly ProductMapping[]): Promise<void> {
  await db.deleteFrom('product_mappings').where('partner_id', '=', partnerId).execute();
  if (mappings.length === 0) return;
  await db
    .insertInto('product_mappings')
    .values(mappings.map((mapping) => ({ partner_id: partnerId, offering_item: mapping.offeringItem, psa_product_id: mapping.psaProductId, free: mapping.free })))
    .execute();
}

const companyColumns = ['psa_company_id as psaCompanyId', 'acronis_tenant_id as tenantId', 'created_at as createdAt'] as const;

export async function listCompanyMappings(db: Queryable, partnerId: string): Promise<CompanyMapping[]> {
  return db.selectFrom('company_mappings').select(companyColumns).where('partner_id', '=', partnerId).orderBy('psa_company_id').execute();
}

export async function findCompanyMapping(db: Queryable, partnerId: string, psaCompanyId: string): Promise<CompanyMapping | undefined> {
  return db.selectFrom('company_mappings').select(companyColumns).where('partner_id', '=', partnerId).where('psa_company_id', '=', psaCompanyId).executeTakeFirst();
}

export async function findCompanyMappedToTenant(db: Queryable, partnerId: string, tenantId: string): Promise<CompanyMapping | undefined> {
  return db.selectFrom('company_mappings').select(companyColumns).where('partner_id', '=', partnerId).where('acronis_tenant_id', '=', tenantId).executeTakeFirst();
}

/** PostgreSQL's clock, which stamps the mappings. */
export async function databaseNow(db: Queryable): Promise<Date> {
  return (await sql<{ now: Date }>`select now() as now`.execute(db)).rows[0]!.now;
}

/**
 * Mappings to a tenant made or changed after `since`, and PostgreSQL's clock now: a cursor over new
 * customers. A row carries its transaction's start time, so callers look back a little before `since`.
 */
export async function tenantMappingsChangedSince(db: Queryable, partnerId: string, since: Date): Promise<{ mappings: (CompanyMapping & { updatedAt: Date })[]; now: Date }> {
  const now = await databaseNow(db);
  const mappings = await db
    .selectFrom('company_mappings')
    .select([...companyColumns, 'updated_at as updatedAt'])
    .where('partner_id', '=', partnerId)
    .where('acronis_tenant_id', 'is not', null)
    .where('updated_at', '>', since)
    .execute();
  return { mappings, now };
}

/**
 * Maps the company (to a tenant, or to "new" with null). Raises the unique violation
 * `company_mappings_one_company_per_tenant` when the tenant is already another company's.
 */
export async function upsertCompanyMapping(db: Queryable, partnerId: string, psaCompanyId: string, tenantId: string | null): Promise<void> {
  await db
    .insertInto('company_mappings')
    .values({ partner_id: partnerId, psa_company_id: psaCompanyId, acronis_tenant_id: tenantId })
    .onConflict((conflict) => conflict.columns(['partner_id', 'psa_company_id']).doUpdateSet({ acronis_tenant_id: tenantId, updated_at: new Date() }))
    .execute();
}

/** Automatic mode: maps the company to a new tenant unless it is mapped already; true when it made the mapping. */
export async function insertCompanyMappingIfAbsent(db: Queryable, partnerId: string, psaCompanyId: string): Promise<boolean> {
  const inserted = await db
    .insertInto('company_mappings')
    .values({ partner_id: partnerId, psa_company_id: psaCompanyId, acronis_tenant_id: null })
    .onConflict((conflict) => conflict.columns(['partner_id', 'psa_company_id']).doNothing())
    .executeTakeFirst();
  return Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0;
}

/**
 * Records the tenant a "new" mapping got (or null once the tenant was deleted), keeping the mapping
 * itself; only while the mapping still holds `expected`, so an admin's concurrent choice wins.
 */
export async function setMappedTenant(db: Queryable, partnerId: string, psaCompanyId: string, tenantId: string | null, expected: string | null): Promise<boolean> {
  const updated = await db
    .updateTable('company_mappings')
    .set({ acronis_tenant_id: tenantId, updated_at: new Date() })
    .where('partner_id', '=', partnerId)
    .where('psa_company_id', '=', psaCompanyId)
    .where((eb) => (expected === null ? eb('acronis_tenant_id', 'is', null) : eb('acronis_tenant_id', '=', expected)))
    .executeTakeFirst();
  return Number(updated.numUpdatedRows) > 0;
}

export async function deleteCompanyMapping(db: Queryable, partnerId: string, psaCompanyId: string): Promise<boolean> {
  const deleted = await db.deleteFrom('company_mappings').where('partner_id', '=', partnerId).where('psa_company_id', '=', psaCompanyId).executeTakeFirst();
  return Number(deleted.numDeletedRows) > 0;
}

/** The unique violation `upsertCompanyMapping` raises when the tenant is already another company's. */
export function isTenantAlreadyMapped(error: unknown): boolean {
  const { code, constraint } = (error ?? {}) as { code?: string; constraint?: string };
  return code === '23505' && constraint === 'company_mappings_one_company_per_tenant';
}
