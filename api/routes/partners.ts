import { createRoute, z } from '@hono/zod-openapi';
import type { Transaction } from 'kysely';
import { checkCredentials, type CredentialCheckResult, type CredentialsToCheck } from '../../clients/credential-checks.ts';
import { recordAudit } from '../../db/audit-log.ts';
import { forgetLineWatermarks } from '../../db/company-lines.ts';
import { readHealth, readHealthOf, recordAcceptedCredentials } from '../../db/partner-health.ts';
import {
  deleteCredential,
  findPartner,
  insertPartner,
  listPartners,
  livePartnersOnAcronisAccount,
  lockAcronisAccounts,
  markPartnerDeleted,
  saveCredential,
  updatePartner,
  type CredentialRow,
  type PartnerWithCredentials,
} from '../../db/partners.ts';
import type { Database } from '../../db/schema.ts';
import { insertDefaultSettings, readSettings } from '../../db/settings.ts';
import { healthStatus, overallStatus, type SystemHealthRecord } from '../../domain/health.ts';
import {
  credentialContext,
  partnerSchemas,
  sameAcronisAccount,
  splitCredential,
  type AcronisAccount,
  type CredentialKind,
  type ExternalSystem,
} from '../../domain/partner.ts';
import { SecretBox } from '../../security/secret-box.ts';
import { partnerWorkflowId } from '../../workflows/contracts/partner.ts';
import { auditEntry, type ApiDeps } from '../context.ts';
import { ProblemError, problems, zodFieldErrors } from '../problem.ts';
import { newRouter } from '../router.ts';
import { bearerSecurity, commonErrors, conflict, credentialsChecked, jsonBody, jsonResponse, notFound, partnerIdParams, unavailable } from '../schemas.ts';

const SYSTEMS: readonly ExternalSystem[] = ['acronis', 'psa', 'rmm'];

/** A refused credential answers 422 naming each field; otherwise a system that did not answer, 502 naming it. Nothing is saved either way. */
function refuseUnlessAccepted(check: CredentialCheckResult): void {
  if (check.refused.length > 0) {
    const detail = `${check.refused.map((refusal) => refusal.message).join('; ')}. Nothing was saved.`;
    throw new ProblemError(422, 'credentials-refused', 'Credentials refused', detail, check.refused.map(({ path, message }) => ({ path, message })));
  }
  if (check.unreachable.length > 0) {
    const names = check.unreachable.map((entry) => entry.name).join(' and ');
    throw new ProblemError(
      502,
      'vendor-unavailable',
      `${names} did not answer`,
      `The credentials could not be checked: ${check.unreachable.map((entry) => `${entry.name} did not answer (${entry.detail})`).join('; ')}. Nothing was saved; try again later.`,
      check.unreachable.map((entry) => ({ path: `${entry.system}.baseUrl`, message: `${entry.name} did not answer (${entry.detail})` })),
    );
  }
}

/** The dotted names of the credential fields a request sets. */
function credentialPaths(given: Partial<Record<ExternalSystem, Record<string, unknown> | null | undefined>>): Set<string> {
  return new Set(SYSTEMS.flatMap((system) => Object.keys(given[system] ?? {}).filter((field) => field !== 'kind').map((field) => `${system}.${field}`)));
}

const stamp = { secretSet: z.literal(true).describe('The secret fields are stored (encrypted); they are never returned') };

const partnerViewSchema = z
  .strictObject({
    id: z.uuid(),
    name: z.string(),
    timezone: z.string(),
    acronis: z.strictObject({
      baseUrl: z.string(),
      clientId: z.string(),
      tenantId: z.string().nullable().describe('The Acronis partner tenant the API client acts for, read from Acronis when the credentials were saved'),
      ...stamp,
    }),
    psa: z.discriminatedUnion('kind', [
      z.strictObject({ kind: z.literal('connectwise-manage'), baseUrl: z.string(), companyId: z.string(), publicKey: z.string(), clientId: z.string(), ...stamp }),
      z.strictObject({ kind: z.literal('autotask'), baseUrl: z.string(), username: z.string(), ...stamp }),
    ]),
    rmm: z.strictObject({ kind: z.literal('connectwise-automate'), baseUrl: z.string(), username: z.string(), clientId: z.string(), ...stamp }).nullable(),
    workflow: z.strictObject({ id: z.string(), webUiUrl: z.string() }),
    health: z
      .enum(['ok', 'failing', 'credentials-rejected', 'unknown'])
      .describe('The worst status of its systems (GET /v1/partners/{id}/health has each): credentials-rejected pauses the loops that need them until they are changed'),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .openapi('Partner');

type PartnerView = z.infer<typeof partnerViewSchema>;

const PARTNER_NAME_INDEX = 'partners_live_name';

function isUniqueViolation(error: unknown, constraint: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: string }).code === '23505' && (error as { constraint?: string }).constraint === constraint;
}

export function partnerRoutes(deps: ApiDeps) {
  const { db, workflows, logger } = deps;
  const secretBox = new SecretBox(deps.keyring);
  const schemas = partnerSchemas({ requireHttps: deps.production });
  const router = newRouter();

  function view(partner: PartnerWithCredentials, health: readonly SystemHealthRecord[]): PartnerView {
    const shown = (system: ExternalSystem) => {
      const credential = partner.credentials[system];
      return credential ? { ...credential.visible, secretSet: true } : undefined;
    };
    // Parsing the view against its strict schema means a field that is not in the schema (a secret
    // that slipped into `visible`, say) fails the request instead of reaching the client.
    return partnerViewSchema.parse({
      id: partner.id,
      name: partner.name,
      timezone: partner.timezone,
      acronis: { ...shown('acronis'), tenantId: partner.acronisTenantId },
      psa: { kind: partner.psaKind, ...shown('psa') },
      rmm: partner.rmmKind ? { kind: partner.rmmKind, ...shown('rmm') } : null,
      workflow: { id: partnerWorkflowId(partner.id), webUiUrl: workflows.webUiUrl(partnerWorkflowId(partner.id)) },
      health: overallStatus(SYSTEMS.filter((system) => partner.credentials[system]).map((system) => healthStatus(health.find((record) => record.system === system)))),
      createdAt: partner.createdAt.toISOString(),
      updatedAt: partner.updatedAt.toISOString(),
    });
  }

  /**
   * Writes one credential. Secrets named in `fields` replace the stored ones; the rest stay sealed
   * as they are. Returns the dotted names of the fields that were set.
   */
  async function writeCredential(
    tx: Transaction<Database>,
    partnerId: string,
    system: ExternalSystem,
    kind: CredentialKind,
    fields: Record<string, unknown>,
    existing?: CredentialRow,
  ): Promise<string[]> {
    const { visible, secrets } = splitCredential(kind, fields);
    const context = credentialContext(partnerId, system);
    let sealedSecrets = existing?.sealedSecrets;
    if (!sealedSecrets || Object.keys(secrets).length > 0) {
      const kept = existing ? storedSecrets(partnerId, system, existing) : {};
      sealedSecrets = secretBox.seal(JSON.stringify({ ...kept, ...secrets }), context);
    }
    await saveCredential(tx, partnerId, { system, kind, visible: { ...existing?.visible, ...visible }, sealedSecrets });
    return [...Object.keys(visible), ...Object.keys(secrets)].map((field) => `${system}.${field}`);
  }

  function storedSecrets(partnerId: string, system: ExternalSystem, stored: CredentialRow): Record<string, string> {
    return JSON.parse(secretBox.open(stored.sealedSecrets, credentialContext(partnerId, system))) as Record<string, string>;
  }

  /** A credential as it would be after the change: what is stored, with the changed fields over it. */
  function mergedCredential(partner: PartnerWithCredentials, system: ExternalSystem, change: Record<string, unknown>): Record<string, string> {
    const stored = partner.credentials[system];
    const given = Object.fromEntries(Object.entries(change).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
    return { ...stored?.visible, ...(stored ? storedSecrets(partner.id, system, stored) : {}), ...given };
  }

  /**
   * One Acronis account serves one live partner: two would each find the other's customer tenants
   * under the one partner tenant and adopt them by name, whatever their PSAs. The account is the
   * partner tenant the API client acts for (any of its API clients), on the same data centre.
   * Checked under a lock, so that of two registrations at once only one gets the account.
   */
  async function claimAcronisAccount(tx: Transaction<Database>, partnerId: string, account: AcronisAccount): Promise<void> {
    await lockAcronisAccounts(tx);
    const holder = (await livePartnersOnAcronisAccount(tx, account)).find((other) => other.id !== partnerId && sameAcronisAccount(other, account));
    if (holder) {
      const tenant = account.tenantId ? ` (partner tenant ${account.tenantId})` : '';
      throw problems.conflict('acronis.clientId', `reaches the Acronis account${tenant} of partner "${holder.name}" (${holder.id}) on ${account.baseUrl}; one Acronis account serves one partner`);
    }
  }

  async function loadOr404(id: string): Promise<PartnerWithCredentials> {
    const partner = await findPartner(db, id);
    if (!partner) throw problems.notFound(`Partner ${id}`);
    return partner;
  }

  async function viewOf(id: string): Promise<PartnerView> {
    return view(await loadOr404(id), await readHealth(db, id));
  }

  router.openapi(
    createRoute({
      method: 'post',
      path: '/partners',
      summary: 'Register a partner and start its workflows',
      tags: ['Partners'],
      security: bearerSecurity,
      request: { body: jsonBody(schemas.create.openapi('PartnerCreate'), 'The partner with its Acronis, PSA and optional RMM credentials') },
      responses: { 201: jsonResponse(partnerViewSchema, 'Created; the partner workflow runs'), ...commonErrors, ...conflict, ...credentialsChecked, ...unavailable },
    }),
    async (c) => {
      const input = c.req.valid('json');
      const check = await checkCredentials({ acronis: input.acronis, psa: input.psa, rmm: input.rmm }, credentialPaths(input));
      refuseUnlessAccepted(check);
      const acronisTenantId = check.acronisTenantId ?? null;
      const id = crypto.randomUUID();
      try {
        await db.transaction().execute(async (tx) => {
          await claimAcronisAccount(tx, id, { ...input.acronis, tenantId: acronisTenantId });
          await insertPartner(tx, { id, name: input.name, timezone: input.timezone, psaKind: input.psa.kind, rmmKind: input.rmm?.kind ?? null, acronisTenantId });
          const fieldsSet = [
            ...(await writeCredential(tx, id, 'acronis', 'acronis', input.acronis)),
            ...(await writeCredential(tx, id, 'psa', input.psa.kind, input.psa)),
            ...(input.rmm ? await writeCredential(tx, id, 'rmm', input.rmm.kind, input.rmm) : []),
          ];
          await insertDefaultSettings(tx, id);
          await recordAcceptedCredentials(tx, id, check.accepted);
          await recordAudit(tx, auditEntry(c, {
            action: 'partner.create',
            partnerId: id,
            target: `partner/${id}`,
            details: { name: input.name, timezone: input.timezone, psaKind: input.psa.kind, rmmKind: input.rmm?.kind ?? null, fieldsSet },
          }));
          // Started before the commit: if Temporal does not answer, the transaction rolls back and
          // nothing is half-written. The supervisor tolerates running a moment before the commit.
          await workflows.startSupervisor({ id, name: input.name, psaKind: input.psa.kind });
        });
      } catch (error) {
        if (isUniqueViolation(error, PARTNER_NAME_INDEX)) throw problems.conflict('name', `"${input.name}" is already the name of a partner`);
        throw error;
      }
      c.header('Location', `/v1/partners/${id}`);
      return c.json(await viewOf(id), 201);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/partners',
      summary: 'List partners',
      tags: ['Partners'],
      security: bearerSecurity,
      responses: { 200: jsonResponse(z.object({ items: z.array(partnerViewSchema) }), 'All partners'), ...commonErrors },
    }),
    async (c) => {
      const scope = c.get('token').partnerId;
      const partners = (await listPartners(db)).filter((partner) => scope === null || partner.id === scope);
      const health = await readHealthOf(db, partners.map((partner) => partner.id));
      return c.json({ items: partners.map((partner) => view(partner, health.get(partner.id) ?? [])) }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/partners/{id}',
      summary: 'Read a partner',
      tags: ['Partners'],
      security: bearerSecurity,
      request: { params: partnerIdParams },
      responses: { 200: jsonResponse(partnerViewSchema, 'The partner'), ...commonErrors, ...notFound },
    }),
    async (c) => c.json(await viewOf(c.req.valid('param').id), 200),
  );

  router.openapi(
    createRoute({
      method: 'patch',
      path: '/partners/{id}',
      summary: 'Change a partner: name, time zone, credentials; `rmm: null` removes the RMM',
      tags: ['Partners'],
      security: bearerSecurity,
      request: { params: partnerIdParams, body: jsonBody(schemas.update.openapi('PartnerUpdate'), 'Only the fields that change') },
      responses: { 200: jsonResponse(partnerViewSchema, 'The changed partner'), ...commonErrors, ...notFound, ...conflict, ...credentialsChecked },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const change = c.req.valid('json');
      // Changed credentials are checked as they will be stored (the stored fields with the change over them), before the transaction.
      const touched = SYSTEMS.filter((system) => change[system] !== undefined && change[system] !== null);
      let check: CredentialCheckResult | undefined;
      if (touched.length > 0) {
        const current = await loadOr404(id);
        if (change.psa && change.psa.kind !== current.psaKind) {
          throw problems.field('psa.kind', `is ${current.psaKind}; a partner's PSA cannot change (its mappings hold that PSA's IDs): remove the partner and register it again`);
        }
        if (change.rmm && !current.credentials.rmm) {
          // Adding an RMM needs all of its fields; changing one needs only what changes.
          const full = schemas.connectwiseAutomate.safeParse(change.rmm);
          if (!full.success) throw problems.validation(zodFieldErrors(full.error, ['rmm']));
        }
        const merged: CredentialsToCheck = {};
        if (change.acronis) merged.acronis = mergedCredential(current, 'acronis', change.acronis);
        if (change.psa) merged.psa = { ...mergedCredential(current, 'psa', change.psa), kind: current.psaKind };
        if (change.rmm) merged.rmm = mergedCredential(current, 'rmm', change.rmm);
        check = await checkCredentials(merged, credentialPaths(change));
        refuseUnlessAccepted(check);
      }
      try {
        await db.transaction().execute(async (tx) => {
          const partner = await findPartner(tx, id, { forUpdate: true });
          if (!partner) throw problems.notFound(`Partner ${id}`);
          let acronisTenantId: string | undefined;
          if (change.acronis) {
            const current = partner.credentials.acronis?.visible;
            acronisTenantId = check?.acronisTenantId;
            await claimAcronisAccount(tx, id, { baseUrl: change.acronis.baseUrl ?? current?.baseUrl ?? '', clientId: change.acronis.clientId ?? current?.clientId ?? '', tenantId: acronisTenantId });
          }
          const changed: string[] = [];
          if (change.name !== undefined) changed.push('name');
          if (change.timezone !== undefined) changed.push('timezone');
          if (change.acronis) changed.push(...(await writeCredential(tx, id, 'acronis', 'acronis', change.acronis, partner.credentials.acronis)));
          if (change.psa) {
            changed.push(...(await writeCredential(tx, id, 'psa', partner.psaKind, change.psa, partner.credentials.psa)));
            // Maybe another instance, surely another view of it: every reader's next pass (discovery, billing) reads everything again.
            await forgetLineWatermarks(tx, id);
          }
          let rmmKind = partner.rmmKind;
          if (change.rmm === null && partner.rmmKind) {
            const settings = await readSettings(tx, id);
            if (settings?.settings.agents.enabled) throw problems.field('rmm', 'is needed while agents.enabled is on; switch agent management off first');
            await deleteCredential(tx, id, 'rmm');
            rmmKind = null;
            changed.push('rmm');
          } else if (change.rmm) {
            changed.push(...(await writeCredential(tx, id, 'rmm', change.rmm.kind, change.rmm, partner.credentials.rmm)));
            rmmKind = change.rmm.kind;
          }
          await updatePartner(tx, id, { name: change.name, timezone: change.timezone, rmmKind, acronisTenantId });
          // Credentials that were refused at run time and are now accepted: the paused loops resume.
          if (check) await recordAcceptedCredentials(tx, id, check.accepted);
          await recordAudit(tx, auditEntry(c, {
            action: 'partner.update',
            partnerId: id,
            target: `partner/${id}`,
            details: { changed, ...(change.name !== undefined && { name: change.name }), ...(change.timezone !== undefined && { timezone: change.timezone }) },
          }));
        });
      } catch (error) {
        if (isUniqueViolation(error, PARTNER_NAME_INDEX)) throw problems.conflict('name', `"${change.name}" is already the name of a partner`);
        throw error;
      }
      await notifyChanged(id);
      return c.json(await viewOf(id), 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'delete',
      path: '/partners/{id}',
      summary: 'Remove a partner: its workflows stop, its credentials are destroyed; Acronis tenants stay as they are',
      tags: ['Partners'],
      security: bearerSecurity,
      request: { params: partnerIdParams },
      responses: { 204: { description: 'Removed' }, ...commonErrors, ...notFound },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const removed = await db.transaction().execute(async (tx) => {
        const partner = await findPartner(tx, id, { forUpdate: true });
        if (!partner) throw problems.notFound(`Partner ${id}`);
        await markPartnerDeleted(tx, id);
        await recordAudit(tx, auditEntry(c, {
          action: 'partner.delete',
          partnerId: id,
          target: `partner/${id}`,
          details: { name: partner.name },
        }));
        return partner;
      });
      try {
        await workflows.notifyPartnerRemoved(removed);
      } catch (error) {
        // Every activity of the partner already refuses to write; the supervisor ends the rest at its hourly check.
        logger.warn({ err: error, partnerId: id }, 'could not tell the partner workflow; it ends the partner\'s workflows at its next check');
      }
      return c.body(null, 204);
    },
  );

  async function notifyChanged(partnerId: string): Promise<void> {
    try {
      const partner = await findPartner(db, partnerId);
      if (partner) await workflows.notifyConfigurationChanged(partner);
    } catch (error) {
      logger.warn({ err: error, partnerId }, 'could not signal the partner workflow; it reloads at its next hourly check');
    }
  }

  return { router, notifyChanged };
}
