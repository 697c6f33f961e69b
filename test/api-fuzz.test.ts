/**
 * F7.4 in `npm test`: a short Schemathesis run (a few hundred requests) over every operation the
 * API documents; `npm run bench -- fuzz` runs the long one. Any 5xx of the API's own, any answer the
 * document does not describe, or any secret in an answer fails it.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { fuzzApi, type FuzzReport } from './api-fuzz.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { TEST_KEY, testKeyring } from './fixtures/test-keys.ts';

let database: TestDatabase;
let report: FuzzReport;

beforeAll(async () => {
  database = await createTestDatabase();
  report = await fuzzApi({ db: database.db, keyring: testKeyring(), temporalAddress: inject('temporalAddress'), requests: 300, secrets: { 'the encryption key': TEST_KEY } });
}, 600_000);
afterAll(() => database?.drop());

describe('the admin API under Schemathesis', () => {
  it('covers every documented operation with a few hundred requests', () => {
    expect(report.operations).toBeGreaterThan(15);
    expect(report.requests).toBeGreaterThanOrEqual(300);
  });

  it('never fails on its own (no 5xx but the documented vendor and Temporal answers)', () => {
    expect(report.serverErrors).toEqual([]);
  });

  it('answers only what its document describes', () => {
    expect(report.schemaMismatches).toEqual([]);
  });

  it('never returns a secret', () => {
    expect(report.secretLeaks).toEqual([]);
  });
});
