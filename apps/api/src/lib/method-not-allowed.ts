/**
 * 405 for a path that exists with other methods (TRACE, OPTIONS, PUT on a GET-only path…), with the
 * `Allow` header RFC 9110 asks for; 404 only for paths that do not exist at all. A literal path wins over
 * a templated one as in OpenAPI: GET /devices/tags is a 405 (only POST is defined there), not a GET of a
 * device whose id is "tags".
 */
import type { Context, Hono, MiddlewareHandler } from 'hono';
import { PatternRouter } from 'hono/router/pattern-router';
import { problemResponse } from './problem.ts';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** The app's routes, read on first use (once every route is registered). */
function routeTable(app: Hono<any>) {
  let literal: Map<string, Set<string>> | undefined;
  let templated: PatternRouter<string> | undefined;
  const load = () => {
    literal = new Map();
    templated = new PatternRouter<string>();
    for (const r of app.routes) {
      if (r.method === 'ALL') continue; // middleware
      if (/[:*]/.test(r.path)) templated.add(r.method, r.path, r.method);
      else literal.set(r.path, (literal.get(r.path) ?? new Set()).add(r.method));
    }
  };
  const withHead = (methods: string[]) => (methods.includes('GET') ? ['GET', 'HEAD', ...methods.filter((m) => m !== 'GET')] : methods);
  return {
    /** Methods of a literal route path, or undefined when no literal route has this path. */
    literal(path: string): string[] | undefined {
      if (!literal) load();
      const methods = literal!.get(path);
      return methods && withHead(METHODS.filter((m) => methods.has(m)));
    },
    allowed(path: string): string[] {
      const direct = this.literal(path);
      if (direct) return direct;
      return withHead(METHODS.filter((m) => templated!.match(m, path)[0].length > 0));
    },
  };
}

function methodNotAllowed(c: Context, allowed: string[]) {
  c.header('Allow', allowed.join(', '));
  return problemResponse(c, 405, 'method_not_allowed', `${c.req.method} is not allowed here; use ${allowed.join(', ')}.`);
}

export function methodRouting(app: Hono<any>): { guard: MiddlewareHandler; notFound: (c: Context) => Response } {
  const routes = routeTable(app);
  return {
    /** A request to a literal route path with another method must not fall through to a templated route. */
    guard: async (c, next) => {
      const allowed = routes.literal(c.req.path);
      if (allowed && !allowed.includes(c.req.method)) return methodNotAllowed(c, allowed);
      await next();
    },
    notFound: (c) => {
      const allowed = routes.allowed(c.req.path);
      if (allowed.length === 0) return problemResponse(c, 404, 'not_found', `No route for ${c.req.method} ${c.req.path}`);
      return methodNotAllowed(c, allowed);
    },
  };
}
