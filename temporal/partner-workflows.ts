import { WorkflowNotFoundError, type Client, type WorkflowExecutionStatusName } from '@temporalio/client';
import { TASK_QUEUE } from '../workflows/contracts/task-queues.ts';
import type { PsaKind } from '../domain/partner.ts';
import { configurationChangedSignal } from '../workflows/contracts/loops.ts';
import { credentialsRejectedSignal, partnerRemovedSignal, partnerWorkflowId, supervisorStateQuery, type PartnerSupervisorInput, type PartnerSupervisorState } from '../workflows/contracts/partner.ts';
import type { partnerSupervisor } from '../workflows/partner-supervisor.ts';
import { CapabilityAttribute, PartnerIdAttribute, PsaKindAttribute, PartnerHealthAttribute } from '../workflows/search-attributes.ts';

export interface WorkflowRun {
  workflowId: string;
  runId: string;
  type: string;
  status: WorkflowExecutionStatusName;
  startedAt: string;
  closedAt: string | null;
  webUiUrl: string;
}

/** What the supervisor's start needs to know of its partner. */
export interface SupervisedPartner {
  id: string;
  name: string;
  psaKind: PsaKind;
}

export interface SupervisorStatus {
  workflowId: string;
  runId: string;
  status: WorkflowExecutionStatusName;
  webUiUrl: string;
  state: PartnerSupervisorState | null;
}

/** An admin waits at most this long for Temporal before the API answers 503. */
export const CALL_DEADLINE_MS = 5_000;

/** The API's side of the partner's workflows: start, signal, query, list. */
export class PartnerWorkflows {
  private readonly client: Client;
  private readonly uiUrl: string;

  constructor(client: Client, uiUrl: string) {
    this.client = client;
    this.uiUrl = uiUrl;
  }

  private call<T>(operation: () => Promise<T>): Promise<T> {
    return this.client.withDeadline(Date.now() + CALL_DEADLINE_MS, operation);
  }

  webUiUrl(workflowId: string, runId?: string): string {
    const base = `${this.uiUrl}/namespaces/${encodeURIComponent(this.client.options.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
    return runId ? `${base}/${runId}/history` : base;
  }

  #supervisorOptions(partner: SupervisedPartner) {
    const input: PartnerSupervisorInput = { v: 1, partnerId: partner.id };
    return {
      workflowId: partnerWorkflowId(partner.id),
      taskQueue: TASK_QUEUE,
      args: [input] as [PartnerSupervisorInput],
      typedSearchAttributes: [
        { key: PartnerIdAttribute, value: partner.id },
        { key: PsaKindAttribute, value: partner.psaKind },
        { key: CapabilityAttribute, value: 'supervisor' },
        // The supervisor changes it when a system refuses the credentials (and back).
        { key: PartnerHealthAttribute, value: 'ok' },
      ],
      staticSummary: `${partner.name}: partner supervisor (${partner.psaKind})`,
    };
  }

  /** Idempotent: a supervisor already running for the partner is kept as it is. */
  async startSupervisor(partner: SupervisedPartner): Promise<void> {
    await this.call(() => this.client.workflow.start<typeof partnerSupervisor>('partnerSupervisor', { ...this.#supervisorOptions(partner), workflowIdConflictPolicy: 'USE_EXISTING' }));
  }

  /** The supervisor reloads and tells its loops; one that had ended is started again by this. */
  async notifyConfigurationChanged(partner: SupervisedPartner): Promise<void> {
    await this.call(() => this.client.workflow.signalWithStart<typeof partnerSupervisor, []>('partnerSupervisor', { ...this.#supervisorOptions(partner), signal: configurationChangedSignal, signalArgs: [] }));
  }

  /**
   * The supervisor ends every workflow of the partner, then itself. Signal-with-start: a supervisor
   * that had ended (or never ran) starts, finds the partner removed and ends what is left.
   */
  async notifyPartnerRemoved(partner: SupervisedPartner): Promise<void> {
    await this.call(() => this.client.workflow.signalWithStart<typeof partnerSupervisor, []>('partnerSupervisor', { ...this.#supervisorOptions(partner), signal: partnerRemovedSignal, signalArgs: [] }));
  }

  /** An API call met refused credentials: the supervisor reloads the partner's health and pauses what needs them. */
  async notifyCredentialsRejected(partnerId: string): Promise<void> {
    await this.call(() => this.client.workflow.getHandle(partnerWorkflowId(partnerId)).signal(credentialsRejectedSignal));
  }

  async supervisorStatus(partnerId: string): Promise<SupervisorStatus | undefined> {
    const handle = this.client.workflow.getHandle(partnerWorkflowId(partnerId));
    let description;
    try {
      description = await this.call(() => handle.describe());
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return undefined;
      throw error;
    }
    const state = description.status.name === 'RUNNING' ? await this.call(() => handle.query(supervisorStateQuery)) : null;
    return {
      workflowId: description.workflowId,
      runId: description.runId,
      status: description.status.name,
      webUiUrl: this.webUiUrl(description.workflowId, description.runId),
      state,
    };
  }

  async listRuns(partnerId: string, limit = 100): Promise<WorkflowRun[]> {
    return this.call(() => this.collectRuns(partnerId, limit));
  }

  private async collectRuns(partnerId: string, limit: number): Promise<WorkflowRun[]> {
    const runs: WorkflowRun[] = [];
    // Partner ids are UUIDs (validated by the route), so they are safe inside the quoted query value.
    for await (const execution of this.client.workflow.list({ query: `PartnerId = "${partnerId}"`, pageSize: limit })) {
      runs.push({
        workflowId: execution.workflowId,
        runId: execution.runId,
        type: execution.type,
        status: execution.status.name,
        startedAt: execution.startTime.toISOString(),
        closedAt: execution.closeTime?.toISOString() ?? null,
        webUiUrl: this.webUiUrl(execution.workflowId, execution.runId),
      });
      if (runs.length >= limit) break;
    }
    return runs;
  }
}
