import type { AgentScanOutcome, DeploymentProgress } from '../../workflows/contracts/agents.ts';

export interface DeploymentRef {
  partnerId: string;
  deploymentId: string;
}

/** The activities the agents workflows call; implemented in activities/agents/. */
export interface AgentActivities {
  /**
   * One scan (F6.3, F6.4): computers of the clients and locations with a policy; those without an
   * agent go into one new deployment (auto-deploy), those with an agent but no plan get the default
   * plan. `passId` is the workflow's id for this scan, so a retried scan starts no second deployment.
   */
  scanAgents(input: { partnerId: string; passId: string }): Promise<AgentScanOutcome>;
  /**
   * One round of a deployment (F6.2): reads what Automate and Acronis show of its computers, records
   * each outcome, sends the scripts (or update requests) that are due, exactly once per computer.
   * `at` (epoch ms, the workflow's time) is the round's "now" for the window and the deadlines.
   */
  advanceDeployment(deployment: DeploymentRef & { at?: number }): Promise<DeploymentProgress>;
  /** Ends the deployment: computers still without an outcome fail with the reason. */
  endDeployment(deployment: DeploymentRef & { reason: string }): Promise<void>;
}
