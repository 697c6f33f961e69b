import type { Client } from '@temporalio/client';
import type { PsaKind } from '../domain/partner.ts';
import { syncNowSignal } from '../workflows/contracts/loops.ts';
import { customerWorkflowId, type CustomerMemo, type CustomerPhase, type CustomerWorkflowInput } from '../workflows/contracts/provisioning.ts';
import { TASK_QUEUE } from '../workflows/contracts/task-queues.ts';
import type { customerProvisioning } from '../workflows/provisioning/customer.ts';
import { CapabilityAttribute, CustomerIdAttribute, PartnerIdAttribute, ProvisioningStateAttribute, PsaKindAttribute } from '../workflows/search-attributes.ts';

export interface CustomerRun extends Partial<CustomerMemo> {
  psaCompanyId: string;
  workflowId: string;
  /** From the `ProvisioningState` search attribute; null until the workflow has assessed the customer. */
  phase: CustomerPhase | null;
  running: boolean;
}

export interface CustomerToSync {
  partnerId: string;
  psaKind: PsaKind;
  psaCompanyId: string;
  /** For the Web UI's summary (encrypted like every payload); absent where only ids are at hand. */
  partnerName?: string;
  companyName?: string;
}

/**
 * Starting and poking customer workflows, shared by the API (mapping changes) and the discovery
 * activity. Every start is idempotent: signal-with-start on a readable ID.
 */
export class ProvisioningWorkflows {
  readonly #client: Client;

  constructor(client: Client) {
    this.#client = client;
  }

  /** Starts the customer's workflow if needed and makes it re-read its mapping and agreement now. */
  async syncCustomer(customer: CustomerToSync): Promise<void> {
    const { partnerId, psaKind, psaCompanyId } = customer;
    const input: CustomerWorkflowInput = { v: 1, partnerId, psaCompanyId };
    const company = customer.companyName ? `"${customer.companyName}" (PSA company ${psaCompanyId})` : `PSA company ${psaCompanyId}`;
    await this.#client.workflow.signalWithStart<typeof customerProvisioning, []>('customerProvisioning', {
      workflowId: customerWorkflowId(partnerId, psaCompanyId),
      taskQueue: TASK_QUEUE,
      args: [input],
      signal: syncNowSignal,
      signalArgs: [],
      typedSearchAttributes: [
        { key: PartnerIdAttribute, value: partnerId },
        { key: PsaKindAttribute, value: psaKind },
        { key: CapabilityAttribute, value: 'customer' },
        { key: CustomerIdAttribute, value: psaCompanyId },
        { key: ProvisioningStateAttribute, value: 'pending' },
      ],
      staticSummary: customer.partnerName ? `${customer.partnerName}: customer ${company}` : `Customer ${company}`,
    });
  }

  /** The partner's customer workflows with their phase and reason, newest run per company (visibility is eventually consistent). */
  async customerRuns(partnerId: string): Promise<CustomerRun[]> {
    const byCompany = new Map<string, CustomerRun>();
    // Partner ids are UUIDs (validated by the callers), so they are safe inside the quoted value.
    for await (const execution of this.#client.workflow.list({ query: `PartnerId = "${partnerId}" AND Capability = "customer"` })) {
      const psaCompanyId = execution.typedSearchAttributes.get(CustomerIdAttribute);
      if (!psaCompanyId || byCompany.has(psaCompanyId)) continue;
      const memo = (execution.memo ?? {}) as Partial<CustomerMemo>;
      byCompany.set(psaCompanyId, {
        psaCompanyId,
        workflowId: execution.workflowId,
        phase: (execution.typedSearchAttributes.get(ProvisioningStateAttribute) as CustomerPhase | undefined) ?? null,
        running: execution.status.name === 'RUNNING',
        reason: memo.reason,
        nextStep: memo.nextStep,
        tenantId: memo.tenantId,
      });
    }
    return [...byCompany.values()];
  }
}
