// The worker's workflowsPath: every workflow type the engine runs, and nothing else.
export { partnerSupervisor } from './partner-supervisor.ts';
