/**
 * A partner's health (SPEC F1.5): per system it calls (acronis, psa, rmm), the last success and the
 * last failure with its kind. Pure: what a call outcome counts as, and the status an operator sees.
 */
import type { VendorCallOutcome } from '../clients/call-scope.ts';
import type { FailureKind, VendorSystem } from '../clients/http.ts';
import type { ExternalSystem } from './partner.ts';

export type HealthStatus = 'ok' | 'failing' | 'credentials-rejected' | 'unknown';

export const VENDOR_SYSTEM_ROLE: Record<VendorSystem, ExternalSystem> = {
  acronis: 'acronis',
  'connectwise-manage': 'psa',
  autotask: 'psa',
  'connectwise-automate': 'rmm',
};

/**
 * Answers that show the system up and the credentials accepted, though the request itself was
 * refused (an unknown id, a stale version, a field the vendor did not like): the connection is healthy.
 */
const ANSWERED: ReadonlySet<FailureKind> = new Set(['not-found', 'conflict', 'validation']);

/** What PostgreSQL keeps of one system. */
export interface SystemHealthRecord {
  system: ExternalSystem;
  lastSuccessAt: Date | null;
  lastFailureAt: Date | null;
  lastFailureKind: string | null;
  lastFailureMessage: string | null;
}

export function healthStatus(record: SystemHealthRecord | undefined): HealthStatus {
  if (!record || (!record.lastSuccessAt && !record.lastFailureAt)) return 'unknown';
  const failedLast = record.lastFailureAt !== null && (record.lastSuccessAt === null || record.lastFailureAt > record.lastSuccessAt);
  if (!failedLast) return 'ok';
  return record.lastFailureKind === 'auth' ? 'credentials-rejected' : 'failing';
}

/** The partner's status in one word, worst first: for the partner list and the supervisor's search attribute. */
export function overallStatus(statuses: readonly HealthStatus[]): HealthStatus {
  for (const status of ['credentials-rejected', 'failing', 'ok'] as const) if (statuses.includes(status)) return status;
  return 'unknown';
}

/** Longer vendor reasons are cut: the record says what failed, the workflow's failure says it whole. */
const MAX_MESSAGE = 500;

/** What one activity saw of each system: its last success and its last failure. */
export class HealthObservations {
  readonly #systems = new Map<ExternalSystem, { successAt?: Date; failure?: { at: Date; kind: FailureKind; message: string } }>();

  observe(outcome: VendorCallOutcome, at = new Date()): void {
    const system = VENDOR_SYSTEM_ROLE[outcome.system];
    const seen = this.#systems.get(system) ?? {};
    const { error } = outcome;
    if (error === null || ANSWERED.has(error.kind)) seen.successAt = at;
    else seen.failure = { at, kind: error.kind, message: error.summary.replaceAll('\u0000', '').toWellFormed().slice(0, MAX_MESSAGE) };
    this.#systems.set(system, seen);
  }

  get empty(): boolean {
    return this.#systems.size === 0;
  }

  records(): SystemHealthRecord[] {
    return [...this.#systems].map(([system, seen]) => ({
      system,
      lastSuccessAt: seen.successAt ?? null,
      lastFailureAt: seen.failure?.at ?? null,
      lastFailureKind: seen.failure?.kind ?? null,
      lastFailureMessage: seen.failure?.message ?? null,
    }));
  }

  /** Systems whose last word in this activity was a refusal of the credentials. */
  rejected(): ExternalSystem[] {
    return this.records().filter((record) => healthStatus(record) === 'credentials-rejected').map((record) => record.system);
  }
}
