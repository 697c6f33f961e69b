import { defineSignal } from '@temporalio/workflow';
import type { Capabilities } from '../../domain/settings.ts';
import { alertsLoopWorkflowId } from './alerts.ts';
import { provisioningLoopWorkflowId } from './provisioning.ts';

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
  /**
   * For a loop added after supervisors were already running: the `patched()` id under which the
   * supervisor starts it, so a supervisor recorded before it existed replays as it ran.
   */
  patch?: string;
}

/** The registry: capability → loop. A capability without an entry has no loop yet. */
export const CAPABILITY_LOOPS: { readonly [C in CapabilityName]?: LoopDefinition } = {
  provisioning: {
    workflowType: 'provisioningLoop',
    workflowId: provisioningLoopWorkflowId,
    attribute: 'provisioning',
    entities: ['customer'],
    title: 'customer discovery and provisioning',
  },
  tickets: {
    workflowType: 'alertsLoop',
    workflowId: alertsLoopWorkflowId,
    attribute: 'alerts',
    entities: ['alert'],
    title: 'Acronis alerts → PSA tickets',
    patch: 'capability-loop-tickets',
  },
};

export const LOOP_CAPABILITIES = Object.keys(CAPABILITY_LOOPS) as CapabilityName[];

/** "Sync now": a loop runs its pass at once; an entity (a customer) re-reads what it depends on. */
export const syncNowSignal = defineSignal<[]>('syncNow');

/**
 * Sent by the API to the supervisor when the partner, its settings or its mappings changed (it
 * reloads), and forwarded by the supervisor to the running loops (they re-plan: a new billing
 * day, a new interval, automatic mode switched on).
 */
export const configurationChangedSignal = defineSignal<[]>('configurationChanged');

/**
 * ApplicationFailure type of an activity that found, at the moment it was to act, its partner
 * removed or its capability switched off; it wrote nothing, and the workflow ends.
 */
export const CAPABILITY_OFF_FAILURE = 'CapabilityOff';
