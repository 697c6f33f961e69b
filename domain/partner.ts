import { z } from 'zod';
import { outboundUrlProblem, type OutboundUrlPolicy } from './outbound-url.ts';

export const PSA_KINDS = ['connectwise-manage', 'autotask'] as const;
export type PsaKind = (typeof PSA_KINDS)[number];
export const RMM_KINDS = ['connectwise-automate'] as const;
export type RmmKind = (typeof RMM_KINDS)[number];

export type ExternalSystem = 'acronis' | 'psa' | 'rmm';
export type CredentialKind = 'acronis' | PsaKind | RmmKind;

/** Authenticated data of a sealed credential: it opens only in the row it was written for. */
export function credentialContext(partnerId: string, system: ExternalSystem): string {
  return `partner:${partnerId}:${system}`;
}

/** The fields of each credential kind that are secret: sealed at rest, never returned, never logged. */
export const SECRET_FIELDS: Record<CredentialKind, readonly string[]> = {
  acronis: ['clientSecret'],
  'connectwise-manage': ['privateKey'],
  autotask: ['secret', 'integrationCode'],
  'connectwise-automate': ['password'],
};

const text = (max = 200) => z.string().trim().min(1, 'must not be empty').max(max);
const secret = () => z.string().min(1, 'must not be empty').max(4096);

export function isIanaTimeZone(zone: string): boolean {
  // Offsets such as "+01:00" are accepted by Intl but have no DST rules; billing days need a real zone.
  if (!/^[A-Za-z]+(?:[/_-][A-Za-z0-9+-]+)*$/.test(zone)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Schemas for partner input; vendor URLs are checked against the deployment's outbound policy. */
export function partnerSchemas(policy: OutboundUrlPolicy) {
  const vendorUrl = z.string().trim().superRefine((value, ctx) => {
    const problem = outboundUrlProblem(value, policy);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

  const acronis = z.strictObject({ baseUrl: vendorUrl, clientId: text(), clientSecret: secret() });
  const connectwiseManage = z.strictObject({
    kind: z.literal('connectwise-manage'),
    baseUrl: vendorUrl,
    companyId: text(100),
    publicKey: text(),
    privateKey: secret(),
    clientId: text(),
  });
  const autotask = z.strictObject({
    kind: z.literal('autotask'),
    baseUrl: vendorUrl,
    username: text(),
    secret: secret(),
    integrationCode: secret(),
  });
  const connectwiseAutomate = z.strictObject({
    kind: z.literal('connectwise-automate'),
    baseUrl: vendorUrl,
    username: text(),
    password: secret(),
    clientId: text(),
  });
  const psa = z.discriminatedUnion('kind', [connectwiseManage, autotask]);
  const name = text();
  const timezone = z.string().refine(isIanaTimeZone, 'must be an IANA time zone such as Europe/Berlin');

  const create = z.strictObject({ name, timezone, acronis, psa, rmm: connectwiseAutomate.optional() });

  // A change names only what changes; the PSA kind stays (its mappings hold that PSA's IDs).
  const update = z.strictObject({
    name: name.optional(),
    timezone: timezone.optional(),
    acronis: acronis.partial().optional(),
    psa: z
      .discriminatedUnion('kind', [
        connectwiseManage.partial().required({ kind: true }),
        autotask.partial().required({ kind: true }),
      ])
      .optional(),
    rmm: connectwiseAutomate.partial().required({ kind: true }).nullable().optional(),
  });

  return { create, update, connectwiseAutomate };
}

export type PartnerSchemas = ReturnType<typeof partnerSchemas>;
export type PartnerCreate = z.infer<PartnerSchemas['create']>;
export type PartnerUpdate = z.infer<PartnerSchemas['update']>;

/** Splits a credential object into what may be shown and what must be sealed. */
export function splitCredential(kind: CredentialKind, fields: Record<string, unknown>) {
  const secretNames = SECRET_FIELDS[kind];
  const visible: Record<string, string> = {};
  const secrets: Record<string, string> = {};
  for (const [field, value] of Object.entries(fields)) {
    if (field === 'kind' || typeof value !== 'string') continue;
    (secretNames.includes(field) ? secrets : visible)[field] = value;
  }
  return { visible, secrets };
}
