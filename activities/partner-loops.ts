import type { PsaKind } from '../domain/partner.ts';
import type { ProvisioningWorkflows } from '../temporal/provisioning-workflows.ts';

/** What the supervisor asks of Temporal itself: the partner's loops, started once and kept running. */
export function createPartnerLoopActivities(workflows: ProvisioningWorkflows) {
  return {
    /** Idempotent: a loop already running is left as it is. */
    async ensureProvisioningLoop(input: { partnerId: string; psaKind: PsaKind }): Promise<void> {
      await workflows.ensureProvisioningLoop(input.partnerId, input.psaKind);
    },
  };
}

export type PartnerLoopActivities = ReturnType<typeof createPartnerLoopActivities>;
