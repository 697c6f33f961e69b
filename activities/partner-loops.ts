import { heartbeat } from '@temporalio/activity';
import type { PsaKind } from '../domain/partner.ts';
import type { CapabilityLoops, LoopOwner } from '../temporal/capability-loops.ts';
import type { CapabilityName } from '../workflows/contracts/loops.ts';

export interface LoopReconciliation {
  owner: LoopOwner;
  /** Capabilities that are on: their loops run (started if not). */
  run: CapabilityName[];
  /** Capabilities switched off since the last reconciliation: their loops and everything they started end. */
  end: CapabilityName[];
  /** The settings changed since the running loops last heard: they are told to re-plan. */
  configurationChanged: boolean;
  /** Capabilities that stay on but pause: only their loops end (what the loops started keeps its timers), until run again. */
  pause?: CapabilityName[];
  /** Of `run`, the loops that were paused: they start with a full pass ("sync now"), so what they started catches up at once. */
  resume?: CapabilityName[];
}

/** What the supervisor asks of Temporal itself: the partner's loops, started, told and ended. */
export function createPartnerLoopActivities(loops: CapabilityLoops) {
  return {
    /** Idempotent: loops already running stay as they are (and hear of the change); ended ones stay ended. */
    async reconcileLoops(input: LoopReconciliation): Promise<void> {
      for (const capability of input.run) {
        if (input.resume?.includes(capability)) await loops.syncNow(input.owner, capability);
        else await loops.ensure(input.owner, capability, { configurationChanged: input.configurationChanged });
      }
      for (const capability of input.end) await loops.end(input.owner.partnerId, capability, `${capability} was switched off`, () => heartbeat());
      for (const capability of input.pause ?? []) await loops.pause(input.owner.partnerId, capability, () => heartbeat());
    },

    /** Ends every workflow of the removed partner but the supervisor; the number ended. */
    async endPartnerWorkflows(input: { partnerId: string }): Promise<number> {
      return loops.endPartner(input.partnerId, 'the partner was removed', () => heartbeat());
    },

    /** Supervisors recorded before the loop registry may still schedule this on replay; retire with the `start-provisioning-loop` patch. */
    async ensureProvisioningLoop(input: { partnerId: string; psaKind: PsaKind }): Promise<void> {
      await loops.ensure({ partnerId: input.partnerId, psaKind: input.psaKind }, 'provisioning', { configurationChanged: false });
    },
  };
}

export type PartnerLoopActivities = ReturnType<typeof createPartnerLoopActivities>;
