import { createRoute } from '@hono/zod-openapi';
import { recordAudit } from '../../db/audit-log.ts';
import { findPartner } from '../../db/partners.ts';
import { readSettings, writeSettings } from '../../db/settings.ts';
import { mergeSettings, settingsPatchSchema, settingsSchema, type Settings } from '../../domain/settings.ts';
import { auditEntry, partnerClientsOr404, type ApiDeps } from '../context.ts';
import { problems, zodFieldErrors } from '../problem.ts';
import { newRouter } from '../router.ts';
import { bearerSecurity, commonErrors, jsonBody, jsonResponse, notFound, partnerIdParams, vendorFailure } from '../schemas.ts';
import { checkTicketSettings, namesTicketFields } from '../ticket-fields.ts';

function leafPaths(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return prefix ? [prefix] : [];
  return Object.entries(value).flatMap(([key, child]) => leafPaths(child, prefix ? `${prefix}.${key}` : key));
}

export function settingsRoutes(deps: ApiDeps, notifyChanged: (partnerId: string) => Promise<void>) {
  const { db } = deps;
  const router = newRouter();
  const settingsView = settingsSchema.openapi('PartnerSettings');

  router.openapi(
    createRoute({
      method: 'get',
      path: '/partners/{id}/settings',
      summary: "A partner's settings",
      tags: ['Settings'],
      security: bearerSecurity,
      request: { params: partnerIdParams },
      responses: { 200: jsonResponse(settingsView, 'The whole settings'), ...commonErrors, ...notFound },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const stored = (await findPartner(db, id)) && (await readSettings(db, id));
      if (!stored) throw problems.notFound(`Partner ${id}`);
      return c.json(stored.settings, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'put',
      path: '/partners/{id}/settings',
      summary: "Change a partner's settings; any subset may be sent",
      tags: ['Settings'],
      security: bearerSecurity,
      request: { params: partnerIdParams, body: jsonBody(settingsPatchSchema.openapi('PartnerSettingsChange'), 'The settings that change') },
      responses: { 200: jsonResponse(settingsView, 'The whole settings after the change'), ...commonErrors, ...notFound, ...vendorFailure },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const patch = c.req.valid('json');
      // Ticket settings that name PSA values (auto-close status, Autotask note type) are checked against the PSA first.
      if (namesTicketFields(patch)) {
        const errors = checkTicketSettings(patch, await (await partnerClientsOr404(deps, id)).psa.ticketFields());
        if (errors.length > 0) throw problems.validation(errors);
      }
      const settings = await db.transaction().execute(async (tx): Promise<Settings> => {
        const partner = await findPartner(tx, id, { forUpdate: true });
        const stored = partner && (await readSettings(tx, id));
        if (!partner || !stored) throw problems.notFound(`Partner ${id}`);
        const merged = settingsSchema.safeParse(mergeSettings(stored.settings, patch));
        if (!merged.success) throw problems.validation(zodFieldErrors(merged.error));
        const { provisioning } = merged.data;
        // Not a schema rule: documents saved before the setting existed must still read.
        if (provisioning.enabled && provisioning.accountBasis === 'company-name' && provisioning.activationEmail === null) {
          throw problems.field('provisioning.activationEmail', 'is required while provisioning is on with accounts based on the company name: the admin accounts are sent their activation e-mail there');
        }
        if (merged.data.agents.enabled && !partner.rmmKind) {
          throw problems.field('agents.enabled', 'needs RMM credentials: add `rmm` to the partner first');
        }
        const version = await writeSettings(tx, id, merged.data);
        await recordAudit(tx, auditEntry(c, {
          action: 'settings.update',
          partnerId: id,
          target: `partner/${id}/settings`,
          details: { version, changed: leafPaths(patch), values: patch },
        }));
        return merged.data;
      });
      await notifyChanged(id);
      return c.json(settings, 200);
    },
  );

  return router;
}
