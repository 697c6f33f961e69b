import { createDeploymentActivities } from './deployment.ts';
import { createScanActivities } from './scan.ts';
import type { AgentDeps } from './shared.ts';
import type { AgentActivities } from './types.ts';

/** The activities of agent management (SPEC F6): the scan and the deployment rounds. */
export function createAgentActivities(deps: AgentDeps): AgentActivities {
  return { ...createScanActivities(deps), ...createDeploymentActivities(deps) };
}
