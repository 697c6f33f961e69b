import type { AcronisClient } from '../clients/acronis/client.ts';
import type { OfferingItem } from '../clients/acronis/types.ts';
import type { PsaProduct, PsaPort } from '../psa/port.ts';

/** The partner tenant the partner's API client acts for. */
export async function partnerTenantId(acronis: AcronisClient): Promise<string> {
  return (await acronis.getApiClient()).tenant_id;
}

/** What the partner can give its customer tenants, one entry per offering-item name (the mapping key). */
export async function customerOfferingItems(acronis: AcronisClient): Promise<OfferingItem[]> {
  const items = await acronis.offeringItemsAvailableForChild(await partnerTenantId(acronis), { kind: 'customer' });
  return [...new Map(items.map((item) => [item.name, item])).values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** The first `limit` values and whether there were more. */
export async function collectUpTo<T>(values: AsyncIterable<T>, limit: number, keep: (value: T) => boolean = () => true): Promise<{ items: T[]; truncated: boolean }> {
  const items: T[] = [];
  for await (const value of values) {
    if (!keep(value)) continue;
    if (items.length === limit) return { items, truncated: true };
    items.push(value);
  }
  return { items, truncated: false };
}

/** Which of `ids` the PSA catalog holds; stops reading once all are found. */
export async function findPsaProducts(psa: PsaPort, ids: ReadonlySet<string>): Promise<Map<string, PsaProduct>> {
  const found = new Map<string, PsaProduct>();
  if (ids.size === 0) return found;
  for await (const product of psa.listProducts()) {
    if (!ids.has(product.id)) continue;
    found.set(product.id, product);
    if (found.size === ids.size) break;
  }
  return found;
}

/** `run` over every value, at most `concurrency` at a time, results in order: vendor look-ups without a burst. */
export async function mapConcurrently<T, R>(values: readonly T[], concurrency: number, run: (value: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let start = 0; start < values.length; start += concurrency) {
    results.push(...(await Promise.all(values.slice(start, start + concurrency).map((value, offset) => run(value, start + offset)))));
  }
  return results;
}
