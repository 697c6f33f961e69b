import { defineSignal } from '@temporalio/workflow';
import type { ExternalSystem } from '../../domain/partner.ts';
import type { Capabilities } from '../../domain/settings.ts';
import { agentsLoopWorkflowId } from './agents.ts';
import { alertsLoopWorkflowId } from './alerts.ts';
import { provisioningLoopWorkflowId } from './provisioning.ts';
import { usageLoopWorkflowId } from './usage.ts';

/** A capability as the settings name it (`provisioning.enabled`, `billing.enabled` ...). */
export type CapabilityName = keyof Capabilities;

/**
 * One capability's loop, as the supervisor starts, pokes and ends it. Every loop takes
 * `{ v: 1, partnerId }` as the input of a fresh start, answers `syncNow` and
 * `configurationChanged`, and ends cleanly when cancelled.
 */
export interface LoopDefinition {
  /** The workflow type the worker registers. */
  workflowType: string;
  workflowId(partnerId: string): string;
  /** The loop's own `Capability` search-attribute value. */
  attribute: string;
  /** `Capability` values of the workflows the loop starts (customers, alert lifecycles ...); they end with the capability. */
  entities: readonly string[];
  /** The Web UI's static summary, after the partner's name. */
  title: string;
}

/**
 * The registry: capability → loop. A capability without an entry has no loop yet. A loop added
 * once supervisors run in production changes what a running supervisor does when the capability
 * is on: start it under a `patched()` id of its own in the supervisor's reconciliation.
 */
export const CAPABILITY_LOOPS: { readonly [C in CapabilityName]?: LoopDefinition } = {
  provisioning: {
    workflowType: 'provisioningLoop',
    workflowId: provisioningLoopWorkflowId,
    attribute: 'provisioning',
    entities: ['customer'],
    title: 'customer discovery and provisioning',
  },
  agents: {
    workflowType: 'agentsLoop',
    workflowId: agentsLoopWorkflowId,
    attribute: 'agents',
    entities: ['deployment'],
    title: 'agent deployment and default plans',
  },
  billing: {
    workflowType: 'usageLoop',
    workflowId: usageLoopWorkflowId,
    attribute: 'usage',
    entities: [],
    title: 'usage reporting to the PSA',
  },
  tickets: {
    workflowType: 'alertsLoop',
    workflowId: alertsLoopWorkflowId,
    attribute: 'alerts',
    entities: ['alert'],
    title: 'Acronis alerts → PSA tickets',
  },
};

export const LOOP_CAPABILITIES = Object.keys(CAPABILITY_LOOPS) as CapabilityName[];

/**
 * The systems each capability's loop calls: while one of them refuses the partner's credentials the
 * supervisor pauses the loop (no retry storm against a locked account) and starts it again once
 * the credentials are accepted.
 */
export const LOOP_SYSTEMS: { readonly [C in CapabilityName]: readonly ExternalSystem[] } = {
  provisioning: ['acronis', 'psa'],
  billing: ['acronis', 'psa'],
  tickets: ['acronis', 'psa'],
  agents: ['acronis', 'rmm'],
};

/** "Sync now": a loop runs its pass at once; an entity (a customer) re-reads what it depends on. */
export const syncNowSignal = defineSignal<[]>('syncNow');

/**
 * Sent by the API to the supervisor when the partner, its settings or its mappings changed (it
 * reloads), and forwarded by the supervisor to the running loops (they re-plan: a new billing
 * day, a new interval, automatic mode switched on).
 */
export const configurationChangedSignal = defineSignal<[]>('configurationChanged');

/** What a loop tells the supervisor after a pass, for the supervisor's current details: a line of text, no figures. */
export interface LoopReport {
  capability: CapabilityName;
  /** ISO instant of the pass. */
  at: string;
  text: string;
}

/** Sent by a loop to its partner's supervisor after each pass (best effort: a supervisor that is not running misses it). */
export const loopReportSignal = defineSignal<[LoopReport]>('loopReport');

/**
 * ApplicationFailure type of an activity that found, at the moment it was to act, its partner
 * removed or its capability switched off; it wrote nothing, and the workflow ends.
 */
export const CAPABILITY_OFF_FAILURE = 'CapabilityOff';
