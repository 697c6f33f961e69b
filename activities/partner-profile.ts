import { setTimeout as delay } from 'node:timers/promises';
import { activityInfo } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Db } from '../db/connection.ts';
import { rejectedSystems } from '../db/partner-health.ts';
import { findPartner, partnerLifecycle } from '../db/partners.ts';
import { readSettings } from '../db/settings.ts';
import { capabilitiesOf } from '../domain/settings.ts';
import { PARTNER_NOT_FOUND_FAILURE, type PartnerProfileLoad } from '../workflows/contracts/partner.ts';

/** With the supervisor's backoff (1 s doubling), about half a minute for a commit to become visible. */
const NOT_FOUND_ATTEMPTS = 6;
/** The usual gap between the workflow start and the API's commit is milliseconds; look again within one attempt. */
const COMMIT_WAIT_MS = 2_000;
const COMMIT_POLL_MS = 50;

async function lifecycleOnceCommitted(db: Db, partnerId: string) {
  const deadline = Date.now() + COMMIT_WAIT_MS;
  for (;;) {
    const lifecycle = await partnerLifecycle(db, partnerId);
    if (lifecycle !== 'unknown' || Date.now() >= deadline) return lifecycle;
    await delay(COMMIT_POLL_MS);
  }
}

export function createPartnerProfileActivities(db: Db) {
  return {
    /**
     * The partner as configured now. A missing row is retried a few times before it is final: the
     * API starts the supervisor inside the transaction that inserts the row, so the first load can
     * run a moment before that commit is visible.
     */
    async loadPartnerProfile(partnerId: string): Promise<PartnerProfileLoad> {
      const lifecycle = await lifecycleOnceCommitted(db, partnerId);
      if (lifecycle === 'removed') return { status: 'removed' };
      const partner = lifecycle === 'live' ? await findPartner(db, partnerId) : undefined;
      const stored = partner ? await readSettings(db, partnerId) : undefined;
      if (!partner || !stored) {
        throw ApplicationFailure.create({
          type: PARTNER_NOT_FOUND_FAILURE,
          message: `partner ${partnerId} is not in the database`,
          nonRetryable: activityInfo().attempt >= NOT_FOUND_ATTEMPTS,
        });
      }
      return {
        status: 'live',
        profile: {
          psaKind: partner.psaKind,
          rmmKind: partner.rmmKind,
          timezone: partner.timezone,
          capabilities: capabilitiesOf(stored.settings),
          settingsVersion: stored.version,
          credentialsRejected: await rejectedSystems(db, partnerId),
        },
      };
    },
  };
}

export type PartnerProfileActivities = ReturnType<typeof createPartnerProfileActivities>;
