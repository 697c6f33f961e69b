import { createRoute, z } from '@hono/zod-openapi';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Context } from 'hono';
import type { Transaction } from 'kysely';
import type { AcronisClient } from '../../clients/acronis/client.ts';
import { VendorApiError } from '../../clients/http.ts';
import { recordAudit } from '../../db/audit-log.ts';
import {
  deleteCompanyMapping,
  findCompanyMappedToTenant,
  findCompanyMapping,
  isTenantAlreadyMapped,
  listCompanyMappings,
  upsertCompanyMapping,
  type CompanyMapping,
} from '../../db/mappings.ts';
import { findPartner, type PartnerWithCredentials } from '../../db/partners.ts';
import type { Database } from '../../db/schema.ts';
import { readSettings } from '../../db/settings.ts';
import type { PsaKind } from '../../domain/partner.ts';
import type { PsaCompany } from '../../psa/port.ts';
import type { CustomerRun } from '../../temporal/provisioning-workflows.ts';
import { customerWorkflowId, type CustomerMemo, type CustomerPhase } from '../../workflows/contracts/provisioning.ts';
import { ProvisioningStateAttribute } from '../../workflows/search-attributes.ts';
import { brokenCompanyMappings } from '../broken-mappings.ts';
import { auditEntry, partnerClientsOr404, withTemporalDeadline, type ApiDeps, type ApiEnv } from '../context.ts';
import { fieldPath, ProblemError, problems, type FieldError } from '../problem.ts';
import { newRouter } from '../router.ts';
import { bearerSecurity, commonErrors, conflict, jsonBody, jsonResponse, notFound, partnerIdParams, psaCompanyParams, unavailable, vendorFailure } from '../schemas.ts';
import { collectUpTo, mapConcurrently, partnerTenantId } from '../vendor-lookups.ts';

const DEFAULT_LIST_LIMIT = 500;
const MAX_LIST_LIMIT = 5_000;
const MAX_BATCH = 100;
/** PSA look-ups in flight at once for one request. */
const LOOKUP_CONCURRENCY = 8;
/** Customer tenants sit under the partner, or under its sub-partners and folders; deeper trees are not walked. */
const MAX_TENANT_DEPTH = 8;

const customerSchema = z
  .object({
    psaCompanyId: z.string(),
    name: z.string(),
    types: z.array(z.string()),
    status: z.string(),
    active: z.boolean(),
    mapping: z
      .object({
        tenantId: z.string().nullable().describe('The Acronis customer tenant; null: a new tenant, not created yet'),
        problem: z.string().nullable().describe('Why the mapping no longer works: the company deleted in the PSA, the tenant deleted in Acronis (listed in the partner health too); null when it works or was not checked'),
      })
      .nullable()
      .describe('null: not mapped'),
    provisioning: z
      .object({
        workflowId: z.string(),
        phase: z.string().nullable().describe('pending, active, waiting-for-services, skipped, needs-attention, deprovisioning, deleted, stopped; null until assessed'),
        reason: z.string().nullable().describe('Why the customer is skipped, needs attention, is being deprovisioned or stopped; null when all is well'),
        nextStep: z
          .object({ step: z.enum(['switch-to-production', 'disable-tenant', 'delete-tenant']), at: z.iso.datetime() })
          .nullable()
          .describe('The next timed step (trial end, a deprovisioning deadline) and when it is due; each destructive step re-checks the customer before it acts'),
        running: z.boolean(),
        webUiUrl: z.string(),
      })
      .nullable()
      .describe("The company's customer workflow; null when it never had one"),
  })
  .openapi('Customer');

type CustomerView = z.infer<typeof customerSchema>;

const listQuery = z.object({
  mapping: z.enum(['mapped', 'unmapped', 'all']).default('all'),
  q: z.string().trim().min(1).max(100).optional().describe('Part of the company name (case-insensitive)'),
  type: z.string().trim().min(1).max(100).optional().describe('Only companies of this type, as the PSA names it (CWM: Client ...; Autotask: Customer ...)'),
  status: z.string().trim().min(1).max(100).optional().describe('Only companies with this status, as the PSA names it (CWM: Active ...; Autotask: active / inactive)'),
  limit: z.coerce.number().int().min(1).max(MAX_LIST_LIMIT).default(DEFAULT_LIST_LIMIT).describe('At most this many companies are answered'),
});

const mappingInput = z
  .strictObject({
    tenant: z.literal('new').optional().describe('"new": the customer workflow creates the tenant'),
    tenantId: z.uuid({ error: 'must be an Acronis tenant id (UUID)' }).optional().describe('An existing Acronis customer tenant under the partner'),
  })
  .describe('Exactly one of `tenant` and `tenantId`. A company already mapped to a tenant must be unmapped before it can be mapped elsewhere.')
  .superRefine((body, ctx) => {
    if ((body.tenant === undefined) === (body.tenantId === undefined)) {
      ctx.addIssue({ code: 'custom', path: [], message: 'send either { "tenant": "new" } or { "tenantId": "<Acronis tenant id>" }' });
    }
  })
  .openapi('CustomerMappingInput');

const batchInput = z
  .strictObject({
    psaCompanyIds: z
      .array(psaCompanyParams.shape.psaCompanyId)
      .min(1)
      .max(MAX_BATCH)
      .superRefine((ids, ctx) => {
        ids.forEach((id, index) => {
          if (ids.indexOf(id) !== index) ctx.addIssue({ code: 'custom', path: [index], message: 'is listed twice' });
        });
      }),
  })
  .openapi('CustomerBatchMappingInput');

function tenantNotUnderPartner(): ProblemError {
  return problems.field('tenantId', 'is not a customer tenant under this partner in Acronis');
}

function heldTenant(tenantId: string): string {
  return `is mapped to tenant ${tenantId}; remove that mapping first`;
}

function tenantTaken(otherCompanyId: string): ProblemError {
  return problems.conflict('tenantId', `is already mapped to PSA company ${otherCompanyId}; remove that mapping first`);
}

/** A tenant the partner's API client cannot see counts as absent. */
async function readTenant(acronis: AcronisClient, tenantId: string) {
  try {
    return await acronis.getTenant(tenantId);
  } catch (error) {
    if (error instanceof VendorApiError && (error.kind === 'not-found' || error.kind === 'forbidden')) throw tenantNotUnderPartner();
    throw error;
  }
}

/** The tenant must be a live customer tenant somewhere below the partner's own tenant. */
async function checkCustomerTenant(acronis: AcronisClient, tenantId: string): Promise<void> {
  const [tenant, partnerTenant] = await Promise.all([readTenant(acronis, tenantId), partnerTenantId(acronis)]);
  if (tenant.kind !== 'customer') throw problems.field('tenantId', `is a ${tenant.kind} tenant; only customer tenants can be mapped`);
  let parentId = tenant.parent_id;
  for (let depth = 0; depth < MAX_TENANT_DEPTH; depth++) {
    if (parentId === partnerTenant) return;
    const parent = await readTenant(acronis, parentId);
    if (parent.kind === 'root') break;
    parentId = parent.parent_id;
  }
  throw tenantNotUnderPartner();
}

export function customerRoutes(deps: ApiDeps) {
  const { db, logger, provisioning, workflows } = deps;
  const router = newRouter();

  function provisioningView(run: CustomerRun | undefined): CustomerView['provisioning'] {
    if (!run) return null;
    return { workflowId: run.workflowId, phase: run.phase, reason: run.reason ?? null, nextStep: run.nextStep ?? null, running: run.running, webUiUrl: workflows.webUiUrl(run.workflowId) };
  }

  function view(company: PsaCompany, mapping: CompanyMapping | undefined, run: CustomerRun | undefined, problem: string | null = null): CustomerView {
    return {
      psaCompanyId: company.id,
      name: company.name,
      types: company.types,
      status: company.status,
      active: company.active,
      mapping: mapping ? { tenantId: mapping.tenantId, problem } : null,
      provisioning: provisioningView(run),
    };
  }

  /** One customer as it is now: its mapping, and its workflow as Temporal describes it (visibility lags). */
  async function currentView(partnerId: string, company: PsaCompany): Promise<CustomerView> {
    const workflowId = customerWorkflowId(partnerId, company.id);
    const run = await withTemporalDeadline(deps, async (): Promise<CustomerRun | undefined> => {
      try {
        const description = await deps.temporal.workflow.getHandle(workflowId).describe();
        const phase = (description.typedSearchAttributes.get(ProvisioningStateAttribute) as CustomerPhase | undefined) ?? null;
        const memo = (description.memo ?? {}) as Partial<CustomerMemo>;
        return { psaCompanyId: company.id, workflowId, phase, running: description.status.name === 'RUNNING', ...memo };
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) return undefined;
        throw error;
      }
    });
    return view(company, await findCompanyMapping(db, partnerId, company.id), run);
  }

  /** Starts or pokes the customers' workflows; inside a transaction, a Temporal outage rolls the change back. */
  function syncCustomers(partner: { id: string; name: string; psaKind: PsaKind }, psaCompanyIds: readonly string[]): Promise<unknown> {
    const { id: partnerId, name: partnerName, psaKind } = partner;
    return withTemporalDeadline(deps, () => Promise.all(psaCompanyIds.map((psaCompanyId) => provisioning.syncCustomer({ partnerId, partnerName, psaKind, psaCompanyId }))));
  }

  /**
   * Writes the change and signals the workflows before the commit (so a Temporal outage writes
   * nothing), then signals once more after it: a workflow that read its mapping between the first
   * signal and the commit reads it again.
   */
  async function changeMappings(partnerId: string, psaCompanyIds: readonly string[], write: (tx: Transaction<Database>) => Promise<void>): Promise<void> {
    let partner: PartnerWithCredentials;
    try {
      partner = await db.transaction().execute(async (tx) => {
        const locked = await findPartner(tx, partnerId, { forUpdate: true });
        if (!locked) throw problems.notFound(`Partner ${partnerId}`);
        await write(tx);
        await syncCustomers(locked, psaCompanyIds);
        return locked;
      });
    } catch (error) {
      // The partner row lock serialises the API's mapping changes; a worker can still record a new tenant meanwhile.
      if (isTenantAlreadyMapped(error)) throw problems.conflict('tenantId', 'was mapped to another company meanwhile');
      throw error;
    }
    try {
      await syncCustomers(partner, psaCompanyIds);
    } catch (error) {
      logger.warn({ err: error, partnerId }, 'could not signal the customer workflows after the commit; they re-read their mapping at their next sync');
    }
  }

  function audit(c: Context<ApiEnv>, partnerId: string, action: string, psaCompanyId: string, details: Record<string, unknown>) {
    return auditEntry(c, { action, partnerId, target: `partner/${partnerId}/customer/${psaCompanyId}`, details: { psaCompanyId, ...details } });
  }

  router.openapi(
    createRoute({
      method: 'get',
      path: '/partners/{id}/customers',
      summary: 'PSA companies with their mapping and provisioning state',
      tags: ['Customers'],
      security: bearerSecurity,
      request: { params: partnerIdParams, query: listQuery },
      responses: {
        200: jsonResponse(
          z.object({ items: z.array(customerSchema), truncated: z.boolean().describe('True when more companies match than `limit`') }),
          'Companies in the PSA order',
        ),
        ...commonErrors,
        ...notFound,
        ...vendorFailure,
        ...unavailable,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { mapping, q, type, status, limit } = c.req.valid('query');
      const clients = await partnerClientsOr404(deps, id);
      const mappings = new Map((await listCompanyMappings(db, id)).map((row) => [row.psaCompanyId, row]));
      const wanted = (company: PsaCompany) => mapping === 'all' || (mapping === 'mapped') === mappings.has(company.id);
      const [listing, runs, broken] = await Promise.all([
        collectUpTo(clients.psa.listCompanies({ nameContains: q, type, status }), limit, wanted),
        withTemporalDeadline(deps, () => provisioning.customerRuns(id)),
        mapping === 'unmapped' ? [] : brokenCompanyMappings(db, id, clients),
      ]);
      const runsByCompany = new Map(runs.map((run) => [run.psaCompanyId, run]));
      const problems = new Map(broken.map((entry) => [entry.key, entry.reason]));
      const items = listing.items.map((company) => view(company, mappings.get(company.id), runsByCompany.get(company.id), problems.get(company.id) ?? null));
      // A mapped company deleted in the PSA is no longer listed by it; its mapping still is, with its problem.
      if (!q && !type && !status) {
        const listed = new Set(listing.items.map((company) => company.id));
        for (const entry of broken) {
          if (listed.has(entry.key) || items.length >= limit) continue;
          const gone: PsaCompany = { id: entry.key, name: `PSA company ${entry.key} (deleted)`, types: [], status: 'deleted', active: false };
          items.push(view(gone, mappings.get(entry.key), runsByCompany.get(entry.key), entry.reason));
        }
      }
      return c.json({ items, truncated: listing.truncated }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'put',
      path: '/partners/{id}/customers/{psaCompanyId}/mapping',
      summary: 'Map a PSA company to a new Acronis customer tenant or to an existing one; starts its customer workflow',
      tags: ['Customers'],
      security: bearerSecurity,
      request: { params: psaCompanyParams, body: jsonBody(mappingInput, '{ "tenant": "new" } or { "tenantId": "<Acronis tenant id>" }') },
      responses: { 200: jsonResponse(customerSchema, 'The customer'), ...commonErrors, ...notFound, ...conflict, ...vendorFailure, ...unavailable },
    }),
    async (c) => {
      const { id, psaCompanyId } = c.req.valid('param');
      const tenantId = c.req.valid('json').tenantId ?? null;
      const clients = await partnerClientsOr404(deps, id);
      const company = await clients.psa.getCompany(psaCompanyId);
      if (!company) throw problems.notFound(`PSA company ${psaCompanyId}`);
      if (tenantId) await checkCustomerTenant(clients.acronis, tenantId);
      await changeMappings(id, [psaCompanyId], async (tx) => {
        if (tenantId) {
          const other = await findCompanyMappedToTenant(tx, id, tenantId);
          if (other && other.psaCompanyId !== psaCompanyId) throw tenantTaken(other.psaCompanyId);
        }
        const previous = await findCompanyMapping(tx, id, psaCompanyId);
        // Re-pointing a company would leave its tenant unmanaged with its quotas; removal deprovisions it first.
        if (previous?.tenantId && previous.tenantId !== tenantId) throw problems.conflict('psaCompanyId', heldTenant(previous.tenantId));
        await upsertCompanyMapping(tx, id, psaCompanyId, tenantId);
        await recordAudit(tx, audit(c, id, 'customer.map', psaCompanyId, { tenant: tenantId ?? 'new', previous: previous ? { tenantId: previous.tenantId } : null }));
      });
      return c.json(await currentView(id, company), 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/partners/{id}/customers/mappings',
      summary: 'Map several PSA companies to new Acronis customer tenants at once',
      tags: ['Customers'],
      security: bearerSecurity,
      request: { params: partnerIdParams, body: jsonBody(batchInput, 'The companies; each gets a new tenant') },
      responses: { 200: jsonResponse(z.object({ items: z.array(customerSchema) }), 'The customers'), ...commonErrors, ...notFound, ...conflict, ...vendorFailure, ...unavailable },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { psaCompanyIds } = c.req.valid('json');
      const clients = await partnerClientsOr404(deps, id);
      const lookedUp = await mapConcurrently(psaCompanyIds, LOOKUP_CONCURRENCY, (psaCompanyId) => clients.psa.getCompany(psaCompanyId));
      const missing: FieldError[] = lookedUp.flatMap((company, index) => (company ? [] : [{ path: fieldPath(['psaCompanyIds', index]), message: 'is not a company in the PSA' }]));
      if (missing.length > 0) throw problems.validation(missing);
      const companies = lookedUp.filter((company): company is PsaCompany => company !== undefined);

      await changeMappings(id, psaCompanyIds, async (tx) => {
        const existing = new Map((await listCompanyMappings(tx, id)).map((row) => [row.psaCompanyId, row]));
        const taken: FieldError[] = psaCompanyIds.flatMap((psaCompanyId, index) => {
          const tenantId = existing.get(psaCompanyId)?.tenantId;
          return tenantId ? [{ path: fieldPath(['psaCompanyIds', index]), message: heldTenant(tenantId) }] : [];
        });
        if (taken.length > 0) throw new ProblemError(409, 'conflict', 'Conflict', 'Some companies are already mapped to a tenant; nothing was changed.', taken);
        for (const psaCompanyId of psaCompanyIds) {
          if (existing.has(psaCompanyId)) continue;
          await upsertCompanyMapping(tx, id, psaCompanyId, null);
          await recordAudit(tx, audit(c, id, 'customer.map', psaCompanyId, { tenant: 'new', previous: null }));
        }
      });
      const items = await mapConcurrently(companies, LOOKUP_CONCURRENCY, (company) => currentView(id, company));
      return c.json({ items }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'delete',
      path: '/partners/{id}/customers/{psaCompanyId}/mapping',
      summary: "Remove a company's mapping: its customer workflow starts deprovisioning (SPEC F3.5)",
      tags: ['Customers'],
      security: bearerSecurity,
      request: { params: psaCompanyParams },
      responses: { 204: { description: 'Removed' }, ...commonErrors, ...notFound, ...conflict, ...unavailable },
    }),
    async (c) => {
      const { id, psaCompanyId } = c.req.valid('param');
      const partner = await findPartner(db, id);
      if (!partner) throw problems.notFound(`Partner ${id}`);
      // Automatic mode maps every company whose agreement holds mapped products: the next pass would map it again.
      if ((await readSettings(db, id))?.settings.provisioning.automatic) {
        throw problems.conflict('psaCompanyId', 'cannot be unmapped while provisioning is automatic; switch provisioning.automatic off, or end the agreement in the PSA to deprovision');
      }
      await changeMappings(id, [psaCompanyId], async (tx) => {
        const mapping = await findCompanyMapping(tx, id, psaCompanyId);
        if (!mapping) throw problems.notFound(`The mapping of PSA company ${psaCompanyId}`);
        await deleteCompanyMapping(tx, id, psaCompanyId);
        await recordAudit(tx, audit(c, id, 'customer.unmap', psaCompanyId, { tenantId: mapping.tenantId }));
      });
      return c.body(null, 204);
    },
  );

  return router;
}
