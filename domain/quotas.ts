/**
 * F3.3: the offering-item quotas a customer's agreement asks for, and the changes that bring a tenant
 * there. Pure: the activity reads Acronis, the PSA and the mappings, and writes what this decides.
 *
 * Offering items are identified in `product_mappings.offering_item` by their Acronis `name`, which is
 * the edition prefix plus the usage name (`pw_base_workstations`, `pg_base_storage`, legacy
 * `workstations`) and is unique within a partner's catalogue except for infra-bound items (storage),
 * which repeat per storage. A storage item's mapping applies to it on the default storage (the first
 * storage Acronis lists for the partner): Acronis gives a customer one backup storage, and SPEC F2.2
 * has one default storage per partner.
 */
import type { OfferingItem, OfferingItemChange } from '../clients/acronis/types.ts';
import type { ServiceLine } from '../psa/port.ts';

/** As stored in `product_mappings` (a Free item has no product). */
export interface ProductMappingRule {
  offeringItem: string;
  psaProductId: string | null;
  free: boolean;
}

/** Why an item gets its quota. */
export type QuotaSource = 'prepaid' | 'payg' | 'free' | 'default-storage' | 'absent' | 'unmapped';

export interface DesiredQuota {
  item: OfferingItem;
  /** `null` is unlimited; 0 grants nothing. In the item's own unit (bytes, seconds, pieces). */
  quota: number | null;
  source: QuotaSource;
}

export interface QuotaPlan {
  items: DesiredQuota[];
  /** Set when the mappings would enable two editions of one service, which Acronis refuses (code 1023). */
  editionConflict: string | null;
}

const GIB = 1024 ** 3;
const HOUR_S = 3600;

/** PSA quantities are counted in pieces, GB (binary, as the Acronis UI shows bytes) and hours. */
function inItemUnit(item: OfferingItem, quantity: number): number {
  const factor = item.measurement_unit === 'bytes' ? GIB : item.measurement_unit === 'seconds' ? HOUR_S : 1;
  return Math.ceil(quantity * factor);
}

const itemKey = (item: Pick<OfferingItem, 'name' | 'infra_id'>) => `${item.name}|${item.infra_id ?? ''}`;
const isBackupStorage = (item: OfferingItem) => item.type === 'infra' && item.usage_name === 'storage';

/** F3.1/F3.5: the customer has services when at least one active line is of a mapped product. */
export function hasActiveServices(lines: readonly ServiceLine[], mappings: readonly ProductMappingRule[]): boolean {
  const mappedProducts = new Set(mappings.flatMap((mapping) => (mapping.psaProductId === null ? [] : [mapping.psaProductId])));
  return lines.some((line) => line.active && mappedProducts.has(line.productId));
}

function fromAgreement(item: OfferingItem, mapping: ProductMappingRule | undefined, lines: readonly ServiceLine[]): DesiredQuota {
  if (mapping?.free) return { item, quota: null, source: 'free' };
  if (!mapping?.psaProductId) return { item, quota: 0, source: 'unmapped' };
  const productLines = lines.filter((line) => line.active && line.productId === mapping.psaProductId);
  if (productLines.length === 0) return { item, quota: 0, source: 'absent' };
  // A product billed by usage must never be stopped by a quota, even when prepaid lines sit beside it.
  if (productLines.some((line) => line.billing === 'payg')) return { item, quota: null, source: 'payg' };
  return { item, quota: inItemUnit(item, productLines.reduce((sum, line) => sum + line.quantity, 0)), source: 'prepaid' };
}

function editionsEnabled(items: readonly DesiredQuota[]): Map<string, Set<string>> {
  const byService = new Map<string, Set<string>>();
  for (const { item, quota } of items) {
    if (quota === 0 || item.edition === null) continue;
    const editions = byService.get(item.application_id) ?? new Set<string>();
    editions.add(item.edition);
    byService.set(item.application_id, editions);
  }
  return byService;
}

/**
 * The quota of every item the partner can give a customer (`available`: Acronis's
 * `available_for_child`), from the customer's lines and the partner's product mappings: prepaid →
 * the total quantity of the product's active prepaid lines; PAYG → unlimited; Free → unlimited;
 * unmapped or not in the agreement → 0. Without a backup storage item from the agreement, the
 * default storage item is enabled, unlimited: it holds the backups the other items make, and its
 * usage is what billing reports. It is the storage item of the edition the customer's other backup
 * items use, so the edition rule of Acronis holds.
 */
export function desiredQuotas(input: { available: readonly OfferingItem[]; mappings: readonly ProductMappingRule[]; lines: readonly ServiceLine[] }): QuotaPlan {
  const byName = new Map(input.mappings.map((mapping) => [mapping.offeringItem, mapping]));
  const defaultInfra = input.available.find(isBackupStorage)?.infra_id;
  const items = input.available.map((item) =>
    item.type === 'infra' && item.infra_id !== defaultInfra ? { item, quota: 0, source: 'unmapped' as const } : fromAgreement(item, byName.get(item.name), input.lines),
  );

  const storageFromAgreement = items.some(({ item, quota, source }) => isBackupStorage(item) && quota !== 0 && source !== 'unmapped');
  if (!storageFromAgreement) {
    const storages = items.filter(({ item }) => isBackupStorage(item) && item.infra_id === defaultInfra);
    const editions = editionsEnabled(items);
    const chosen = storages.find(({ item }) => item.edition !== null && editions.get(item.application_id)?.has(item.edition)) ?? storages[0];
    if (chosen) Object.assign(chosen, { quota: null, source: 'default-storage' });
  }

  const clashes = [...editionsEnabled(items).entries()].filter(([, editions]) => editions.size > 1);
  const editionConflict =
    clashes.length === 0
      ? null
      : clashes
          .map(([service, editions]) => {
            const names = items.filter(({ item, quota }) => quota !== 0 && item.application_id === service && item.edition !== null).map(({ item }) => `${item.name} (${item.edition})`);
            return `the mappings enable offering items of ${editions.size} editions of one service (${names.join(', ')}); Acronis allows one edition per service and customer`;
          })
          .join('; ');
  return { items, editionConflict };
}

/**
 * What to send to `PUT /tenants/{id}/offering_items` so the tenant holds `desired` (items not in it:
 * 0); nothing for items already right. An unlimited or positive quota enables the item (prepaid
 * quotas are hard: no overage). A quota of 0 leaves a disabled item disabled, and sets an enabled
 * one to 0 so its data stays; an enabled item of another edition than the one being enabled for its
 * service is switched off instead, since Acronis keeps one edition per service.
 */
export function quotaChanges(current: readonly OfferingItem[], desired: readonly DesiredQuota[]): OfferingItemChange[] {
  const wanted = new Map(desired.map((entry) => [itemKey(entry.item), entry.quota]));
  const enabledEditions = editionsEnabled(desired);
  const changes: OfferingItemChange[] = [];
  for (const item of current) {
    const key = itemKey(item);
    // `null` (unlimited) is a wish too: only an item missing from `desired` falls back to 0.
    const quota = wanted.has(key) ? (wanted.get(key) as number | null) : 0;
    const enabled = item.status === 1;
    const target = { application_id: item.application_id, name: item.name, ...(item.infra_id ? { infra_id: item.infra_id } : {}) };
    const version = enabled ? (item.quota?.version ?? 0) : 0;
    if (quota === 0) {
      if (!enabled) continue;
      const otherEdition = item.edition !== null && [...(enabledEditions.get(item.application_id) ?? [])].some((edition) => edition !== item.edition);
      if (otherEdition) changes.push({ ...target, status: 0 });
      else if (item.quota?.value !== 0 || item.quota.overage !== 0) changes.push({ ...target, status: 1, quota: { value: 0, overage: 0, version } });
      continue;
    }
    const overage = quota === null ? null : 0;
    const unchanged = enabled && (item.quota?.value ?? null) === quota && (item.quota?.overage ?? null) === overage;
    if (!unchanged) changes.push({ ...target, status: 1, quota: { value: quota, overage, version } });
  }
  return changes;
}
