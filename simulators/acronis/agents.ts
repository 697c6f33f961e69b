/** Agent Manager v2, and the agent installer's side of the world (registration with a token). */
import { Hono } from 'hono';
import { z } from 'zod';
import type { AcronisAgentHost, AgentRegistration } from '../world.ts';
import { AGENT_RELEASES } from './catalogue.ts';
import { AcronisError, badRequest, notFound } from './errors.ts';
import { applyPlan, revokeResource, type BackupEngine } from './protection.ts';
import { newUuid, type AcronisStore, type Agent } from './state.ts';
import { allOf, bodyOf, cursorsOf, first, listRequest, pageOf, queryOf, rfc1123Time, textMatches, type AcronisContext, type AcronisEnv } from './wire.ts';

const LATEST_RELEASE = AGENT_RELEASES.length - 1;
/** A registration token's scope that applies a plan to the machine it registers. */
const AUTO_APPLY_SCOPE = /^urn:acronis\.com::policy_management:[^|]*\|([^:]+):apply_revoke$/;

function osFamilyOf(os: string): Agent['osFamily'] {
  if (/windows/i.test(os)) return 'WINDOWS';
  if (/mac|os x|darwin/i.test(os)) return 'MACOSX';
  if (/linux|ubuntu|debian|centos|red hat|rhel|suse/i.test(os)) return 'LINUX';
  return 'UNKNOWN';
}

function agentView(store: AcronisStore, agent: Agent) {
  const tenant = store.tenant(agent.tenantId, { allowDeleted: true })!;
  const release = AGENT_RELEASES[agent.release]!;
  const version = { current: { build: release.build, release_id: release.release_id } };
  return {
    id: agent.id,
    host_id: agent.hostId,
    hostname: agent.hostname,
    name: agent.hostname,
    enabled: true,
    online: agent.online,
    auto_update: false,
    up_to_date: agent.release === LATEST_RELEASE,
    core_version: version,
    platform: { arch: 'X64', family: agent.osFamily, name: agent.osName },
    registration_date: rfc1123Time(agent.registeredAtMs),
    tenant: { id: String(tenant.numericId), name: tenant.name },
    units: [{ name: 'mms', version }],
  };
}

export function agentRoutes(store: AcronisStore, agents: AgentRegistry): Hono<AcronisEnv> {
  const app = new Hono<AcronisEnv>();
  const visible = (c: AcronisContext, agent: Agent) => {
    const tenant = store.tenant(agent.tenantId, { allowDeleted: true });
    return tenant !== undefined && store.isWithin(tenant, c.get('caller').tenantId);
  };
  const agentInScope = (c: AcronisContext, id: string) => {
    const agent = store.data.agents[id];
    if (!agent || !visible(c, agent)) throw notFound('agents', `Agent ${id}`);
    return agent;
  };

  app.get('/agents', (c) => {
    const request = listRequest(c, 'agents');
    const { params } = request;
    const tenantRef = first(params, 'tenant_id');
    const root = tenantRef === undefined ? store.tenant(c.get('caller').tenantId) : store.tenantByNumericId(tenantRef);
    if (!root) throw badRequest('agents', `Unknown tenant_id ${tenantRef}`);
    if (!store.isWithin(root, c.get('caller').tenantId)) throw new AcronisError('agents', 403, 'ACCESS_DENIED', 'Access to this tenant is denied');
    const hostname = first(params, 'hostname');
    const online = first(params, 'online');
    const upToDate = first(params, 'up_to_date');
    const families = allOf(params, 'os_family', { commas: true });
    const selected = Object.values(store.data.agents)
      .filter((agent) => {
        const tenant = store.tenant(agent.tenantId);
        if (!tenant || !store.isWithin(tenant, root.id)) return false;
        if (hostname !== undefined && !textMatches(agent.hostname, hostname)) return false;
        if (online !== undefined && String(agent.online) !== online) return false;
        if (upToDate !== undefined && String(agent.release === LATEST_RELEASE) !== upToDate) return false;
        return !families.length || families.includes(agent.osFamily);
      })
      .sort((a, b) => (first(params, 'order') === 'desc(hostname)' ? -1 : 1) * a.hostname.localeCompare(b.hostname) || a.id.localeCompare(b.id));
    const page = pageOf(selected, request);
    return c.json({ items: page.items.map((agent) => agentView(store, agent)), paging: { cursors: cursorsOf(page) } });
  });

  app.get('/agents/:id', (c) => c.json(agentView(store, agentInScope(c, c.req.param('id')))));

  app.delete('/agents', (c) => {
    const ids = allOf(queryOf(c), 'id', { commas: true });
    if (!ids.length) throw badRequest('agents', 'id is required');
    for (const agent of ids.map((id) => agentInScope(c, id))) agents.remove(agent);
    return c.body(null, 204);
  });

  // `POST /agents/update:force`: the colon is part of the path, not a route parameter.
  app.post('/agents/:action', async (c) => {
    if (c.req.param('action') !== 'update:force') throw notFound('agents', `Route ${c.req.path}`);
    const body = await bodyOf(c, 'agents', z.object({ agent_ids: z.array(z.string()).min(1) }));
    for (const agent of body.agent_ids.map((id) => agentInScope(c, id))) agents.upgrade(agent);
    return c.body(null, 204);
  });
  return app;
}

/** Agents as the installer and updater change them, shared by the API and the other simulators. */
export class AgentRegistry implements AcronisAgentHost {
  readonly #store: AcronisStore;
  readonly #backups: BackupEngine;

  constructor(store: AcronisStore, backups: BackupEngine) {
    this.#store = store;
    this.#backups = backups;
  }

  #byMachine(machineKey: string): Agent | undefined {
    return Object.values(this.#store.data.agents).find((agent) => agent.machineKey === machineKey);
  }

  /** A machine registers with a token created through the API; the agent and its machine resource appear in the token's tenant. */
  registerAgent(input: { registrationToken: string; machineKey: string; hostname: string; os: string }): AgentRegistration {
    const store = this.#store;
    const token = store.data.registrationTokens.find((candidate) => candidate.token === input.registrationToken.trim().toUpperCase());
    if (!token) return { ok: false, reason: 'unknown registration token' };
    if (token.expiresAtMs <= store.now()) return { ok: false, reason: 'registration token expired' };
    const tenant = store.tenant(token.tenantId);
    if (!tenant) return { ok: false, reason: 'the token tenant no longer exists' };
    if (!tenant.enabled) return { ok: false, reason: 'the token tenant is disabled' };
    const existing = this.#byMachine(input.machineKey);
    if (existing?.tenantId === tenant.id) return { ok: true, agentId: existing.id, tenantId: tenant.id };
    if (existing) this.remove(existing);
    const now = store.now();
    const agent: Agent = {
      id: newUuid(),
      hostId: newUuid(),
      hostname: input.hostname,
      machineKey: input.machineKey,
      tenantId: tenant.id,
      resourceId: newUuid(),
      osFamily: osFamilyOf(input.os),
      osName: input.os,
      online: true,
      release: 0,
      registeredAtMs: now,
      updatedAtMs: now,
    };
    store.data.agents[agent.id] = agent;
    store.data.resources[agent.resourceId] = { id: agent.resourceId, name: input.hostname, type: 'resource.machine', tenantId: tenant.id, agentId: agent.id, os: input.os, createdAtMs: now, updatedAtMs: now };
    for (const scope of token.scopes) {
      const planId = AUTO_APPLY_SCOPE.exec(scope)?.[1];
      if (planId) applyPlan(store, this.#backups, planId, agent.resourceId);
    }
    return { ok: true, agentId: agent.id, tenantId: tenant.id };
  }

  unregisterAgent(machineKey: string): boolean {
    const agent = this.#byMachine(machineKey);
    if (agent) this.remove(agent);
    return agent !== undefined;
  }

  upgradeAgent(machineKey: string): boolean {
    const agent = this.#byMachine(machineKey);
    if (agent) this.upgrade(agent);
    return agent !== undefined;
  }

  agentOf(machineKey: string): { agentId: string; tenantId: string; version: string } | undefined {
    const agent = this.#byMachine(machineKey);
    return agent && { agentId: agent.id, tenantId: agent.tenantId, version: AGENT_RELEASES[agent.release]!.build };
  }

  remove(agent: Agent): void {
    revokeResource(this.#store, this.#backups, agent.resourceId);
    delete this.#store.data.resources[agent.resourceId];
    delete this.#store.data.agents[agent.id];
  }

  upgrade(agent: Agent): void {
    agent.release = LATEST_RELEASE;
    agent.updatedAtMs = this.#store.now();
  }
}
