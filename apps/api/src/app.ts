/** Assembles the HTTP app from its dependencies: admin API, agent API, OpenAPI docs, health, metrics. */
import { OpenAPIHono } from '@hono/zod-openapi';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { routePath } from 'hono/route';
import { MAX_INVENTORY_REPORT_BYTES } from '@opsconductor/contracts/inventory';
import type { ApiDeps, AppEnv } from './context.ts';
import { answerForError, problemResponse } from './lib/problem.ts';
import { metricsResponse } from './lib/metrics.ts';
import { apiDocsRoutes } from './lib/api-docs.ts';
import { createRouter } from './lib/router.ts';
import { methodRouting } from './lib/method-not-allowed.ts';
import { buildOpenApiDocument } from './lib/openapi.ts';
import { agentRoutes } from './routes/agent.ts';
import { auditLogRoutes } from './routes/audit-logs.ts';
import { configRoutes } from './routes/config.ts';
import { authRoutes } from './routes/auth.ts';
import { deviceRoutes } from './routes/devices.ts';
import { deviceAttributeRoutes } from './routes/device-attributes.ts';
import { groupRoutes } from './routes/groups.ts';
import { jobRoutes } from './routes/jobs.ts';
import { enrollmentTokenRoutes } from './routes/enrollment-tokens.ts';
import { fileRoutes } from './routes/files.ts';
import { depotRoutes } from './routes/depot.ts';
import { softwareRoutes } from './routes/software.ts';
import { deploymentRoutes } from './routes/deployments.ts';
import { softwareAssignmentRoutes } from './routes/software-assignments.ts';
import { fleetRoutes } from './routes/fleet.ts';
import { alertRoutes } from './routes/alerts.ts';
import { refuseDeepJson } from './lib/json-depth.ts';
import { jobRunRoutes } from './routes/job-runs.ts';
import { agentlessRoutes } from './routes/agentless.ts';
import { jobScheduleRoutes } from './routes/job-schedules.ts';
import { operationRoutes } from './routes/operations.ts';
import { secretRoutes } from './routes/secrets.ts';
import { userRoutes } from './routes/users.ts';

const limit = (maxSize: number) => bodyLimit({ maxSize, onError: (c) => problemResponse(c, 413, 'payload_too_large') });
const tooLarge = limit(1024 * 1024);
const inventoryTooLarge = limit(MAX_INVENTORY_REPORT_BYTES);

export function createApp(deps: ApiDeps) {
  const app = new OpenAPIHono<AppEnv>();

  app.use('*', async (c, next) => {
    c.set('deps', deps);
    c.set('receivedAt', new Date());
    const started = performance.now();
    await next();
    const route = routePath(c);
    deps.metrics.httpRequests.inc({ method: c.req.method, route, status: String(c.res.status) });
    if (!c.res.headers.get('content-type')?.startsWith('text/event-stream') && !route.endsWith('/commands')) {
      deps.metrics.httpDuration.observe({ method: c.req.method, route }, (performance.now() - started) / 1000);
    }
  });
  const methods = methodRouting(app);
  app.use('*', methods.guard);
  // Uploads are streamed and bounded by FILE_UPLOAD_MAX_BYTES / DEPOT_UPLOAD_MAX_BYTES (lib/upload.ts), not by the body limit.
  const streamedUploads = new Set(['/api/v1/files', '/api/v1/depot/artifacts']);
  app.use('/api/*', (c, next) => (c.req.method === 'POST' && streamedUploads.has(c.req.path) ? next() : tooLarge(c, next)));
  // People's API only: its schemas are recursive (group rules, detection trees); the agent API's are not (hot path).
  app.use('/api/*', refuseDeepJson);
  app.use('/agent/*', (c, next) => (c.req.path === '/agent/v1/inventory' ? inventoryTooLarge(c, next) : tooLarge(c, next)));

  app.onError((err, c) => {
    const p = answerForError(err, deps.logger, c.req.path);
    return problemResponse(c, p.status, p.code, p.detail, p.errors, p.headers);
  });
  app.notFound(methods.notFound);

  const v1 = createRouter()
    .route('/', authRoutes)
    .route('/', userRoutes)
    .route('/', enrollmentTokenRoutes)
    .route('/', deviceRoutes)
    .route('/', deviceAttributeRoutes)
    .route('/', groupRoutes)
    .route('/', jobRoutes)
    .route('/', jobRunRoutes)
    .route('/', jobScheduleRoutes)
    .route('/', agentlessRoutes)
    .route('/', fileRoutes)
    .route('/', depotRoutes)
    .route('/', softwareRoutes)
    .route('/', deploymentRoutes)
    .route('/', softwareAssignmentRoutes)
    .route('/', fleetRoutes)
    .route('/', alertRoutes)
    .route('/', auditLogRoutes)
    .route('/', secretRoutes)
    .route('/', configRoutes);
  app.route('/api/v1', v1);
  app.route('/agent/v1', agentRoutes(deps));

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description: 'Session token from POST /api/v1/auth/login',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'deviceSecret', {
    type: 'http',
    scheme: 'bearer',
    description: 'Device secret from POST /agent/v1/enroll',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'metricsToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'METRICS_TOKEN of the API',
  });
  app.route('/', operationRoutes(deps));
  let openApiDocument: object | undefined;
  app.route(
    '/',
    apiDocsRoutes(() => (openApiDocument ??= buildOpenApiDocument(app, deps.config.apiPublicUrl))),
  );
  return app;
}
export type ApiApp = ReturnType<typeof createApp>;

/** The separate metrics listener: GET /metrics and nothing else. */
export function createMetricsApp(deps: ApiDeps) {
  const app = new Hono();
  app.get('/metrics', (c) => metricsResponse(c, deps.metrics, deps.config.metricsToken));
  app.notFound((c) => problemResponse(c, 404, 'not_found', 'This listener serves GET /metrics only.'));
  return app;
}
