import { createRoute, z } from '@hono/zod-openapi';
import { runInCallScope } from '../../clients/call-scope.ts';
import { refusedLines } from '../../db/billing-runs.ts';
import { recordHealth, readHealth } from '../../db/partner-health.ts';
import { failedTicketLinks } from '../../db/ticket-links.ts';
import { HealthObservations, healthStatus } from '../../domain/health.ts';
import type { ExternalSystem } from '../../domain/partner.ts';
import { brokenAlertMappings, brokenCompanyMappings, brokenProductMappings, type BrokenMapping } from '../broken-mappings.ts';
import { partnerClientsOr404, type ApiDeps } from '../context.ts';
import { newRouter } from '../router.ts';
import { bearerSecurity, commonErrors, jsonResponse, notFound, partnerIdParams } from '../schemas.ts';

/** The refused work the health answer lists at most. */
const REFUSED_SHOWN = 100;

const systemSchema = z
  .object({
    status: z.enum(['ok', 'failing', 'credentials-rejected', 'unknown']).describe('credentials-rejected: the system refused the credentials at its last call; the loops that need it are paused until they change'),
    lastSuccessAt: z.iso.datetime().nullable(),
    lastError: z
      .object({ at: z.iso.datetime(), kind: z.string().describe('auth, forbidden, unavailable, timeout, network, server, rate-limited, protocol'), message: z.string() })
      .nullable(),
  })
  .openapi('SystemHealth');

const healthSchema = z
  .object({
    systems: z.object({ acronis: systemSchema, psa: systemSchema, rmm: systemSchema.optional().describe('Only when the partner has an RMM') }),
    brokenMappings: z
      .array(z.object({ kind: z.enum(['product', 'company', 'alert']), key: z.string().describe('The offering item, the PSA company id or the alert type'), reason: z.string() }))
      .describe('Mappings whose PSA product, company, board/queue/status or Acronis tenant is gone; fix them in their lists'),
    unchecked: z.array(z.string()).describe('Mapping kinds that could not be checked now, with the system that did not answer'),
    refused: z
      .array(
        z.object({
          kind: z.enum(['ticket', 'usage-line']),
          key: z.string().describe('ticket: `<psaCompanyId>/<alertType>/<resource>`; usage-line: `<psaCompanyId>/<offeringItem>/<period start>`'),
          reason: z.string().describe("The PSA's words"),
          at: z.iso.datetime(),
        }),
      )
      .describe('Work the PSA refused (a ticket it would not create, a usage line it would not take), newest first; each is tried again (a ticket when the alert mappings change, a line when its figure moves or on "sync now") and leaves this list once it goes through'),
  })
  .openapi('PartnerHealth');

export function partnerHealthRoutes(deps: ApiDeps) {
  const router = newRouter();
  router.openapi(
    createRoute({
      method: 'get',
      path: '/partners/{id}/health',
      summary: "The partner's health: each system's last success and last error, and the mappings that no longer work (F1.5, F2.5)",
      tags: ['Partners'],
      security: bearerSecurity,
      request: { params: partnerIdParams },
      responses: { 200: jsonResponse(healthSchema, 'Health'), ...commonErrors, ...notFound },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const clients = await partnerClientsOr404(deps, id);
      // The look-ups are calls like any other: they count towards the health they report.
      const observations = new HealthObservations();
      const brokenMappings: BrokenMapping[] = [];
      const unchecked: string[] = [];
      await runInCallScope({ observe: (outcome) => observations.observe(outcome) }, async () => {
        const checks = { product: brokenProductMappings, company: brokenCompanyMappings, alert: brokenAlertMappings };
        for (const [kind, check] of Object.entries(checks)) {
          try {
            brokenMappings.push(...(await check(deps.db, id, clients)));
          } catch (error) {
            unchecked.push(`${kind}: ${error instanceof Error ? error.message : String(error)}`);
          }
        }
      });
      await recordHealth(deps.db, id, observations.records());
      if (observations.rejected().length > 0) {
        // As an activity would: the supervisor pauses the loops now, not at their next pass.
        await deps.workflows.notifyCredentialsRejected(id).catch((error: unknown) => deps.logger.warn({ err: error, partnerId: id }, 'could not tell the supervisor of refused credentials'));
      }
      const records = await readHealth(deps.db, id);
      const view = (system: ExternalSystem) => {
        const record = records.find((candidate) => candidate.system === system);
        return {
          status: healthStatus(record),
          lastSuccessAt: record?.lastSuccessAt?.toISOString() ?? null,
          lastError: record?.lastFailureAt ? { at: record.lastFailureAt.toISOString(), kind: record.lastFailureKind ?? 'unknown', message: record.lastFailureMessage ?? '' } : null,
        };
      };
      const [tickets, lines] = await Promise.all([failedTicketLinks(deps.db, id), refusedLines(deps.db, id, REFUSED_SHOWN)]);
      const refused = [
        ...tickets.map((link) => ({ kind: 'ticket' as const, key: `${link.psaCompanyId}/${link.alertType ?? 'storm digest'}/${link.resourceName ?? ''}`, reason: link.lastError ?? 'refused by the PSA', at: link.updatedAt })),
        ...lines.map((line) => ({ kind: 'usage-line' as const, key: `${line.psaCompanyId}/${line.offeringItem}/${line.period.start}`, reason: line.reason ?? 'refused by the PSA', at: line.at })),
      ]
        .sort((a, b) => b.at.getTime() - a.at.getTime())
        .slice(0, REFUSED_SHOWN)
        .map((item) => ({ ...item, at: item.at.toISOString() }));
      return c.json({ systems: { acronis: view('acronis'), psa: view('psa'), ...(clients.rmm && { rmm: view('rmm') }) }, brokenMappings, unchecked, refused }, 200);
    },
  );
  return router;
}
