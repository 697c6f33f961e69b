import { createRoute, z } from '@hono/zod-openapi';
import { recordAudit } from '../../db/audit-log.ts';
import { findPartner } from '../../db/partners.ts';
import { readSettings } from '../../db/settings.ts';
import type { PsaKind } from '../../domain/partner.ts';
import type { Settings } from '../../domain/settings.ts';
import { auditEntry, withTemporalDeadline, type ApiDeps } from '../context.ts';
import { fieldPath, ProblemError, problems, type FieldError } from '../problem.ts';
import { newRouter } from '../router.ts';
import { bearerSecurity, commonErrors, conflict, jsonBody, jsonResponse, notFound, partnerIdParams, unavailable } from '../schemas.ts';

const SYNC_KINDS = ['provisioning', 'usage', 'alerts', 'agents'] as const;
type SyncKind = (typeof SYNC_KINDS)[number];

interface SyncPass {
  /** The setting that switches the capability on. */
  setting: string;
  enabled(settings: Settings): boolean;
  run(partnerId: string, psaKind: PsaKind): Promise<void>;
}

const syncInput = z
  .strictObject({
    what: z
      .array(z.enum(SYNC_KINDS))
      .min(1)
      .superRefine((kinds, ctx) => {
        kinds.forEach((kind, index) => {
          if (kinds.indexOf(kind) !== index) ctx.addIssue({ code: 'custom', path: [index], message: 'is listed twice' });
        });
      })
      .describe('The passes to run now'),
  })
  .openapi('SyncRequest');

export function syncRoutes(deps: ApiDeps) {
  const { db, provisioning } = deps;
  const router = newRouter();
  // Passes this engine runs so far; the others answer 409 instead of being accepted and never run.
  const passes: Partial<Record<SyncKind, SyncPass>> = {
    provisioning: {
      setting: 'provisioning.enabled',
      enabled: (settings) => settings.provisioning.enabled,
      run: (partnerId, psaKind) => provisioning.syncProvisioning(partnerId, psaKind),
    },
  };

  router.openapi(
    createRoute({
      method: 'post',
      path: '/partners/{id}/sync',
      summary: '"Sync now": run these passes at once',
      tags: ['Workflows'],
      security: bearerSecurity,
      request: { params: partnerIdParams, body: jsonBody(syncInput, 'Which passes') },
      responses: {
        202: jsonResponse(z.object({ accepted: z.array(z.enum(SYNC_KINDS)) }), 'The passes were asked to run'),
        ...commonErrors,
        ...notFound,
        ...conflict,
        ...unavailable,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { what } = c.req.valid('json');
      const partner = await findPartner(db, id);
      const stored = partner && (await readSettings(db, id));
      if (!partner || !stored) throw problems.notFound(`Partner ${id}`);
      const refused: FieldError[] = [];
      const runs: SyncPass[] = [];
      what.forEach((kind, index) => {
        const path = fieldPath(['what', index]);
        const pass = passes[kind];
        if (!pass) refused.push({ path, message: `${kind} passes are not available yet in this engine` });
        else if (!pass.enabled(stored.settings)) refused.push({ path, message: `${kind} is switched off for this partner (settings ${pass.setting})` });
        else runs.push(pass);
      });
      if (refused.length > 0) throw new ProblemError(409, 'conflict', 'Conflict', 'Nothing was started: some passes cannot run.', refused);

      await db.transaction().execute(async (tx) => {
        await recordAudit(tx, auditEntry(c, { action: 'partner.sync', partnerId: id, target: `partner/${id}`, details: { what } }));
        // Signalled before the commit: if Temporal does not answer, the audit entry is not written either.
        await withTemporalDeadline(deps, () => Promise.all(runs.map((pass) => pass.run(id, partner.psaKind))));
      });
      return c.json({ accepted: what }, 202);
    },
  );

  return router;
}
