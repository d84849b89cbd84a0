/**
 * Refuses JSON request bodies nested deeper than any body of this API needs, before a schema sees them: zod
 * validates recursive schemas (group rules, detection trees) by recursion, so a body of a hundred thousand `[`
 * would exhaust the stack (a 500) before any depth limit of the schema itself could refuse it.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../context.ts';
import { problemResponse } from './problem.ts';
import { JSON_MEDIA_TYPE } from './router.ts';

/** Objects and arrays inside each other; the deepest valid body (a nested group rule) stays far below. */
export const MAX_JSON_NESTING = 64;

/** Whether `text` nests objects and arrays deeper than `max` (one linear pass; brackets inside strings do not count). */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c)
        i++; // backslash: skip the escaped character
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) inString = true;
    else if (ch === 0x7b || ch === 0x5b) {
      if (++depth > max) return true;
    } else if (ch === 0x7d || ch === 0x5d) depth--;
  }
  return false;
}

/** 400 `validation_failed` for a JSON body nested deeper than MAX_JSON_NESTING (the body is read once and cached). */
export const refuseDeepJson: MiddlewareHandler<AppEnv> = async (c, next) => {
  const type = c.req.header('content-type')?.split(';')[0]?.trim() ?? '';
  if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && JSON_MEDIA_TYPE.test(type)) {
    const text = await c.req.text().catch(() => '');
    if (nestsDeeperThan(text, MAX_JSON_NESTING)) {
      return problemResponse(c, 400, 'validation_failed', `The body nests objects and arrays more than ${MAX_JSON_NESTING} levels deep.`);
    }
  }
  await next();
};
