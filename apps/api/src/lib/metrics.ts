/** Prometheus metrics of the API process, served at /metrics (see scrapeAllowed and server.ts). */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import type pg from 'pg';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ApiError, problemResponse } from './problem.ts';

export function createApiMetrics() {
  const registry = new Registry();
  const pools = new Map<string, pg.Pool>();
  const dbCheckouts = new Counter({
    name: 'opsconductor_api_db_pool_checkouts_total',
    help: 'Connections taken from a database pool (one per query outside a transaction)',
    labelNames: ['pool'],
    registers: [registry],
  });
  collectDefaultMetrics({ register: registry, prefix: 'opsconductor_api_' });
  // These list every handle and resource at each scrape: with 10,000 agent sockets, 40 ms of the event loop and
  // 10,000-item arrays per scrape. process_open_fds counts the same sockets for less.
  for (const name of ['nodejs_active_handles', 'nodejs_active_handles_total', 'nodejs_active_resources', 'nodejs_active_resources_total'])
    registry.removeSingleMetric(`opsconductor_api_${name}`);
  return {
    registry,
    httpRequests: new Counter({
      name: 'opsconductor_api_http_requests_total',
      help: 'HTTP requests',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'opsconductor_api_http_request_duration_seconds',
      help: 'HTTP request duration (long-polls and streams excluded)',
      labelNames: ['method', 'route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    agentPolls: new Gauge({ name: 'opsconductor_api_agent_long_polls', help: 'Agent long-polls waiting now', registers: [registry] }),
    agentResults: new Counter({
      name: 'opsconductor_api_agent_results_total',
      help: 'Command results received from agents',
      labelNames: ['status', 'duplicate'],
      registers: [registry],
    }),
    outputBytes: new Counter({
      name: 'opsconductor_api_agent_output_bytes_total',
      help: 'Command output bytes received',
      registers: [registry],
    }),
    agentChannels: new Gauge({
      name: 'opsconductor_api_agent_channels',
      help: 'Agent channels (WebSockets) open now',
      registers: [registry],
    }),
    channelCallDuration: new Histogram({
      name: 'opsconductor_api_agent_channel_call_duration_seconds',
      help: 'Agent channel calls, from frame to reply (long-polls excluded)',
      labelNames: ['op'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    reportBatchDuration: new Histogram({
      name: 'opsconductor_api_agent_report_batch_duration_seconds',
      help: "Database calls that write many agents' claims, starts, output or results at once (lib/write-batcher.ts)",
      labelNames: ['kind'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    reportBatchSize: new Histogram({
      name: 'opsconductor_api_agent_report_batch_items',
      help: 'Agent calls written by one database call',
      labelNames: ['kind'],
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500],
      registers: [registry],
    }),
    sseStreams: new Gauge({ name: 'opsconductor_api_sse_streams', help: 'Open job-run event streams', registers: [registry] }),
    dbCheckouts,
    dbWaiting: new Gauge({
      name: 'opsconductor_api_db_pool_waiting',
      help: 'Requests waiting for a database connection',
      labelNames: ['pool'],
      registers: [registry],
      collect() {
        for (const [name, pool] of pools) this.set({ pool: name }, pool.waitingCount);
      },
    }),
    dbConnections: new Gauge({
      name: 'opsconductor_api_db_pool_connections',
      help: 'Open connections of a database pool',
      labelNames: ['pool'],
      registers: [registry],
      collect() {
        for (const [name, pool] of pools) this.set({ pool: name }, pool.totalCount);
      },
    }),
    /** Counts the pool's checkouts and reports its connections and waiters at each scrape. */
    observePool(name: 'admin' | 'agent' | 'background', pool: pg.Pool) {
      pools.set(name, pool);
      pool.on('acquire', () => dbCheckouts.inc({ pool: name }));
    },
  };
}
export type ApiMetrics = ReturnType<typeof createApiMetrics>;

function bearerMatches(authorization: string | undefined, token: string): boolean {
  const presented = authorization?.match(/^Bearer\s+(\S+)$/)?.[1];
  if (!presented) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(presented), digest(token));
}

/**
 * GET /metrics. The separate metrics listener (loopback unless told otherwise) serves them to anyone
 * who reaches it; the public API port only with METRICS_TOKEN set. With a token, both require
 * `Authorization: Bearer <token>`. Returns why a scrape is refused, or null when it may go ahead.
 */
export function scrapeRefusal(authorization: string | undefined, token: string | null, listener: 'api' | 'metrics'): ApiError | null {
  if (token === null && listener === 'api') {
    return new ApiError(404, 'not_found', 'Metrics are served on API_METRICS_HOST:API_METRICS_PORT, or here when METRICS_TOKEN is set.');
  }
  if (token !== null && !bearerMatches(authorization, token)) {
    return new ApiError(401, 'unauthenticated', 'Metrics need `Authorization: Bearer <METRICS_TOKEN>`.', undefined, {
      'WWW-Authenticate': 'Bearer realm="metrics"',
    });
  }
  return null;
}

/** The metrics listener's answer (the API's own GET /metrics is an OpenAPI route, see routes/operations.ts). */
export async function metricsResponse(c: Context, metrics: ApiMetrics, token: string | null): Promise<Response> {
  const refusal = scrapeRefusal(c.req.header('authorization'), token, 'metrics');
  if (refusal) return problemResponse(c, refusal.status, refusal.code, refusal.detail, undefined, refusal.headers);
  return c.body(await metrics.registry.metrics(), 200, { 'Content-Type': metrics.registry.contentType });
}
