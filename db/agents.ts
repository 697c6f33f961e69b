/** Records of agent management (SPEC F6): client links, policies, imported plans, deployments and their computers. */
import { sql, type Transaction } from 'kysely';
import type { Db } from './connection.ts';
import type { DeploymentCounts } from '../workflows/contracts/agents.ts';
import type { Database, DeploymentAction, DeploymentComputerStatus, DeploymentTrigger } from './schema.ts';

type Queryable = Db | Transaction<Database>;

/**
 * Vendor text (computer names, script output, plan settings) on its way into PostgreSQL, whose text
 * and jsonb refuse the NUL character.
 */
const storable = (text: string): string => text.replaceAll('\u0000', '');
const storableJson = (value: unknown): string => JSON.stringify(value, (_key, item: unknown) => (typeof item === 'string' ? storable(item) : item));

// --- links of Automate clients to tenants (F6.8) ---------------------------------------------------

export interface ClientLink {
  clientId: number;
  tenantId: string;
}

export async function listClientLinks(db: Queryable, partnerId: string): Promise<ClientLink[]> {
  return db.selectFrom('rmm_client_links').select(['automate_client_id as clientId', 'acronis_tenant_id as tenantId']).where('partner_id', '=', partnerId).execute();
}

export async function saveClientLink(db: Queryable, partnerId: string, link: ClientLink): Promise<void> {
  await db
    .insertInto('rmm_client_links')
    .values({ partner_id: partnerId, automate_client_id: link.clientId, acronis_tenant_id: link.tenantId })
    .onConflict((conflict) => conflict.columns(['partner_id', 'automate_client_id']).doUpdateSet({ acronis_tenant_id: link.tenantId }))
    .execute();
}

// --- policies (F6.3, F6.4) -----------------------------------------------------------------------

export interface AgentPolicy {
  clientId: number;
  /** null: the whole client. */
  locationId: number | null;
  autoDeploy: boolean;
  withBackupMonitor: boolean;
  defaultPlanId: string | null;
}

export interface StoredAgentPolicy extends AgentPolicy {
  lastScanAt: Date | null;
  lastScanNote: string | null;
}

export async function listAgentPolicies(db: Queryable, partnerId: string): Promise<StoredAgentPolicy[]> {
  return db
    .selectFrom('agent_policies')
    .select([
      'automate_client_id as clientId',
      'automate_location_id as locationId',
      'auto_deploy as autoDeploy',
      'with_backup_monitor as withBackupMonitor',
      'default_plan_id as defaultPlanId',
      'last_scan_at as lastScanAt',
      'last_scan_note as lastScanNote',
    ])
    .where('partner_id', '=', partnerId)
    .orderBy('automate_client_id')
    .orderBy(sql`coalesce(automate_location_id, 0)`)
    .execute();
}

/** The whole set at once, as the API's PUT gives it. */
export async function replaceAgentPolicies(db: Queryable, partnerId: string, policies: readonly AgentPolicy[]): Promise<void> {
  await db.deleteFrom('agent_policies').where('partner_id', '=', partnerId).execute();
  if (policies.length === 0) return;
  await db
    .insertInto('agent_policies')
    .values(
      policies.map((policy) => ({
        partner_id: partnerId,
        automate_client_id: policy.clientId,
        automate_location_id: policy.locationId,
        auto_deploy: policy.autoDeploy,
        with_backup_monitor: policy.withBackupMonitor,
        default_plan_id: policy.defaultPlanId,
      })),
    )
    .execute();
}

export async function notePolicyScan(db: Queryable, partnerId: string, policy: Pick<AgentPolicy, 'clientId' | 'locationId'>, note: string): Promise<void> {
  await db
    .updateTable('agent_policies')
    .set({ last_scan_at: new Date(), last_scan_note: storable(note) })
    .where('partner_id', '=', partnerId)
    .where('automate_client_id', '=', policy.clientId)
    .where((eb) => (policy.locationId === null ? eb('automate_location_id', 'is', null) : eb('automate_location_id', '=', policy.locationId)))
    .execute();
}

// --- imported plans (F6.7) -----------------------------------------------------------------------

export interface ImportedPlan {
  planId: string;
  sourceTenantId: string;
  name: string;
  policies: Record<string, unknown>[];
  isDefault: boolean;
  importedAt: Date;
}

const importedPlanColumns = ['plan_id as planId', 'source_tenant_id as sourceTenantId', 'name', 'policies', 'is_default as isDefault', 'imported_at as importedAt'] as const;

export async function listImportedPlans(db: Queryable, partnerId: string): Promise<ImportedPlan[]> {
  return db.selectFrom('imported_plans').select(importedPlanColumns).where('partner_id', '=', partnerId).orderBy('imported_at').execute();
}

/** Imports the plan, or refreshes an earlier import of it; `makeDefault` makes it the partner's one default. */
export async function saveImportedPlan(db: Queryable, partnerId: string, plan: Omit<ImportedPlan, 'isDefault' | 'importedAt'>, makeDefault: boolean): Promise<void> {
  if (makeDefault) await db.updateTable('imported_plans').set({ is_default: false }).where('partner_id', '=', partnerId).where('is_default', '=', true).execute();
  const policies = storableJson(plan.policies);
  const name = storable(plan.name);
  await db
    .insertInto('imported_plans')
    .values({ partner_id: partnerId, plan_id: plan.planId, source_tenant_id: plan.sourceTenantId, name, policies, is_default: makeDefault })
    .onConflict((conflict) =>
      conflict.columns(['partner_id', 'plan_id']).doUpdateSet((eb) => ({
        source_tenant_id: plan.sourceTenantId,
        name,
        policies,
        is_default: makeDefault ? true : eb.ref('imported_plans.is_default'),
        imported_at: new Date(),
      })),
    )
    .execute();
}

// --- numeric tenant ids --------------------------------------------------------------------------

export async function readTenantNumbers(db: Queryable, partnerId: string, tenantIds: readonly string[]): Promise<Map<string, string>> {
  if (tenantIds.length === 0) return new Map();
  const rows = await db.selectFrom('acronis_tenant_numbers').select(['tenant_id', 'numeric_id']).where('partner_id', '=', partnerId).where('tenant_id', 'in', [...tenantIds]).execute();
  return new Map(rows.map((row) => [row.tenant_id, row.numeric_id]));
}

export async function saveTenantNumber(db: Queryable, partnerId: string, tenantId: string, numericId: string): Promise<void> {
  await db
    .insertInto('acronis_tenant_numbers')
    .values({ partner_id: partnerId, tenant_id: tenantId, numeric_id: numericId })
    .onConflict((conflict) => conflict.columns(['partner_id', 'tenant_id']).doNothing())
    .execute();
}

// --- deployments (F6.2) --------------------------------------------------------------------------

export interface Deployment {
  id: string;
  partnerId: string;
  action: DeploymentAction;
  trigger: DeploymentTrigger;
  status: 'running' | 'done';
  windowEndsAt: Date;
  registrationTimeoutSeconds: number;
  requestedBy: string;
  createdAt: Date;
  finishedAt: Date | null;
  endReason: string | null;
}

export interface DeploymentTarget {
  computerId: number;
  clientId: number;
  locationId: number;
  name: string;
  tenantId: string;
  withBackupMonitor: boolean;
}

export interface DeploymentComputer extends DeploymentTarget {
  status: DeploymentComputerStatus;
  agentId: string | null;
  reason: string | null;
  scriptClaimedAt: Date | null;
  scriptSentAt: Date | null;
  scriptsSent: number;
  waitUntil: Date | null;
  finishedAt: Date | null;
}

export type NewDeployment = Omit<Deployment, 'status' | 'createdAt' | 'finishedAt' | 'endReason'>;

const deploymentColumns = [
  'id',
  'partner_id as partnerId',
  'action',
  'trigger',
  'status',
  'window_ends_at as windowEndsAt',
  'registration_timeout_seconds as registrationTimeoutSeconds',
  'requested_by as requestedBy',
  'created_at as createdAt',
  'finished_at as finishedAt',
  'end_reason as endReason',
] as const;

const computerColumns = [
  'computer_id as computerId',
  'automate_client_id as clientId',
  'automate_location_id as locationId',
  'computer_name as name',
  'tenant_id as tenantId',
  'with_backup_monitor as withBackupMonitor',
  'status',
  'agent_id as agentId',
  'reason',
  'script_claimed_at as scriptClaimedAt',
  'script_sent_at as scriptSentAt',
  'scripts_sent as scriptsSent',
  'wait_until as waitUntil',
  'finished_at as finishedAt',
] as const;

export async function insertDeployment(db: Queryable, deployment: NewDeployment, targets: readonly DeploymentTarget[]): Promise<void> {
  await db
    .insertInto('agent_deployments')
    .values({
      id: deployment.id,
      partner_id: deployment.partnerId,
      action: deployment.action,
      trigger: deployment.trigger,
      status: 'running',
      window_ends_at: deployment.windowEndsAt,
      registration_timeout_seconds: deployment.registrationTimeoutSeconds,
      requested_by: deployment.requestedBy,
    })
    .execute();
  // Chunked: a deployment may cover thousands of computers, and one statement has at most 65,535 parameters.
  for (let start = 0; start < targets.length; start += 1_000) {
    await db
      .insertInto('agent_deployment_computers')
      .values(
        targets.slice(start, start + 1_000).map((target) => ({
          deployment_id: deployment.id,
          computer_id: target.computerId,
          partner_id: deployment.partnerId,
          automate_client_id: target.clientId,
          automate_location_id: target.locationId,
          computer_name: storable(target.name),
          tenant_id: target.tenantId,
          with_backup_monitor: target.withBackupMonitor,
          status: 'pending' as const,
        })),
      )
      .execute();
  }
}

export async function findDeployment(db: Queryable, partnerId: string, deploymentId: string): Promise<Deployment | undefined> {
  return db.selectFrom('agent_deployments').select(deploymentColumns).where('id', '=', deploymentId).where('partner_id', '=', partnerId).executeTakeFirst();
}

export async function listDeployments(db: Queryable, partnerId: string, limit: number): Promise<Deployment[]> {
  return db.selectFrom('agent_deployments').select(deploymentColumns).where('partner_id', '=', partnerId).orderBy('created_at', 'desc').limit(limit).execute();
}

export async function listDeploymentComputers(db: Queryable, deploymentId: string, options: { openOnly?: boolean } = {}): Promise<DeploymentComputer[]> {
  let query = db.selectFrom('agent_deployment_computers').select(computerColumns).where('deployment_id', '=', deploymentId);
  if (options.openOnly) query = query.where('status', 'in', ['pending', 'running']);
  return query.orderBy('computer_id').execute();
}

export async function countDeploymentComputers(db: Queryable, deploymentId: string): Promise<DeploymentCounts> {
  return (await countsOfDeployments(db, [deploymentId])).get(deploymentId)!;
}

/** Counts of several deployments at once, for lists. */
export async function countsOfDeployments(db: Queryable, deploymentIds: readonly string[]): Promise<Map<string, DeploymentCounts>> {
  const result = new Map<string, DeploymentCounts>(deploymentIds.map((id) => [id, { total: 0, pending: 0, running: 0, succeeded: 0, failed: 0 }]));
  if (deploymentIds.length === 0) return result;
  const rows = await db
    .selectFrom('agent_deployment_computers')
    .select(['deployment_id', 'status', db.fn.countAll<string>().as('count')])
    .where('deployment_id', 'in', [...deploymentIds])
    .groupBy(['deployment_id', 'status'])
    .execute();
  for (const row of rows) {
    const counts = result.get(row.deployment_id)!;
    counts[row.status] = Number(row.count);
    counts.total += Number(row.count);
  }
  return result;
}

/**
 * The durable record before a script is sent: claims the computers whose script was never claimed
 * in this deployment, and answers those it claimed. Only claimed computers are scripted.
 */
export async function claimScripts(db: Queryable, deploymentId: string, computerIds: readonly number[]): Promise<number[]> {
  if (computerIds.length === 0) return [];
  const rows = await db
    .updateTable('agent_deployment_computers')
    .set({ script_claimed_at: new Date(), updated_at: new Date() })
    .where('deployment_id', '=', deploymentId)
    .where('computer_id', 'in', [...computerIds])
    .where('script_claimed_at', 'is', null)
    .returning('computer_id')
    .execute();
  return rows.map((row) => row.computer_id);
}

/** The claimed script reached the computer (or the update was asked of Acronis): wait for its outcome until `waitUntil`. */
export async function markSent(db: Queryable, deploymentId: string, computerIds: readonly number[], waitUntil: Date, reason: string): Promise<void> {
  if (computerIds.length === 0) return;
  await db
    .updateTable('agent_deployment_computers')
    .set((eb) => ({ script_sent_at: new Date(), scripts_sent: eb('scripts_sent', '+', 1), wait_until: waitUntil, status: 'running', reason: storable(reason), updated_at: new Date() }))
    .where('deployment_id', '=', deploymentId)
    .where('computer_id', 'in', [...computerIds])
    .where('script_sent_at', 'is', null)
    .execute();
}

/** The claimed script never ran (Automate skipped it, or never received it): the computer may be scripted later. */
export async function releaseClaims(db: Queryable, deploymentId: string, computerIds: readonly number[], reason: string | null): Promise<void> {
  if (computerIds.length === 0) return;
  await db
    .updateTable('agent_deployment_computers')
    .set({ script_claimed_at: null, status: 'pending', reason: reason === null ? null : storable(reason), updated_at: new Date() })
    .where('deployment_id', '=', deploymentId)
    .where('computer_id', 'in', [...computerIds])
    .where('script_sent_at', 'is', null)
    .execute();
}

export interface ComputerUpdate {
  computerId: number;
  status: DeploymentComputerStatus;
  reason: string | null;
  agentId?: string | null;
}

/** Records outcomes and waiting reasons; a computer already final keeps its outcome. */
export async function updateDeploymentComputers(db: Queryable, deploymentId: string, updates: readonly ComputerUpdate[]): Promise<void> {
  for (const update of updates) {
    const final = update.status === 'succeeded' || update.status === 'failed';
    await db
      .updateTable('agent_deployment_computers')
      .set({
        status: update.status,
        reason: update.reason === null ? null : storable(update.reason),
        ...(update.agentId !== undefined ? { agent_id: update.agentId } : {}),
        ...(final ? { finished_at: new Date() } : {}),
        updated_at: new Date(),
      })
      .where('deployment_id', '=', deploymentId)
      .where('computer_id', '=', update.computerId)
      .where('status', 'in', ['pending', 'running'])
      .execute();
  }
}

/** Ends the deployment: computers without an outcome fail with `reason` (null when none is left). */
export async function finishDeployment(db: Queryable, deploymentId: string, reason: string | null): Promise<void> {
  await db.transaction().execute(async (tx) => {
    if (reason !== null) {
      await tx
        .updateTable('agent_deployment_computers')
        .set({ status: 'failed', reason: storable(reason), finished_at: new Date(), updated_at: new Date() })
        .where('deployment_id', '=', deploymentId)
        .where('status', 'in', ['pending', 'running'])
        .execute();
    }
    await tx.updateTable('agent_deployments').set({ status: 'done', finished_at: new Date(), end_reason: reason }).where('id', '=', deploymentId).where('status', '=', 'running').execute();
  });
}

/** The last deployment that covered each computer, for the scan's "already handled" rule. */
export async function lastDeploymentOfComputers(db: Queryable, partnerId: string): Promise<Map<number, { action: DeploymentAction; status: DeploymentComputerStatus; at: Date }>> {
  const rows = await db
    .selectFrom('agent_deployment_computers as c')
    .innerJoin('agent_deployments as d', 'd.id', 'c.deployment_id')
    .distinctOn('c.computer_id')
    .select(['c.computer_id as computerId', 'd.action', 'c.status', 'c.updated_at as at'])
    .where('c.partner_id', '=', partnerId)
    .orderBy('c.computer_id')
    .orderBy('d.created_at', 'desc')
    .execute();
  return new Map(rows.map((row) => [row.computerId, { action: row.action, status: row.status, at: row.at }]));
}
