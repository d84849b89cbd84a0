import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../context.ts';
import { problemResponse, zodFieldErrors } from './problem.ts';

/** A router whose validation failures all become the same problem+json `validation_failed`. */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) return problemResponse(c, 400, 'validation_failed', undefined, zodFieldErrors(result.error));
    },
  });
}
