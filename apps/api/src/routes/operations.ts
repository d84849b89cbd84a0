/** What operators and orchestrators probe: liveness, readiness, and Prometheus metrics. */
import { createRoute, z } from '@hono/zod-openapi';
import { prometheusContentType } from 'prom-client';
import type { ApiDeps } from '../context.ts';
import { scrapeRefusal } from '../lib/metrics.ts';
import { documentedProblem, RETRY_AFTER_SECONDS } from '../lib/problem.ts';
import { createReadinessCheck } from '../lib/readiness.ts';
import { createRouter } from '../lib/router.ts';

const tags = ['operations'];
const checkResult = z.string().openapi({ description: '`ok`, or why not' });
const health = z.object({ status: z.literal('ok') }).openapi('Health');
const readiness = z
  .object({
    status: z.enum(['ready', 'unavailable']),
    checks: z.object({ database: checkResult, temporal: checkResult, worker: checkResult }),
  })
  .openapi('Readiness');

const healthz = createRoute({
  method: 'get',
  path: '/healthz',
  operationId: 'getHealth',
  tags,
  summary: 'Liveness: the process serves requests',
  security: [],
  responses: { 200: { description: 'Alive', content: { 'application/json': { schema: health } } } },
});
const readyz = createRoute({
  method: 'get',
  path: '/readyz',
  operationId: 'getReadiness',
  tags,
  summary: 'Readiness: the database and Temporal answer, and a worker polls the task queue',
  security: [],
  description:
    'Each check is bounded, so the answer comes within about two seconds whatever is down. Not ready is a 503 with the same body (not a problem), for load balancers and orchestrators.',
  responses: {
    200: { description: 'Ready', content: { 'application/json': { schema: readiness } } },
    503: {
      description: 'Not ready: `checks` says which dependency is missing',
      headers: { 'Retry-After': { description: 'Seconds to wait before probing again', schema: { type: 'integer' } } },
      content: { 'application/json': { schema: readiness } },
    },
  },
});
const metrics = createRoute({
  method: 'get',
  path: '/metrics',
  operationId: 'getMetrics',
  tags,
  summary: 'Prometheus metrics (with METRICS_TOKEN set)',
  security: [{ metricsToken: [] }],
  description:
    'Served here only when METRICS_TOKEN is set (404 otherwise); the metrics listener (API_METRICS_HOST:API_METRICS_PORT) serves them too.',
  responses: {
    200: { description: 'Prometheus text exposition format', content: { [prometheusContentType]: { schema: z.string() } } },
    401: documentedProblem('No or a wrong METRICS_TOKEN (`unauthenticated`)'),
    404: documentedProblem('METRICS_TOKEN is not set (`not_found`)'),
  },
});

export function operationRoutes(deps: ApiDeps) {
  const ready = createReadinessCheck(deps);
  return (
    createRouter()
      // Liveness: the process serves requests. Readiness: it can do its work (database, Temporal, a worker).
      .openapi(healthz, (c) => c.json({ status: 'ok' as const }, 200))
      .openapi(readyz, async (c) => {
        const { ready: isReady, checks } = await ready();
        if (isReady) return c.json({ status: 'ready' as const, checks }, 200);
        c.header('Retry-After', String(RETRY_AFTER_SECONDS));
        return c.json({ status: 'unavailable' as const, checks }, 503);
      })
      .openapi(metrics, async (c) => {
        const refusal = scrapeRefusal(c.req.header('authorization'), deps.config.metricsToken, 'api');
        if (refusal) throw refusal;
        return c.text(await deps.metrics.registry.metrics(), 200, { 'Content-Type': deps.metrics.registry.contentType });
      })
  );
}
