/**
 * The PSA port on ConnectWise Manage.
 *
 * Billing model of an agreement addition — the rule the Acronis integration's agreement guide implies
 * (its addition grid shows a "Bill" check per line): an addition billed to the customer per unit
 * (`billCustomer: "Billable"`) is pay-as-you-go, and usage is written into its quantity; an addition
 * covered by the agreement (`"DoNotBill"` or `"NoCharge"`) is prepaid, and its quantity is the quota.
 *
 * Usage is written as an absolute quantity on the addition (CWM keeps no per-period usage records:
 * the invoice takes the quantity at billing time), so a repeat or a retry after a lost answer lands
 * on the same value. Creates have no idempotency key in CWM; every create here looks for its marker
 * first (ticket `externalXRef`, product identifier, `[ref:<key>]` in a note) and again after an
 * ambiguous failure, so a retry never makes a second one.
 */
import { VendorApiError } from '../clients/http.ts';
import { ConnectWiseManageClient, type ConnectWiseManageConfig } from '../clients/connectwise-manage/client.ts';
import { allOf, condition } from '../clients/connectwise-manage/conditions.ts';
import type { AgreementAddition, Agreement, BoardStatus, CatalogItem, Company, Contact, Ticket } from '../clients/connectwise-manage/types.ts';
import type { CompanyFilter, NewTicket, PsaCompany, PsaContact, PsaPort, PsaProduct, PsaTicket, ServiceLine, TicketFieldChoices, TicketNote, UsageTarget, UsageWrite, UsageWriteResult } from './port.ts';
import { collect } from '../clients/collect.ts';

export interface ConnectWiseManageAdapterOptions {
  /** Decides whether a cancelled date has been reached. */
  now?: () => Date;
}

const SUMMARY_MAX = 100;
/** Company ids per agreement query: keeps its URL well under the ~2,000 characters CWM takes. */
const COMPANIES_PER_QUERY = 100;
/** CWM's largest page: a bulk read costs as few requests as the vendor allows. */
const LARGEST_PAGE = 1000;
/** Additions lists read at once when many agreements are read. */
const PARALLEL_READS = 8;
/**
 * Ticket creates have been seen to take minutes; an answer this late is given up and the ticket
 * looked up by its `externalXRef` instead (the caller decides when to try again).
 */
const TICKET_CREATE_TIMEOUT_MS = 10_000;

function invalid(operation: string, message: string): VendorApiError {
  return new VendorApiError({ system: 'connectwise-manage', kind: 'validation', operation, message });
}

/** Whether a failed write may have been applied anyway (the answer, not the write, was lost). */
function ambiguous(error: unknown): boolean {
  return error instanceof VendorApiError && (error.kind === 'timeout' || error.kind === 'network' || error.kind === 'server' || error.kind === 'unavailable');
}

/** Finds, else creates; after a failed create, finds again before giving up: never a second record. */
async function createOnce<T>(find: () => Promise<T | undefined>, create: () => Promise<T>): Promise<{ value: T; created: boolean }> {
  const existing = await find();
  if (existing !== undefined) return { value: existing, created: false };
  try {
    return { value: await create(), created: true };
  } catch (error) {
    const found = await find().catch(() => undefined);
    if (found === undefined) throw error;
    return { value: found, created: ambiguous(error) };
  }
}

async function first<T>(items: AsyncIterable<T>): Promise<T | undefined> {
  for await (const item of items) return item;
  return undefined;
}

function numericId(id: string): number | undefined {
  return /^\d+$/.test(id) ? Number(id) : undefined;
}

export function noteMarker(key: string): string {
  return `[ref:${key}]`;
}

export class ConnectWiseManagePsa implements PsaPort {
  readonly kind = 'connectwise-manage' as const;
  readonly client: ConnectWiseManageClient;
  readonly #now: () => Date;
  #inactiveStatuses: Promise<Set<number>> | undefined;
  readonly #boardStatuses = new Map<number, Promise<BoardStatus[]>>();

  constructor(config: ConnectWiseManageConfig, options: ConnectWiseManageAdapterOptions = {}) {
    this.client = new ConnectWiseManageClient(config);
    this.#now = options.now ?? (() => new Date());
  }

  async checkAccess(): Promise<void> {
    await this.client.systemInfo();
  }

  #inactiveStatusIds(): Promise<Set<number>> {
    this.#inactiveStatuses ??= collect(this.client.companyStatuses()).then(
      (statuses) => new Set(statuses.filter((status) => status.inactiveFlag).map((status) => status.id)),
      (error: unknown) => {
        this.#inactiveStatuses = undefined;
        throw error;
      },
    );
    return this.#inactiveStatuses;
  }

  async #company(company: Company): Promise<PsaCompany> {
    const inactive = await this.#inactiveStatusIds();
    return {
      id: String(company.id),
      name: company.name,
      types: (company.types ?? []).flatMap((type) => (type.name ? [type.name] : [])),
      status: company.status?.name ?? '',
      active: !company.deletedFlag && !(company.status && inactive.has(company.status.id)),
    };
  }

  async *listCompanies(filter: CompanyFilter = {}): AsyncIterable<PsaCompany> {
    const companies = this.client.companies({
      conditions: allOf(
        filter.changedSince ? condition('lastUpdated', '>', filter.changedSince) : condition('deletedFlag', '=', false),
        filter.nameContains ? condition('name', 'contains', filter.nameContains) : undefined,
        filter.status ? condition('status/name', '=', filter.status) : undefined,
      ),
      childConditions: filter.type ? condition('types/name', '=', filter.type) : undefined,
    });
    for await (const company of companies) yield await this.#company(company);
  }

  async getCompany(companyId: string): Promise<PsaCompany | undefined> {
    const id = numericId(companyId);
    if (id === undefined) return undefined;
    try {
      return await this.#company(await this.client.getCompany(id));
    } catch (error) {
      if (error instanceof VendorApiError && error.kind === 'not-found') return undefined;
      throw error;
    }
  }

  async primaryContact(companyId: string): Promise<PsaContact | undefined> {
    const id = numericId(companyId);
    if (id === undefined) return undefined;
    let company: Company;
    try {
      company = await this.client.getCompany(id);
    } catch (error) {
      if (error instanceof VendorApiError && error.kind === 'not-found') return undefined;
      throw error;
    }
    const contactId = company.defaultContact?.id;
    if (contactId === undefined) return undefined;
    const contact: Contact | undefined = await first(this.client.contacts({ conditions: condition('id', '=', contactId) }));
    if (!contact || contact.inactiveFlag) return undefined;
    const emails = (contact.communicationItems ?? []).filter((item) => item.communicationType === 'Email' || item.type?.name === 'Email');
    return { id: String(contact.id), firstName: contact.firstName, lastName: contact.lastName ?? '', email: (emails.find((item) => item.defaultFlag) ?? emails[0])?.value };
  }

  #line(agreement: Agreement, addition: AgreementAddition, nowMs: number): ServiceLine {
    const cancelled = addition.cancelledDate !== undefined && Date.parse(addition.cancelledDate) <= nowMs;
    // CWM computes an agreement's status when asked: it turns Active at its start and Expired after its end.
    const ahead = [addition.cancelledDate, agreement.startDate, agreement.noEndingDateFlag ? undefined : agreement.endDate]
      .map((date) => (date === undefined ? Number.NaN : Date.parse(date)))
      .filter((at) => at > nowMs);
    return {
      lineId: String(addition.id),
      agreementId: String(agreement.id),
      productId: String(addition.product.id),
      productName: addition.product.identifier ?? addition.product.description ?? String(addition.product.id),
      quantity: addition.billedQuantity ?? Math.max(0, addition.quantity - (addition.lessIncluded ?? 0)),
      billing: addition.billCustomer === 'Billable' ? 'payg' : 'prepaid',
      active: !cancelled && (agreement.agreementStatus ?? 'Active') === 'Active' && !agreement.cancelledFlag,
      changesAt: ahead.length > 0 ? new Date(Math.min(...ahead)).toISOString() : null,
    };
  }

  async listServiceLines(companyId: string): Promise<ServiceLine[]> {
    return (await this.listServiceLinesOf([companyId])).get(companyId) ?? [];
  }

  /** The agreements of up to a hundred companies per request, then each agreement's additions (CWM lists additions per agreement only), several at once. */
  async listServiceLinesOf(companyIds: readonly string[]): Promise<Map<string, ServiceLine[]>> {
    const result = new Map(companyIds.map((companyId) => [companyId, [] as ServiceLine[]]));
    const ids = [...new Set(companyIds.flatMap((companyId) => numericId(companyId) ?? []))];
    const nowMs = this.#now().getTime();
    const agreements: Agreement[] = [];
    for (let start = 0; start < ids.length; start += COMPANIES_PER_QUERY) {
      const chunk = ids.slice(start, start + COMPANIES_PER_QUERY);
      const conditions = chunk.length === 1 ? condition('company/id', '=', chunk[0]!) : condition('company/id', 'in', chunk);
      agreements.push(...(await collect(this.client.agreements({ conditions, pageSize: LARGEST_PAGE }))));
    }
    let next = 0;
    const readAdditions = async () => {
      while (next < agreements.length) {
        const agreement = agreements[next++]!;
        const lines = result.get(String(agreement.company?.id));
        for await (const addition of this.client.additions(agreement.id, { pageSize: LARGEST_PAGE })) lines?.push(this.#line(agreement, addition, nowMs));
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_READS, agreements.length) }, readAdditions));
    for (const lines of result.values()) lines.sort((a, b) => Number(a.agreementId) - Number(b.agreementId) || Number(a.lineId) - Number(b.lineId));
    return result;
  }

  /**
   * The companies among `companyIds` with an agreement CWM stamped after `since`. Additions can only
   * be listed per agreement, so their own stamps cannot be asked for in one request: this counts on an
   * edit of an addition stamping its agreement too (the simulator does so), and the daily full pass
   * reads every addition whatever the stamps say.
   */
  async companiesWithLineChangesSince(companyIds: readonly string[], since: Date): Promise<Set<string>> {
    const wanted = new Set(companyIds);
    const changed = new Set<string>();
    const agreements = this.client.agreements({ conditions: condition('lastUpdated', '>', since), fields: ['id', 'company/id'], pageSize: LARGEST_PAGE });
    for await (const agreement of agreements) {
      const companyId = String(agreement.company?.id);
      if (wanted.has(companyId)) changed.add(companyId);
    }
    return changed;
  }

  async *listProducts(): AsyncIterable<PsaProduct> {
    for await (const item of this.client.catalogItems()) yield this.#product(item);
  }

  #product(item: CatalogItem): PsaProduct {
    return { id: String(item.id), name: item.identifier, active: !item.inactiveFlag };
  }

  async ensureProduct(name: string): Promise<{ product: PsaProduct; created: boolean }> {
    const { value, created } = await createOnce(
      () => first(this.client.catalogItems({ conditions: condition('identifier', '=', name) })),
      () => this.client.createCatalogItem({ identifier: name, description: name.slice(0, 60), customerDescription: name, productClass: 'NonInventory' }),
    );
    return { product: this.#product(value), created };
  }

  #additionIds(target: UsageTarget, operation: string): { agreementId: number; lineId: number } {
    const agreementId = numericId(target.agreementId);
    const lineId = numericId(target.lineId);
    if (agreementId === undefined || lineId === undefined) throw invalid(operation, `not a ConnectWise agreement/addition id: ${target.agreementId}/${target.lineId}`);
    return { agreementId, lineId };
  }

  /** CWM keeps one quantity per addition, whatever the period. */
  async readUsage(target: UsageTarget): Promise<number> {
    const { agreementId, lineId } = this.#additionIds(target, 'readUsage');
    return (await this.client.getAddition(agreementId, lineId)).quantity;
  }

  async writeUsage(write: UsageWrite): Promise<UsageWriteResult> {
    const { agreementId, lineId } = this.#additionIds(write, 'writeUsage');
    if (!(write.quantity >= 0)) throw invalid('writeUsage', `usage must be a non-negative number, not ${write.quantity}`);
    const addition = await this.client.getAddition(agreementId, lineId);
    if (addition.quantity === write.quantity) return { previous: addition.quantity, current: addition.quantity, changed: false };
    if (write.expect && !write.expect.includes(addition.quantity)) return { previous: addition.quantity, current: addition.quantity, changed: false, drifted: true };
    const updated = await this.client.patchAddition(agreementId, lineId, [{ op: 'replace', path: 'quantity', value: write.quantity }]);
    return { previous: addition.quantity, current: updated.quantity, changed: true };
  }

  #ticket(ticket: Ticket): PsaTicket {
    const closed = ticket.closedFlag ?? false;
    return { id: String(ticket.id), number: String(ticket.id), externalRef: ticket.externalXRef, closed, ...(closed && ticket.closedDate ? { closedAt: ticket.closedDate } : {}), status: ticket.status?.name ?? '' };
  }

  async ticketFields(): Promise<TicketFieldChoices> {
    const active = <T extends { inactiveFlag?: boolean; inactive?: boolean }>(rows: T[]) => rows.filter((row) => !row.inactiveFlag && !row.inactive);
    const choice = ({ id, name }: { id: number; name: string }) => ({ id, name });
    const boards = active(await collect(this.client.boards())).filter((board) => !board.projectFlag);
    return {
      kind: 'connectwise-manage',
      boards: await Promise.all(
        boards.map(async (board) => {
          const [statuses, types, subtypes] = await Promise.all([collect(this.client.boardStatuses(board.id)), collect(this.client.boardTypes(board.id)), collect(this.client.boardSubtypes(board.id))]);
          return {
            ...choice(board),
            statuses: active(statuses).map((status) => ({ ...choice(status), closed: status.closedStatus ?? false })),
            types: active(types).map(choice),
            subtypes: active(subtypes).map(choice),
          };
        }),
      ),
      priorities: (await collect(this.client.priorities())).map(choice),
    };
  }

  async #findTicket(externalRef: string): Promise<Ticket | undefined> {
    return first(this.client.tickets({ conditions: condition('externalXRef', '=', externalRef), pageSize: 1 }));
  }

  async findTicket(externalRef: string): Promise<PsaTicket | undefined> {
    const ticket = await this.#findTicket(externalRef);
    return ticket && this.#ticket(ticket);
  }

  async createTicket(ticket: NewTicket): Promise<{ ticket: PsaTicket; created: boolean }> {
    const { routing } = ticket;
    if (routing.kind !== 'connectwise-manage') throw invalid('createTicket', `routing for ${routing.kind} given to ConnectWise Manage`);
    const companyId = numericId(ticket.companyId);
    if (companyId === undefined) throw invalid('createTicket', `not a ConnectWise company id: ${ticket.companyId}`);
    const reference = (id: number | undefined) => (id === undefined ? undefined : { id });
    const { value, created } = await createOnce(
      () => this.#findTicket(ticket.externalRef),
      () =>
        this.client.createTicket({
          summary: ticket.summary.length > SUMMARY_MAX ? `${ticket.summary.slice(0, SUMMARY_MAX - 1)}…` : ticket.summary,
          company: { id: companyId },
          board: { id: routing.boardId },
          status: reference(routing.statusId),
          type: reference(routing.typeId),
          subType: reference(routing.subTypeId),
          item: reference(routing.itemId),
          priority: reference(routing.priorityId),
          initialDescription: ticket.description,
          externalXRef: ticket.externalRef,
        }, { timeoutMs: TICKET_CREATE_TIMEOUT_MS }),
    );
    return { ticket: this.#ticket(value), created };
  }

  /** Internal analysis notes; ConnectWise Manage has no note types or publish levels. */
  async addTicketNote(ticketId: string, note: TicketNote): Promise<{ added: boolean }> {
    const id = numericId(ticketId);
    if (id === undefined) throw invalid('addTicketNote', `not a ConnectWise ticket id: ${ticketId}`);
    const marker = noteMarker(note.key);
    const { created } = await createOnce(
      async () => (await collect(this.client.notes(id))).find((existing) => existing.text.includes(marker)),
      () => this.client.addNote(id, { text: `${note.text}\n\n${marker}`, internalAnalysisFlag: true, processNotifications: false }),
    );
    return { added: created };
  }

  #statusesOf(boardId: number): Promise<BoardStatus[]> {
    let statuses = this.#boardStatuses.get(boardId);
    if (!statuses) {
      statuses = collect(this.client.boardStatuses(boardId));
      statuses.catch(() => this.#boardStatuses.delete(boardId));
      this.#boardStatuses.set(boardId, statuses);
    }
    return statuses;
  }

  /** The status asked for (id or name) on the ticket's board, or the board's default closed/open one. */
  async #moveTicket(ticketId: string, closed: boolean, wanted: string | number | undefined): Promise<PsaTicket> {
    const operation = closed ? 'closeTicket' : 'reopenTicket';
    const id = numericId(ticketId);
    if (id === undefined) throw invalid(operation, `not a ConnectWise ticket id: ${ticketId}`);
    const ticket = await this.client.getTicket(id);
    const boardId = ticket.board?.id;
    if (boardId === undefined) throw invalid(operation, `ticket ${id} has no board`);
    const statuses = (await this.#statusesOf(boardId)).filter((status) => !status.inactive).sort((a, b) => (a.sortOrder ?? 0) - (b.sortOrder ?? 0));
    const target =
      wanted === undefined
        ? closed
          ? statuses.find((status) => status.closedStatus)
          : (statuses.find((status) => status.defaultFlag && !status.closedStatus) ?? statuses.find((status) => !status.closedStatus))
        : statuses.find((status) => (typeof wanted === 'number' ? status.id === wanted : status.name.toLowerCase() === wanted.toLowerCase()));
    if (!target || (target.closedStatus ?? false) !== closed) {
      throw invalid(operation, `board ${boardId} has no ${closed ? 'closed' : 'open'} status ${wanted === undefined ? '' : `'${wanted}'`}`.trim());
    }
    if (ticket.status?.id === target.id || (wanted === undefined && (ticket.closedFlag ?? false) === closed)) return this.#ticket(ticket);
    return this.#ticket(await this.client.patchTicket(id, [{ op: 'replace', path: 'status', value: { id: target.id } }]));
  }

  closeTicket(ticketId: string, status?: string | number): Promise<PsaTicket> {
    return this.#moveTicket(ticketId, true, status);
  }

  reopenTicket(ticketId: string, status?: string | number): Promise<PsaTicket> {
    return this.#moveTicket(ticketId, false, status);
  }
}

export function createConnectWiseManagePsa(config: ConnectWiseManageConfig, options?: ConnectWiseManageAdapterOptions): PsaPort {
  return new ConnectWiseManagePsa(config, options);
}
