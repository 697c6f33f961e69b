import { ConnectWiseManagePsa } from '../../psa/connectwise-manage.ts';
import { connectWiseManageConfig, connectWiseManageSeeder } from '../../simulators/seeding/connectwise-manage.ts';
import type { PsaContractFixture } from './fixture.ts';

export { connectWiseManageConfig };

/** The PSA contract suite's fixture for ConnectWise Manage: the seeder, the adapter and the fault paths. */
export function connectWiseManageFixture(simulatorUrl: string): PsaContractFixture {
  return {
    ...connectWiseManageSeeder(simulatorUrl),
    simulatorUrl,
    adapter: (options) => new ConnectWiseManagePsa(connectWiseManageConfig(simulatorUrl, { timeoutMs: options?.timeoutMs })),
    adapterWithWrongSecret: () => new ConnectWiseManagePsa(connectWiseManageConfig(simulatorUrl, { privateKey: 'not-the-private-key' })),
    ticketCreatePath: '/apis/3\\.0/service/tickets$',
    companyListPath: '/apis/3\\.0/company/companies$',
  };
}
