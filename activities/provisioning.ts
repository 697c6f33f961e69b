/**
 * The activities of customer provisioning (SPEC F2.3, F3). Every write is looked up first, so a
 * repeat or a retry after a lost answer writes nothing twice: the tenant is the mapped one, else the
 * partner's customer tenant of the company's name, else a new one recorded in the mapping at once;
 * the admin user is recognised by its login or e-mail address among the tenant's users; quotas,
 * MFA, the enabled flag and the pricing mode are written only where they differ.
 */
import { createHash } from 'node:crypto';
import { activityInfo, heartbeat } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { AcronisClient } from '../clients/acronis/client.ts';
import type { OfferingItem, Tenant, User } from '../clients/acronis/types.ts';
import { VendorApiError } from '../clients/http.ts';
import { PartnerNotFoundError, type PartnerClients, type PartnerClientsCache } from '../clients/partner-clients.ts';
import type { Db } from '../db/connection.ts';
import { readFingerprints, saveFingerprint, keepFingerprintsOf } from '../db/line-fingerprints.ts';
import { findCompanyMappedToTenant, findCompanyMapping, insertCompanyMappingIfAbsent, listCompanyMappings, listProductMappings, setMappedTenant, type ProductMapping } from '../db/mappings.ts';
import { readSettings } from '../db/settings.ts';
import { loginCandidates, loginFromEmail, loginFromName } from '../domain/admin-login.ts';
import { daysLater, parseAcronisTime, productionAt } from '../domain/provisioning-calendar.ts';
import { desiredQuotas, hasActiveServices, quotaChanges, type DesiredQuota } from '../domain/quotas.ts';
import type { Settings } from '../domain/settings.ts';
import type { PsaCompany, PsaContact, ServiceLine } from '../psa/port.ts';
import type { ProvisioningWorkflows } from '../temporal/provisioning-workflows.ts';
import type { DiscoverySummary } from '../workflows/messages.ts';
import type { ProvisioningActivities, ProvisionOutcome } from './provisioning-types.ts';
import { withVendorFailures } from './vendor-failure.ts';
import { collect } from '../clients/collect.ts';

export interface ProvisioningDeps {
  db: Db;
  clients: PartnerClientsCache;
  workflows: ProvisioningWorkflows;
}

/** ApplicationFailure type when an activity other than discovery/assessment finds its partner removed. */
export const PARTNER_REMOVED_FAILURE = 'PartnerRemoved';
const COMPANY_ADMIN_ROLE = 'company_admin';

/** Heartbeat details of discovery: a retry skips the companies already handled. */
interface DiscoveryProgress {
  processed: number;
  summary: DiscoverySummary;
}

type LivePartner = { status: 'live'; clients: PartnerClients; settings: Settings } | { status: 'off'; reason: string };

/** Digest of what decides a customer's quotas: its lines and the partner's product mappings. */
function lineFingerprint(lines: readonly ServiceLine[], mappings: readonly ProductMapping[]): string {
  const normal = {
    lines: lines.map((line) => JSON.stringify([line.lineId, line.agreementId, line.productId, line.quantity, line.billing, line.active])).sort(),
    mappings: mappings.map((mapping) => JSON.stringify([mapping.offeringItem, mapping.psaProductId, mapping.free])).sort(),
  };
  return createHash('sha256').update(JSON.stringify(normal)).digest('base64url');
}

/** Marks the tenants the engine created (Acronis's `internal_tag` is free for integrators). */
function engineTag(clients: PartnerClients, psaCompanyId: string): string {
  return `msp-engine:${clients.psaKind}:${psaCompanyId}`;
}

function isVendor(error: unknown, kind: VendorApiError['kind']): error is VendorApiError {
  return error instanceof VendorApiError && error.kind === kind;
}

/** The tenant, or undefined when Acronis no longer has it (deleted tenants answer 404). */
async function tenantIfExists(acronis: AcronisClient, tenantId: string): Promise<Tenant | undefined> {
  try {
    return await acronis.getTenant(tenantId);
  } catch (error) {
    if (isVendor(error, 'not-found')) return undefined;
    throw error;
  }
}

/** Read-modify-write against Acronis's optimistic versions: one fresh read and retry on a stale version (code 1001). */
async function retryOnStaleVersion<T>(attempt: () => Promise<T>): Promise<T> {
  try {
    return await attempt();
  } catch (error) {
    if (isVendor(error, 'conflict') && error.vendorCode === 1001) return attempt();
    throw error;
  }
}

/** F3.7: why the engine must leave this tenant alone, or null when it may manage it. */
function unmanageableReason(tenant: Tenant, partnerTenantId: string): string | null {
  const what = `Acronis tenant "${tenant.name}" (${tenant.id})`;
  if (tenant.kind !== 'customer') return `${what} is a ${tenant.kind} tenant, not a customer tenant`;
  if (!tenant.ancestral_access) return `${what} is in self-service mode: its support access for the partner is disabled`;
  if (tenant.update_lock.enabled && tenant.update_lock.owner_id !== partnerTenantId) return `${what} is locked against changes by another tenant`;
  return null;
}

type AdminIdentity = { login: string; email: string | undefined; firstName: string; lastName: string };
/** The admin user an earlier pass made, or what to make it from. */
type AdminPlan = { kind: 'existing'; user: User } | { kind: 'create'; identity: AdminIdentity & { email: string } };

function adminIdentity(settings: Settings, company: PsaCompany, contact: PsaContact | undefined): AdminIdentity {
  if (settings.provisioning.accountBasis === 'primary-contact' && contact?.email) {
    return { login: loginFromEmail(contact.email), email: contact.email, firstName: contact.firstName, lastName: contact.lastName };
  }
  // Company-name accounts send their activation e-mail to the company's primary contact, the one address the PSA gives for it.
  return { login: loginFromName(company.name), email: contact?.email, firstName: company.name, lastName: 'Administrator' };
}

/** The admin user made by an earlier pass: one of our login variants, or (primary-contact basis) the contact's address. */
function findAdmin(users: readonly User[], identity: AdminIdentity): User | undefined {
  const logins = new Set(loginCandidates(identity.login));
  const email = identity.email?.toLowerCase();
  return users.find((user) => user.deleted_at === null && (logins.has(user.login.toLowerCase()) || (email !== undefined && user.login.toLowerCase() === email)));
}

async function availableLogin(acronis: AcronisClient, base: string): Promise<string> {
  for (const login of loginCandidates(base)) {
    const availability = await acronis.checkLogin(login);
    if (availability === 'available') return login;
    if (availability === 'invalid') throw ApplicationFailure.nonRetryable(`Acronis does not accept the login "${login}"`, 'acronis.validation');
  }
  throw ApplicationFailure.nonRetryable(`every login from "${base}" to its last numbered variant is taken in Acronis`, 'acronis.conflict');
}

const hasAdminRole = (user: User, tenantId: string) => (user.access_policies ?? []).some((policy) => policy.role_id === COMPANY_ADMIN_ROLE && policy.tenant_id === tenantId);

export function createProvisioningActivities(deps: ProvisioningDeps): ProvisioningActivities {
  const { db } = deps;

  async function livePartner(partnerId: string): Promise<LivePartner> {
    let clients: PartnerClients;
    try {
      clients = await deps.clients.forPartner(partnerId);
    } catch (error) {
      if (error instanceof PartnerNotFoundError) return { status: 'off', reason: 'the partner was removed' };
      throw error;
    }
    const stored = await readSettings(db, partnerId);
    if (!stored) return { status: 'off', reason: 'the partner was removed' };
    if (!stored.settings.provisioning.enabled) return { status: 'off', reason: 'provisioning is switched off for the partner' };
    return { status: 'live', clients, settings: stored.settings };
  }

  /** For the steps the workflow has already decided on: the partner must exist; its switches were read by the assessment. */
  async function partnerForStep(partnerId: string): Promise<{ clients: PartnerClients; settings: Settings }> {
    try {
      const clients = await deps.clients.forPartner(partnerId);
      const stored = await readSettings(db, partnerId);
      if (stored) return { clients, settings: stored.settings };
    } catch (error) {
      if (!(error instanceof PartnerNotFoundError)) throw error;
    }
    throw ApplicationFailure.create({ type: PARTNER_REMOVED_FAILURE, message: `partner ${partnerId} was removed`, nonRetryable: true });
  }

  async function partnerTenantId(acronis: AcronisClient): Promise<string> {
    return (await acronis.getApiClient()).tenant_id;
  }

  /** Brings the tenant's offering items to the plan; the number of items changed. */
  async function applyQuotas(acronis: AcronisClient, tenantId: string, desired: readonly DesiredQuota[]): Promise<number> {
    return retryOnStaleVersion(async () => {
      const current: OfferingItem[] = await acronis.listOfferingItems(tenantId);
      const changes = quotaChanges(current, desired);
      if (changes.length > 0) await acronis.setOfferingItems(tenantId, changes);
      return changes.length;
    });
  }

  async function setTenantEnabled(acronis: AcronisClient, tenantId: string, enabled: boolean): Promise<Tenant | undefined> {
    return retryOnStaleVersion(async () => {
      const tenant = await tenantIfExists(acronis, tenantId);
      if (!tenant || tenant.enabled === enabled) return tenant;
      return acronis.setTenantEnabled(tenant.id, tenant.version, enabled);
    });
  }

  async function toProduction(acronis: AcronisClient, tenantId: string): Promise<void> {
    await retryOnStaleVersion(async () => {
      const pricing = await acronis.getPricing(tenantId);
      if (pricing.mode === 'trial') await acronis.setPricingMode(tenantId, 'production', pricing.version);
    });
  }

  /** Creates the admin user, or finishes one an interrupted pass created (role, activation e-mail); true when it created it. */
  async function ensureAdmin(acronis: AcronisClient, tenantId: string, plan: AdminPlan): Promise<boolean> {
    if (plan.kind === 'existing') {
      const { user } = plan;
      if (!hasAdminRole(user, tenantId)) {
        await acronis.setUserRoles(user.id, tenantId, [COMPANY_ADMIN_ROLE]);
        if (!user.activated) await acronis.sendActivationEmail(user.id);
      }
      return false;
    }
    const { identity } = plan;
    const login = await availableLogin(acronis, identity.login);
    const user = await acronis.createUser({ tenant_id: tenantId, login, contact: { email: identity.email, firstname: identity.firstName, lastname: identity.lastName } });
    await acronis.setUserRoles(user.id, tenantId, [COMPANY_ADMIN_ROLE]);
    await acronis.sendActivationEmail(user.id);
    return true;
  }

  return {
    discoverCustomers: ({ partnerId, force }) =>
      withVendorFailures(async () => {
        const partner = await livePartner(partnerId);
        if (partner.status === 'off') return partner;
        const { clients, settings } = partner;
        const productMappings = await listProductMappings(db, partnerId);
        const mapped = new Set((await listCompanyMappings(db, partnerId)).map((mapping) => mapping.psaCompanyId));
        const fingerprints = await readFingerprints(db, partnerId);
        const resumed = activityInfo().heartbeatDetails as DiscoveryProgress | undefined;
        const summary: DiscoverySummary = resumed?.summary ?? { companies: 0, mapped: 0, newlyMapped: 0, signalled: 0 };

        const visit = async (companyId: string, active: boolean) => {
          const isMapped = mapped.has(companyId);
          if (!isMapped && !(settings.provisioning.automatic && active)) return;
          const lines = await clients.psa.listServiceLines(companyId);
          if (!isMapped) {
            if (!hasActiveServices(lines, productMappings)) return;
            if (await insertCompanyMappingIfAbsent(db, partnerId, companyId)) summary.newlyMapped++;
            mapped.add(companyId);
          }
          summary.mapped++;
          const fingerprint = lineFingerprint(lines, productMappings);
          if (force || fingerprints.get(companyId) !== fingerprint) {
            await deps.workflows.syncCustomer(partnerId, clients.psaKind, companyId);
            await saveFingerprint(db, partnerId, companyId, fingerprint);
            summary.signalled++;
          }
        };

        const listed = new Set<string>();
        let position = 0;
        for await (const company of clients.psa.listCompanies()) {
          listed.add(company.id);
          position++;
          if (resumed && position <= resumed.processed) continue;
          summary.companies++;
          await visit(company.id, company.active);
          heartbeat({ processed: position, summary } satisfies DiscoveryProgress);
        }
        // A mapped company the PSA no longer lists (deleted) still has a workflow that must hear of it.
        for (const companyId of [...mapped]) if (!listed.has(companyId)) await visit(companyId, false);
        // A mapping removed and made again later must signal its new workflow.
        await keepFingerprintsOf(db, partnerId, [...mapped]);
        return { status: 'done', summary };
      }),

    assessCustomer: ({ partnerId, psaCompanyId }) =>
      withVendorFailures(async () => {
        const partner = await livePartner(partnerId);
        if (partner.status === 'off') return partner;
        if (!(await findCompanyMapping(db, partnerId, psaCompanyId))) return { status: 'unmapped' };
        const lines = await partner.clients.psa.listServiceLines(psaCompanyId);
        return hasActiveServices(lines, await listProductMappings(db, partnerId)) ? { status: 'provision' } : { status: 'no-services' };
      }),

    provisionCustomer: ({ partnerId, psaCompanyId }) =>
      withVendorFailures(async (): Promise<ProvisionOutcome> => {
        const { clients, settings } = await partnerForStep(partnerId);
        const { acronis, psa } = clients;
        const skipped = (reason: string, tenantId: string | null = null): ProvisionOutcome => ({ status: 'skipped', tenantId, reason });

        // Everything is read and checked before the first write, so a skip writes nothing.
        const mapping = await findCompanyMapping(db, partnerId, psaCompanyId);
        if (!mapping) return skipped(`PSA company ${psaCompanyId} is not mapped to an Acronis tenant`);
        const company = await psa.getCompany(psaCompanyId);
        if (!company) return skipped(`PSA company ${psaCompanyId} no longer exists in the PSA`, mapping.tenantId);
        const parentId = await partnerTenantId(acronis);
        const plan = desiredQuotas({ available: await acronis.offeringItemsAvailableForChild(parentId), mappings: await listProductMappings(db, partnerId), lines: await psa.listServiceLines(psaCompanyId) });
        if (plan.editionConflict) return skipped(plan.editionConflict, mapping.tenantId);
        const contact = await psa.primaryContact(psaCompanyId);
        if (settings.provisioning.accountBasis === 'primary-contact' && !contact?.email) {
          return skipped(`PSA company "${company.name}" has no primary contact with an e-mail address to make the customer's admin account from`, mapping.tenantId);
        }
        const identity = adminIdentity(settings, company, contact);

        let tenant: Tenant | undefined;
        if (mapping.tenantId) {
          try {
            tenant = await tenantIfExists(acronis, mapping.tenantId);
          } catch (error) {
            if (isVendor(error, 'forbidden')) return skipped(`mapped tenant ${mapping.tenantId} is outside the partner's tenant hierarchy`, mapping.tenantId);
            throw error;
          }
          if (!tenant) return skipped(`mapped tenant ${mapping.tenantId} no longer exists in Acronis`, mapping.tenantId);
        } else {
          const children = await collect(acronis.listTenants({ parentId }));
          tenant = children.find((child) => child.kind === 'customer' && child.name === company.name);
          const owner = tenant && (await findCompanyMappedToTenant(db, partnerId, tenant.id));
          if (tenant && owner && owner.psaCompanyId !== psaCompanyId) {
            return skipped(`Acronis tenant "${tenant.name}" (${tenant.id}) carries the company's name but is mapped to PSA company ${owner.psaCompanyId}`);
          }
        }
        if (tenant) {
          const reason = unmanageableReason(tenant, parentId);
          if (reason) return skipped(reason, tenant.id);
        }
        const admin = tenant ? findAdmin(await collect(acronis.listUsers({ tenantId: tenant.id, withAccessPolicies: true })), identity) : undefined;
        let adminPlan: AdminPlan;
        if (admin) adminPlan = { kind: 'existing', user: admin };
        else if (identity.email) adminPlan = { kind: 'create', identity: { ...identity, email: identity.email } };
        else return skipped(`PSA company "${company.name}" has no primary contact with an e-mail address to send the admin account's activation e-mail to`, tenant?.id ?? null);

        const tag = engineTag(clients, psaCompanyId);
        let tenantCreated = false;
        if (!tenant) {
          tenant = await acronis.createTenant({ name: company.name, kind: 'customer', parent_id: parentId, internal_tag: tag });
          tenantCreated = true;
        }
        const tenantId = tenant.id;
        if (mapping.tenantId !== tenantId) await setMappedTenant(db, partnerId, psaCompanyId, tenantId, mapping.tenantId);
        if (!tenant.enabled) tenant = (await setTenantEnabled(acronis, tenantId, true)) ?? tenant;
        // The mode applies to the tenants the engine creates; the tag finds them again after an interrupted pass.
        if (settings.provisioning.tenantMode === 'production' && tenant.pricing_mode === 'trial' && (tenantCreated || tenant.internal_tag === tag)) {
          await toProduction(acronis, tenantId);
          tenant = await acronis.getTenant(tenantId);
        }
        if (settings.provisioning.enableMfa && (await acronis.getTenantMfa(tenantId)).mfa_status !== 'enabled') await acronis.setTenantMfa(tenantId, true);
        const quotasChanged = await applyQuotas(acronis, tenantId, plan.items);
        const userCreated = await ensureAdmin(acronis, tenantId, adminPlan);

        return {
          status: 'provisioned',
          tenantId,
          tenantCreated,
          userCreated,
          quotasChanged,
          productionAtMs: tenant.pricing_mode === 'trial' ? productionAt(parseAcronisTime(tenant.created_at), clients.timezone) : null,
        };
      }),

    switchToProduction: ({ partnerId, tenantId }) =>
      withVendorFailures(async () => {
        const { clients } = await partnerForStep(partnerId);
        await toProduction(clients.acronis, tenantId);
      }),

    planDeprovisioning: async ({ partnerId, startedAtMs }) => {
      const { clients, settings } = await partnerForStep(partnerId);
      const { zeroQuotas, disableAfterDays, deleteAfterDays } = settings.deprovisioning;
      const after = (days: number | null) => (days === null ? null : daysLater(startedAtMs, days, clients.timezone));
      return { zeroQuotas, disableAtMs: after(disableAfterDays), deleteAtMs: after(deleteAfterDays) };
    },

    zeroQuotas: ({ partnerId, tenantId }) =>
      withVendorFailures(async () => {
        const { clients } = await partnerForStep(partnerId);
        if (await tenantIfExists(clients.acronis, tenantId)) await applyQuotas(clients.acronis, tenantId, []);
      }),

    disableTenant: ({ partnerId, tenantId }) =>
      withVendorFailures(async () => {
        const { clients } = await partnerForStep(partnerId);
        await setTenantEnabled(clients.acronis, tenantId, false);
      }),

    deleteTenant: ({ partnerId, psaCompanyId, tenantId }) =>
      withVendorFailures(async () => {
        const { clients } = await partnerForStep(partnerId);
        const { acronis } = clients;
        await retryOnStaleVersion(async () => {
          // Acronis deletes only disabled tenants.
          const tenant = await setTenantEnabled(acronis, tenantId, false);
          if (!tenant) return;
          try {
            await acronis.deleteTenant(tenant.id, tenant.version);
          } catch (error) {
            if (!isVendor(error, 'not-found')) throw error;
          }
        });
        const mapping = await findCompanyMapping(db, partnerId, psaCompanyId);
        if (mapping?.tenantId === tenantId) await setMappedTenant(db, partnerId, psaCompanyId, null, tenantId);
      }),
  };
}
