import type { BillingModel, PsaKind, TicketRouting, UsagePeriod } from '../../psa/port.ts';

export interface SeededLine {
  productId: string;
  quantity: number;
  billing: BillingModel;
}

/**
 * What an MSP does in its PSA, through the vendor's public API only (never `/_sim` internals): the
 * PSA contract suite builds its fixtures with it and `npm start` its demo world. One implementation
 * per PSA: `connectwise-manage.ts`, `autotask.ts`.
 */
export interface PsaSeeder {
  kind: PsaKind;
  createCompany(name: string): Promise<string>;
  renameCompany(companyId: string, name: string): Promise<void>;
  /** Sets the company inactive (CWM: an inactive status; Autotask: `isActive` false). */
  deactivateCompany(companyId: string): Promise<void>;
  /** Makes the contact the company's primary one (CWM: default contact; Autotask: primaryContact). */
  addPrimaryContact(companyId: string, contact: { firstName: string; lastName: string; email: string }): Promise<void>;
  createProduct(name: string): Promise<string>;
  /**
   * An agreement (CWM) / recurring-service contract (Autotask) holding these lines, starting before
   * `since`; `name` is what the MSP calls it (a generated name when absent).
   */
  createAgreement(companyId: string, lines: SeededLine[], since: string, name?: string): Promise<{ agreementId: string; lineIds: string[] }>;
  /** Sets a prepaid line's quantity from now on, the way an MSP would (CWM: the addition; Autotask: an adjustment). */
  changeQuantity(agreementId: string, lineId: string, quantity: number): Promise<void>;
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
}
