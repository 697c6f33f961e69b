import type { Client } from '@temporalio/client';
import { TASK_QUEUE } from '../config.ts';
import type { PsaKind } from '../domain/partner.ts';
import {
  customerWorkflowId,
  provisioningLoopWorkflowId,
  syncNowSignal,
  type CustomerPhase,
  type CustomerWorkflowInput,
  type ProvisioningLoopInput,
} from '../workflows/messages.ts';
import type { customerProvisioning } from '../workflows/customer-provisioning.ts';
import type { provisioningLoop } from '../workflows/provisioning-loop.ts';
import { CapabilityAttribute, CustomerIdAttribute, PartnerIdAttribute, ProvisioningStateAttribute, PsaKindAttribute } from '../workflows/search-attributes.ts';

export interface CustomerRun {
  psaCompanyId: string;
  workflowId: string;
  /** From the `ProvisioningState` search attribute; null until the workflow has assessed the customer. */
  phase: CustomerPhase | null;
  running: boolean;
}

/**
 * Starting and poking the provisioning workflows, shared by the API (mapping changes, "sync now")
 * and the discovery activity. Every start is idempotent: signal-with-start on a readable ID.
 */
export class ProvisioningWorkflows {
  readonly #client: Client;

  constructor(client: Client) {
    this.#client = client;
  }

  #loopOptions(partnerId: string, psaKind: PsaKind) {
    const input: ProvisioningLoopInput = { v: 1, partnerId };
    return {
      workflowId: provisioningLoopWorkflowId(partnerId),
      taskQueue: TASK_QUEUE,
      args: [input] as [ProvisioningLoopInput],
      typedSearchAttributes: [
        { key: PartnerIdAttribute, value: partnerId },
        { key: PsaKindAttribute, value: psaKind },
        { key: CapabilityAttribute, value: 'provisioning' },
      ],
      staticSummary: 'Customer discovery and provisioning loop',
    };
  }

  /** Starts the partner's provisioning loop unless it runs already (the supervisor, when the capability is on). */
  async ensureProvisioningLoop(partnerId: string, psaKind: PsaKind): Promise<void> {
    await this.#client.workflow.start<typeof provisioningLoop>('provisioningLoop', { ...this.#loopOptions(partnerId, psaKind), workflowIdConflictPolicy: 'USE_EXISTING' });
  }

  /** Runs a discovery pass now, starting the partner's provisioning loop if it is not running. */
  async syncProvisioning(partnerId: string, psaKind: PsaKind): Promise<void> {
    await this.#client.workflow.signalWithStart<typeof provisioningLoop, []>('provisioningLoop', { ...this.#loopOptions(partnerId, psaKind), signal: syncNowSignal, signalArgs: [] });
  }

  /** Starts the customer's workflow if needed and makes it re-read its mapping and agreement now. */
  async syncCustomer(partnerId: string, psaKind: PsaKind, psaCompanyId: string): Promise<void> {
    const input: CustomerWorkflowInput = { v: 1, partnerId, psaCompanyId };
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
      staticSummary: `Customer ${psaCompanyId}`,
    });
  }

  /** The partner's customer workflows with their phase, newest run per company (visibility is eventually consistent). */
  async customerRuns(partnerId: string): Promise<CustomerRun[]> {
    const byCompany = new Map<string, CustomerRun>();
    // Partner ids are UUIDs (validated by the callers), so they are safe inside the quoted value.
    for await (const execution of this.#client.workflow.list({ query: `PartnerId = "${partnerId}" AND Capability = "customer"` })) {
      const psaCompanyId = execution.typedSearchAttributes.get(CustomerIdAttribute);
      if (!psaCompanyId || byCompany.has(psaCompanyId)) continue;
      byCompany.set(psaCompanyId, {
        psaCompanyId,
        workflowId: execution.workflowId,
        phase: (execution.typedSearchAttributes.get(ProvisioningStateAttribute) as CustomerPhase | undefined) ?? null,
        running: execution.status.name === 'RUNNING',
      });
    }
    return [...byCompany.values()];
  }
}
