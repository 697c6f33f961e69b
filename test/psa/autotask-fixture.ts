import { AutotaskPsa } from '../../psa/autotask.ts';
import { autotaskCredentials, autotaskSeeder } from '../../simulators/seeding/autotask.ts';
import type { PsaContractFixture } from './fixture.ts';

/** The PSA contract suite's fixture for Autotask: the seeder, the adapter and the fault paths. */
export function autotaskFixture(simulatorUrl: string): PsaContractFixture {
  const credentials = autotaskCredentials(simulatorUrl);
  return {
    ...autotaskSeeder(simulatorUrl),
    simulatorUrl,
    adapter: (options) => new AutotaskPsa({ ...credentials, timeoutMs: options?.timeoutMs }),
    adapterWithWrongSecret: () => new AutotaskPsa({ ...credentials, secret: 'not-the-secret' }),
    ticketCreatePath: '/v1\\.0/Tickets$',
    companyListPath: '/v1\\.0/Companies/query',
  };
}
