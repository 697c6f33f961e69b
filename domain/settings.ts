// Extended for OpenAPI, whichever module loads first: the admin API documents these schemas as they are.
import { z } from '@hono/zod-openapi';

const days = (min: number, max: number) => z.int().min(min).max(max);
/** A PSA picklist value: a positive 32-bit integer (Autotask ids). */
const picklistId = z.int().min(1).max(2_147_483_647);

const settingsShape = {
  provisioning: z.strictObject({
    enabled: z.boolean(),
    automatic: z.boolean(),
    accountBasis: z.enum(['company-name', 'primary-contact']),
    /** Where company-name accounts send their activation e-mail (primary-contact accounts use the contact's address). */
    activationEmail: z.email().max(254).nullable(),
    enableMfa: z.boolean(),
    tenantMode: z.enum(['production', 'trial']),
  }),
  deprovisioning: z.strictObject({
    zeroQuotas: z.boolean(),
    disableAfterDays: days(0, 365).nullable(),
    deleteAfterDays: days(1, 3650).nullable(),
  }),
  billing: z.strictObject({
    enabled: z.boolean(),
    reportingPeriod: z.enum(['current-month', 'previous-month', 'custom-billing-month']),
    billingDay: z.int().min(1).max(28),
    storage: z.strictObject({ totalAndOverage: z.boolean(), class1Free: z.boolean(), class2Billed: z.boolean() }),
    intervalMinutes: z.int().min(5).max(1440),
    /** Hours Acronis takes to refresh usage: a period is reported only from figures read this long after it ended (F4.9). */
    refreshLagHours: z.number().min(0).max(48),
    /** `always`: every billing run waits for an admin's approval before it writes (F4.10). */
    review: z.enum(['off', 'always']),
    /** A line whose value moves by more than this share of its previous value waits for approval even when review is off. */
    holdChangesAbovePercent: z.number().min(0).max(1_000_000).nullable(),
    /** `report`: a PSA value changed by hand is a conflict, never overwritten; `engine-owns`: the engine's figure wins (F4.11). */
    onDrift: z.enum(['report', 'engine-owns']),
  }),
  tickets: z.strictObject({
    enabled: z.boolean(),
    newTicketAfterDays: days(1, 365).nullable(),
    autoClose: z.strictObject({ enabled: z.boolean(), status: z.string().trim().min(1).max(100).nullable() }),
    /** How often the Acronis alert feed is read (and at once on "sync now"). */
    pollSeconds: z.int().min(1).max(3600),
    /** Autotask: the note type and publish picklist values of the notes the engine adds; null: the PSA's default. */
    noteType: picklistId.nullable(),
    notePublish: picklistId.nullable(),
    /** Past `maxAlerts` new tickets for one customer within `windowMinutes`, further alerts become notes on one digest ticket; null: off. */
    storm: z.strictObject({ maxAlerts: z.int().min(1).max(10_000), windowMinutes: z.int().min(1).max(1440) }).nullable(),
  }),
  agents: z.strictObject({ enabled: z.boolean() }),
};

/** A partner's settings as stored and as answered: always whole. */
export const settingsSchema = z.strictObject(settingsShape).superRefine((settings, ctx) => {
  const { disableAfterDays, deleteAfterDays } = settings.deprovisioning;
  if (disableAfterDays !== null && deleteAfterDays !== null && deleteAfterDays <= disableAfterDays) {
    ctx.addIssue({
      code: 'custom',
      path: ['deprovisioning', 'deleteAfterDays'],
      message: `must be later than disableAfterDays (${disableAfterDays}): Acronis deletes only disabled tenants`,
    });
  }
  if (settings.tickets.autoClose.enabled && settings.tickets.autoClose.status === null) {
    ctx.addIssue({ code: 'custom', path: ['tickets', 'autoClose', 'status'], message: 'is required when auto-close is enabled' });
  }
});

export type Settings = z.infer<typeof settingsSchema>;

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object | null ? (T[K] extends null ? T[K] : DeepPartial<T[K]> | Extract<T[K], null>) : T[K] };
export type SettingsPatch = DeepPartial<Settings>;

function partialDeep(schema: z.ZodType): z.ZodType {
  if (schema instanceof z.ZodObject) {
    const shape = Object.fromEntries(Object.entries(schema.shape as Record<string, z.ZodType>).map(([key, field]) => [key, partialDeep(field).optional()]));
    return z.strictObject(shape);
  }
  return schema;
}

/** Any subset of the settings; what is absent stays as it is. */
export const settingsPatchSchema = partialDeep(z.strictObject(settingsShape)) as z.ZodType<SettingsPatch>;

/** What a new partner starts with: every capability off until an admin has mapped what it needs. */
export const DEFAULT_SETTINGS: Settings = {
  provisioning: { enabled: false, automatic: false, accountBasis: 'company-name', activationEmail: null, enableMfa: true, tenantMode: 'production' },
  deprovisioning: { zeroQuotas: true, disableAfterDays: 10, deleteAfterDays: 30 },
  billing: {
    enabled: false,
    reportingPeriod: 'custom-billing-month',
    billingDay: 1,
    storage: { totalAndOverage: true, class1Free: false, class2Billed: false },
    intervalMinutes: 15,
    refreshLagHours: 6,
    review: 'off',
    holdChangesAbovePercent: null,
    onDrift: 'report',
  },
  tickets: { enabled: false, newTicketAfterDays: null, autoClose: { enabled: false, status: null }, pollSeconds: 10, noteType: null, notePublish: null, storm: null },
  agents: { enabled: false },
};

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function merge(base: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    const current = result[key];
    result[key] = isPlainObject(value) && isPlainObject(current) ? merge(current, value) : value;
  }
  return result;
}

/** The merged document; validate it with settingsSchema, since a patch can break a cross-field rule. */
export function mergeSettings(current: Settings, patch: SettingsPatch): unknown {
  return merge(current, patch);
}

export interface Capabilities {
  provisioning: boolean;
  billing: boolean;
  tickets: boolean;
  agents: boolean;
}

export function capabilitiesOf(settings: Settings): Capabilities {
  return {
    provisioning: settings.provisioning.enabled,
    billing: settings.billing.enabled,
    tickets: settings.tickets.enabled,
    agents: settings.agents.enabled,
  };
}
