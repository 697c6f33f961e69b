import { createRoute, z } from '@hono/zod-openapi';
import { recordAudit } from '../../db/audit-log.ts';
import { rejectedSystems } from '../../db/partner-health.ts';
import { findPartner } from '../../db/partners.ts';
import { readSettings } from '../../db/settings.ts';
import { capabilitiesOf } from '../../domain/settings.ts';
import { CAPABILITY_LOOPS, LOOP_SYSTEMS, type CapabilityName } from '../../workflows/contracts/loops.ts';
import { auditEntry, withTemporalDeadline, type ApiDeps } from '../context.ts';
import { fieldPath, ProblemError, problems, type FieldError } from '../problem.ts';
import { newRouter } from '../router.ts';
import { bearerSecurity, commonErrors, conflict, jsonBody, jsonResponse, notFound, partnerIdParams, unavailable } from '../schemas.ts';

/** The passes CONTRACT names, and the capability whose loop runs each. */
const PASSES = { provisioning: 'provisioning', usage: 'billing', alerts: 'tickets', agents: 'agents' } as const satisfies Record<string, CapabilityName>;
type SyncKind = keyof typeof PASSES;
const SYNC_KINDS = Object.keys(PASSES) as [SyncKind, ...SyncKind[]];

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
  const { db, loops } = deps;
  const router = newRouter();

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
      const on = capabilitiesOf(stored.settings);
      const rejected = await rejectedSystems(db, id);
      const refused: FieldError[] = [];
      what.forEach((kind, index) => {
        const capability = PASSES[kind];
        const path = fieldPath(['what', index]);
        // A capability without a loop answers 409 rather than being accepted and never run.
        if (!CAPABILITY_LOOPS[capability]) refused.push({ path, message: `${kind} passes are not available yet in this engine` });
        else if (!on[capability]) refused.push({ path, message: `${kind} is switched off for this partner (settings ${capability}.enabled)` });
        else {
          // Paused by the supervisor: a pass now would only be refused again by a locked account.
          const locked = LOOP_SYSTEMS[capability].filter((system) => rejected.includes(system));
          if (locked.length > 0) refused.push({ path, message: `${kind} is paused: ${locked.join(' and ')} refused the partner's credentials; change them with PATCH /v1/partners/${id}` });
        }
      });
      if (refused.length > 0) throw new ProblemError(409, 'conflict', 'Conflict', 'Nothing was started: some passes cannot run.', refused);

      const owner = { partnerId: id, partnerName: partner.name, psaKind: partner.psaKind };
      await db.transaction().execute(async (tx) => {
        await recordAudit(tx, auditEntry(c, { action: 'partner.sync', partnerId: id, target: `partner/${id}`, details: { what } }));
        // Signalled before the commit: if Temporal does not answer, the audit entry is not written either.
        await withTemporalDeadline(deps, () => Promise.all(what.map((kind) => loops.syncNow(owner, PASSES[kind]))));
      });
      return c.json({ accepted: what }, 202);
    },
  );

  return router;
}
