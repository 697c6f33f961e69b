import { Context } from '@temporalio/activity';
import { runInCallScope } from '../clients/call-scope.ts';
import type { PartnerClientsCache } from '../clients/partner-clients.ts';
import type { Db } from '../db/connection.ts';
import { rejectedSystems } from '../db/partner-health.ts';
import { HealthObservations } from '../domain/health.ts';
import { reportHealth } from './capability-scope.ts';

/** What the supervisor asks while a system refuses the partner's credentials. */
export function createPartnerHealthActivities(db: Db, clients: PartnerClientsCache) {
  return {
    /**
     * One authenticated call to each system whose credentials were refused, with the credentials as
     * stored now; recorded as any activity's calls are, so an accepted answer ends the pause.
     */
    async probeRejectedCredentials({ partnerId }: { partnerId: string }): Promise<void> {
      const systems = await rejectedSystems(db, partnerId);
      if (systems.length === 0) return;
      const partner = await clients.forPartner(partnerId);
      const observations = new HealthObservations();
      const probes = {
        acronis: async () => void (await partner.acronis.getApiClient()),
        psa: () => partner.psa.checkAccess(),
        rmm: async () => {
          for await (const _ of partner.rmm?.clients({ pageSize: 1 }) ?? []) break;
        },
      };
      await runInCallScope({ signal: Context.current().cancellationSignal, observe: (outcome) => observations.observe(outcome) }, async () => {
        // A refusal is the answer being probed for, not a failure of the probe.
        await Promise.allSettled(systems.map((system) => probes[system]()));
      });
      await reportHealth(db, partnerId, observations);
    },
  };
}

export type PartnerHealthActivities = ReturnType<typeof createPartnerHealthActivities>;
