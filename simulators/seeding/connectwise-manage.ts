import { ConnectWiseManageClient, cwDate, type ConnectWiseManageConfig } from '../../clients/connectwise-manage/client.ts';
import { condition } from '../../clients/connectwise-manage/conditions.ts';
import { DEFAULT_CREDENTIALS } from '../default-credentials.ts';
import type { PsaSeeder } from './psa-seeder.ts';
import { collect } from '../../clients/collect.ts';

/** The simulator's default credentials as a partner would enter them. */
export function connectWiseManageConfig(simulatorUrl: string, changes: Partial<ConnectWiseManageConfig> = {}): ConnectWiseManageConfig {
  const { companyId, publicKey, privateKey, clientId } = DEFAULT_CREDENTIALS['connectwise-manage'];
  return { baseUrl: simulatorUrl, companyId, publicKey, privateKey, clientId, ...changes };
}

/** `2024-01-01` or a full datetime, as CWM wants it: UTC, no milliseconds. */
function cwDateOf(since: string): string {
  return cwDate(new Date(/^\d{4}-\d{2}-\d{2}$/.test(since) ? `${since}T00:00:00Z` : since));
}

/** ConnectWise Manage as an MSP fills it in, through the REST API with the simulator's default credentials. */
export function connectWiseManageSeeder(simulatorUrl: string): PsaSeeder {
  const client = new ConnectWiseManageClient(connectWiseManageConfig(simulatorUrl));
  let companies = 0;
  const board = async () => {
    const found = (await collect(client.boards({ conditions: condition('name', '=', 'Help Desk') })))[0];
    if (!found) throw new Error('the simulated instance has no Help Desk board');
    return found;
  };
  return {
    kind: 'connectwise-manage',

    async createCompany(name) {
      // Identifiers are unique and at most 30 characters; the name carries what matters.
      const identifier = `${name.replace(/[^A-Za-z0-9]/g, '').slice(0, 20)}${++companies}`.slice(0, 30);
      const company = await client.createCompany({ identifier, name: name.slice(0, 50), addressLine1: '1 Main Street', city: 'Tampa', types: [{ name: 'Client' }], status: { name: 'Active' } });
      return String(company.id);
    },
    async renameCompany(companyId, name) {
      await client.patchCompany(Number(companyId), [{ op: 'replace', path: 'name', value: name }]);
    },
    async deactivateCompany(companyId) {
      await client.patchCompany(Number(companyId), [{ op: 'replace', path: 'status', value: { name: 'Inactive' } }]);
    },
    async addPrimaryContact(companyId, contact) {
      const created = await client.createContact({
        firstName: contact.firstName,
        lastName: contact.lastName,
        company: { id: Number(companyId) },
        communicationItems: [{ type: { name: 'Email' }, value: contact.email, defaultFlag: true, communicationType: 'Email' }],
      });
      await client.patchCompany(Number(companyId), [{ op: 'replace', path: 'defaultContact', value: { id: created.id } }]);
    },
    async createProduct(name) {
      return String((await client.createCatalogItem({ identifier: name, description: name.slice(0, 60), productClass: 'NonInventory' })).id);
    },
    async createAgreement(companyId, lines, since, name = `Acronis services ${companyId}`) {
      const startDate = cwDateOf(since);
      const agreement = await client.createAgreement({ name, type: { name: 'Managed Services' }, company: { id: Number(companyId) }, startDate });
      const lineIds: string[] = [];
      for (const line of lines) {
        const addition = await client.createAddition(agreement.id, {
          product: { id: Number(line.productId) },
          quantity: line.quantity,
          billCustomer: line.billing === 'payg' ? 'Billable' : 'DoNotBill',
          effectiveDate: startDate,
        });
        lineIds.push(String(addition.id));
      }
      return { agreementId: String(agreement.id), lineIds };
    },
    async changeQuantity(agreementId, lineId, quantity) {
      await client.patchAddition(Number(agreementId), Number(lineId), [{ op: 'replace', path: 'quantity', value: quantity }]);
    },
    async cancelLine(agreementId, lineId) {
      await client.patchAddition(Number(agreementId), Number(lineId), [{ op: 'replace', path: 'cancelledDate', value: cwDate(new Date()) }]);
    },
    async ticketRouting() {
      const { id: boardId } = await board();
      const statuses = await collect(client.boardStatuses(boardId));
      const types = await collect(client.boardTypes(boardId));
      const priorities = await collect(client.priorities());
      return {
        kind: 'connectwise-manage',
        boardId,
        statusId: statuses.find((status) => status.defaultFlag)?.id,
        typeId: types.find((type) => type.name === 'Backup')?.id,
        priorityId: priorities.find((priority) => priority.defaultFlag)?.id,
      };
    },
    countTickets: (externalRef) => client.countTickets(condition('externalXRef', '=', externalRef)),
    async ticketNotes(ticketId) {
      return (await collect(client.notes(Number(ticketId)))).map((note) => note.text);
    },
    async billedQuantity(agreementId, lineId) {
      const addition = await client.getAddition(Number(agreementId), Number(lineId));
      return addition.billedQuantity ?? addition.quantity;
    },
  };
}
