import { OpenAPIHono, z, type RouteConfig } from '@hono/zod-openapi';
import { UNSTORABLE_TEXT_MESSAGE, findUnstorableText } from '@opsconductor/contracts/text';
import type { AppEnv } from '../context.ts';
import { problemResponse, zodFieldErrors } from './problem.ts';

export interface RouterOptions {
  /**
   * Refuse (400) validated input holding NUL or unpaired surrogates anywhere — strings and object keys
   * of bodies, queries and parameters — which PostgreSQL cannot store. On by default; the agent API
   * turns it off because its schemas sanitize such text instead and output may hold NUL (it is bytes).
   */
  refuseUnstorableText?: boolean;
}

/** A route's JSON response: its schema and what it is. */
export const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });
/** A route's required JSON request body. */
export const body = <T extends z.ZodType>(schema: T) => ({ body: { content: { 'application/json': { schema } }, required: true } });

export const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

/**
 * The route's query schema made strict, or one that admits no parameter when it declares none: an unknown
 * query parameter is refused (400 naming it) instead of ignored, because a misspelt filter would otherwise
 * widen a list, an export or a run's targets without a word.
 */
export function strictQuery(route: RouteConfig): z.ZodObject {
  const query = route.request?.query;
  if (query === undefined) return z.strictObject({});
  if (!(query instanceof z.ZodObject)) throw new Error(`${route.method.toUpperCase()} ${route.path}: a query schema must be a zod object`);
  return query.strict();
}

/**
 * A router whose validation failures all become the same problem+json `validation_failed`, and whose
 * routes refuse unknown query parameters (see strictQuery).
 */
export function createRouter({ refuseUnstorableText = true }: RouterOptions = {}) {
  const router = new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      // A route's required JSON body is validated as {} when none was sent: for bodies whose fields are all
      // optional (PATCH) that would be a successful no-op instead of a 400.
      if (result.target === 'json' && !JSON_MEDIA_TYPE.test(c.req.header('content-type')?.split(';')[0]?.trim() ?? '')) {
        return problemResponse(c, 400, 'validation_failed', 'A JSON request body (Content-Type: application/json) is required.');
      }
      if (!result.success) return problemResponse(c, 400, 'validation_failed', undefined, zodFieldErrors(result.error, result.target));
      const path = refuseUnstorableText ? findUnstorableText(result.data) : undefined;
      if (path)
        return problemResponse(c, 400, 'validation_failed', undefined, [{ path: path.join('.'), message: UNSTORABLE_TEXT_MESSAGE }]);
    },
  });
  // Every route registered on this router goes through here: the types stay those of `openapi`.
  const register = router.openapi;
  router.openapi = ((route: RouteConfig, ...rest: [never, never]) =>
    register({ ...route, request: { ...route.request, query: strictQuery(route) } }, ...rest)) as typeof register;
  return router;
}
