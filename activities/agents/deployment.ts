/**
 * Deployments (F6.2), one round at a time. A round reads what Automate (online, script runs) and
 * Acronis (agents) show of the deployment's open computers, records what each one's next step
 * decides (domain/agents.ts), and sends what is due: registration tokens and the plugin's scripts
 * through Automate, or agent updates through Acronis. Before a script is sent the computer is
 * claimed in PostgreSQL, and only where no claim exists, so no computer is scripted twice in one
 * deployment whatever fails or restarts; a claim whose send has no known outcome is checked against
 * Automate's runs before anything is sent again.
 */
import { activityInfo } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { AcronisClient } from '../../clients/acronis/client.ts';
import type { ConnectWiseAutomateClient } from '../../clients/connectwise-automate/client.ts';
import { VendorApiError } from '../../clients/http.ts';
import {
  claimScripts,
  countDeploymentComputers,
  findDeployment,
  finishDeployment,
  listAgentPolicies,
  listDeploymentComputers,
  markSent,
  releaseClaims,
  saveTenantNumber,
  updateDeploymentComputers,
  type ComputerUpdate,
  type Deployment,
  type DeploymentComputer,
} from '../../db/agents.ts';
import { nextComputerStep, policyFor, type ComputerObservation, type ComputerStep } from '../../domain/agents.ts';
import { mapConcurrently } from '../../api/vendor-lookups.ts';
import { agentOfComputer, listComputers, readTenantAgents } from '../../rmm/fleet.ts';
import { partnerDefaultPlan, planForTenant } from '../../rmm/plans.ts';
import { batchOutcomes, findPluginScripts, PLUGIN_SCRIPT_NAMES, REGISTRATION_TOKEN_PARAMETER, scriptFailures, scriptQueuedSince, type PluginScript } from '../../rmm/plugin-scripts.ts';
import { DEPLOYMENT_NOT_FOUND_FAILURE, type DeploymentProgress } from '../../workflows/contracts/agents.ts';
import { agentsPartnerForStep, agentsScope, NO_RMM_REASON, type AgentDeps } from './shared.ts';
import type { DeploymentRef } from './types.ts';

const TENANT_CONCURRENCY = 8;
/** With the workflow's backoff (5 s doubling), a few minutes for the API's commit to become visible. */
const NOT_FOUND_ATTEMPTS = 5;
/** Agent updates Acronis takes in one request. */
const AGENTS_PER_UPDATE = 100;
/** A registration token outlives the deployment's window by this much, so a script queued at its end still registers. */
const TOKEN_GRACE_S = 3_600;
/** Acronis caps a registration token's life at one year. */
const MAX_TOKEN_LIFETIME_S = 365 * 86_400;

/** `urn:acronis.com::policy_management:{tenant}|{plan}:apply_revoke`: the agent registers with the plan applied. */
const planScope = (tenantId: string, planId: string) => `urn:acronis.com::policy_management:${tenantId}|${planId}:apply_revoke`;

const isOpen = (computer: DeploymentComputer) => computer.status === 'pending' || computer.status === 'running';

function recordOf(computer: DeploymentComputer, step: ComputerStep): ComputerUpdate | undefined {
  const changed = (update: ComputerUpdate) =>
    update.status !== computer.status || update.reason !== computer.reason || (update.agentId !== undefined && update.agentId !== computer.agentId) ? update : undefined;
  switch (step.kind) {
    case 'succeed':
      return { computerId: computer.computerId, status: 'succeeded', reason: step.reason, agentId: step.agentId };
    case 'fail':
      return { computerId: computer.computerId, status: 'failed', reason: step.reason };
    case 'wait':
      return changed({ computerId: computer.computerId, status: step.status, reason: step.reason });
    default:
      return undefined;
  }
}

export function createDeploymentActivities(deps: AgentDeps) {
  const { db } = deps;
  const inScope = agentsScope(db);

  /** The plan each computer's agent should register with: its policy's default plan, else the partner's. */
  async function defaultPlans(partnerId: string, computers: readonly DeploymentComputer[]): Promise<Map<number, string | null>> {
    const policies = await listAgentPolicies(db, partnerId);
    const fallback = await partnerDefaultPlan(db, partnerId);
    return new Map(computers.map((computer) => [computer.computerId, policyFor(policies, computer.clientId, computer.locationId)?.defaultPlanId ?? fallback]));
  }

  /** A token for the tenant; with the default plan's scope when the computers have one, so the agent registers with it applied. */
  async function registrationToken(round: Round, tenantId: string, planId: string | null): Promise<string> {
    const { deployment, acronis, partnerId } = round;
    const scopes: string[] = [];
    if (planId) {
      const plan = await planForTenant(db, acronis, partnerId, planId, tenantId);
      if (plan.status === 'ok') scopes.push(planScope(tenantId, plan.planId));
    }
    const lifetime = Math.min(MAX_TOKEN_LIFETIME_S, Math.ceil((deployment.windowEndsAt.getTime() - Date.now()) / 1000) + deployment.registrationTimeoutSeconds + TOKEN_GRACE_S);
    const token = await acronis.createRegistrationToken(tenantId, { expiresInSeconds: lifetime, scopes });
    await saveTenantNumber(db, partnerId, tenantId, token.tenant_id);
    return token.token;
  }

  /** Installs and uninstalls: one token per tenant (and default plan), one batch per script; each computer claimed first. */
  async function sendScripts(round: Round, due: readonly DeploymentComputer[]): Promise<void> {
    const { deployment, automate, partnerId } = round;
    const plans = deployment.action === 'install' ? await defaultPlans(partnerId, due) : new Map<number, string | null>();
    const groups = new Map<string, { computers: DeploymentComputer[]; script: PluginScript; tenantId: string; planId: string | null }>();
    for (const computer of due) {
      const script: PluginScript = deployment.action === 'uninstall' ? 'uninstall' : computer.withBackupMonitor ? 'installWithBackupMonitor' : 'install';
      const planId = plans.get(computer.computerId) ?? null;
      const key = deployment.action === 'install' ? `${script}|${computer.tenantId}|${planId}` : script;
      const group = groups.get(key) ?? { computers: [], script, tenantId: computer.tenantId, planId };
      group.computers.push(computer);
      groups.set(key, group);
    }
    for (const group of groups.values()) {
      const scriptId = round.scripts[group.script];
      if (scriptId === undefined) {
        const reason = `Automate has no script "${PLUGIN_SCRIPT_NAMES[group.script]}": install the Acronis plugin for Automate`;
        await updateDeploymentComputers(db, deployment.id, group.computers.map((computer) => ({ computerId: computer.computerId, status: 'failed', reason })));
        continue;
      }
      const parameters: Record<string, string> = {};
      if (deployment.action === 'install') {
        try {
          parameters[REGISTRATION_TOKEN_PARAMETER] = await registrationToken(round, group.tenantId, group.planId);
        } catch (error) {
          // The tenant refuses tokens (disabled, deleted, not the partner's): its computers fail, the others go on.
          if (!(error instanceof VendorApiError) || error.retryable) throw error;
          const reason = `Acronis refused a registration token for tenant ${group.tenantId}: ${error.message}`;
          await updateDeploymentComputers(db, deployment.id, group.computers.map((computer) => ({ computerId: computer.computerId, status: 'failed', reason })));
          continue;
        }
      }
      await round.assertOn();
      const claimed = await claimScripts(db, deployment.id, group.computers.map((computer) => computer.computerId));
      if (claimed.length === 0) continue;
      let outcomes;
      try {
        // Offline computers are skipped, not queued: they are scripted once they come online, within the window.
        outcomes = batchOutcomes(await automate.executeScript(scriptId, claimed, parameters, { skipOffline: true }), claimed);
      } catch (error) {
        // A refusal means nothing ran; anything else leaves the claims for the next attempt to check.
        if (!(error instanceof VendorApiError) || error.retryable) throw error;
        await updateDeploymentComputers(db, deployment.id, claimed.map((computerId) => ({ computerId, status: 'failed', reason: `Automate refused the script: ${error.message}` })));
        continue;
      }
      const waitUntil = new Date(round.now.getTime() + deployment.registrationTimeoutSeconds * 1000);
      const queued = claimed.filter((computerId) => outcomes.get(computerId)?.kind === 'queued');
      await markSent(db, deployment.id, queued, waitUntil, deployment.action === 'install' ? 'waiting for the agent to register in Acronis' : 'waiting for the agent to leave Acronis');
      const offline = claimed.filter((computerId) => outcomes.get(computerId)?.kind === 'offline');
      await releaseClaims(db, deployment.id, offline, 'offline: Automate skipped the script; it runs when the computer comes online');
      const refused: ComputerUpdate[] = claimed.flatMap((computerId) => {
        const outcome = outcomes.get(computerId);
        return outcome?.kind === 'refused' ? [{ computerId, status: 'failed' as const, reason: `Automate refused the script: ${outcome.reason}` }] : [];
      });
      await updateDeploymentComputers(db, deployment.id, refused);
    }
  }

  /** Updates go through Acronis's Agent Manager, which takes the request again harmlessly. */
  async function requestUpdates(round: Round, due: readonly { computer: DeploymentComputer; agentId: string }[]): Promise<void> {
    const { deployment, acronis } = round;
    for (let start = 0; start < due.length; start += AGENTS_PER_UPDATE) {
      const batch = due.slice(start, start + AGENTS_PER_UPDATE);
      await round.assertOn();
      const claimed = new Set(await claimScripts(db, deployment.id, batch.map(({ computer }) => computer.computerId)));
      // Claimed by an attempt that did not record the send: asking again is harmless for an update.
      const ids = batch.filter(({ computer }) => claimed.has(computer.computerId) || computer.scriptClaimedAt !== null);
      if (ids.length === 0) continue;
      await acronis.forceAgentUpdate(ids.map(({ agentId }) => agentId));
      const waitUntil = new Date(round.now.getTime() + deployment.registrationTimeoutSeconds * 1000);
      await markSent(db, deployment.id, ids.map(({ computer }) => computer.computerId), waitUntil, 'waiting for the agent to report the new version');
    }
  }

  interface Round {
    partnerId: string;
    now: Date;
    deployment: Deployment;
    automate: ConnectWiseAutomateClient;
    acronis: AcronisClient;
    scripts: Partial<Record<PluginScript, number>>;
    assertOn(): Promise<void>;
  }

  async function progress(deployment: Deployment, awaitingOutcome: number): Promise<DeploymentProgress> {
    const counts = await countDeploymentComputers(db, deployment.id);
    const windowEndsAt = deployment.windowEndsAt.toISOString();
    if (counts.pending + counts.running === 0) {
      await finishDeployment(db, deployment.id, null);
      return { status: 'done', counts, awaitingOutcome: 0, windowEndsAt };
    }
    return { status: 'running', counts, awaitingOutcome, windowEndsAt };
  }

  return {
    advanceDeployment: ({ partnerId, deploymentId, at }: DeploymentRef & { at?: number }): Promise<DeploymentProgress> =>
      inScope(partnerId, async (context): Promise<DeploymentProgress> => {
        const deployment = await findDeployment(db, partnerId, deploymentId);
        if (!deployment) {
          // The API starts the workflow inside the transaction that records the deployment: the first round may come before the commit.
          throw ApplicationFailure.create({ type: DEPLOYMENT_NOT_FOUND_FAILURE, message: `deployment ${deploymentId} of partner ${partnerId} is not in PostgreSQL`, nonRetryable: activityInfo().attempt >= NOT_FOUND_ATTEMPTS });
        }
        if (deployment.status === 'done') return { status: 'done', counts: await countDeploymentComputers(db, deploymentId), awaitingOutcome: 0, windowEndsAt: deployment.windowEndsAt.toISOString() };
        const partner = await agentsPartnerForStep(deps, partnerId);
        if (partner.status === 'no-rmm') {
          await finishDeployment(db, deploymentId, NO_RMM_REASON);
          return progress(deployment, 0);
        }
        const { automate } = partner;
        const { acronis } = partner.clients;
        const open = (await listDeploymentComputers(db, deploymentId)).filter(isOpen);
        if (open.length === 0) return progress(deployment, 0);

        // The workflow's time: deadlines and the window follow the workflow's clock, which tests can skip ahead.
        const now = new Date(at ?? Date.now());
        const timeoutMs = deployment.registrationTimeoutSeconds * 1000;
        const inAutomate = new Map((await listComputers(automate, { computerIds: open.map((computer) => computer.computerId) })).map((computer) => [computer.Id, computer]));
        const tenantIds = [...new Set(open.map((computer) => computer.tenantId))];
        const agentLists = await mapConcurrently(tenantIds, TENANT_CONCURRENCY, (tenantId) => readTenantAgents({ db, partnerId, acronis }, tenantId));
        const agentsByTenant = new Map(tenantIds.map((tenantId, index) => [tenantId, agentLists[index]!]));
        const agentOf = (computer: DeploymentComputer) => agentOfComputer(agentsByTenant.get(computer.tenantId) ?? [], computer.name);
        const scripts = deployment.action === 'update' ? {} : await findPluginScripts(automate);
        const scriptIds = Object.values(scripts);

        // Failures are read only for scripts that went out and whose outcome Acronis does not show yet.
        const outcomeShown = (computer: DeploymentComputer) => (deployment.action === 'install' ? agentOf(computer) !== undefined : agentOf(computer) === undefined);
        const undecided = new Map(
          open
            .filter((computer) => computer.scriptSentAt !== null && deployment.action !== 'update' && !outcomeShown(computer))
            .map((computer) => [computer.computerId, computer.scriptSentAt!]),
        );
        const failures = await scriptFailures(automate, undecided, scriptIds);

        const observe = (computer: DeploymentComputer): ComputerObservation => {
          const agent = agentOf(computer);
          const view = agent ? { id: agent.id, upToDate: agent.up_to_date ?? true, online: agent.online } : null;
          const online = deployment.action === 'update' ? (view?.online ?? false) : inAutomate.get(computer.computerId)?.Status === 'Online';
          return { inAutomate: inAutomate.has(computer.computerId), online, agent: view, scriptFailure: failures.get(computer.computerId) ?? null };
        };
        const steps = open.map((computer) => ({
          computer,
          step: nextComputerStep(deployment.action, { claimedAt: computer.scriptClaimedAt, sentAt: computer.scriptSentAt, waitUntil: computer.waitUntil }, observe(computer), now, deployment.windowEndsAt, timeoutMs),
        }));
        await updateDeploymentComputers(db, deploymentId, steps.flatMap(({ computer, step }) => recordOf(computer, step) ?? []));

        const round: Round = { partnerId, now, deployment, automate, acronis, scripts, assertOn: context.assertOn };
        const due = steps.filter(({ step }) => step.kind === 'act').map(({ computer }) => computer);
        // A claim whose send has no known outcome: sent if Automate has the run, else released and sent now.
        for (const { computer } of steps.filter(({ step }) => step.kind === 'verify-claim')) {
          if (await scriptQueuedSince(automate, computer.computerId, scriptIds, computer.scriptClaimedAt!)) {
            await markSent(db, deploymentId, [computer.computerId], new Date(now.getTime() + timeoutMs), 'the script reached Automate; waiting for its outcome in Acronis');
            continue;
          }
          await releaseClaims(db, deploymentId, [computer.computerId], null);
          if (inAutomate.get(computer.computerId)?.Status === 'Online') due.push({ ...computer, scriptClaimedAt: null });
        }
        if (deployment.action === 'update') {
          await requestUpdates(round, due.flatMap((computer) => {
            const agent = agentOf(computer);
            return agent ? [{ computer, agentId: agent.id }] : [];
          }));
        } else {
          await sendScripts(round, due);
        }
        const awaiting = steps.filter(({ step }) => step.kind === 'wait' && step.status === 'running').length + due.length;
        return progress(deployment, awaiting);
      }),

    endDeployment: async ({ deploymentId, reason }: DeploymentRef & { reason: string }): Promise<void> => {
      // The record of the end is written even with agent management off: it is what the API shows.
      await finishDeployment(db, deploymentId, `the deployment ended before this computer's outcome was known: ${reason}`);
    },
  };
}
