import { randomUUID } from 'node:crypto';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { ServiceError } from '@temporalio/client';
import { HTTPException } from 'hono/http-exception';
import { bodyLimit } from 'hono/body-limit';
import { VENDOR_SYSTEM_NAMES, VendorApiError } from '../clients/http.ts';
import { useReadableValidationMessages } from '../domain/validation-messages.ts';
import { requireToken } from './auth.ts';
import { codecRoutes } from './codec.ts';
import type { ApiDeps, ApiEnv } from './context.ts';
import { docsRoutes } from './docs.ts';
import { ProblemError, problems, respondWithProblem } from './problem.ts';
import { newRouter } from './router.ts';
import { withAppWideAnswers } from './schemas.ts';
import { agentRoutes } from './routes/agents.ts';
import { alertMappingRoutes } from './routes/alert-mappings.ts';
import { auditLogRoutes } from './routes/audit-log.ts';
import { computerRoutes } from './routes/computers.ts';
import { billingRunRoutes } from './routes/billing-runs.ts';
import { customerRoutes } from './routes/customers.ts';
import { healthRoutes } from './routes/health.ts';
import { partnerHealthRoutes } from './routes/partner-health.ts';
import { partnerRoutes } from './routes/partners.ts';
import { planRoutes } from './routes/plans.ts';
import { productMappingRoutes } from './routes/product-mappings.ts';
import { protectionRoutes } from './routes/protection.ts';
import { rmmClientRoutes } from './routes/rmm-clients.ts';
import { settingsRoutes } from './routes/settings.ts';
import { syncRoutes } from './routes/sync.ts';
import { ticketRoutes } from './routes/tickets.ts';
import { tokenRoutes } from './routes/tokens.ts';
import { usageRoutes } from './routes/usage.ts';
import { workflowRoutes } from './routes/workflows.ts';

const MAX_BODY_BYTES = 1024 * 1024;
const MAX_CODEC_BODY_BYTES = 8 * 1024 * 1024;
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

function isDatabaseUnreachable(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: string; message?: string };
  return code === 'ECONNREFUSED' || code === 'ETIMEDOUT' || code === '57P01' || /timeout exceeded when trying to connect|Connection terminated/i.test(message ?? '');
}

/**
 * A vendor call the API made failed: 502 naming the system and what went wrong, never the vendor's
 * own message (it may echo what was sent) and never a credential.
 */
function vendorProblem(error: VendorApiError): ProblemError {
  const system = VENDOR_SYSTEM_NAMES[error.system];
  const answered = error.status === undefined ? '' : ` (HTTP ${error.status})`;
  const [slug, title, detail] = ((): [string, string, string] => {
    switch (error.kind) {
      case 'auth':
        return ['vendor-credentials', `${system} refused the credentials`, `Check the partner's ${system} credentials and change them with PATCH /v1/partners/{id}.`];
      case 'forbidden':
        return ['vendor-forbidden', `${system} refused the request`, `The ${system} credentials lack a permission this needs${answered}.`];
      case 'rate-limited':
      case 'unavailable':
      case 'timeout':
      case 'network':
      case 'server':
        return ['vendor-unavailable', `${system} is unavailable`, `${system} did not answer ${error.operation} (${error.kind}${answered}); try again later.`];
      default:
        return ['vendor-error', `${system} answered unexpectedly`, `${system} refused ${error.operation} (${error.kind}${answered}).`];
    }
  })();
  const headers: Record<string, string> = error.retryAfterMs === undefined ? {} : { 'Retry-After': String(Math.ceil(error.retryAfterMs / 1000)) };
  return new ProblemError(502, slug, title, detail, [], headers);
}

function tooLarge(): never {
  throw new ProblemError(413, 'too-large', 'Request too large', 'The body is larger than this route accepts.');
}

export function createApp(deps: ApiDeps): OpenAPIHono<ApiEnv> {
  useReadableValidationMessages();
  const app = newRouter();

  app.use('*', async (c, next) => {
    const given = c.req.header('X-Request-Id');
    const requestId = given && /^[\w.:-]{1,100}$/.test(given) ? given : randomUUID();
    c.set('requestId', requestId);
    c.header('X-Request-Id', requestId);
    const started = performance.now();
    await next();
    const token = c.get('token') as { id: string } | undefined;
    deps.logger.info(
      { requestId, method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(performance.now() - started), tokenId: token?.id },
      'request',
    );
  });

  app.route('/', healthRoutes(deps));
  app.use('/codec/*', bodyLimit({ maxSize: MAX_CODEC_BODY_BYTES, onError: tooLarge }));
  app.route('/codec', codecRoutes(deps));
  app.route('/docs', docsRoutes());

  app.use('/v1/*', bodyLimit({ maxSize: MAX_BODY_BYTES, onError: tooLarge }));
  app.use('/v1/*', async (c, next) => {
    // A POST that carries no body (start a backup, make a client's tenant) needs no Content-Type.
    const hasBody = c.req.header('Transfer-Encoding') !== undefined || Number(c.req.header('Content-Length') ?? '0') > 0;
    if (BODY_METHODS.has(c.req.method) && hasBody && !/^application\/([\w.+-]+\+)?json\b/i.test(c.req.header('Content-Type') ?? '')) {
      throw problems.unsupportedMediaType();
    }
    await next();
  });
  app.use('/v1/*', requireToken(deps.db));
  const partners = partnerRoutes(deps);
  app.route('/v1', partners.router);
  app.route('/v1', settingsRoutes(deps, partners.notifyChanged));
  app.route('/v1', productMappingRoutes(deps, partners.notifyChanged));
  app.route('/v1', customerRoutes(deps));
  app.route('/v1', partnerHealthRoutes(deps));
  app.route('/v1', alertMappingRoutes(deps, partners.notifyChanged));
  app.route('/v1', ticketRoutes(deps));
  app.route('/v1', syncRoutes(deps));
  app.route('/v1', workflowRoutes(deps));
  app.route('/v1', tokenRoutes(deps));
  app.route('/v1', auditLogRoutes(deps));
  app.route('/v1', computerRoutes(deps));
  app.route('/v1', agentRoutes(deps));
  app.route('/v1', planRoutes(deps));
  app.route('/v1', protectionRoutes(deps));
  app.route('/v1', rmmClientRoutes(deps));
  app.route('/v1', usageRoutes(deps));
  app.route('/v1', billingRunRoutes(deps));

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API token: ADMIN_TOKEN, or one created with POST /v1/tokens',
  });
  const documentConfig = {
    openapi: '3.1.0' as const,
    info: {
      title: 'Acronis MSP integration: admin API',
      version: '1',
      description:
        'Configure partners (one MSP each: Acronis, a PSA, optionally an RMM), their settings and mappings, and watch their workflows. ' +
        'Errors are application/problem+json; `errors[].path` names each invalid field. Secrets are accepted on write and never returned.',
    },
    servers: [{ url: deps.publicUrl }],
  };
  let document: object | undefined;
  // Built on first request, once every route is registered.
  app.get('/openapi.json', (c) => c.json((document ??= withAppWideAnswers(app.getOpenAPI31Document(documentConfig)))));

  app.notFound((c) => respondWithProblem(c, problems.notFound(`${c.req.method} ${c.req.path}`)));
  app.onError((error, c) => {
    if (error instanceof ProblemError) return respondWithProblem(c, error);
    if (error instanceof HTTPException && error.status < 500) {
      // Hono's own rejections, such as a body that is not JSON.
      return respondWithProblem(c, new ProblemError(error.status as 400, 'bad-request', 'Bad request', error.message, [{ path: '(body)', message: error.message }]));
    }
    if (error instanceof ServiceError) {
      // Every call the API makes to Temporal has a deadline; a write that needed Temporal ran in a
      // transaction that this error rolled back.
      deps.logger.warn({ err: error, requestId: c.get('requestId') }, 'Temporal did not answer');
      return respondWithProblem(c, problems.unavailable('Temporal did not answer, so nothing was saved; try again.'));
    }
    if (error instanceof VendorApiError) {
      deps.logger.warn({ err: error, requestId: c.get('requestId') }, 'a vendor call failed');
      return respondWithProblem(c, vendorProblem(error));
    }
    if (isDatabaseUnreachable(error)) {
      deps.logger.error({ err: error, requestId: c.get('requestId') }, 'PostgreSQL is unreachable');
      return respondWithProblem(c, problems.unavailable('PostgreSQL is unreachable; nothing was changed. Try again.'));
    }
    deps.logger.error({ err: error, requestId: c.get('requestId') }, 'request failed');
    return respondWithProblem(c, new ProblemError(500, 'internal', 'Internal error', 'The request failed; the error is logged under this request id.'));
  });
  return app;
}
