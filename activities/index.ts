import type { Client } from '@temporalio/client';
import { PartnerClientsCache } from '../clients/partner-clients.ts';
import type { Db } from '../db/connection.ts';
import type { Keyring } from '../security/keyring.ts';
import { CapabilityLoops } from '../temporal/capability-loops.ts';
import { ProvisioningWorkflows } from '../temporal/provisioning-workflows.ts';
import { AlertWorkflows } from '../temporal/alert-workflows.ts';
import { createAlertActivities } from './alerts/index.ts';
import { createPartnerLoopActivities } from './partner-loops.ts';
import { createPartnerProfileActivities } from './partner-profile.ts';
import { createProvisioningActivities } from './provisioning/index.ts';

export interface ActivityDeps {
  db: Db;
  /** Opens the partners' stored credentials. */
  keyring: Keyring;
  /** Starts and signals workflows (discovery pokes customer workflows, the supervisor its loops). */
  client: Client;
}

export function createActivities(deps: ActivityDeps) {
  const workflows = new ProvisioningWorkflows(deps.client);
  const clients = new PartnerClientsCache(deps.db, deps.keyring);
  return {
    ...createPartnerProfileActivities(deps.db),
    ...createPartnerLoopActivities(new CapabilityLoops(deps.client)),
    ...createProvisioningActivities({ db: deps.db, clients, workflows }),
    ...createAlertActivities({ db: deps.db, clients, workflows: new AlertWorkflows(deps.client) }),
  };
}
