/**
 * The PSA port over Autotask. Contract services are the service lines: the product is the
 * service, the quantity the units of the current period, the billing model the contract's PAYG
 * user-defined field. Usage is written as whole-unit ContractServiceAdjustments carrying only the
 * difference to what the period already holds, so a repeat writes nothing. Tickets carry our
 * reference in `externalID` and notes a `[ref:<key>]` marker; both are looked up before a create
 * and again after a create whose answer was lost, since Autotask has no idempotency keys.
 * Picklist IDs differ per instance, so statuses and types are read from `entityInformation`.
 */
import { AutotaskClient, type AutotaskClientOptions } from '../clients/autotask/client.ts';
import type { AutotaskFilter, Company, Contract, ContractServiceUnit, FieldInfo, PicklistValue, Ticket } from '../clients/autotask/types.ts';
import { VendorApiError } from '../clients/http.ts';
import type { CompanyFilter, NewTicket, PsaCompany, PsaContact, PsaPort, PsaProduct, PsaTicket, ServiceLine, TicketFieldChoices, TicketNote, UsageTarget, UsageWrite, UsageWriteResult } from './port.ts';

export interface AutotaskPsaOptions extends AutotaskClientOptions {
  /** The contract user-defined field whose "Yes" marks a PAYG contract (Acronis creates "Acronis PAYG"). */
  paygUdfName?: string;
  /** Period type label for services this adapter creates. */
  servicePeriodType?: string;
  /** Today, for the current period and whether a contract has ended. */
  now?: () => Date;
}

const TICKET_STATUS_COMPLETE = 5;
const CONTRACT_STATUS_ACTIVE = 1;
const TITLE_LENGTH = 255;
const DESCRIPTION_LENGTH = 8000;
const NOTE_TITLE_LENGTH = 250;
const NOTE_DESCRIPTION_LENGTH = 32000;
/**
 * A ticket create answer this late is given up and the ticket looked up by its `externalID`
 * instead (the caller decides when to try again).
 */
const TICKET_CREATE_TIMEOUT_MS = 10_000;
/** Conditions per `in` list, well under Autotask's 500-condition cap. */
const IN_CHUNK = 200;

/** Failures after which a create may or may not have happened. */
const AMBIGUOUS = new Set(['timeout', 'network', 'server', 'unavailable']);

const day = (isoDateTime: string) => isoDateTime.slice(0, 10);
const dayAfter = (date: string) => new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);

export class AutotaskPsa implements PsaPort {
  readonly kind = 'autotask';
  readonly client: AutotaskClient;
  readonly #paygUdfName: string;
  readonly #servicePeriodType: string;
  readonly #now: () => Date;
  readonly #fields = new Map<string, Promise<FieldInfo[]>>();

  constructor(options: AutotaskPsaOptions) {
    this.client = new AutotaskClient(options);
    this.#paygUdfName = options.paygUdfName ?? 'Acronis PAYG';
    this.#servicePeriodType = options.servicePeriodType ?? 'Monthly';
    this.#now = options.now ?? (() => new Date());
  }

  async checkAccess(): Promise<void> {
    await this.client.thresholdInformation();
  }

  async *listCompanies(filter: CompanyFilter = {}): AsyncIterable<PsaCompany> {
    const conditions: AutotaskFilter[] = [];
    if (filter.nameContains) conditions.push({ op: 'contains', field: 'companyName', value: filter.nameContains });
    if (filter.type !== undefined) {
      const type = await this.#picklistValue('Companies', 'companyType', filter.type);
      if (type === undefined) return;
      conditions.push({ op: 'eq', field: 'companyType', value: Number(type.value) });
    }
    if (filter.status !== undefined) {
      const status = filter.status.toLowerCase();
      if (status !== 'active' && status !== 'inactive') return;
      conditions.push({ op: 'eq', field: 'isActive', value: status === 'active' });
    }
    if (filter.changedSince) conditions.push({ op: 'gt', field: 'lastTrackedModifiedDateTime', value: filter.changedSince.toISOString() });
    if (conditions.length === 0) conditions.push({ op: 'exist', field: 'id' });
    const types = await this.#picklist('Companies', 'companyType');
    for await (const company of this.client.query('Companies', conditions)) yield toCompany(company, types);
  }

  async getCompany(companyId: string): Promise<PsaCompany | undefined> {
    const id = numericId(companyId);
    const company = id === undefined ? undefined : await this.client.get('Companies', id);
    return company && toCompany(company, await this.#picklist('Companies', 'companyType'));
  }

  async primaryContact(companyId: string): Promise<PsaContact | undefined> {
    const id = numericId(companyId);
    if (id === undefined) return undefined;
    const [contact] = await this.client.queryAll('Contacts', [
      { op: 'eq', field: 'companyID', value: id },
      { op: 'eq', field: 'primaryContact', value: true },
      { op: 'eq', field: 'isActive', value: 1 },
    ]);
    return contact && { id: String(contact.id), firstName: contact.firstName, lastName: contact.lastName, email: contact.emailAddress ?? undefined };
  }

  async listServiceLines(companyId: string): Promise<ServiceLine[]> {
    return (await this.listServiceLinesOf([companyId])).get(companyId) ?? [];
  }

  /** Contracts, their services, this period's units and the service names, each queried for up to 200 parents at a time. */
  async listServiceLinesOf(companyIds: readonly string[]): Promise<Map<string, ServiceLine[]>> {
    const lines = new Map(companyIds.map((companyId) => [companyId, [] as ServiceLine[]]));
    const contracts = await this.#queryIn('Contracts', 'companyID', companyIds.flatMap((companyId) => numericId(companyId) ?? []));
    if (contracts.length === 0) return lines;
    const contractServices = await this.#queryIn('ContractServices', 'contractID', contracts.map((contract) => contract.id));
    if (contractServices.length === 0) return lines;
    const today = day(this.#now().toISOString());
    // One units row per service and period: only the one holding today, not the contract's whole history.
    const midnight = `${today}T00:00:00.000Z`;
    const units = await this.#queryIn('ContractServiceUnits', 'contractServiceID', contractServices.map((line) => line.id), [
      { op: 'lte', field: 'startDate', value: midnight },
      { op: 'gte', field: 'endDate', value: midnight },
    ]);
    const services = await this.#queryIn('Services', 'id', [...new Set(contractServices.map((line) => line.serviceID))]);
    const paygValue = await this.#paygYesValue();
    // Thousands of lines in a bulk read: look-ups by id, not scans.
    const contractsById = new Map(contracts.map((contract) => [contract.id, contract]));
    const serviceNames = new Map(services.map((service) => [service.id, service.name]));
    const periods = new Map(units.map((row) => [row.contractServiceID, row]));
    for (const line of [...contractServices].sort((first, second) => first.id - second.id)) {
      const contract = contractsById.get(line.contractID) as Contract;
      const period = periods.get(line.id);
      // Whole days: a contract starts on its start date and ends after its end date; a new period may bring other units.
      const ahead = [day(contract.startDate), dayAfter(day(contract.endDate)), ...(period ? [dayAfter(day(period.endDate))] : [])].filter((date) => date > today).sort();
      lines.get(String(contract.companyID))?.push({
        lineId: String(line.id),
        agreementId: String(line.contractID),
        productId: String(line.serviceID),
        productName: serviceNames.get(line.serviceID) ?? '',
        quantity: period?.units ?? 0,
        billing: this.#isPayg(contract, paygValue) ? 'payg' : 'prepaid',
        active: contract.status === CONTRACT_STATUS_ACTIVE && day(contract.startDate) <= today && day(contract.endDate) >= today,
        changesAt: ahead[0] === undefined ? null : `${ahead[0]}T00:00:00.000Z`,
      });
    }
    return lines;
  }

  /** Contract services and their units carry no change stamp Autotask could be asked about: every company may have changed. */
  async companiesWithLineChangesSince(companyIds: readonly string[]): Promise<Set<string>> {
    return new Set(companyIds);
  }

  async *listProducts(): AsyncIterable<PsaProduct> {
    for await (const service of this.client.query('Services', [{ op: 'exist', field: 'id' }])) yield { id: String(service.id), name: service.name, active: service.isActive };
  }

  async ensureProduct(name: string): Promise<{ product: PsaProduct; created: boolean }> {
    const find = async () => {
      const matches = await this.client.queryAll('Services', [{ op: 'eq', field: 'name', value: name }]);
      const service = matches.find((candidate) => candidate.name.toLowerCase() === name.toLowerCase());
      return service && { id: String(service.id), name: service.name, active: service.isActive };
    };
    const { value, created } = await createOnce(find, async () => {
      const periodType = await this.#requiredPicklistValue('Services', 'periodType', this.#servicePeriodType);
      await this.client.create('Services', { name, periodType: Number(periodType.value), unitPrice: 0, isActive: true });
    });
    return { product: value, created };
  }

  /** The contract service, its contract, the day its units for the period take effect, and the units in effect then. */
  async #unitsInPeriod(target: UsageTarget, operation: string) {
    const contractId = numericId(target.agreementId);
    const lineId = numericId(target.lineId);
    const line = lineId === undefined ? undefined : await this.client.get('ContractServices', lineId);
    const contract = contractId === undefined ? undefined : await this.client.get('Contracts', contractId);
    if (!line || !contract || line.contractID !== contract.id) {
      throw new VendorApiError({ system: 'autotask', kind: 'not-found', operation, message: `contract ${target.agreementId} has no contract service ${target.lineId}` });
    }
    // The adjustment takes effect at the period start (never before the contract starts), so the period holds one units row.
    const effective = target.period.start > day(contract.startDate) ? target.period.start : day(contract.startDate);
    if (effective > day(contract.endDate) || effective > target.period.end) {
      throw new VendorApiError({ system: 'autotask', kind: 'validation', operation, message: `period ${target.period.start}..${target.period.end} lies outside contract ${contract.id}` });
    }
    const rows = await this.client.queryAll('ContractServiceUnits', [{ op: 'eq', field: 'contractServiceID', value: line.id }]);
    return { line, contract, effective, units: unitsOn(rows, effective) };
  }

  async readUsage(target: UsageTarget): Promise<number> {
    return (await this.#unitsInPeriod(target, 'read usage')).units;
  }

  async writeUsage(write: UsageWrite): Promise<UsageWriteResult> {
    const quantity = Math.max(0, Math.ceil(write.quantity));
    const { line, contract, effective, units: previous } = await this.#unitsInPeriod(write, 'write usage');
    if (previous === quantity) return { previous, current: quantity, changed: false };
    if (write.expect && !write.expect.includes(previous)) return { previous, current: previous, changed: false, drifted: true };
    await this.client.createContractServiceAdjustment({ contractID: contract.id, serviceID: line.serviceID, contractServiceID: line.id, effectiveDate: `${effective}T00:00:00Z`, unitChange: quantity - previous });
    return { previous, current: quantity, changed: true };
  }

  async findTicket(externalRef: string): Promise<PsaTicket | undefined> {
    const [ticket] = await this.client.queryAll('Tickets', [{ op: 'eq', field: 'externalID', value: externalRef }], { maxRecords: 1 });
    return ticket && this.#toTicket(ticket);
  }

  async ticketFields(): Promise<TicketFieldChoices> {
    const [tickets, notes] = await Promise.all([this.#loadFields('Tickets'), this.#loadFields('TicketNotes')]);
    const values = (fields: FieldInfo[], name: string) => fields.find((field) => field.name === name)?.picklistValues?.filter((entry) => entry.isActive) ?? [];
    const choices = (fields: FieldInfo[], name: string) => values(fields, name).map((entry) => ({ id: Number(entry.value), name: entry.label }));
    return {
      kind: 'autotask',
      queues: choices(tickets, 'queueID'),
      statuses: values(tickets, 'status').map((entry) => ({ id: Number(entry.value), name: entry.label, closed: Number(entry.value) === TICKET_STATUS_COMPLETE })),
      priorities: choices(tickets, 'priority'),
      issueTypes: choices(tickets, 'issueType'),
      subIssueTypes: values(tickets, 'subIssueType').map((entry) => ({ id: Number(entry.value), name: entry.label, issueType: Number(entry.parentValue) })),
      sources: choices(tickets, 'source'),
      noteTypes: choices(notes, 'noteType'),
      notePublish: choices(notes, 'publish'),
    };
  }

  async createTicket(ticket: NewTicket): Promise<{ ticket: PsaTicket; created: boolean }> {
    if (ticket.routing.kind !== 'autotask') {
      throw new VendorApiError({ system: 'autotask', kind: 'validation', operation: 'create ticket', message: `routing for ${ticket.routing.kind} cannot open an Autotask ticket` });
    }
    const { routing } = ticket;
    const companyId = Number(ticket.companyId);
    const { value, created } = await createOnce(
      () => this.findTicket(ticket.externalRef),
      async () =>
        this.client.create(
          'Tickets',
          {
            companyID: companyId,
            title: ticket.summary.slice(0, TITLE_LENGTH),
            description: ticket.description.slice(0, DESCRIPTION_LENGTH),
            queueID: routing.queueId,
            status: routing.status,
            priority: routing.priority,
            issueType: routing.issueType,
            subIssueType: routing.subIssueType,
            source: routing.source,
            contractID: await this.#contractHolding(companyId, ticket.billingProductIds ?? []),
            externalID: ticket.externalRef,
          },
          { timeoutMs: TICKET_CREATE_TIMEOUT_MS },
        ),
    );
    return { ticket: value, created };
  }

  /** The company's first active contract with a service among `serviceIds`: where its alert tickets are filed (F5.1). */
  async #contractHolding(companyId: number, serviceIds: readonly string[]): Promise<number | undefined> {
    const services = serviceIds.flatMap((id) => numericId(id) ?? []);
    if (services.length === 0) return undefined;
    const today = day(this.#now().toISOString());
    const contracts = (await this.client.queryAll('Contracts', [{ op: 'eq', field: 'companyID', value: companyId }, { op: 'eq', field: 'status', value: CONTRACT_STATUS_ACTIVE }]))
      .filter((contract) => day(contract.startDate) <= today && day(contract.endDate) >= today)
      .map((contract) => contract.id);
    if (contracts.length === 0) return undefined;
    const lines = await this.client.queryAll('ContractServices', [
      { op: 'in', field: 'contractID', value: contracts.slice(0, IN_CHUNK) },
      { op: 'in', field: 'serviceID', value: services.slice(0, IN_CHUNK) },
    ]);
    return lines.map((line) => line.contractID).sort((a, b) => a - b)[0];
  }

  async addTicketNote(ticketId: string, note: TicketNote): Promise<{ added: boolean }> {
    const id = this.#ticketId(ticketId);
    const marker = `[ref:${note.key}]`;
    const find = async () => {
      const notes = await this.client.queryAll('TicketNotes', [
        { op: 'eq', field: 'ticketID', value: id },
        { op: 'contains', field: 'description', value: marker },
      ]);
      return notes[0];
    };
    const { created } = await createOnce(find, async () => {
      const noteType = note.noteType ?? Number((await this.#defaultPicklistValue('TicketNotes', 'noteType')).value);
      const publish = note.publish ?? Number((await this.#defaultPicklistValue('TicketNotes', 'publish')).value);
      const title = (note.text.split('\n', 1)[0] ?? '').trim() || 'Acronis';
      await this.client.createTicketNote(id, {
        title: title.slice(0, NOTE_TITLE_LENGTH),
        description: `${note.text.slice(0, NOTE_DESCRIPTION_LENGTH - marker.length - 2)}\n\n${marker}`,
        noteType,
        publish,
      });
    });
    return { added: created };
  }

  async closeTicket(ticketId: string, status?: string | number): Promise<PsaTicket> {
    return this.#setStatus(ticketId, status ?? TICKET_STATUS_COMPLETE);
  }

  async reopenTicket(ticketId: string, status?: string | number): Promise<PsaTicket> {
    if (status !== undefined) return this.#setStatus(ticketId, status);
    return this.#setStatus(ticketId, Number((await this.#defaultPicklistValue('Tickets', 'status')).value));
  }

  async #setStatus(ticketId: string, status: string | number): Promise<PsaTicket> {
    const id = this.#ticketId(ticketId);
    const value = typeof status === 'number' ? status : Number((await this.#requiredPicklistValue('Tickets', 'status', status)).value);
    await this.client.update('Tickets', id, { status: value });
    const ticket = await this.client.get('Tickets', id);
    if (!ticket) throw new VendorApiError({ system: 'autotask', kind: 'not-found', operation: 'PATCH /Tickets', message: `ticket ${ticketId} not found` });
    return this.#toTicket(ticket);
  }

  #ticketId(ticketId: string): number {
    const id = numericId(ticketId);
    if (id === undefined) throw new VendorApiError({ system: 'autotask', kind: 'not-found', operation: 'ticket', message: `no ticket ${ticketId}` });
    return id;
  }

  async #toTicket(ticket: Ticket): Promise<PsaTicket> {
    const statuses = await this.#picklist('Tickets', 'status');
    const closed = ticket.status === TICKET_STATUS_COMPLETE;
    return {
      id: String(ticket.id),
      number: ticket.ticketNumber,
      externalRef: ticket.externalID ?? undefined,
      closed,
      ...(closed && ticket.completedDate ? { closedAt: ticket.completedDate } : {}),
      status: statuses.find((entry) => entry.value === String(ticket.status))?.label ?? String(ticket.status),
    };
  }

  async #queryIn<E extends 'Contracts' | 'ContractServices' | 'ContractServiceUnits' | 'Services'>(entity: E, field: string, ids: number[], also: AutotaskFilter[] = []) {
    const results = [];
    for (let start = 0; start < ids.length; start += IN_CHUNK) results.push(...(await this.client.queryAll(entity, [{ op: 'in', field, value: ids.slice(start, start + IN_CHUNK) }, ...also])));
    return results;
  }

  #isPayg(contract: Contract, paygValue: string | undefined): boolean {
    const udf = contract.userDefinedFields?.find((candidate) => candidate.name.toLowerCase() === this.#paygUdfName.toLowerCase());
    return udf?.value !== null && udf?.value !== undefined && (udf.value === paygValue || udf.value.toLowerCase() === 'yes');
  }

  /** The stored value that means "Yes" when the PAYG field is a picklist. */
  async #paygYesValue(): Promise<string | undefined> {
    const definitions = await this.client.userDefinedFields('Contracts');
    const definition = definitions.find((candidate) => candidate.name.toLowerCase() === this.#paygUdfName.toLowerCase());
    return definition?.picklistValues?.find((entry) => entry.label.toLowerCase() === 'yes')?.value;
  }

  /** Reads the entity's fields afresh and keeps them for the picklist lookups that follow. */
  #loadFields(entity: 'Companies' | 'Services' | 'Tickets' | 'TicketNotes'): Promise<FieldInfo[]> {
    const fields = this.client.fields(entity);
    this.#fields.set(entity, fields);
    fields.catch(() => this.#fields.delete(entity));
    return fields;
  }

  #picklist(entity: 'Companies' | 'Services' | 'Tickets' | 'TicketNotes', field: string): Promise<PicklistValue[]> {
    const fields = this.#fields.get(entity) ?? this.#loadFields(entity);
    return fields.then((list) => list.find((candidate) => candidate.name === field)?.picklistValues?.filter((entry) => entry.isActive) ?? []);
  }

  async #picklistValue(entity: 'Companies' | 'Services' | 'Tickets' | 'TicketNotes', field: string, label: string): Promise<PicklistValue | undefined> {
    return (await this.#picklist(entity, field)).find((entry) => entry.label.toLowerCase() === label.toLowerCase());
  }

  async #requiredPicklistValue(entity: 'Companies' | 'Services' | 'Tickets' | 'TicketNotes', field: string, label: string): Promise<PicklistValue> {
    const value = await this.#picklistValue(entity, field, label);
    if (!value) throw new VendorApiError({ system: 'autotask', kind: 'validation', operation: `${entity}.${field}`, message: `this Autotask instance has no ${field} named '${label}'` });
    return value;
  }

  async #defaultPicklistValue(entity: 'Tickets' | 'TicketNotes', field: string): Promise<PicklistValue> {
    const values = await this.#picklist(entity, field);
    const value = values.find((entry) => entry.isDefaultValue && !(field === 'status' && entry.value === String(TICKET_STATUS_COMPLETE))) ?? values[0];
    if (!value) throw new VendorApiError({ system: 'autotask', kind: 'validation', operation: `${entity}.${field}`, message: `this Autotask instance has no ${field} values` });
    return value;
  }
}

/** Finds, or creates and finds; after a create whose answer was lost, finds before giving up. */
async function createOnce<T>(find: () => Promise<T | undefined>, create: () => Promise<unknown>): Promise<{ value: T; created: boolean }> {
  const existing = await find();
  if (existing !== undefined) return { value: existing, created: false };
  try {
    await create();
  } catch (error) {
    if (!(error instanceof VendorApiError && AMBIGUOUS.has(error.kind))) throw error;
    const landed = await find();
    if (landed === undefined) throw error;
    return { value: landed, created: true };
  }
  const made = await find();
  if (made === undefined) throw new VendorApiError({ system: 'autotask', kind: 'protocol', operation: 'create', message: 'the created record cannot be found' });
  return { value: made, created: true };
}

function numericId(id: string): number | undefined {
  return /^\d+$/.test(id) ? Number(id) : undefined;
}

function toCompany(company: Company, types: PicklistValue[]): PsaCompany {
  const type = types.find((entry) => entry.value === String(company.companyType))?.label;
  return { id: String(company.id), name: company.companyName, types: type ? [type] : [], status: company.isActive ? 'Active' : 'Inactive', active: company.isActive };
}

/** Units in effect on `date`: the row holding it, else the last row before it, else none. */
function unitsOn(rows: ContractServiceUnit[], date: string): number {
  const sorted = [...rows].sort((a, b) => a.startDate.localeCompare(b.startDate));
  const holding = sorted.find((row) => day(row.startDate) <= date && day(row.endDate) >= date);
  return (holding ?? sorted.filter((row) => day(row.startDate) <= date).at(-1))?.units ?? 0;
}
