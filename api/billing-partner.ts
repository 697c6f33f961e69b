import { z } from '@hono/zod-openapi';
import type { Db } from '../db/connection.ts';
import { findPartner, type PartnerWithCredentials } from '../db/partners.ts';
import { readSettings } from '../db/settings.ts';
import type { Settings } from '../domain/settings.ts';
import type { LoopOwner } from '../temporal/capability-loops.ts';
import { problems } from './problem.ts';

/** What the billing routes need of a partner; 404 when it does not exist (or was removed). */
export async function billingPartnerOr404(db: Db, partnerId: string): Promise<{ partner: PartnerWithCredentials; settings: Settings; owner: LoopOwner }> {
  const partner = await findPartner(db, partnerId);
  const stored = partner && (await readSettings(db, partnerId));
  if (!partner || !stored) throw problems.notFound(`Partner ${partnerId}`);
  return { partner, settings: stored.settings, owner: { partnerId, partnerName: partner.name, psaKind: partner.psaKind } };
}

/** Writes to the PSA need the loop, which runs only while billing is on. */
export function requireBillingOn(settings: Settings, path: string): void {
  if (!settings.billing.enabled) throw problems.conflict(path, 'cannot be done while billing is switched off for this partner (settings billing.enabled)');
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A calendar day `YYYY-MM-DD` that exists (no 30 February). */
export const calendarDate = z
  .string()
  .regex(ISO_DATE, { error: 'must be a date, YYYY-MM-DD' })
  .refine((value) => {
    // Only a well-formed date can be a day of the calendar; the pattern names the other problem.
    if (!ISO_DATE.test(value)) return true;
    const date = new Date(`${value}T00:00:00Z`);
    return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value;
  }, { error: 'is not a day of the calendar' });

export const periodView = z.object({ start: z.string().describe('First day, YYYY-MM-DD, in the partner’s time zone'), end: z.string().describe('Last day, inclusive') });

export const lineRefSchema = z.strictObject({
  psaCompanyId: z.string().min(1).max(64),
  offeringItem: z.string().min(1).max(500),
});
