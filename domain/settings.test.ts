import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, mergeSettings, settingsPatchSchema, settingsSchema } from './settings.ts';

function issues(value: unknown) {
  const result = settingsSchema.safeParse(value);
  return result.success ? [] : result.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
}

describe('partner settings', () => {
  it('start with every capability off and the SPEC defaults', () => {
    expect(settingsSchema.parse(DEFAULT_SETTINGS)).toEqual(DEFAULT_SETTINGS);
    expect(DEFAULT_SETTINGS.billing).toMatchObject({ enabled: false, reportingPeriod: 'custom-billing-month', intervalMinutes: 15 });
    expect(DEFAULT_SETTINGS.deprovisioning).toEqual({ zeroQuotas: true, disableAfterDays: 10, deleteAfterDays: 30 });
  });

  it('change only what a partial update names', () => {
    const merged = settingsSchema.parse(mergeSettings(DEFAULT_SETTINGS, { billing: { billingDay: 15, storage: { class2Billed: true } } }));
    expect(merged.billing.billingDay).toBe(15);
    expect(merged.billing.storage).toEqual({ totalAndOverage: true, class1Free: false, class2Billed: true });
    expect(merged.tickets).toEqual(DEFAULT_SETTINGS.tickets);
  });

  it('accept null to switch off a day-based step', () => {
    const merged = settingsSchema.parse(mergeSettings(DEFAULT_SETTINGS, { deprovisioning: { deleteAfterDays: null } }));
    expect(merged.deprovisioning.deleteAfterDays).toBeNull();
  });

  it('name the field when a rule across fields is broken', () => {
    expect(issues(mergeSettings(DEFAULT_SETTINGS, { deprovisioning: { disableAfterDays: 30, deleteAfterDays: 20 } }))).toEqual([
      { path: 'deprovisioning.deleteAfterDays', message: 'must be later than disableAfterDays (30): Acronis deletes only disabled tenants' },
    ]);
    expect(issues(mergeSettings(DEFAULT_SETTINGS, { tickets: { autoClose: { enabled: true } } }))[0]?.path).toBe('tickets.autoClose.status');
  });

  it('reject a billing day past the 28th and unknown fields in an update', () => {
    expect(issues(mergeSettings(DEFAULT_SETTINGS, { billing: { billingDay: 29 } }))[0]?.path).toBe('billing.billingDay');
    const unknown = settingsPatchSchema.safeParse({ billing: { billingDy: 3 } });
    expect(unknown.success).toBe(false);
  });
});
