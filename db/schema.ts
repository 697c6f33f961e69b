import type { ColumnType, Generated, JSONColumnType } from 'kysely';
import type { CredentialKind, ExternalSystem, PsaKind, RmmKind } from '../domain/partner.ts';
import type { ServiceLine } from '../psa/port.ts';

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
  /** The Acronis partner tenant of its API client, read when the credentials were saved; null for rows saved before that check. */
  acronis_tenant_id: ColumnType<string | null, string | null | undefined, string | null>;
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

/** What discovery last read of a company it watches (mapped, or a candidate of automatic mode). */
/** Who keeps a snapshot of the PSA's lines: each reads its own companies on its own schedule. */
export type LineReader = 'discovery' | 'billing';

export interface PsaCompanyLinesTable {
  partner_id: string;
  reader: LineReader;
  psa_company_id: string;
  /** Null when the PSA no longer has the company, and on billing's rows (billing does not read the company). */
  company_name: string | null;
  /** Null on billing's rows. */
  company_active: boolean | null;
  lines: JSONColumnType<ServiceLine[]>;
  /** The earliest instant the calendar alone changes one of the lines. */
  changes_at: Date | null;
  read_at: Date;
}

/** How far a reader has read the partner's PSA. */
export interface PsaLineWatermarksTable {
  partner_id: string;
  reader: LineReader;
  /** Start of the last completed pass: what the PSA changed before it (less an overlap) has been read. */
  checked_from: Date;
  /** Start of the last completed full pass. */
  full_at: Date;
  /** Whether that full pass read every active company (discovery in automatic mode) or the mapped ones only. */
  full_automatic: boolean;
  updated_at: UpdatedAt;
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
  /** Set: the token sees and changes only this partner. */
  partner_id: ColumnType<string | null, string | null | undefined, never>;
}

/** The last success and failure of a partner's calls to one system. */
export interface PartnerHealthTable {
  partner_id: string;
  system: ExternalSystem;
  last_success_at: Date | null;
  last_failure_at: Date | null;
  /** A FailureKind of clients/http.ts: `auth` is a refused credential. */
  last_failure_kind: string | null;
  last_failure_message: string | null;
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

/** F6.8: an Automate client tied to an Acronis customer tenant by an admin. */
export interface RmmClientLinksTable {
  partner_id: string;
  automate_client_id: number;
  acronis_tenant_id: string;
  created_at: CreatedAt;
}

/** F6.3, F6.4: a client's (location null) or a location's agent policy, with what the last scan did. */
export interface AgentPoliciesTable {
  partner_id: string;
  automate_client_id: number;
  automate_location_id: number | null;
  auto_deploy: boolean;
  with_backup_monitor: boolean;
  default_plan_id: string | null;
  last_scan_at: Date | null;
  last_scan_note: string | null;
  updated_at: UpdatedAt;
}

/** F6.7: a customer's protection plan made available to every customer of the partner. */
export interface ImportedPlansTable {
  partner_id: string;
  /** The plan as Acronis knows it in its own tenant. */
  plan_id: string;
  source_tenant_id: string;
  name: string;
  /** The plan's policies with their settings, copied into other customers' tenants on first use. */
  policies: JSONColumnType<Record<string, unknown>[]>;
  is_default: boolean;
  imported_at: ColumnType<Date, Date | undefined, Date>;
}

export interface AcronisTenantNumbersTable {
  partner_id: string;
  tenant_id: string;
  numeric_id: string;
}

export type DeploymentAction = 'install' | 'update' | 'uninstall';
export type DeploymentTrigger = 'api' | 'scan';
export type DeploymentComputerStatus = 'pending' | 'running' | 'succeeded' | 'failed';

export interface AgentDeploymentsTable {
  id: string;
  partner_id: string;
  action: DeploymentAction;
  trigger: DeploymentTrigger;
  status: 'running' | 'done';
  window_ends_at: Date;
  registration_timeout_seconds: number;
  requested_by: string;
  created_at: CreatedAt;
  finished_at: Date | null;
  end_reason: string | null;
}

export interface AgentDeploymentComputersTable {
  deployment_id: string;
  computer_id: number;
  partner_id: string;
  automate_client_id: number;
  automate_location_id: number;
  computer_name: string;
  tenant_id: string;
  with_backup_monitor: boolean;
  status: DeploymentComputerStatus;
  agent_id: string | null;
  /** Why the computer failed, or what it waits for. */
  reason: string | null;
  /** Written before the script is sent, and only once: the guard against scripting a computer twice. */
  script_claimed_at: Date | null;
  script_sent_at: Date | null;
  scripts_sent: ColumnType<number, number | undefined, number>;
  /** Registration (or removal, or update) must be seen by then. */
  wait_until: Date | null;
  finished_at: Date | null;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}


/** numeric columns: pg answers strings (exact decimals); db/usage.ts turns them into numbers. */
type Decimal = ColumnType<string, string | number, string | number>;
type NullableDecimal = ColumnType<string | null, string | number | null, string | number | null>;
/** `date` columns, read as `YYYY-MM-DD` (db/connection.ts). */
type CalendarDate = string;

/** One pass of the usage loop (a billing run, F4.8, F4.10). */
export interface BillingRunsTable {
  id: string;
  partner_id: string;
  trigger: 'scheduled' | 'sync-now' | 'backfill';
  period_start: CalendarDate;
  period_end: CalendarDate;
  status: 'running' | 'written' | 'awaiting-approval' | 'approved' | 'rejected' | 'partly-written';
  due_at: Date | null;
  /** Why the run wrote nothing it could have (figures not fresh yet ...). */
  note: string | null;
  /** Lines whose figure the PSA already held. */
  unchanged: ColumnType<number, number | undefined, number>;
  workflow_id: string;
  workflow_run_id: string;
  created_at: CreatedAt;
  completed_at: Date | null;
}

/** The ledger of usage writes (F4.6, F4.8): one row per line, period and run. */
export interface UsageWritesTable {
  id: Generated<string>;
  partner_id: string;
  billing_run_id: string;
  psa_company_id: string;
  tenant_id: string;
  offering_item: string;
  psa_product_id: string;
  agreement_id: string;
  line_id: string;
  period_start: CalendarDate;
  period_end: CalendarDate;
  old_value: NullableDecimal;
  new_value: Decimal;
  status: 'writing' | 'written' | 'held' | 'rejected' | 'conflict' | 'failed';
  reason: string | null;
  figure_read_at: Date | null;
  /** Who approved or rejected a held line. */
  decided_by: string | null;
  approved: ColumnType<boolean, boolean | undefined, boolean>;
  workflow_run_id: string;
  at: ColumnType<Date, Date | undefined, Date>;
}

/** What the engine knows of a line in a period: the figure it settled and what the PSA should hold. */
export interface UsageLinesTable {
  partner_id: string;
  psa_company_id: string;
  offering_item: string;
  period_start: CalendarDate;
  period_end: CalendarDate;
  agreement_id: string;
  line_id: string;
  reported_value: NullableDecimal;
  psa_value: NullableDecimal;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

/** Acronis usage figures per tenant, item and period, with the time they were read (F4.9). */
export interface UsageFiguresTable {
  partner_id: string;
  tenant_id: string;
  offering_item: string;
  period_start: CalendarDate;
  value: Decimal;
  measurement_unit: string;
  read_at: Date;
}

/** Drift found before a write (F4.11). */
export interface UsageConflictsTable {
  id: string;
  partner_id: string;
  billing_run_id: string;
  psa_company_id: string;
  offering_item: string;
  period_start: CalendarDate;
  period_end: CalendarDate;
  agreement_id: string;
  line_id: string;
  field: string;
  /** What the engine last left in the PSA. */
  ours: Decimal;
  /** What the PSA held instead. */
  theirs: Decimal;
  /** The figure the engine was about to write. */
  next_value: Decimal;
  found_at: ColumnType<Date, Date | undefined, never>;
  resolved_at: Date | null;
  resolution: 'ours' | 'theirs' | null;
  resolved_by: string | null;
}

export interface Database {
  partners: PartnersTable;
  credentials: CredentialsTable;
  partner_settings: PartnerSettingsTable;
  product_mappings: ProductMappingsTable;
  company_mappings: CompanyMappingsTable;
  customer_line_fingerprints: CustomerLineFingerprintsTable;
  psa_company_lines: PsaCompanyLinesTable;
  psa_line_watermarks: PsaLineWatermarksTable;
  activation_emails: ActivationEmailsTable;
  alert_mappings: AlertMappingsTable;
  ticket_links: TicketLinksTable;
  api_tokens: ApiTokensTable;
  partner_health: PartnerHealthTable;
  audit_log: AuditLogTable;
  rmm_client_links: RmmClientLinksTable;
  agent_policies: AgentPoliciesTable;
  imported_plans: ImportedPlansTable;
  acronis_tenant_numbers: AcronisTenantNumbersTable;
  agent_deployments: AgentDeploymentsTable;
  agent_deployment_computers: AgentDeploymentComputersTable;

  billing_runs: BillingRunsTable;
  usage_writes: UsageWritesTable;
  usage_lines: UsageLinesTable;
  usage_figures: UsageFiguresTable;
  usage_conflicts: UsageConflictsTable;
}
