import { OpenAPIHono, type Hook } from '@hono/zod-openapi';
import { unstorableTexts } from '../domain/storable-text.ts';
import type { ApiEnv } from './context.ts';
import { fieldPath, problems, zodFieldErrors } from './problem.ts';

const TARGET_PREFIX: Record<string, string[]> = { json: [], query: [], param: [], header: ['header'] };

/**
 * Any request that fails its schema answers 400 problem+json naming each field, before the handler
 * runs; so does text that passes its schema but that PostgreSQL could not store (a NUL character,
 * an unpaired surrogate), in every body, query and path parameter of every route.
 */
const validationHook: Hook<unknown, ApiEnv, string, unknown> = (result) => {
  const prefix = TARGET_PREFIX[result.target] ?? [];
  if (!result.success) throw problems.validation(zodFieldErrors(result.error, prefix));
  const unstorable = unstorableTexts(result.data);
  if (unstorable.length > 0) {
    throw problems.validation(unstorable.map(({ path, message }) => ({ path: fieldPath([...prefix, ...path]) || '(body)', message })));
  }
};

export function newRouter(): OpenAPIHono<ApiEnv> {
  return new OpenAPIHono<ApiEnv>({ defaultHook: validationHook });
}
