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
  maintenanceWindow,
  maintenanceWindowList,
} from '@opsconductor/contracts/deployments';
import { maintenanceWindowSpec } from '@opsconductor/contracts/maintenance-windows';
import { createWindow, deleteWindow, listWindows } from '../services/maintenance-windows.ts';
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

const groupParams = z.object({ id: uuid.describe("The group's ID") });
const windows = createRoute({
  method: 'get',
  path: '/groups/{id}/maintenance-windows',
  operationId: 'listMaintenanceWindows',
  tags,
  summary: "A group's maintenance windows, with when each next opens",
  security,
  middleware: [authenticate],
  request: { params: groupParams },
  responses: { 200: json(maintenanceWindowList, 'The windows'), ...problemResponses },
});
const createWindowRoute = createRoute({
  method: 'post',
  path: '/groups/{id}/maintenance-windows',
  operationId: 'createMaintenanceWindow',
  tags,
  summary: 'Add a maintenance window to a group (operator): daily or weekly, a wall-clock start in an IANA time zone, a duration',
  description:
    "Deployments that respect maintenance windows start a device only inside one of its groups' windows (a device in no group with a window: any time). " +
    'A start time that does not exist on a day (the spring-forward gap) moves forward by the gap; one that happens twice takes the first. The duration is elapsed time.',
  security,
  middleware: operator,
  request: { params: groupParams, ...body(maintenanceWindowSpec) },
  responses: { 201: json(maintenanceWindow, 'Created'), ...problemResponses },
});
const deleteWindowRoute = createRoute({
  method: 'delete',
  path: '/groups/{id}/maintenance-windows/{windowId}',
  operationId: 'deleteMaintenanceWindow',
  tags,
  summary: 'Remove a maintenance window (operator)',
  security,
  middleware: operator,
  request: { params: groupParams.extend({ windowId: uuid.describe("The window's ID") }) },
  responses: { 204: { description: 'Removed' }, ...problemResponses },
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
  .openapi(windows, async (c) => c.json({ items: await listWindows(c.var.deps, c.req.valid('param').id) }, 200))
  .openapi(createWindowRoute, async (c) =>
    c.json(await createWindow(c.var.deps, requestOrigin(c), c.req.valid('param').id, c.req.valid('json')), 201),
  )
  .openapi(deleteWindowRoute, async (c) => {
    const { id, windowId } = c.req.valid('param');
    await deleteWindow(c.var.deps, requestOrigin(c), id, windowId);
    return c.body(null, 204);
  })
  .openapi(approval, async (c) => {
    const { decision, comment } = c.req.valid('json');
    return c.json(await decideDeployment(c.var.deps, requestOrigin(c), c.var.user.id, c.req.valid('param').id, decision, comment), 200);
  });
