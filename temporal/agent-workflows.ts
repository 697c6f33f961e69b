import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { PsaKind } from '../domain/partner.ts';
import { deploymentWorkflowId, type DeploymentWorkflowInput } from '../workflows/contracts/agents.ts';
import { TASK_QUEUE } from '../workflows/contracts/task-queues.ts';
import type { agentDeployment } from '../workflows/agents/deployment.ts';
import { CapabilityAttribute, PartnerIdAttribute, PsaKindAttribute } from '../workflows/search-attributes.ts';

export interface DeploymentToStart {
  partnerId: string;
  psaKind: PsaKind;
  deploymentId: string;
  /** For the Web UI's summary (encrypted like every payload): what runs on how many computers. */
  partnerName?: string;
  what: string;
}

/** Starting deployment workflows, shared by the API and the agents scan. */
export class AgentWorkflows {
  readonly #client: Client;

  constructor(client: Client) {
    this.#client = client;
  }

  /** Starts the deployment's workflow; one that runs or ran already is left as it is (a retried start). */
  async startDeployment(deployment: DeploymentToStart): Promise<void> {
    const { partnerId, deploymentId } = deployment;
    const input: DeploymentWorkflowInput = { v: 1, partnerId, deploymentId };
    try {
      await this.#client.workflow.start<typeof agentDeployment>('agentDeployment', {
        workflowId: deploymentWorkflowId(partnerId, deploymentId),
        taskQueue: TASK_QUEUE,
        args: [input],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: [
          { key: PartnerIdAttribute, value: partnerId },
          { key: PsaKindAttribute, value: deployment.psaKind },
          { key: CapabilityAttribute, value: 'deployment' },
        ],
        staticSummary: deployment.partnerName ? `${deployment.partnerName}: ${deployment.what}` : deployment.what,
      });
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    }
  }
}
