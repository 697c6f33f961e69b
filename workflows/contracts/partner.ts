import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { ExternalSystem, PsaKind, RmmKind } from '../../domain/partner.ts';
import type { Capabilities } from '../../domain/settings.ts';

/** `partner/<id>`: the partner's supervisor; every loop of the partner hangs beneath it (`partner/<id>/usage` ...). */
export function partnerWorkflowId(partnerId: string): string {
  return `partner/${partnerId}`;
}

/** What the supervisor knows of its partner, as loaded from PostgreSQL. No credentials. */
export interface PartnerProfile {
  /** For the Web UI's static summaries (encrypted like every payload). */
  name?: string;
  psaKind: PsaKind;
  rmmKind: RmmKind | null;
  timezone: string;
  capabilities: Capabilities;
  settingsVersion: number;
  /** Systems whose last word was a refusal of the partner's credentials (absent in profiles loaded before health was recorded). */
  credentialsRejected?: ExternalSystem[];
}

export type PartnerProfileLoad = { status: 'live'; profile: PartnerProfile } | { status: 'removed' };

export type SupervisorPhase = 'starting' | 'running' | 'stopping' | 'stopped';

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
  /** Capabilities whose loop the supervisor keeps running (absent in runs recorded before the loop registry). */
  loopsOn?: string[];
  /** The settings version the running loops were last told about. */
  forwardedSettingsVersion?: number | null;
  /** Capabilities that are on but whose loops are paused: a system they need refuses the credentials. */
  loopsPaused?: string[];
  /** The PartnerHealth search attribute as last set (`ok` when absent). */
  health?: 'ok' | 'credentials-rejected';
  /** What each loop last reported after a pass (`loopReport` signal), by capability. */
  loopReports?: Partial<Record<string, { at: string; text: string }>>;
}

/** The supervisor's one input: versioned, JSON-safe, and carrying all state across continue-as-new. */
export interface PartnerSupervisorInput {
  v: 1;
  partnerId: string;
  carried?: PartnerSupervisorState;
  /** Signals one run takes before it continues as new (default 1,000); tests lower it to force a rollover. */
  signalsPerRun?: number;
  /** How often the profile is re-read without a signal (default one hour); tests shorten it. */
  reconcileIntervalMs?: number;
  /** A configuration change had not been forwarded to the loops when the previous run continued as new. */
  forwardPending?: boolean;
}

export interface PartnerSupervisorResult {
  partnerId: string;
  stopReason: string;
}

/** Sent by the API after it removed the partner; the supervisor ends every workflow of the partner, then itself. */
export const partnerRemovedSignal = defineSignal<[]>('partnerRemoved');
/**
 * Sent by an activity that found a system refusing the partner's credentials (recorded in
 * PostgreSQL): the supervisor reloads and pauses the loops that need that system.
 */
export const credentialsRejectedSignal = defineSignal<[]>('credentialsRejected');
export const supervisorStateQuery = defineQuery<PartnerSupervisorState>('state');

/** ApplicationFailure type thrown by loadPartnerProfile when the partner row never appears. */
export const PARTNER_NOT_FOUND_FAILURE = 'PartnerNotFound';
