/** Software assignments (ADR 24): required / available / uninstall per device or group (services/software-assignments.ts). */
import { createRoute, z } from '@hono/zod-openapi';
import { uuid } from '@opsconductor/contracts/api';
import {
  createAssignmentRequest,
  createdAssignments,
  deleteAssignmentQuery,
  installAvailableRequest,
  softwareAssignmentList,
  softwareAssignmentQuery,
} from '@opsconductor/contracts/deployments';
import { body, createRouter, json } from '../lib/router.ts';
import { authenticate, requireRole } from '../lib/auth.ts';
import { requestOrigin } from '../lib/audit.ts';
import { documentedProblem, problemResponses } from '../lib/problem.ts';
import { createAssignments, deleteAssignment, installAvailable, listAssignments } from '../services/software-assignments.ts';

const security = [{ bearerAuth: [] }];
const tags = ['software'];
const operator = [authenticate, requireRole('operator')];
const params = z.object({ id: uuid.describe("The assignment's ID") });

const list = createRoute({
  method: 'get',
  path: '/software/assignments',
  operationId: 'listSoftwareAssignments',
  tags,
  summary: 'Software assignments with their compliance; filter by package, device (its own and its groups’), group or intent',
  security,
  middleware: [authenticate],
  request: { query: softwareAssignmentQuery },
  responses: { 200: json(softwareAssignmentList, 'The assignments (at most 1,000)'), ...problemResponses },
});
const create = createRoute({
  method: 'post',
  path: '/software/assignments',
  operationId: 'createSoftwareAssignments',
  tags,
  summary: 'Assign a package to devices or groups (operator): required, available or uninstall',
  description:
    'One assignment per package and target: assigning another version to the same target supersedes the older one, and its devices are upgraded. ' +
    'Required and uninstall assignments start a run at once (inside maintenance windows); devices that join a group later get it too, and ' +
    'required assignments are applied again every ASSIGNMENT_ENFORCE_INTERVAL_SECONDS, so software removed by hand comes back.',
  security,
  middleware: operator,
  request: body(createAssignmentRequest),
  responses: {
    201: json(createdAssignments, 'Created (or updated)'),
    409: documentedProblem('Required and uninstall of the same package would cover the same devices'),
    ...problemResponses,
  },
});
const remove = createRoute({
  method: 'delete',
  path: '/software/assignments/{id}',
  operationId: 'deleteSoftwareAssignment',
  tags,
  summary: 'Remove an assignment (operator); with uninstall=true the package is uninstalled where no other assignment keeps it',
  security,
  middleware: operator,
  request: { params, query: deleteAssignmentQuery },
  responses: { 204: { description: 'Removed' }, ...problemResponses },
});
const install = createRoute({
  method: 'post',
  path: '/software/assignments/{id}/install',
  operationId: 'installAvailableSoftware',
  tags,
  summary: 'Install an available assignment on one of its devices now (operator)',
  security,
  middleware: operator,
  request: { params, ...body(installAvailableRequest) },
  responses: {
    202: json(z.object({ jobRunId: uuid }).meta({ id: 'AvailableInstallStarted' }), 'The run installing it'),
    409: documentedProblem('Not an available assignment, or the package has no version'),
    ...problemResponses,
  },
});

export const softwareAssignmentRoutes = createRouter()
  .openapi(list, async (c) => c.json({ items: await listAssignments(c.var.deps, c.req.valid('query')) }, 200))
  .openapi(create, async (c) => c.json(await createAssignments(c.var.deps, requestOrigin(c), c.var.user.id, c.req.valid('json')), 201))
  .openapi(remove, async (c) => {
    await deleteAssignment(c.var.deps, requestOrigin(c), c.req.valid('param').id, c.req.valid('query').uninstall === 'true');
    return c.body(null, 204);
  })
  .openapi(install, async (c) =>
    c.json(await installAvailable(c.var.deps, requestOrigin(c), c.req.valid('param').id, c.req.valid('json').deviceId), 202),
  );
