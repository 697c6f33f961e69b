import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { Capabilities } from '../domain/settings.ts';
import type { PsaKind, RmmKind } from '../domain/partner.ts';

/** `partner/<id>`: the partner's supervisor. Later loops hang beneath it (`partner/<id>/usage` ...). */
export function partnerWorkflowId(partnerId: string): string {
  return `partner/${partnerId}`;
}

/** What the supervisor knows of its partner, as loaded from PostgreSQL. No credentials. */
export interface PartnerProfile {
  psaKind: PsaKind;
  rmmKind: RmmKind | null;
  timezone: string;
  capabilities: Capabilities;
  settingsVersion: number;
}

export type PartnerProfileLoad = { status: 'live'; profile: PartnerProfile } | { status: 'removed' };

export type SupervisorPhase = 'starting' | 'running' | 'stopped';

export interface PartnerSupervisorState {
  partnerId: string;
  phase: SupervisorPhase;
  profile: PartnerProfile | null;
  /** ISO instants of the last profile load and of this supervisor's first start. */
  profileLoadedAt: string | null;
  startedAt: string;
  profileLoads: number;
  /** How many runs came before this one (continue-as-new keeps histories short). */
  previousRuns: number;
  stopReason: string | null;
}

/** The supervisor's one input: versioned, JSON-safe, and carrying all state across continue-as-new. */
export interface PartnerSupervisorInput {
  v: 1;
  partnerId: string;
  carried?: PartnerSupervisorState;
  /** Signals one run takes before it continues as new (default 1,000); tests lower it to force a rollover. */
  signalsPerRun?: number;
}

export interface PartnerSupervisorResult {
  partnerId: string;
  stopReason: string;
}

/** Sent by the API after it changed the partner or its settings; the supervisor reloads its profile. */
export const configurationChangedSignal = defineSignal<[]>('configurationChanged');
/** Sent by the API after it removed the partner; the supervisor ends. */
export const partnerRemovedSignal = defineSignal<[]>('partnerRemoved');
export const supervisorStateQuery = defineQuery<PartnerSupervisorState>('state');

/** ApplicationFailure type thrown by loadPartnerProfile when the partner row never appears. */
export const PARTNER_NOT_FOUND_FAILURE = 'PartnerNotFound';
