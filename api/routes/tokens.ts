import { createRoute, z } from '@hono/zod-openapi';
import { createToken, listTokens, revokeToken, type ApiToken } from '../../db/api-tokens.ts';
import { recordAudit } from '../../db/audit-log.ts';
import { findPartner } from '../../db/partners.ts';
import { auditEntry, type ApiDeps } from '../context.ts';
import { requireAdmin } from '../auth.ts';
import { problems } from '../problem.ts';
import { newRouter } from '../router.ts';
import { bearerSecurity, commonErrors, jsonBody, jsonResponse, notFound } from '../schemas.ts';

const tokenView = z
  .object({
    id: z.uuid(),
    name: z.string(),
    role: z.enum(['admin', 'read-only']),
    partnerId: z.uuid().nullable().describe('Set: the token sees and changes only this partner'),
    createdAt: z.iso.datetime(),
    lastUsedAt: z.iso.datetime().nullable(),
  })
  .openapi('ApiToken');

function view(token: ApiToken): z.infer<typeof tokenView> {
  return { id: token.id, name: token.name, role: token.role, partnerId: token.partnerId, createdAt: token.createdAt.toISOString(), lastUsedAt: token.lastUsedAt?.toISOString() ?? null };
}

export function tokenRoutes(deps: ApiDeps) {
  const { db } = deps;
  const router = newRouter();
  router.use('/tokens', requireAdmin);
  router.use('/tokens/*', requireAdmin);

  router.openapi(
    createRoute({
      method: 'get',
      path: '/tokens',
      summary: 'List live API tokens (admin)',
      tags: ['Tokens'],
      security: bearerSecurity,
      responses: { 200: jsonResponse(z.object({ items: z.array(tokenView) }), 'Tokens, without their values'), ...commonErrors },
    }),
    async (c) => c.json({ items: (await listTokens(db)).map(view) }, 200),
  );

  router.openapi(
    createRoute({
      method: 'post',
      path: '/tokens',
      summary: 'Create an API token (admin); its value is shown once',
      tags: ['Tokens'],
      security: bearerSecurity,
      request: {
        body: jsonBody(
          z
            .strictObject({
              name: z.string().trim().min(1).max(100),
              role: z.enum(['admin', 'read-only']),
              partnerId: z.uuid({ error: 'must be a partner id (UUID)' }).optional().describe("The token reads (read-only) or reads and changes (admin) this partner only; other partners' routes answer 404, it cannot create tokens or partners"),
            })
            .openapi('ApiTokenCreate'),
          'Who the token is for and what it may do',
        ),
      },
      responses: {
        201: jsonResponse(tokenView.extend({ token: z.string().describe('Shown only in this answer; stored hashed') }), 'Created'),
        ...commonErrors,
      },
    }),
    async (c) => {
      const { name, role, partnerId } = c.req.valid('json');
      if (partnerId !== undefined && !(await findPartner(db, partnerId))) throw problems.field('partnerId', 'is not a partner');
      const { token, record } = await createToken(db, name, role, partnerId ?? null);
      await recordAudit(db, auditEntry(c, {
        action: 'token.create',
        partnerId: partnerId ?? null,
        target: `token/${record.id}`,
        details: { name, role, partnerId: partnerId ?? null },
      }));
      return c.json({ ...view(record), token }, 201);
    },
  );

  router.openapi(
    createRoute({
      method: 'delete',
      path: '/tokens/{tokenId}',
      summary: 'Revoke an API token (admin)',
      tags: ['Tokens'],
      security: bearerSecurity,
      request: { params: z.object({ tokenId: z.uuid({ error: 'must be a token id (UUID)' }) }) },
      responses: { 204: { description: 'Revoked' }, ...commonErrors, ...notFound },
    }),
    async (c) => {
      const { tokenId } = c.req.valid('param');
      if (!(await revokeToken(db, tokenId))) throw problems.notFound(`Token ${tokenId}`);
      await recordAudit(db, auditEntry(c, {
        action: 'token.revoke',
        partnerId: null,
        target: `token/${tokenId}`,
        details: {},
      }));
      return c.body(null, 204);
    },
  );

  return router;
}
