import type { BillingModel, PsaKind, PsaPort, TicketRouting, UsagePeriod } from '../../psa/port.ts';

/**
 * What the shared PSA contract suite needs from each PSA: an adapter pointed at the simulator, and
 * fixtures built through the vendor's public API only (as an MSP would in its PSA), never through
 * `/_sim` internals. One implementation per PSA: `connectwise-manage-fixture.ts`, `autotask-fixture.ts`.
 */
export interface PsaContractFixture {
  kind: PsaKind;
  /** Base URL of this PSA's simulator (for `/_sim/*`). */
  simulatorUrl: string;
  /** The adapter with the simulator's default credentials. */
  adapter(options?: { timeoutMs?: number }): PsaPort;
  /** An adapter whose secret is wrong. */
  adapterWithWrongSecret(): PsaPort;

  createCompany(name: string): Promise<string>;
  createProduct(name: string): Promise<string>;
  /** An agreement (CWM) / recurring-service contract (Autotask) holding these lines, starting before `since`. */
  createAgreement(companyId: string, lines: { productId: string; quantity: number; billing: BillingModel }[], since: string): Promise<{ agreementId: string; lineIds: string[] }>;
  /** Cancels one line the way an MSP would (CWM: cancelled date on the addition; Autotask: end the contract). */
  cancelLine(agreementId: string, lineId: string): Promise<void>;
  /** Board/queue and classification to open tickets with, set up through the vendor API if needed. */
  ticketRouting(): Promise<TicketRouting>;
  /** Tickets carrying `externalRef`, counted through the vendor's own query API. */
  countTickets(externalRef: string): Promise<number>;
  /** Notes on a ticket, read through the vendor API. */
  ticketNotes(ticketId: string): Promise<string[]>;
  /** What the PSA will bill for the line in the period, read through the vendor API. */
  billedQuantity(agreementId: string, lineId: string, period: UsagePeriod): Promise<number>;
  /** Regular expression of the path that creates tickets (for `/_sim/faults`). */
  ticketCreatePath: string;
  /** Regular expression of the path that lists companies (for `/_sim/faults`). */
  companyListPath: string;
}
