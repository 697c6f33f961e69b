import { createCustomerActivities } from './customer.ts';
import { createDiscoveryActivities } from './discovery.ts';
import { createLadderActivities } from './ladder.ts';
import type { ProvisioningDeps } from './shared.ts';
import type { ProvisioningActivities } from './types.ts';

/** The activities of customer provisioning (SPEC F2.3, F3): discovery, the customer's tenant, the deprovisioning ladder. */
export function createProvisioningActivities(deps: ProvisioningDeps): ProvisioningActivities {
  return { ...createDiscoveryActivities(deps), ...createCustomerActivities(deps), ...createLadderActivities(deps) };
}
