import type { TestProject } from 'vitest/node';
import { startTestServers } from './servers.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresAdminUrl: string;
    temporalAddress: string;
  }
}

/** One real PostgreSQL and one real Temporal dev server for the whole run; each test file makes its own database. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const servers = await startTestServers();
  project.provide('postgresAdminUrl', servers.postgresAdminUrl);
  project.provide('temporalAddress', servers.temporalAddress);
  return servers.stop;
}
