import type { PsaPort } from '../../psa/port.ts';
import type { PsaSeeder } from '../../simulators/seeding/psa-seeder.ts';

/**
 * What the shared PSA contract suite needs from each PSA: the vendor-side set-up of a seeder (the
 * vendor's public API only, as an MSP would in its PSA), an adapter pointed at the simulator, and the
 * paths to inject faults on. One implementation per PSA: `connectwise-manage-fixture.ts`,
 * `autotask-fixture.ts`.
 */
export interface PsaContractFixture extends PsaSeeder {
  /** Base URL of this PSA's simulator (for `/_sim/*`). */
  simulatorUrl: string;
  /** The adapter with the simulator's default credentials. */
  adapter(options?: { timeoutMs?: number }): PsaPort;
  /** An adapter whose secret is wrong. */
  adapterWithWrongSecret(): PsaPort;
  /** Regular expression of the path that creates tickets (for `/_sim/faults`). */
  ticketCreatePath: string;
  /** Regular expression of the path that lists companies (for `/_sim/faults`). */
  companyListPath: string;
}
