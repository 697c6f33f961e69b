import type { Client } from '@temporalio/client';
import { PartnerClientsCache, type PartnerClientsOptions } from '../clients/partner-clients.ts';
import type { Db } from '../db/connection.ts';
import type { Keyring } from '../security/keyring.ts';
import { AgentWorkflows } from '../temporal/agent-workflows.ts';
import { CapabilityLoops } from '../temporal/capability-loops.ts';
import { ProvisioningWorkflows } from '../temporal/provisioning-workflows.ts';
import { createPartnerHealthActivities } from './partner-health.ts';
import { createAgentActivities } from './agents/index.ts';
import { AlertWorkflows } from '../temporal/alert-workflows.ts';
import { createAlertActivities } from './alerts/index.ts';
import { createPartnerLoopActivities } from './partner-loops.ts';
import { createPartnerProfileActivities } from './partner-profile.ts';
import { createProvisioningActivities } from './provisioning/index.ts';
import { createUsageActivities } from './usage/index.ts';

export interface ActivityDeps {
  db: Db;
  /** Opens the partners' stored credentials. */
  keyring: Keyring;
  /** Starts and signals workflows (discovery pokes customer workflows, the supervisor its loops). */
  client: Client;
  /** Vendor limits and transport for the partners' clients (tests, benchmarks). */
  partnerClients?: PartnerClientsOptions;
}

export function createActivities(deps: ActivityDeps) {
  const workflows = new ProvisioningWorkflows(deps.client);
  // One cache for every capability's activities: a partner's request budget at each vendor is one.
  const clients = new PartnerClientsCache(deps.db, deps.keyring, deps.partnerClients);
  return {
    ...createPartnerProfileActivities(deps.db),
    ...createPartnerLoopActivities(new CapabilityLoops(deps.client)),
    ...createPartnerHealthActivities(deps.db, clients),
    ...createProvisioningActivities({ db: deps.db, clients, workflows }),
    ...createAgentActivities({ db: deps.db, clients, workflows: new AgentWorkflows(deps.client) }),
    ...createUsageActivities({ db: deps.db, clients }),
    ...createAlertActivities({ db: deps.db, clients, workflows: new AlertWorkflows(deps.client) }),
  };
}
