import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';

export interface FieldError {
  /** Dotted path of the offending field, as sent: `psa.privateKey`, `billing.billingDay`. */
  path: string;
  message: string;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors: FieldError[];
  requestId?: string;
}

const TYPE_PREFIX = 'urn:acronis-msp-integration:problem:';

/** An error that answers the request as application/problem+json (RFC 9457). */
export class ProblemError extends Error {
  readonly status: ContentfulStatusCode;
  readonly slug: string;
  readonly title: string;
  readonly errors: FieldError[];
  readonly headers: Record<string, string>;

  constructor(status: ContentfulStatusCode, slug: string, title: string, detail: string, errors: FieldError[] = [], headers: Record<string, string> = {}) {
    super(detail);
    this.status = status;
    this.slug = slug;
    this.title = title;
    this.errors = errors;
    this.headers = headers;
  }
}

export const problems = {
  validation: (errors: FieldError[], detail = 'The request has invalid fields; nothing was changed.') =>
    new ProblemError(400, 'validation', 'Invalid request', detail, errors),
  field: (path: string, message: string) => problems.validation([{ path, message }]),
  unauthorized: (detail: string) =>
    new ProblemError(401, 'unauthorized', 'Unauthorized', detail, [], { 'WWW-Authenticate': 'Bearer realm="admin-api"' }),
  forbidden: (detail: string) => new ProblemError(403, 'forbidden', 'Forbidden', detail),
  notFound: (what: string) => new ProblemError(404, 'not-found', 'Not found', `${what} does not exist.`),
  conflict: (path: string, message: string) => new ProblemError(409, 'conflict', 'Conflict', `${path} ${message}`, [{ path, message }]),
  unsupportedMediaType: () =>
    new ProblemError(415, 'unsupported-media-type', 'Unsupported media type', 'Send the body as JSON with Content-Type: application/json.'),
  unavailable: (detail: string) => new ProblemError(503, 'unavailable', 'Service unavailable', detail, [], { 'Retry-After': '5' }),
};

export function fieldPath(path: readonly PropertyKey[]): string {
  return path.map(String).join('.');
}

export function zodFieldErrors(error: z.ZodError, prefix: readonly PropertyKey[] = []): FieldError[] {
  return error.issues.map((issue) => {
    const path = [...prefix, ...issue.path];
    // An unknown key is reported on the object; name the key itself so the client sees which one.
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: fieldPath([...path, key]), message: 'is not a known field' }));
    }
    return [{ path: fieldPath(path) || '(body)', message: issue.message }];
  }).flat();
}

export function problemBody(problem: ProblemError, requestId: string | undefined): Problem {
  return {
    type: TYPE_PREFIX + problem.slug,
    title: problem.title,
    status: problem.status,
    detail: problem.message,
    errors: problem.errors,
    ...(requestId && { requestId }),
  };
}

export function respondWithProblem(c: Context, problem: ProblemError): Response {
  const body = problemBody(problem, c.get('requestId') as string | undefined);
  return c.body(JSON.stringify(body), problem.status, { 'Content-Type': 'application/problem+json', ...problem.headers });
}
