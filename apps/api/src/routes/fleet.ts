/** The fleet at a glance and the deployments touching a device (services/fleet.ts); every signed-in user may read them. */
import { createRoute, z } from '@hono/zod-openapi';
import { uuid } from '@opsconductor/contracts/api';
import { deviceDeploymentList, fleetSummary } from '@opsconductor/contracts/fleet';
import { createRouter, json } from '../lib/router.ts';
import { authenticate } from '../lib/auth.ts';
import { ApiError, problemResponses } from '../lib/problem.ts';
import { deviceDeployments, fleetSummary as readSummary } from '../services/fleet.ts';

const security = [{ bearerAuth: [] }];

const summary = createRoute({
  method: 'get',
  path: '/fleet/summary',
  operationId: 'getFleetSummary',
  tags: ['fleet'],
  summary: 'The fleet at a glance: presence, OS and agent versions, software compliance, deployments in progress, failed runs',
  description:
    'Presence uses DEVICE_ONLINE_WINDOW_SECONDS like the device list (`status` filter), so each figure is what that filter lists. ' +
    'Compliance covers every required assignment: a device is compliant when it reported the wanted version (the assignment’s own, ' +
    'or the package’s latest) installed, non-compliant when it reported it failed or not installed, pending without a report. ' +
    'Retired devices are left out everywhere.',
  security,
  middleware: [authenticate],
  responses: { 200: json(fleetSummary, 'The summary'), ...problemResponses },
});
const forDevice = createRoute({
  method: 'get',
  path: '/devices/{id}/deployments',
  operationId: 'listDeviceDeployments',
  tags: ['devices'],
  summary: 'The deployments a device is part of (the newest 20), with its own status in each',
  security,
  middleware: [authenticate],
  request: { params: z.object({ id: uuid.describe("The device's ID") }) },
  responses: { 200: json(deviceDeploymentList, 'Deployments, newest first'), ...problemResponses },
});

export const fleetRoutes = createRouter()
  .openapi(summary, async (c) => c.json(await readSummary(c.var.deps), 200))
  .openapi(forDevice, async (c) => {
    const { id } = c.req.valid('param');
    const found = await c.var.deps.db.pool.query('SELECT 1 FROM devices WHERE id = $1', [id]);
    if (!found.rowCount) throw new ApiError(404, 'not_found');
    return c.json(await deviceDeployments(c.var.deps, id), 200);
  });
