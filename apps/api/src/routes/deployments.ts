/** Deployments (ADR 24): dry run, create, list, dashboard reads, and the operators' controls (services/deployments.ts). */
import { createRoute, z } from '@hono/zod-openapi';
import { uuid } from '@opsconductor/contracts/api';
import {
  createDeploymentRequest,
  deployment,
  deploymentApproval,
  deploymentControl,
  deploymentDeviceList,
  deploymentDeviceQuery,
  deploymentEventList,
  deploymentList,
  deploymentListQuery,
  deploymentPlan,
  deploymentTimeline,
} from '@opsconductor/contracts/deployments';
import { body, createRouter, json } from '../lib/router.ts';
import { authenticate, requireRole } from '../lib/auth.ts';
import { requestOrigin } from '../lib/audit.ts';
import { ApiError, documentedProblem, problemResponses } from '../lib/problem.ts';
import {
  controlDeployment,
  createDeployment,
  decideDeployment,
  deploymentTimeline as readTimeline,
  getDeployment,
  listDeploymentDevices,
  listDeploymentEvents,
  listDeployments,
  previewDeployment,
  type DeploymentControlAction,
} from '../services/deployments.ts';

const security = [{ bearerAuth: [] }];
const tags = ['deployments'];
const operator = [authenticate, requireRole('operator')];
const params = z.object({ id: uuid.describe("The deployment's ID") });

const preview = createRoute({
  method: 'post',
  path: '/deployments/preview',
  operationId: 'previewDeployment',
  tags,
  summary: 'Dry run (operator): the pilot and waves, devices already compliant, failing requirements or outside their windows',
  description: 'Nothing is created. The waves are split as the deployment would split them (a new split per call).',
  security,
  middleware: operator,
  request: body(createDeploymentRequest),
  responses: { 200: json(deploymentPlan, 'What the deployment would do now'), ...problemResponses },
});
const create = createRoute({
  method: 'post',
  path: '/deployments',
  operationId: 'createDeployment',
  tags,
  summary: 'Deploy a package version (operator): a pilot, staged waves, auto-pause, health analysis, windows, rollback',
  description:
    'The rollout is the `deploymentRollout` workflow `deployment/<id>` (search attributes OpsDeploymentId, OpsPackageId, OpsVersionId). ' +
    'A deployment of at least DEPLOYMENT_APPROVAL_MIN_DEVICES devices waits for a second operator (POST /deployments/{id}/approval).',
  security,
  middleware: operator,
  request: body(createDeploymentRequest),
  responses: {
    201: json(deployment, 'Created; its rollout started (or waits for approval or its start time)'),
    409: documentedProblem('The targets resolve to another number of devices than confirmed'),
    ...problemResponses,
  },
});
const list = createRoute({
  method: 'get',
  path: '/deployments',
  operationId: 'listDeployments',
  tags,
  summary: 'Deployments, newest first; filter by status, activity, package, device or name',
  security,
  middleware: [authenticate],
  request: { query: deploymentListQuery },
  responses: { 200: json(deploymentList, 'A page of deployments'), ...problemResponses },
});
const get = createRoute({
  method: 'get',
  path: '/deployments/{id}',
  operationId: 'getDeployment',
  tags,
  summary: 'A deployment: status, waves with their progress and health, counts, top failures, rollback',
  security,
  middleware: [authenticate],
  request: { params },
  responses: { 200: json(deployment, 'The deployment'), ...problemResponses },
});
const devices = createRoute({
  method: 'get',
  path: '/deployments/{id}/devices',
  operationId: 'listDeploymentDevices',
  tags,
  summary: "A deployment's devices by wave and hostname, with status, exit code, outcome and health",
  security,
  middleware: [authenticate],
  request: { params, query: deploymentDeviceQuery },
  responses: { 200: json(deploymentDeviceList, 'A page of devices'), ...problemResponses },
});
const events = createRoute({
  method: 'get',
  path: '/deployments/{id}/events',
  operationId: 'listDeploymentEvents',
  tags,
  summary: "A deployment's timeline, newest first (created, approved, waves, pauses and why, rollback…)",
  security,
  middleware: [authenticate],
  request: { params },
  responses: { 200: json(deploymentEventList, 'The last 500 events'), ...problemResponses },
});
const timeline = createRoute({
  method: 'get',
  path: '/deployments/{id}/timeline',
  operationId: 'getDeploymentTimeline',
  tags,
  summary: 'Succeeded and failed results over time since the deployment started (about 60 points)',
  security,
  middleware: [authenticate],
  request: { params },
  responses: { 200: json(deploymentTimeline, 'Cumulative results per time bucket'), ...problemResponses },
});

const controlSummaries: Record<DeploymentControlAction, string> = {
  pause: 'Pause (operator): no new device starts; installs under way finish',
  resume: 'Resume a paused deployment (operator)',
  abort: 'Abort (operator): no new device starts, the waves left are cancelled',
  rollback: 'Roll back (operator): uninstall from every device the deployment touched, then reinstall what each had before',
};
const controlRoute = (action: DeploymentControlAction) =>
  createRoute({
    method: 'post',
    path: `/deployments/{id}/${action}`,
    operationId: `${action}Deployment`,
    tags,
    summary: controlSummaries[action],
    security,
    middleware: operator,
    request: { params, ...body(deploymentControl) },
    responses: {
      200: json(deployment, 'Done'),
      409: documentedProblem('Not possible now (the reason says why: already paused, not paused, ended, no uninstall command…)'),
      ...problemResponses,
    },
  });
const approval = createRoute({
  method: 'post',
  path: '/deployments/{id}/approval',
  operationId: 'decideDeployment',
  tags,
  summary: 'Approve or reject a deployment that waits for approval (operator, not its creator)',
  security,
  middleware: operator,
  request: { params, ...body(deploymentApproval) },
  responses: { 200: json(deployment, 'Decided'), 409: documentedProblem('Not pending, or your own'), ...problemResponses },
});

const found = <T>(value: T | null): T => {
  if (value === null) throw new ApiError(404, 'not_found');
  return value;
};

export const deploymentRoutes = createRouter()
  .openapi(preview, async (c) => c.json(await previewDeployment(c.var.deps, c.req.valid('json')), 200))
  .openapi(create, async (c) => c.json(await createDeployment(c.var.deps, requestOrigin(c), c.var.user.id, c.req.valid('json')), 201))
  .openapi(list, async (c) => c.json(await listDeployments(c.var.deps, c.req.valid('query')), 200))
  .openapi(get, async (c) => c.json(found(await getDeployment(c.var.deps, c.req.valid('param').id)), 200))
  .openapi(devices, async (c) => c.json(await listDeploymentDevices(c.var.deps, c.req.valid('param').id, c.req.valid('query')), 200))
  .openapi(events, async (c) => c.json(await listDeploymentEvents(c.var.deps, c.req.valid('param').id), 200))
  .openapi(timeline, async (c) => c.json(await readTimeline(c.var.deps, c.req.valid('param').id), 200))
  .openapi(controlRoute('pause'), async (c) =>
    c.json(await controlDeployment(c.var.deps, requestOrigin(c), c.req.valid('param').id, 'pause', c.req.valid('json').reason), 200),
  )
  .openapi(controlRoute('resume'), async (c) =>
    c.json(await controlDeployment(c.var.deps, requestOrigin(c), c.req.valid('param').id, 'resume', c.req.valid('json').reason), 200),
  )
  .openapi(controlRoute('abort'), async (c) =>
    c.json(await controlDeployment(c.var.deps, requestOrigin(c), c.req.valid('param').id, 'abort', c.req.valid('json').reason), 200),
  )
  .openapi(controlRoute('rollback'), async (c) =>
    c.json(await controlDeployment(c.var.deps, requestOrigin(c), c.req.valid('param').id, 'rollback', c.req.valid('json').reason), 200),
  )
  .openapi(approval, async (c) => {
    const { decision, comment } = c.req.valid('json');
    return c.json(await decideDeployment(c.var.deps, requestOrigin(c), c.var.user.id, c.req.valid('param').id, decision, comment), 200);
  });
