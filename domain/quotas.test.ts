import { describe, expect, it } from 'vitest';
import type { OfferingItem } from '../clients/acronis/types.ts';
import type { ServiceLine } from '../psa/port.ts';
import { desiredQuotas, hasActiveServices, quotaChanges, type DesiredQuota, type ProductMappingRule } from './quotas.ts';

const BACKUP = 'backup-app';
const STORAGE_A = 'storage-a';
const STORAGE_B = 'storage-b';

function item(name: string, edition: string | null, overrides: Partial<OfferingItem> = {}): OfferingItem {
  const usage = name.replace(/^(pw_base_|pg_base_)/, '');
  const storage = usage === 'storage';
  return {
    application_id: BACKUP,
    name,
    edition,
    usage_name: usage,
    tenant_id: 'partner',
    status: 1,
    locked: false,
    type: storage ? 'infra' : 'count',
    ...(storage ? { infra_id: STORAGE_A } : {}),
    measurement_unit: storage ? 'bytes' : 'quantity',
    updated_at: '2027-01-01T00:00:00',
    ...overrides,
  };
}

const catalogue = [
  item('pw_base_workstations', 'pck_per_workload'),
  item('pw_base_servers', 'pck_per_workload'),
  item('pw_base_vms', 'pck_per_workload'),
  item('pw_base_storage', 'pck_per_workload'),
  item('pw_base_storage', 'pck_per_workload', { infra_id: STORAGE_B }),
  item('pg_base_workstations', 'pck_per_gigabyte'),
  item('pg_base_storage', 'pck_per_gigabyte'),
  item('local_storage', null, { measurement_unit: 'bytes' }),
];

let lineIds = 0;
const line = (productId: string, quantity: number, billing: 'prepaid' | 'payg', active = true): ServiceLine => ({
  lineId: String(++lineIds),
  agreementId: 'A1',
  productId,
  productName: `product ${productId}`,
  quantity,
  billing,
  active,
  changesAt: null,
});

const mappings: ProductMappingRule[] = [
  { offeringItem: 'pw_base_workstations', psaProductId: 'P-WS', free: false },
  { offeringItem: 'pw_base_servers', psaProductId: 'P-SRV', free: false },
  { offeringItem: 'pw_base_vms', psaProductId: 'P-VM', free: false },
  { offeringItem: 'pw_base_storage', psaProductId: 'P-STOR', free: false },
  { offeringItem: 'local_storage', psaProductId: null, free: true },
];

const quotaOf = (plan: { items: DesiredQuota[] }, name: string, infra = STORAGE_A) =>
  plan.items.find(({ item: candidate }) => candidate.name === name && (candidate.type !== 'infra' || candidate.infra_id === infra));

describe('desired quotas (F3.3)', () => {
  it('prepaid = total of the active prepaid lines, PAYG and Free unlimited, unmapped or absent 0', () => {
    const plan = desiredQuotas({
      available: catalogue,
      mappings,
      lines: [line('P-WS', 5, 'prepaid'), line('P-WS', 3, 'prepaid'), line('P-WS', 50, 'prepaid', false), line('P-SRV', 2, 'payg'), line('P-OTHER', 9, 'prepaid')],
    });
    expect(quotaOf(plan, 'pw_base_workstations')).toMatchObject({ quota: 8, source: 'prepaid' });
    expect(quotaOf(plan, 'pw_base_servers')).toMatchObject({ quota: null, source: 'payg' });
    expect(quotaOf(plan, 'local_storage')).toMatchObject({ quota: null, source: 'free' });
    expect(quotaOf(plan, 'pw_base_vms')).toMatchObject({ quota: 0, source: 'absent' });
    expect(quotaOf(plan, 'pg_base_workstations')).toMatchObject({ quota: 0, source: 'unmapped' });
    expect(plan.editionConflict).toBeNull();
  });

  it('a product with PAYG and prepaid lines is unlimited: usage billing must never be stopped by a quota', () => {
    const plan = desiredQuotas({ available: catalogue, mappings, lines: [line('P-WS', 5, 'prepaid'), line('P-WS', 0, 'payg')] });
    expect(quotaOf(plan, 'pw_base_workstations')).toMatchObject({ quota: null, source: 'payg' });
  });

  it('counts prepaid storage in binary GB, on the default storage only', () => {
    const plan = desiredQuotas({ available: catalogue, mappings, lines: [line('P-WS', 1, 'prepaid'), line('P-STOR', 250, 'prepaid')] });
    expect(quotaOf(plan, 'pw_base_storage')).toMatchObject({ quota: 250 * 1024 ** 3, source: 'prepaid' });
    expect(quotaOf(plan, 'pw_base_storage', STORAGE_B)).toMatchObject({ quota: 0 });
    expect(quotaOf(plan, 'pg_base_storage')).toMatchObject({ quota: 0 });
  });

  it('enables the default storage, unlimited, in the edition of the other items when the agreement has no storage', () => {
    const perWorkload = desiredQuotas({ available: catalogue, mappings, lines: [line('P-WS', 4, 'prepaid')] });
    expect(quotaOf(perWorkload, 'pw_base_storage')).toMatchObject({ quota: null, source: 'default-storage' });
    expect(quotaOf(perWorkload, 'pg_base_storage')).toMatchObject({ quota: 0 });

    const perGigabyte = desiredQuotas({ available: catalogue, mappings: [{ offeringItem: 'pg_base_workstations', psaProductId: 'P-WS', free: false }], lines: [line('P-WS', 4, 'prepaid')] });
    expect(quotaOf(perGigabyte, 'pg_base_storage')).toMatchObject({ quota: null, source: 'default-storage' });
    expect(quotaOf(perGigabyte, 'pw_base_storage')).toMatchObject({ quota: 0 });
    expect(perGigabyte.editionConflict).toBeNull();
  });

  it('reports mappings that would enable two editions of one service', () => {
    const plan = desiredQuotas({
      available: catalogue,
      mappings: [...mappings, { offeringItem: 'pg_base_workstations', psaProductId: 'P-PG', free: false }],
      lines: [line('P-WS', 1, 'prepaid'), line('P-PG', 1, 'prepaid')],
    });
    expect(plan.editionConflict).toMatch(/pw_base_workstations \(pck_per_workload\).*pg_base_workstations \(pck_per_gigabyte\)/);
  });
});

describe('has active services', () => {
  it('needs an active line of a mapped product', () => {
    expect(hasActiveServices([line('P-WS', 1, 'prepaid')], mappings)).toBe(true);
    expect(hasActiveServices([line('P-WS', 1, 'prepaid', false)], mappings)).toBe(false);
    expect(hasActiveServices([line('P-OTHER', 1, 'payg')], mappings)).toBe(false);
    // Free items are given to every provisioned customer; on their own they make no customer.
    expect(hasActiveServices([], mappings)).toBe(false);
  });
});

describe('quota changes', () => {
  const disabled = (source: OfferingItem): OfferingItem => {
    const { quota: _quota, ...rest } = source;
    return { ...rest, tenant_id: 'customer', status: 0 };
  };
  /** What Acronis holds after applying the changes, as the simulator would answer. */
  function apply(current: OfferingItem[], changes: ReturnType<typeof quotaChanges>): OfferingItem[] {
    return current.map((entry) => {
      const change = changes.find((candidate) => candidate.name === entry.name && (candidate.infra_id ?? null) === (entry.infra_id ?? null));
      if (!change) return entry;
      if (change.status === 0) return disabled(entry);
      const unlimited = change.quota?.value === null && change.quota.overage === null;
      return { ...entry, status: 1, quota: { value: change.quota?.value ?? null, overage: change.quota?.overage ?? null, version: unlimited ? 0 : 1_700_000_000_000 } };
    });
  }

  const fresh = catalogue.map(disabled);
  const plan = desiredQuotas({ available: catalogue, mappings, lines: [line('P-WS', 8, 'prepaid'), line('P-SRV', 2, 'payg')] });

  it('enables only what the plan grants on a new tenant: hard prepaid quotas, unlimited otherwise', () => {
    const changes = quotaChanges(fresh, plan.items);
    expect(changes).toEqual([
      { application_id: BACKUP, name: 'pw_base_workstations', status: 1, quota: { value: 8, overage: 0, version: 0 } },
      { application_id: BACKUP, name: 'pw_base_servers', status: 1, quota: { value: null, overage: null, version: 0 } },
      { application_id: BACKUP, name: 'pw_base_storage', infra_id: STORAGE_A, status: 1, quota: { value: null, overage: null, version: 0 } },
      { application_id: BACKUP, name: 'local_storage', status: 1, quota: { value: null, overage: null, version: 0 } },
    ]);
  });

  it('asks for nothing once the tenant matches', () => {
    const provisioned = apply(fresh, quotaChanges(fresh, plan.items));
    expect(quotaChanges(provisioned, plan.items)).toEqual([]);
  });

  it('echoes the quota version and sets a dropped item to 0, keeping it enabled', () => {
    const provisioned = apply(fresh, quotaChanges(fresh, plan.items));
    const fewer = desiredQuotas({ available: catalogue, mappings, lines: [line('P-WS', 3, 'prepaid')] });
    expect(quotaChanges(provisioned, fewer.items)).toEqual([
      { application_id: BACKUP, name: 'pw_base_workstations', status: 1, quota: { value: 3, overage: 0, version: 1_700_000_000_000 } },
      { application_id: BACKUP, name: 'pw_base_servers', status: 1, quota: { value: 0, overage: 0, version: 0 } },
    ]);
  });

  it('switches off the items of the edition being replaced', () => {
    const provisioned = apply(fresh, quotaChanges(fresh, plan.items));
    const perGigabyte = desiredQuotas({ available: catalogue, mappings: [{ offeringItem: 'pg_base_workstations', psaProductId: 'P-WS', free: false }], lines: [line('P-WS', 4, 'prepaid')] });
    const changes = quotaChanges(provisioned, perGigabyte.items);
    expect(changes.filter((change) => change.status === 0).map((change) => change.name)).toEqual(['pw_base_workstations', 'pw_base_servers', 'pw_base_storage']);
    expect(changes.filter((change) => change.status === 1).map((change) => change.name)).toEqual(['pg_base_workstations', 'pg_base_storage', 'local_storage']);
  });

  it('zeroes every enabled item when nothing is desired', () => {
    const provisioned = apply(fresh, quotaChanges(fresh, plan.items));
    const changes = quotaChanges(provisioned, []);
    expect(changes.map((change) => [change.name, change.status, change.quota?.value])).toEqual([
      ['pw_base_workstations', 1, 0],
      ['pw_base_servers', 1, 0],
      ['pw_base_storage', 1, 0],
      ['local_storage', 1, 0],
    ]);
    expect(quotaChanges(apply(provisioned, changes), [])).toEqual([]);
  });
});
