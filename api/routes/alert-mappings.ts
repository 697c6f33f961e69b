import { createRoute, z } from '@hono/zod-openapi';
import { recordAudit } from '../../db/audit-log.ts';
import { listAlertMappings, replaceAlertMappings } from '../../db/alert-mappings.ts';
import { findPartner } from '../../db/partners.ts';
import { readSettings } from '../../db/settings.ts';
import type { AlertMapping } from '../../domain/alert-mappings.ts';
import { alertTitle } from '../../domain/alert-tickets.ts';
import { auditEntry, partnerClientsOr404, type ApiDeps } from '../context.ts';
import { fieldPath, problems, type FieldError } from '../problem.ts';
import { newRouter } from '../router.ts';
import { bearerSecurity, commonErrors, flagRepeats, jsonBody, jsonResponse, notFound, partnerIdParams, vendorFailure } from '../schemas.ts';
import { autotaskTicketSchema, checkAgainstPsa, connectWiseTicketSchema, isMappableAlertType, parseTicketFields } from '../ticket-fields.ts';

const MAX_MAPPINGS = 500;

const ticketSchema = z
  .union([connectWiseTicketSchema, autotaskTicketSchema])
  .describe('ConnectWise Manage: `{ boardId, statusId, typeId?, subtypeId?, priorityId? }`; Autotask: `{ queueId, status, priority, issueType?, subIssueType?, source? }`; the PSA\'s ids (GET …/psa/ticket-fields)');

const mappingSchema = z
  .object({
    alertType: z.string().describe('An Acronis alert type (`BackupFailed` ...), or `*`: the default for types without an entry of their own'),
    enabled: z.boolean().describe('false: alerts of this type make no tickets'),
    ticket: z.record(z.string(), z.number()).describe('The ticket fields, as sent'),
  })
  .openapi('AlertMapping');

const mappingInputSchema = z
  .strictObject({
    alertType: z
      .string()
      .trim()
      .min(1)
      .max(200)
      // eslint-disable-next-line no-control-regex -- control characters are what is refused
      .refine((value) => !/[\u0000-\u001f\u007f]/.test(value), 'must not hold control characters')
      .describe('An Acronis alert type (`GET …/alert-mappings` lists them), `cti.…` for a CyberApp alert, or `*` for every type without its own entry'),
    enabled: z.boolean(),
    ticket: z.unknown().optional().openapi({ type: 'object', description: ticketSchema.description }).describe('Required while enabled; checked against the PSA'),
  })
  .openapi('AlertMappingInput');

const mappingsInputSchema = z
  .array(mappingInputSchema)
  .max(MAX_MAPPINGS)
  .superRefine((entries, ctx) => {
    flagRepeats(entries, 'alertType', ctx);
    entries.forEach((entry, index) => {
      if (entry.enabled && entry.ticket === undefined) ctx.addIssue({ code: 'custom', path: [index, 'ticket'], message: 'is required while the mapping is enabled' });
    });
  })
  .openapi('AlertMappingsInput');

const alertTypeSchema = z
  .object({ id: z.string(), title: z.string(), category: z.string(), severity: z.string() })
  .openapi('AcronisAlertType');

export function alertMappingRoutes(deps: ApiDeps, notifyChanged: (partnerId: string) => Promise<void>) {
  const { db } = deps;
  const router = newRouter();

  router.openapi(
    createRoute({
      method: 'get',
      path: '/partners/{id}/alert-mappings',
      summary: 'Alert mappings, and the Acronis alert types they can name',
      tags: ['Mappings'],
      security: bearerSecurity,
      request: { params: partnerIdParams },
      responses: {
        200: jsonResponse(z.object({ items: z.array(mappingSchema), alertTypes: z.array(alertTypeSchema).describe('The alert types Acronis raises, for pickers') }), 'The stored mappings'),
        ...commonErrors,
        ...notFound,
        ...vendorFailure,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const clients = await partnerClientsOr404(deps, id);
      const [items, types] = await Promise.all([listAlertMappings(db, id), clients.acronis.alertTypes()]);
      const alertTypes = types.filter((type) => type.enabled).map((type) => ({ id: type.id, title: alertTitle({ type: type.id, details: {} }), category: type.category, severity: type.severity }));
      return c.json({ items: items.map((item) => ({ ...item, ticket: item.ticket as Record<string, number> })), alertTypes }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'put',
      path: '/partners/{id}/alert-mappings',
      summary: 'Replace all alert mappings; every id is checked against the PSA',
      description: 'Types without an entry of their own follow `*`; without `*` they make no tickets. Tickets the PSA refused are tried again with the new mappings.',
      tags: ['Mappings'],
      security: bearerSecurity,
      request: { params: partnerIdParams, body: jsonBody(mappingsInputSchema, 'The whole set') },
      responses: { 200: jsonResponse(z.object({ items: z.array(mappingSchema) }), 'The mappings now stored'), ...commonErrors, ...notFound, ...vendorFailure },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const entries = c.req.valid('json');
      const clients = await partnerClientsOr404(deps, id);
      // Every problem at once: field shapes, alert types, and each id against the PSA.
      const errors: FieldError[] = [];
      const mappings: AlertMapping[] = entries.map((entry, index) => {
        if (entry.ticket === undefined) return { alertType: entry.alertType, enabled: entry.enabled, ticket: {} };
        const parsed = parseTicketFields(clients.psaKind, entry.ticket, [index, 'ticket']);
        errors.push(...parsed.errors);
        return { alertType: entry.alertType, enabled: entry.enabled, ticket: parsed.fields ?? {} };
      });
      const settings = (await readSettings(db, id))?.settings;
      const [types, choices] = await Promise.all([clients.acronis.alertTypes(), clients.psa.ticketFields()]);
      const known = new Set(types.map((type) => type.id));
      entries.forEach((entry, index) => {
        if (!isMappableAlertType(entry.alertType, known)) errors.push({ path: fieldPath([index, 'alertType']), message: 'is not an Acronis alert type' });
      });
      const closedStatus = settings?.tickets.autoClose.enabled ? settings.tickets.autoClose.status : null;
      errors.push(...checkAgainstPsa(mappings, choices, closedStatus));
      if (errors.length > 0) throw problems.validation(errors);

      await db.transaction().execute(async (tx) => {
        if (!(await findPartner(tx, id, { forUpdate: true }))) throw problems.notFound(`Partner ${id}`);
        await replaceAlertMappings(tx, id, mappings);
        await recordAudit(tx, auditEntry(c, { action: 'alert-mappings.replace', partnerId: id, target: `partner/${id}/alert-mappings`, details: { mappings } }));
      });
      // The supervisor tells the alerts loop, which tries the refused tickets again.
      await notifyChanged(id);
      const items = await listAlertMappings(db, id);
      return c.json({ items: items.map((item) => ({ ...item, ticket: item.ticket as Record<string, number> })) }, 200);
    },
  );

  router.openapi(
    createRoute({
      method: 'get',
      path: '/partners/{id}/psa/ticket-fields',
      summary: 'What alert mappings can choose in the PSA: boards, statuses, types, priorities (CWM); queues and picklists (Autotask)',
      tags: ['Mappings'],
      security: bearerSecurity,
      request: { params: partnerIdParams },
      responses: {
        200: jsonResponse(
          z
            .object({ kind: z.enum(['connectwise-manage', 'autotask']) })
            .catchall(z.unknown())
            .describe('ConnectWise Manage: `{ boards: [{ id, name, statuses: [{ id, name, closed }], types, subtypes }], priorities }`; Autotask: `{ queues, statuses: [{ id, name, closed }], priorities, issueTypes, subIssueTypes: [{ id, name, issueType }], sources, noteTypes, notePublish }`; each choice `{ id, name }`'),
          'The PSA\'s choices, read now',
        ),
        ...commonErrors,
        ...notFound,
        ...vendorFailure,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const clients = await partnerClientsOr404(deps, id);
      return c.json(await clients.psa.ticketFields(), 200);
    },
  );

  return router;
}
