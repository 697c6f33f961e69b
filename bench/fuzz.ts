/**
 * `npm run bench -- fuzz`: Schemathesis against the admin API for 10,000 requests (F7.4), on servers
 * of its own. A 5xx, an answer the document does not describe or a secret in an answer counts; the
 * findings themselves go to stderr.
 */
import { fuzzApi } from '../test/api-fuzz.ts';
import { createTestDatabase } from '../test/database.ts';
import { TEST_KEY, testKeyring } from '../test/fixtures/test-keys.ts';
import { startTestServers } from '../test/servers.ts';
import type { Figures } from './benchmark.ts';

const REQUESTS = 10_000;

export async function run(): Promise<Figures> {
  const log = (line: string) => console.error(`[bench fuzz] ${line}`);
  const servers = await startTestServers(log);
  try {
    const database = await createTestDatabase({ adminUrl: servers.postgresAdminUrl });
    try {
      const report = await fuzzApi({ db: database.db, keyring: testKeyring(), temporalAddress: servers.temporalAddress, requests: REQUESTS, secrets: { 'the encryption key': TEST_KEY }, log });
      for (const finding of [...report.serverErrors, ...report.schemaMismatches, ...report.secretLeaks]) log(finding);
      return { requests: report.requests, server_errors: report.serverErrors.length, schema_mismatches: report.schemaMismatches.length, secret_leaks: report.secretLeaks.length };
    } finally {
      await database.drop();
    }
  } finally {
    await servers.stop();
  }
}
