import type { Client } from '@temporalio/client';
import type { PsaKind } from '../domain/partner.ts';
import { identityKey, stormKey, type AlertIdentity } from '../domain/alert-tickets.ts';
import { alertChangeSignal, alertWorkflowId, retryTicketSignal, type AlertChange, type AlertLifecycleInput, type AlertStormInput } from '../workflows/contracts/alerts.ts';
import { TASK_QUEUE } from '../workflows/contracts/task-queues.ts';
import type { alertLifecycle } from '../workflows/alerts/lifecycle.ts';
import type { alertStorm } from '../workflows/alerts/storm.ts';
import { CapabilityAttribute, CustomerIdAttribute, PartnerIdAttribute, PsaKindAttribute } from '../workflows/search-attributes.ts';

/** Whose alert: the partner (id and, for the Web UI's summary, its name) and its PSA. */
export interface AlertOwner {
  partnerId: string;
  partnerName?: string;
  psaKind: PsaKind;
}

/** The `Capability` search attribute of alert lifecycles and storm digests (the registry ends them with ticket sync). */
export const ALERT_ENTITY = 'alert';

/**
 * Starting and poking the alert workflows, for the feed activity and the retry after a mapping
 * change. Every call is signal-with-start on a readable id, so it starts the workflow if it ended
 * (after its idle window) and delivers the work either way.
 */
export class AlertWorkflows {
  readonly #client: Client;

  constructor(client: Client) {
    this.#client = client;
  }

  #common(owner: AlertOwner, psaCompanyId: string, summary: string) {
    return {
      taskQueue: TASK_QUEUE,
      typedSearchAttributes: [
        { key: PartnerIdAttribute, value: owner.partnerId },
        { key: PsaKindAttribute, value: owner.psaKind },
        { key: CapabilityAttribute, value: ALERT_ENTITY },
        { key: CustomerIdAttribute, value: psaCompanyId },
      ],
      // Static summaries are encrypted like payloads, so they may name the resource.
      staticSummary: owner.partnerName ? `${owner.partnerName}: ${summary}` : summary,
    };
  }

  #lifecycle(owner: AlertOwner, identity: AlertIdentity, summary: string | undefined) {
    const input: AlertLifecycleInput = { v: 1, partnerId: owner.partnerId, identity };
    const key = identityKey(identity);
    return { ...this.#common(owner, identity.psaCompanyId, summary ?? `alert ${key}`), workflowId: alertWorkflowId(owner.partnerId, key), args: [input] as [AlertLifecycleInput] };
  }

  /** Hands an alert change to its identity's lifecycle. `summary` is the ticket's summary, for the Web UI. */
  async deliver(owner: AlertOwner, identity: AlertIdentity, change: AlertChange, summary?: string): Promise<void> {
    await this.#client.workflow.signalWithStart<typeof alertLifecycle, [AlertChange]>('alertLifecycle', { ...this.#lifecycle(owner, identity, summary), signal: alertChangeSignal, signalArgs: [change] });
  }

  /** The identity tries its refused ticket again. */
  async retry(owner: AlertOwner, identity: AlertIdentity): Promise<void> {
    await this.#client.workflow.signalWithStart<typeof alertLifecycle, []>('alertLifecycle', { ...this.#lifecycle(owner, identity, undefined), signal: retryTicketSignal, signalArgs: [] });
  }

  #storm(owner: AlertOwner, psaCompanyId: string, startedAtMs: number, windowMinutes: number) {
    const input: AlertStormInput = { v: 1, partnerId: owner.partnerId, psaCompanyId, startedAtMs, windowMinutes };
    const summary = `alert storm of PSA company ${psaCompanyId} from ${new Date(startedAtMs).toISOString()}`;
    return { ...this.#common(owner, psaCompanyId, summary), workflowId: alertWorkflowId(owner.partnerId, stormKey(psaCompanyId, startedAtMs)), args: [input] as [AlertStormInput] };
  }

  /** Hands an alert change to the storm's digest ticket instead of a ticket of its own. */
  async deliverToStorm(owner: AlertOwner, storm: { psaCompanyId: string; startedAtMs: number; windowMinutes: number }, change: AlertChange): Promise<void> {
    await this.#client.workflow.signalWithStart<typeof alertStorm, [AlertChange]>('alertStorm', {
      ...this.#storm(owner, storm.psaCompanyId, storm.startedAtMs, storm.windowMinutes),
      signal: alertChangeSignal,
      signalArgs: [change],
    });
  }

  async retryStorm(owner: AlertOwner, storm: { psaCompanyId: string; startedAtMs: number; windowMinutes: number }): Promise<void> {
    await this.#client.workflow.signalWithStart<typeof alertStorm, []>('alertStorm', { ...this.#storm(owner, storm.psaCompanyId, storm.startedAtMs, storm.windowMinutes), signal: retryTicketSignal, signalArgs: [] });
  }
}
