// The worker's workflowsPath: every workflow type the engine runs, and nothing else.
export { partnerSupervisor } from './partner-supervisor.ts';
export { customerProvisioning } from './provisioning/customer.ts';
export { provisioningLoop } from './provisioning/loop.ts';
export { agentDeployment } from './agents/deployment.ts';
export { agentsLoop } from './agents/loop.ts';
export { usageLoop } from './usage/loop.ts';
export { alertLifecycle } from './alerts/lifecycle.ts';
export { alertsLoop } from './alerts/loop.ts';
export { alertStorm } from './alerts/storm.ts';
