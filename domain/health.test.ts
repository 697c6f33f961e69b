import { describe, expect, it } from 'vitest';
import { VendorApiError, type FailureKind } from '../clients/http.ts';
import { HealthObservations, healthStatus, overallStatus } from './health.ts';

const failure = (kind: FailureKind, system: 'acronis' | 'autotask' = 'acronis') => new VendorApiError({ system, kind, operation: 'POST /api/2/idp/token', message: 'invalid_client', status: 401 });

describe('partner health', () => {
  it('tells ok, failing, credentials-rejected and unknown from the last success and failure', () => {
    const at = (minute: number) => new Date(Date.UTC(2026, 10, 30, 9, minute));
    const record = (success: number | null, failed: number | null, kind = 'auth') => ({
      system: 'acronis' as const,
      lastSuccessAt: success === null ? null : at(success),
      lastFailureAt: failed === null ? null : at(failed),
      lastFailureKind: failed === null ? null : kind,
      lastFailureMessage: null,
    });
    expect(healthStatus(undefined)).toBe('unknown');
    expect(healthStatus(record(5, null))).toBe('ok');
    expect(healthStatus(record(5, 3))).toBe('ok');
    expect(healthStatus(record(3, 5))).toBe('credentials-rejected');
    expect(healthStatus(record(null, 5, 'unavailable'))).toBe('failing');
    expect(overallStatus(['ok', 'unknown'])).toBe('ok');
    expect(overallStatus(['ok', 'failing', 'credentials-rejected'])).toBe('credentials-rejected');
    expect(overallStatus(['unknown'])).toBe('unknown');
  });

  it("gathers one activity's calls per system: answered refusals count as the system up, the last word decides", () => {
    const observations = new HealthObservations();
    expect(observations.empty).toBe(true);
    observations.observe({ system: 'autotask', operation: 'GET /Companies/{id}', error: failure('not-found', 'autotask') }, new Date(1_000));
    observations.observe({ system: 'acronis', operation: 'GET /api/2/tenants/{id}', error: null }, new Date(1_000));
    observations.observe({ system: 'acronis', operation: 'POST /api/2/idp/token', error: failure('auth') }, new Date(2_000));
    expect(observations.rejected()).toEqual(['acronis']);
    expect(observations.records()).toEqual([
      { system: 'psa', lastSuccessAt: new Date(1_000), lastFailureAt: null, lastFailureKind: null, lastFailureMessage: null },
      { system: 'acronis', lastSuccessAt: new Date(1_000), lastFailureAt: new Date(2_000), lastFailureKind: 'auth', lastFailureMessage: 'Acronis refused POST /api/2/idp/token: invalid_client' },
    ]);
    // A stale token refused, then a fresh one accepted: not rejected.
    observations.observe({ system: 'acronis', operation: 'GET /api/2/clients/{id}', error: null }, new Date(3_000));
    expect(observations.rejected()).toEqual([]);
  });
});
