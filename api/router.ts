import { OpenAPIHono, type Hook } from '@hono/zod-openapi';
import type { ApiEnv } from './context.ts';
import { problems, zodFieldErrors } from './problem.ts';

const TARGET_PREFIX: Record<string, string[]> = { json: [], query: [], param: [], header: ['header'] };

/** Any request that fails its schema answers 400 problem+json naming each field, before the handler runs. */
const validationHook: Hook<unknown, ApiEnv, string, unknown> = (result) => {
  if (!result.success) {
    throw problems.validation(zodFieldErrors(result.error, TARGET_PREFIX[result.target] ?? []));
  }
};

export function newRouter(): OpenAPIHono<ApiEnv> {
  return new OpenAPIHono<ApiEnv>({ defaultHook: validationHook });
}
