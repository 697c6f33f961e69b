/**
 * The scan (F6.3, F6.4), every 6 minutes: for each client and location with a policy, computers
 * without an agent go into one new deployment when the policy deploys automatically, and computers
 * with an agent but no plan get the policy's default plan (else the partner's). What the scan did,
 * or why it could not, is written on each policy for the API to show.
 */
import { ApplicationFailure } from '@temporalio/common';
import { findDeployment, insertDeployment, lastDeploymentOfComputers, listAgentPolicies, notePolicyScan, type AgentPolicy, type DeploymentTarget } from '../../db/agents.ts';
import { derivedId, policyFor, REGISTRATION_TIMEOUT_S } from '../../domain/agents.ts';
import { readFleet, type FleetComputer } from '../../rmm/fleet.ts';
import { partnerDefaultPlan, planForTenant } from '../../rmm/plans.ts';
import type { AgentScanOutcome, AgentScanSummary } from '../../workflows/contracts/agents.ts';
import { agentsPartner, agentsScope, NO_RMM_REASON, type AgentDeps } from './shared.ts';

/** How long an automatic deployment waits for offline computers. */
const SCAN_DEPLOYMENT_WINDOW_MS = 24 * 3_600_000;
/** A computer whose automatic install failed is tried again after this long. */
const RETRY_FAILED_AFTER_MS = 24 * 3_600_000;

const placeKey = (policy: Pick<AgentPolicy, 'clientId' | 'locationId'>) => `${policy.clientId}/${policy.locationId ?? '*'}`;

/** What the scan did for one policy, for its note. */
interface PolicyTally {
  policy: AgentPolicy;
  computers: number;
  queued: number;
  plansApplied: number;
  problems: Set<string>;
}

function noteOf(tally: PolicyTally, deploymentId: string | null): string {
  const parts = [`${tally.computers} computer${tally.computers === 1 ? '' : 's'}`];
  if (tally.queued) parts.push(`${tally.queued} queued for install in deployment ${deploymentId}`);
  if (tally.plansApplied) parts.push(`default plan applied to ${tally.plansApplied}`);
  return [parts.join('; '), ...tally.problems].join('. ');
}

export function createScanActivities(deps: AgentDeps) {
  const { db } = deps;
  const inScope = agentsScope(db);

  return {
    scanAgents: ({ partnerId, passId }: { partnerId: string; passId: string }): Promise<AgentScanOutcome> =>
      inScope(partnerId, async (context): Promise<AgentScanOutcome> => {
        const partner = await agentsPartner(deps, partnerId);
        if (partner.status === 'off') return partner;
        if (partner.status === 'no-rmm') throw ApplicationFailure.nonRetryable(NO_RMM_REASON, 'agents.no-rmm');
        const { automate, clients } = partner;
        const { acronis } = clients;
        const policies = await listAgentPolicies(db, partnerId);
        const summary: AgentScanSummary = { policies: policies.length, computers: 0, queued: 0, deploymentId: null, plansApplied: 0, skipped: 0 };
        if (policies.length === 0) return { status: 'done', summary };

        const fleet = await readFleet({ db, partnerId, automate, acronis }, { clientIds: [...new Set(policies.map((policy) => policy.clientId))] }, { plans: 'all', inventory: false });
        const fallbackPlan = await partnerDefaultPlan(db, partnerId);
        const lastDeployments = await lastDeploymentOfComputers(db, partnerId);
        const tallies = new Map(policies.map((policy) => [placeKey(policy), { policy, computers: 0, queued: 0, plansApplied: 0, problems: new Set<string>() } as PolicyTally]));
        const now = Date.now();

        const toDeploy: { computer: FleetComputer; tally: PolicyTally }[] = [];
        const toPlan = new Map<string, { tenantId: string; planId: string; computers: { computer: FleetComputer; tally: PolicyTally }[] }>();
        for (const computer of fleet.computers) {
          const policy = policyFor(policies, computer.clientId, computer.locationId);
          if (!policy) continue;
          const tally = tallies.get(placeKey(policy))!;
          tally.computers++;
          summary.computers++;
          if (!computer.tenant.tenantId) {
            tally.problems.add(`Automate client ${computer.clientId} has no Acronis tenant: ${computer.tenant.reason}`);
            continue;
          }
          if (!computer.agent) {
            if (!policy.autoDeploy) continue;
            const last = lastDeployments.get(computer.computerId);
            // In a deployment now, removed on purpose, or failed lately: not this scan's to deploy.
            if (last && (last.status === 'pending' || last.status === 'running' || last.action === 'uninstall')) continue;
            if (last?.status === 'failed' && now - last.at.getTime() < RETRY_FAILED_AFTER_MS) {
              tally.problems.add(`the automatic install on ${computer.name} failed at ${last.at.toISOString()}; it is tried again a day later`);
              continue;
            }
            toDeploy.push({ computer, tally });
            continue;
          }
          const planId = policy.defaultPlanId ?? fallbackPlan;
          if (computer.plans.length > 0 || !planId || !computer.machineId) continue;
          const key = `${computer.tenant.tenantId}|${planId}`;
          const group = toPlan.get(key) ?? { tenantId: computer.tenant.tenantId, planId, computers: [] };
          group.computers.push({ computer, tally });
          toPlan.set(key, group);
        }

        // One deployment per scan, its id derived from the scan's: a retried scan finds the one it made
        // (whose computers it now skips as in a deployment) and makes sure its workflow runs.
        const deploymentId = derivedId(passId, partnerId);
        const earlier = await findDeployment(db, partnerId, deploymentId);
        if (!earlier && toDeploy.length > 0) {
          await context.assertOn();
          const targets: DeploymentTarget[] = toDeploy.map(({ computer, tally }) => ({
            computerId: computer.computerId,
            clientId: computer.clientId,
            locationId: computer.locationId,
            name: computer.name,
            tenantId: computer.tenant.tenantId!,
            withBackupMonitor: tally.policy.withBackupMonitor,
          }));
          const deployment = { id: deploymentId, partnerId, action: 'install' as const, trigger: 'scan' as const, windowEndsAt: new Date(now + SCAN_DEPLOYMENT_WINDOW_MS), registrationTimeoutSeconds: REGISTRATION_TIMEOUT_S, requestedBy: 'agents scan' };
          await db.transaction().execute((tx) => insertDeployment(tx, deployment, targets));
          for (const { tally } of toDeploy) tally.queued++;
          summary.queued = toDeploy.length;
        }
        if (earlier || toDeploy.length > 0) {
          await context.assertOn();
          await deps.workflows.startDeployment({ partnerId, psaKind: clients.psaKind, partnerName: clients.partnerName, deploymentId, what: 'automatic agent install on new computers' });
          summary.deploymentId = deploymentId;
        }

        for (const group of toPlan.values()) {
          const plan = await planForTenant(db, acronis, partnerId, group.planId, group.tenantId);
          if (plan.status === 'unknown') {
            for (const { tally } of group.computers) tally.problems.add(`default plan ${group.planId} is neither imported nor a plan of tenant ${group.tenantId}`);
            continue;
          }
          const issues = await acronis.applyPlan(plan.planId, group.computers.map(({ computer }) => computer.machineId!));
          if (issues.length > 0) {
            for (const { tally } of group.computers) tally.problems.add(`Acronis did not apply "${plan.name}": ${issues.map((issue) => issue.message ?? issue.type).join('; ')}`);
            continue;
          }
          for (const { tally } of group.computers) tally.plansApplied++;
          summary.plansApplied += group.computers.length;
        }

        for (const tally of tallies.values()) {
          if (tally.problems.size > 0) summary.skipped++;
          await notePolicyScan(db, partnerId, tally.policy, noteOf(tally, summary.deploymentId));
        }
        return { status: 'done', summary };
      }),
  };
}
