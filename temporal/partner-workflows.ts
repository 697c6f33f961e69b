import { WorkflowNotFoundError, type Client, type WorkflowExecutionStatusName } from '@temporalio/client';
import { TASK_QUEUE } from '../config.ts';
import type { PsaKind } from '../domain/partner.ts';
import {
  configurationChangedSignal,
  partnerRemovedSignal,
  partnerWorkflowId,
  supervisorStateQuery,
  type PartnerSupervisorInput,
  type PartnerSupervisorState,
} from '../workflows/messages.ts';
import type { partnerSupervisor } from '../workflows/partner-supervisor.ts';
import { CapabilityAttribute, PartnerIdAttribute, PsaKindAttribute } from '../workflows/search-attributes.ts';

export interface WorkflowRun {
  workflowId: string;
  runId: string;
  type: string;
  status: WorkflowExecutionStatusName;
  startedAt: string;
  closedAt: string | null;
  webUiUrl: string;
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

  /** Idempotent: a supervisor already running for the partner is kept as it is. */
  async startSupervisor(partnerId: string, psaKind: PsaKind): Promise<void> {
    const input: PartnerSupervisorInput = { v: 1, partnerId };
    await this.call(() => this.client.workflow.start<typeof partnerSupervisor>('partnerSupervisor', {
      workflowId: partnerWorkflowId(partnerId),
      taskQueue: TASK_QUEUE,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      typedSearchAttributes: [
        { key: PartnerIdAttribute, value: partnerId },
        { key: PsaKindAttribute, value: psaKind },
        { key: CapabilityAttribute, value: 'supervisor' },
      ],
      staticSummary: `Partner supervisor (${psaKind})`,
    }));
  }

  async notifyConfigurationChanged(partnerId: string): Promise<void> {
    await this.call(() => this.client.workflow.getHandle(partnerWorkflowId(partnerId)).signal(configurationChangedSignal));
  }

  /** A supervisor that has already ended is fine: the partner is gone either way. */
  async notifyPartnerRemoved(partnerId: string): Promise<void> {
    try {
      await this.call(() => this.client.workflow.getHandle(partnerWorkflowId(partnerId)).signal(partnerRemovedSignal));
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
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
