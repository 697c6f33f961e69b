// Extended for OpenAPI, whichever module loads first: the admin API documents these schemas as they are.
import { z } from '@hono/zod-openapi';
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
  // The longest IANA name has 32 characters. The separators are not segment characters, so the
  // pattern cannot backtrack exponentially on a long near-miss.
  if (zone.length > 64 || !/^[A-Za-z]+(?:[/_-][A-Za-z0-9+]+)*$/.test(zone)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Longer than any server address; what is longer is refused before it is stored or called. */
const MAX_URL = 2048;

/**
 * Where each vendor's API lives on the server a partner names. Admins paste the API address from the
 * vendor's docs (`https://eu2-cloud.acronis.com/api/2/`); it is cut back to the server, since the
 * clients add the API paths themselves. These APIs live at the server's root, so any other path is
 * refused: stored, it would surface only later, as "credentials refused".
 */
const API_PATHS: Record<CredentialKind, { apiPath: RegExp; example: string }> = {
  acronis: { apiPath: /^\/api(?:\/|$)/i, example: 'https://eu2-cloud.acronis.com' },
  // The codebase: `v4_6_release` on premises (a router to the current release in the cloud), or a cloud release such as `v2025_1`.
  'connectwise-manage': { apiPath: /^\/(?:v4_6_release|v\d{4}_\d+)(?:\/|$)/i, example: 'https://api-na.myconnectwise.net' },
  autotask: { apiPath: /^\/atservicesrest(?:\/|$)/i, example: 'https://webservices.autotask.net' },
  'connectwise-automate': { apiPath: /^\/cwa(?:\/|$)/i, example: 'https://automate.example.com' },
};

/** The server address to store for a vendor URL as an admin entered it, or why it cannot be used. */
export function vendorBaseUrl(kind: CredentialKind, value: string, policy: OutboundUrlPolicy): { url: string } | { problem: string } {
  const problem = outboundUrlProblem(value, policy);
  if (problem) return { problem };
  const url = new URL(value);
  const path = url.pathname.replace(/\/+$/, '');
  const { apiPath, example } = API_PATHS[kind];
  if (path !== '' && !apiPath.test(path)) return { problem: `must be the server's address without a path, such as ${example}` };
  return { url: url.origin };
}

export interface AcronisAccount {
  baseUrl: string;
  clientId: string;
  /** The partner tenant the API client acts for, as Acronis told when the credentials were checked; null for rows saved before. */
  tenantId?: string | null;
}

function serverOf(baseUrl: string): string {
  try {
    return new URL(baseUrl).origin;
  } catch {
    return baseUrl;
  }
}

/**
 * Whether two credentials reach the same Acronis account: the same data centre and the same partner
 * tenant (any two of its API clients), or, where a tenant is not known (rows saved before the
 * check read it), the same API client. Addresses stored before they were normalised compare by their server.
 */
export function sameAcronisAccount(a: AcronisAccount, b: AcronisAccount): boolean {
  if (serverOf(a.baseUrl) !== serverOf(b.baseUrl)) return false;
  if (a.tenantId && b.tenantId && a.tenantId.toLowerCase() === b.tenantId.toLowerCase()) return true;
  return a.clientId.toLowerCase() === b.clientId.toLowerCase();
}

/** Schemas for partner input; vendor URLs are checked against the deployment's outbound policy. */
export function partnerSchemas(policy: OutboundUrlPolicy) {
  const vendorUrl = (kind: CredentialKind) =>
    z.string().trim().max(MAX_URL).transform((value, ctx) => {
      const checked = vendorBaseUrl(kind, value, policy);
      if ('url' in checked) return checked.url;
      ctx.addIssue({ code: 'custom', message: checked.problem });
      return z.NEVER;
    });

  const acronis = z.strictObject({ baseUrl: vendorUrl('acronis'), clientId: text(), clientSecret: secret() });
  const connectwiseManage = z.strictObject({
    kind: z.literal('connectwise-manage'),
    baseUrl: vendorUrl('connectwise-manage'),
    companyId: text(100),
    publicKey: text(),
    privateKey: secret(),
    clientId: text(),
  });
  const autotask = z.strictObject({
    kind: z.literal('autotask'),
    baseUrl: vendorUrl('autotask'),
    username: text(),
    secret: secret(),
    integrationCode: secret(),
  });
  const connectwiseAutomate = z.strictObject({
    kind: z.literal('connectwise-automate'),
    baseUrl: vendorUrl('connectwise-automate'),
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
