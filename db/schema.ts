import type { ColumnType, Generated, JSONColumnType } from 'kysely';
import type { CredentialKind, ExternalSystem, PsaKind, RmmKind } from '../domain/partner.ts';

type CreatedAt = ColumnType<Date, never, never>;
type UpdatedAt = ColumnType<Date, never, Date>;

export interface PartnersTable {
  id: string;
  name: string;
  timezone: string;
  psa_kind: PsaKind;
  rmm_kind: RmmKind | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  /** Set on removal: records that reference the partner (audit, later usage writes) outlive it. */
  deleted_at: Date | null;
}

export interface CredentialsTable {
  partner_id: string;
  system: ExternalSystem;
  kind: CredentialKind;
  /** The non-secret fields (base URL, client id, user name ...). */
  visible: JSONColumnType<Record<string, string>>;
  /** The secret fields as JSON, sealed with AES-256-GCM (security/secret-box.ts). */
  sealed_secrets: string;
  updated_at: UpdatedAt;
}

export interface PartnerSettingsTable {
  partner_id: string;
  document: JSONColumnType<Record<string, unknown>>;
  /** Increments on every change; the supervisor workflow reloads when it sees a newer one. */
  version: number;
  updated_at: UpdatedAt;
}

export interface ProductMappingsTable {
  partner_id: string;
  offering_item: string;
  psa_product_id: string | null;
  free: boolean;
  updated_at: UpdatedAt;
}

export interface CompanyMappingsTable {
  partner_id: string;
  psa_company_id: string;
  acronis_tenant_id: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** A digest of a mapped company's service lines (and the product mappings) as discovery last saw them. */
export interface CustomerLineFingerprintsTable {
  partner_id: string;
  psa_company_id: string;
  fingerprint: string;
  seen_at: ColumnType<Date, Date | undefined, Date>;
}

/** An admin user's activation e-mail, recorded once sent. */
export interface ActivationEmailsTable {
  partner_id: string;
  acronis_user_id: string;
  acronis_tenant_id: string;
  sent_at: ColumnType<Date, Date | undefined, never>;
}

export interface AlertMappingsTable {
  partner_id: string;
  alert_type: string;
  enabled: boolean;
  ticket: JSONColumnType<Record<string, unknown>>;
  updated_at: UpdatedAt;
}

export type TicketLinkKind = 'alert' | 'digest';
export type TicketLinkState = 'pending' | 'open' | 'closed' | 'failed';

/** One PSA ticket an alert identity (or a storm's digest) has had; see migration 0006. */
export interface TicketLinksTable {
  partner_id: string;
  identity: string;
  generation: number;
  kind: TicketLinkKind;
  psa_company_id: string;
  alert_type: string | null;
  resource_name: string | null;
  alert_id: string | null;
  external_ref: string;
  ticket_id: string | null;
  ticket_number: string | null;
  state: TicketLinkState;
  notes: ColumnType<number, number | undefined, number>;
  /** bigint: kysely reads it as a string. */
  last_occurrence_ns: ColumnType<string | null, string | null | undefined, string | null>;
  last_error: string | null;
  create_started_at: Date | null;
  created_at: Date;
  closed_at: Date | null;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export type TokenRole = 'admin' | 'read-only';

export interface ApiTokensTable {
  id: string;
  name: string;
  role: TokenRole;
  /** SHA-256 of the token: tokens are 256-bit random, so a fast hash is enough and lookups stay indexed. */
  token_hash: string;
  created_at: CreatedAt;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

export interface AuditLogTable {
  id: Generated<string>;
  at: CreatedAt;
  actor: string;
  action: string;
  partner_id: string | null;
  target: string;
  /** What changed, with secrets reduced to the names of the fields that were set. */
  details: JSONColumnType<Record<string, unknown>>;
  request_id: string | null;
}

export interface Database {
  partners: PartnersTable;
  credentials: CredentialsTable;
  partner_settings: PartnerSettingsTable;
  product_mappings: ProductMappingsTable;
  company_mappings: CompanyMappingsTable;
  customer_line_fingerprints: CustomerLineFingerprintsTable;
  activation_emails: ActivationEmailsTable;
  alert_mappings: AlertMappingsTable;
  ticket_links: TicketLinksTable;
  api_tokens: ApiTokensTable;
  audit_log: AuditLogTable;
}
