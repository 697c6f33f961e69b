/**
 * A customer's tenant, admin user and quotas (F3.1, F3.3, F3.4, F3.7). Every write is looked up
 * first, so a repeat or a retry after a lost answer writes nothing twice: the tenant is the mapped
 * one, else the partner's customer tenant carrying this company's engine tag, else the one of the
 * company's name, else a new one recorded in the mapping at once; the admin user is recognised by
 * its login or e-mail address among the tenant's users, and its activation e-mail is recorded once
 * sent; quotas, MFA, the enabled flag and the pricing mode are written only where they differ.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { AcronisClient } from '../../clients/acronis/client.ts';
import type { Tenant, User } from '../../clients/acronis/types.ts';
import { collect } from '../../clients/collect.ts';
import { activationEmailSent, recordActivationEmail } from '../../db/activation-emails.ts';
import { findCompanyMappedToTenant, findCompanyMapping, listProductMappings, setMappedTenant } from '../../db/mappings.ts';
import { loginCandidates, loginFromEmail, loginFromName } from '../../domain/admin-login.ts';
import { parseAcronisTime, productionAt } from '../../domain/provisioning-calendar.ts';
import { desiredQuotas, hasActiveServices } from '../../domain/quotas.ts';
import type { Settings } from '../../domain/settings.ts';
import type { PsaContact } from '../../psa/port.ts';
import type { CustomerAssessment, CustomerRef, ProvisionOutcome } from './types.ts';
import {
  applyQuotas,
  discoveredLines,
  engineTag,
  isEngineTenantOf,
  isVendor,
  livePartner,
  partnerForStep,
  partnerTenantId,
  provisioningScope,
  retryOnStaleVersion,
  setTenantEnabled,
  tenantIfExists,
  unmanageableReason,
  type ProvisioningDeps,
} from './shared.ts';

const COMPANY_ADMIN_ROLE = 'company_admin';

type AdminIdentity = { login: string; email: string; firstName: string; lastName: string };
/** The admin user an earlier pass made, or what to make it from. */
type AdminPlan = { kind: 'existing'; user: User } | { kind: 'create'; identity: AdminIdentity };

/** Whom the customer's admin account is made for, or why an admin must supply something first. */
async function adminIdentity(settings: Settings, companyName: string, primaryContact: () => Promise<PsaContact | undefined>): Promise<AdminIdentity | { missing: string }> {
  if (settings.provisioning.accountBasis === 'primary-contact') {
    const contact = await primaryContact();
    if (!contact?.email) return { missing: `PSA company "${companyName}" has no primary contact with an e-mail address to make the customer's admin account from: add one in the PSA` };
    return { login: loginFromEmail(contact.email), email: contact.email, firstName: contact.firstName, lastName: contact.lastName };
  }
  // Company-name accounts: the vendors' integrations send their activation e-mail to the address the admin gives.
  const email = settings.provisioning.activationEmail;
  if (!email) return { missing: 'accounts based on the company name need an activation address: set provisioning.activationEmail' };
  return { login: loginFromName(companyName), email, firstName: companyName, lastName: 'Administrator' };
}

/** The admin user made by an earlier pass: one of our login variants, or the identity's address. */
function findAdmin(users: readonly User[], identity: AdminIdentity): User | undefined {
  const logins = new Set(loginCandidates(identity.login));
  const email = identity.email.toLowerCase();
  return users.find((user) => user.deleted_at === null && (logins.has(user.login.toLowerCase()) || user.login.toLowerCase() === email));
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

async function toProduction(acronis: AcronisClient, tenantId: string): Promise<void> {
  await retryOnStaleVersion(async () => {
    const pricing = await acronis.getPricing(tenantId);
    if (pricing.mode === 'trial') await acronis.setPricingMode(tenantId, 'production', pricing.version);
  });
}

export function createCustomerActivities(deps: ProvisioningDeps) {
  const { db } = deps;
  const inScope = provisioningScope(db);

  /** Creates the admin user or finishes one an interrupted pass created (role, activation e-mail); true when it created it. */
  async function ensureAdmin(partnerId: string, acronis: AcronisClient, tenantId: string, plan: AdminPlan): Promise<boolean> {
    let user: User;
    let created = false;
    if (plan.kind === 'existing') {
      user = plan.user;
      if (!hasAdminRole(user, tenantId)) await acronis.setUserRoles(user.id, tenantId, [COMPANY_ADMIN_ROLE]);
    } else {
      const login = await availableLogin(acronis, plan.identity.login);
      const { email, firstName, lastName } = plan.identity;
      user = await acronis.createUser({ tenant_id: tenantId, login, contact: { email, firstname: firstName, lastname: lastName } });
      created = true;
      await acronis.setUserRoles(user.id, tenantId, [COMPANY_ADMIN_ROLE]);
    }
    // Recorded once sent, so a failure anywhere before is sent again by the next attempt, and a success never twice.
    if (!user.activated && !(await activationEmailSent(db, partnerId, user.id))) {
      await acronis.sendActivationEmail(user.id);
      await recordActivationEmail(db, partnerId, tenantId, user.id);
    }
    return created;
  }

  /** The partner's customer tenant this company already has: the one carrying its engine tag, else the one of its name. */
  async function existingTenantOf(acronis: AcronisClient, parentId: string, psaKind: string, psaCompanyId: string, name: string): Promise<Tenant | undefined> {
    const children = (await collect(acronis.listTenants({ parentId }))).filter((child) => child.kind === 'customer' && child.deleted_at === null);
    return children.find((child) => isEngineTenantOf(child, psaKind, psaCompanyId)) ?? children.find((child) => child.name === name);
  }

  return {
    assessCustomer: ({ partnerId, psaCompanyId }: CustomerRef): Promise<CustomerAssessment> =>
      inScope(partnerId, async (): Promise<CustomerAssessment> => {
        const partner = await livePartner(deps, partnerId);
        if (partner.status === 'off') return partner;
        if (!(await findCompanyMapping(db, partnerId, psaCompanyId))) return { status: 'unmapped' };
        const lines = (await discoveredLines(deps, partnerId, psaCompanyId))?.lines ?? (await partner.clients.psa.listServiceLines(psaCompanyId));
        return hasActiveServices(lines, await listProductMappings(db, partnerId)) ? { status: 'provision' } : { status: 'no-services' };
      }),

    provisionCustomer: ({ partnerId, psaCompanyId }: CustomerRef): Promise<ProvisionOutcome> =>
      inScope(partnerId, async (): Promise<ProvisionOutcome> => {
        const { clients, settings } = await partnerForStep(deps, partnerId);
        const { acronis, psa } = clients;
        const skipped = (reason: string, tenantId: string | null = null): ProvisionOutcome => ({ status: 'skipped', tenantId, reason });

        // Everything is read and checked before the first write, so a skip writes nothing.
        const mapping = await findCompanyMapping(db, partnerId, psaCompanyId);
        if (!mapping) return skipped(`PSA company ${psaCompanyId} is not mapped to an Acronis tenant`);
        // What the discovery pass that asked for this sync read, unless it is too old to stand for the PSA.
        const discovered = await discoveredLines(deps, partnerId, psaCompanyId);
        const companyName = discovered ? discovered.companyName : (await psa.getCompany(psaCompanyId))?.name;
        if (companyName === undefined || companyName === null) return skipped(`PSA company ${psaCompanyId} no longer exists in the PSA`, mapping.tenantId);
        const lines = discovered?.lines ?? (await psa.listServiceLines(psaCompanyId));
        const parentId = await partnerTenantId(acronis);
        const plan = desiredQuotas({ available: await acronis.offeringItemsAvailableForChild(parentId), mappings: await listProductMappings(db, partnerId), lines });
        if (plan.editionConflict) return skipped(plan.editionConflict, mapping.tenantId);
        const identity = await adminIdentity(settings, companyName, () => psa.primaryContact(psaCompanyId));
        if ('missing' in identity) return { status: 'needs-attention', tenantId: mapping.tenantId, reason: identity.missing };

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
          tenant = await existingTenantOf(acronis, parentId, clients.psaKind, psaCompanyId, companyName);
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
        const adminPlan: AdminPlan = admin ? { kind: 'existing', user: admin } : { kind: 'create', identity };

        const createdTag = engineTag(clients.psaKind, psaCompanyId, 'created');
        let tenantCreated = false;
        if (!tenant) {
          tenant = await acronis.createTenant({ name: companyName, kind: 'customer', parent_id: parentId, internal_tag: createdTag });
          tenantCreated = true;
        } else if (!tenant.internal_tag) {
          // An existing tenant the engine now manages carries the mark too: its deprovisioning checks for it.
          const adopted = tenant;
          tenant = await retryOnStaleVersion(async () => acronis.updateTenant(adopted.id, (await acronis.getTenant(adopted.id)).version, { internal_tag: engineTag(clients.psaKind, psaCompanyId, 'adopted') }));
        }
        const tenantId = tenant.id;
        if (mapping.tenantId !== tenantId) await setMappedTenant(db, partnerId, psaCompanyId, tenantId, mapping.tenantId);
        if (!tenant.enabled) tenant = (await setTenantEnabled(acronis, tenantId, true)) ?? tenant;
        // The mode applies to the tenants the engine creates; the tag finds them again after an interrupted pass.
        if (settings.provisioning.tenantMode === 'production' && tenant.pricing_mode === 'trial' && tenant.internal_tag === createdTag) {
          await toProduction(acronis, tenantId);
          tenant = await acronis.getTenant(tenantId);
        }
        if (settings.provisioning.enableMfa && (await acronis.getTenantMfa(tenantId)).mfa_status !== 'enabled') await acronis.setTenantMfa(tenantId, true);
        const quotasChanged = await applyQuotas(acronis, tenantId, plan.items);
        const userCreated = await ensureAdmin(partnerId, acronis, tenantId, adminPlan);

        return {
          status: 'provisioned',
          tenantId,
          tenantCreated,
          userCreated,
          quotasChanged,
          productionAtMs: tenant.pricing_mode === 'trial' && tenant.internal_tag === createdTag ? productionAt(parseAcronisTime(tenant.created_at), clients.timezone) : null,
        };
      }),

    switchToProduction: ({ partnerId, psaCompanyId, tenantId }: CustomerRef & { tenantId: string }): Promise<void> =>
      inScope(partnerId, async () => {
        const { clients } = await partnerForStep(deps, partnerId);
        const tenant = await tenantIfExists(clients.acronis, tenantId);
        // Only the engine's own trial: a tenant remapped or adopted since keeps the mode its owner chose.
        if (tenant?.internal_tag === engineTag(clients.psaKind, psaCompanyId, 'created')) await toProduction(clients.acronis, tenantId);
      }),
  };
}
