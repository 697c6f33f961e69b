import { createRoute, z } from '@hono/zod-openapi';
import type { Transaction } from 'kysely';
import { recordAudit } from '../../db/audit-log.ts';
import { forgetDiscoveryWatermark } from '../../db/company-lines.ts';
import {
  deleteCredential,
  findPartner,
  insertPartner,
  listPartners,
  livePartnersWithAcronisClient,
  lockAcronisAccounts,
  markPartnerDeleted,
  saveCredential,
  updatePartner,
  type CredentialRow,
  type PartnerWithCredentials,
} from '../../db/partners.ts';
import type { Database } from '../../db/schema.ts';
import { insertDefaultSettings, readSettings } from '../../db/settings.ts';
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
import { problems, zodFieldErrors } from '../problem.ts';
import { newRouter } from '../router.ts';
import { bearerSecurity, commonErrors, conflict, jsonBody, jsonResponse, notFound, partnerIdParams, unavailable } from '../schemas.ts';

const stamp = { secretSet: z.literal(true).describe('The secret fields are stored (encrypted); they are never returned') };

const partnerViewSchema = z
  .strictObject({
    id: z.uuid(),
    name: z.string(),
    timezone: z.string(),
    acronis: z.strictObject({ baseUrl: z.string(), clientId: z.string(), ...stamp }),
    psa: z.discriminatedUnion('kind', [
      z.strictObject({ kind: z.literal('connectwise-manage'), baseUrl: z.string(), companyId: z.string(), publicKey: z.string(), clientId: z.string(), ...stamp }),
      z.strictObject({ kind: z.literal('autotask'), baseUrl: z.string(), username: z.string(), ...stamp }),
    ]),
    rmm: z.strictObject({ kind: z.literal('connectwise-automate'), baseUrl: z.string(), username: z.string(), clientId: z.string(), ...stamp }).nullable(),
    workflow: z.strictObject({ id: z.string(), webUiUrl: z.string() }),
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

  function view(partner: PartnerWithCredentials): PartnerView {
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
      acronis: shown('acronis'),
      psa: { kind: partner.psaKind, ...shown('psa') },
      rmm: partner.rmmKind ? { kind: partner.rmmKind, ...shown('rmm') } : null,
      workflow: { id: partnerWorkflowId(partner.id), webUiUrl: workflows.webUiUrl(partnerWorkflowId(partner.id)) },
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
      const kept = existing ? (JSON.parse(secretBox.open(existing.sealedSecrets, context)) as Record<string, string>) : {};
      sealedSecrets = secretBox.seal(JSON.stringify({ ...kept, ...secrets }), context);
    }
    await saveCredential(tx, partnerId, { system, kind, visible: { ...existing?.visible, ...visible }, sealedSecrets });
    return [...Object.keys(visible), ...Object.keys(secrets)].map((field) => `${system}.${field}`);
  }

  /**
   * One Acronis account serves one live partner: two would each find the other's customer tenants
   * under the one partner tenant and adopt them by name, whatever their PSAs. Checked under a lock,
   * so that of two registrations at once only one gets the account.
   */
  async function claimAcronisAccount(tx: Transaction<Database>, partnerId: string, account: AcronisAccount): Promise<void> {
    await lockAcronisAccounts(tx);
    const holder = (await livePartnersWithAcronisClient(tx, account.clientId)).find((other) => other.id !== partnerId && sameAcronisAccount(other, account));
    if (holder) {
      throw problems.conflict('acronis.clientId', `is the Acronis API client of partner "${holder.name}" (${holder.id}) on ${account.baseUrl}; one Acronis account serves one partner`);
    }
  }

  async function loadOr404(id: string): Promise<PartnerWithCredentials> {
    const partner = await findPartner(db, id);
    if (!partner) throw problems.notFound(`Partner ${id}`);
    return partner;
  }

  router.openapi(
    createRoute({
      method: 'post',
      path: '/partners',
      summary: 'Register a partner and start its workflows',
      tags: ['Partners'],
      security: bearerSecurity,
      request: { body: jsonBody(schemas.create.openapi('PartnerCreate'), 'The partner with its Acronis, PSA and optional RMM credentials') },
      responses: { 201: jsonResponse(partnerViewSchema, 'Created; the partner workflow runs'), ...commonErrors, ...conflict, ...unavailable },
    }),
    async (c) => {
      const input = c.req.valid('json');
      const id = crypto.randomUUID();
      try {
        await db.transaction().execute(async (tx) => {
          await claimAcronisAccount(tx, id, input.acronis);
          await insertPartner(tx, { id, name: input.name, timezone: input.timezone, psaKind: input.psa.kind, rmmKind: input.rmm?.kind ?? null });
          const fieldsSet = [
            ...(await writeCredential(tx, id, 'acronis', 'acronis', input.acronis)),
            ...(await writeCredential(tx, id, 'psa', input.psa.kind, input.psa)),
            ...(input.rmm ? await writeCredential(tx, id, 'rmm', input.rmm.kind, input.rmm) : []),
          ];
          await insertDefaultSettings(tx, id);
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
      return c.json(view(await loadOr404(id)), 201);
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
    async (c) => c.json({ items: (await listPartners(db)).map(view) }, 200),
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
    async (c) => c.json(view(await loadOr404(c.req.valid('param').id)), 200),
  );

  router.openapi(
    createRoute({
      method: 'patch',
      path: '/partners/{id}',
      summary: 'Change a partner: name, time zone, credentials; `rmm: null` removes the RMM',
      tags: ['Partners'],
      security: bearerSecurity,
      request: { params: partnerIdParams, body: jsonBody(schemas.update.openapi('PartnerUpdate'), 'Only the fields that change') },
      responses: { 200: jsonResponse(partnerViewSchema, 'The changed partner'), ...commonErrors, ...notFound, ...conflict },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const change = c.req.valid('json');
      try {
        await db.transaction().execute(async (tx) => {
          const partner = await findPartner(tx, id, { forUpdate: true });
          if (!partner) throw problems.notFound(`Partner ${id}`);
          if (change.psa && change.psa.kind !== partner.psaKind) {
            throw problems.field('psa.kind', `is ${partner.psaKind}; a partner's PSA cannot change (its mappings hold that PSA's IDs): remove the partner and register it again`);
          }
          if (change.acronis?.baseUrl !== undefined || change.acronis?.clientId !== undefined) {
            const current = partner.credentials.acronis?.visible;
            await claimAcronisAccount(tx, id, { baseUrl: change.acronis.baseUrl ?? current?.baseUrl ?? '', clientId: change.acronis.clientId ?? current?.clientId ?? '' });
          }
          const changed: string[] = [];
          if (change.name !== undefined) changed.push('name');
          if (change.timezone !== undefined) changed.push('timezone');
          if (change.acronis) changed.push(...(await writeCredential(tx, id, 'acronis', 'acronis', change.acronis, partner.credentials.acronis)));
          if (change.psa) {
            changed.push(...(await writeCredential(tx, id, 'psa', partner.psaKind, change.psa, partner.credentials.psa)));
            // Maybe another instance, surely another view of it: discovery's next pass reads everything again.
            await forgetDiscoveryWatermark(tx, id);
          }
          let rmmKind = partner.rmmKind;
          if (change.rmm === null && partner.rmmKind) {
            const settings = await readSettings(tx, id);
            if (settings?.settings.agents.enabled) throw problems.field('rmm', 'is needed while agents.enabled is on; switch agent management off first');
            await deleteCredential(tx, id, 'rmm');
            rmmKind = null;
            changed.push('rmm');
          } else if (change.rmm) {
            // Adding an RMM needs all of its fields; changing one needs only what changes.
            const existing = partner.credentials.rmm;
            if (!existing) {
              const full = schemas.connectwiseAutomate.safeParse(change.rmm);
              if (!full.success) throw problems.validation(zodFieldErrors(full.error, ['rmm']));
            }
            changed.push(...(await writeCredential(tx, id, 'rmm', change.rmm.kind, change.rmm, existing)));
            rmmKind = change.rmm.kind;
          }
          await updatePartner(tx, id, { name: change.name, timezone: change.timezone, rmmKind });
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
      return c.json(view(await loadOr404(id)), 200);
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
