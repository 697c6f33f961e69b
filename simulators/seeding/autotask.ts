import { AutotaskClient } from '../../clients/autotask/client.ts';
import type { FieldInfo, QueryableEntity } from '../../clients/autotask/types.ts';
import type { UsagePeriod } from '../../psa/port.ts';
import { DEFAULT_CREDENTIALS } from '../default-credentials.ts';
import type { PsaSeeder } from './psa-seeder.ts';

const PAYG_UDF = 'Acronis PAYG';
const RECURRING_SERVICE = 7;

/** The simulator's default credentials as a partner would enter them. */
export function autotaskCredentials(simulatorUrl: string) {
  return { baseUrl: simulatorUrl, ...DEFAULT_CREDENTIALS.autotask };
}

/** Autotask as an MSP fills it in, through the public REST API with the simulator's default credentials. */
export function autotaskSeeder(simulatorUrl: string): PsaSeeder {
  const credentials = autotaskCredentials(simulatorUrl);
  const client = new AutotaskClient(credentials);
  const fields = new Map<QueryableEntity, Promise<FieldInfo[]>>();
  let owner: Promise<number> | undefined;

  /** A picklist value by label; IDs differ per instance, so they are never hard-coded. */
  async function picklist(entity: QueryableEntity, field: string, label: string): Promise<number> {
    if (!fields.has(entity)) fields.set(entity, client.fields(entity));
    const values = (await fields.get(entity))?.find((candidate) => candidate.name === field)?.picklistValues ?? [];
    const value = values.find((entry) => entry.label === label)?.value;
    if (value === undefined) throw new Error(`no ${entity}.${field} named ${label}`);
    return Number(value);
  }

  async function paygUdfValue(payg: boolean): Promise<string> {
    const definition = (await client.userDefinedFields('Contracts')).find((candidate) => candidate.name === PAYG_UDF);
    const value = definition?.picklistValues?.find((entry) => entry.label === (payg ? 'Yes' : 'No'))?.value;
    if (value === undefined) throw new Error(`the ${PAYG_UDF} field has no ${payg ? 'Yes' : 'No'}`);
    return value;
  }

  const seeder: PsaSeeder = {
    kind: 'autotask',

    async createCompany(name) {
      owner ??= client.queryAll('Resources', [{ op: 'noteq', field: 'userName', value: credentials.username }]).then(([resource]) => {
        if (!resource) throw new Error('no resource to own the company');
        return resource.id;
      });
      const id = await client.create('Companies', { companyName: name, companyType: await picklist('Companies', 'companyType', 'Customer'), phone: '+1 555 0100', ownerResourceID: await owner });
      return String(id);
    },

    async renameCompany(companyId, name) {
      await client.update('Companies', Number(companyId), { companyName: name });
    },

    async deactivateCompany(companyId) {
      await client.update('Companies', Number(companyId), { isActive: false });
    },

    async addPrimaryContact(companyId, contact) {
      await client.create('Contacts', { companyID: Number(companyId), firstName: contact.firstName, lastName: contact.lastName, emailAddress: contact.email, isActive: 1, primaryContact: true });
    },

    async createProduct(name) {
      return String(await client.create('Services', { name, periodType: await picklist('Services', 'periodType', 'Monthly'), unitPrice: 10, isActive: true }));
    },

    async createAgreement(companyId, lines, since, name = `Acronis Cyber Protect ${since.slice(0, 10)}`) {
      const models = new Set(lines.map((line) => line.billing));
      // Acronis: "Contracts cannot have both PAYG and Prepaid additions."
      if (models.size > 1) throw new Error('an Autotask contract is PAYG or prepaid as a whole');
      const sinceDate = new Date(`${since.slice(0, 10)}T00:00:00Z`);
      const startDate = new Date(Date.UTC(sinceDate.getUTCFullYear(), sinceDate.getUTCMonth() - 1, 1)).toISOString();
      const endDate = new Date(Date.UTC(sinceDate.getUTCFullYear() + 1, sinceDate.getUTCMonth(), 0)).toISOString();
      const contractId = await client.create('Contracts', {
        companyID: Number(companyId),
        contractName: name,
        contractType: RECURRING_SERVICE,
        status: 1,
        startDate,
        endDate,
        userDefinedFields: [{ name: PAYG_UDF, value: await paygUdfValue(lines[0]?.billing === 'payg') }],
      });
      const lineIds: string[] = [];
      for (const line of lines) {
        const serviceId = Number(line.productId);
        const lineId = await client.createContractService(contractId, { serviceID: serviceId, unitPrice: 10 });
        const units = Math.ceil(line.quantity);
        if (units !== 0) await client.createContractServiceAdjustment({ contractID: contractId, serviceID: serviceId, contractServiceID: lineId, effectiveDate: startDate, unitChange: units });
        lineIds.push(String(lineId));
      }
      return { agreementId: String(contractId), lineIds };
    },

    async changeQuantity(agreementId, lineId, quantity) {
      // Adjustments are deltas from the start of the current period, as Autotask bills by period.
      const now = new Date();
      const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
      const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 0));
      const period = { start: start.toISOString().slice(0, 10), end: end.toISOString().slice(0, 10) };
      const current = await seeder.billedQuantity(agreementId, lineId, period);
      const [service] = await client.queryAll('ContractServices', [{ op: 'eq', field: 'id', value: Number(lineId) }]);
      if (!service) throw new Error(`no contract service ${lineId}`);
      const unitChange = Math.ceil(quantity) - current;
      if (unitChange !== 0) await client.createContractServiceAdjustment({ contractID: Number(agreementId), serviceID: service.serviceID, contractServiceID: Number(lineId), effectiveDate: start.toISOString(), unitChange });
    },

    async cancelLine(agreementId) {
      // Autotask has no per-service end: the MSP sets the contract inactive.
      await client.update('Contracts', Number(agreementId), { status: 0 });
    },

    async ticketRouting() {
      return {
        kind: 'autotask',
        queueId: await picklist('Tickets', 'queueID', 'Monitoring Alert'),
        status: await picklist('Tickets', 'status', 'New'),
        priority: await picklist('Tickets', 'priority', 'Medium'),
        issueType: await picklist('Tickets', 'issueType', 'Backup'),
        subIssueType: await picklist('Tickets', 'subIssueType', 'Backup Failed'),
        source: await picklist('Tickets', 'source', 'Monitoring Alert'),
      };
    },

    countTickets: (externalRef) => client.count('Tickets', [{ op: 'eq', field: 'externalID', value: externalRef }]),

    async ticketNotes(ticketId) {
      const notes = await client.queryAll('TicketNotes', [{ op: 'eq', field: 'ticketID', value: Number(ticketId) }]);
      return notes.map((note) => note.description);
    },

    async billedQuantity(_agreementId, lineId, period: UsagePeriod) {
      const rows = await client.queryAll('ContractServiceUnits', [
        { op: 'eq', field: 'contractServiceID', value: Number(lineId) },
        { op: 'lte', field: 'startDate', value: `${period.end}T00:00:00Z` },
        { op: 'gte', field: 'endDate', value: `${period.start}T00:00:00Z` },
      ]);
      // The row in effect on the period's first day the contract covers.
      const [first] = rows.sort((a, b) => b.startDate.localeCompare(a.startDate)).filter((row) => row.startDate.slice(0, 10) <= period.start);
      return (first ?? rows.at(-1))?.units ?? 0;
    },
  };
  return seeder;
}
