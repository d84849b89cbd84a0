import { createRoute, z } from '@hono/zod-openapi';
import { deleteDeviceQuery, device as deviceDto, pagination, rotatedDeviceSecret, uuid } from '@opsconductor/contracts/api';
import {
  deviceActivityList,
  deviceDetail,
  deviceListFilters,
  deviceServiceList,
  deviceSoftwareList,
  deviceSummaryList,
  deviceTimeline,
  softwareListQuery,
  timelineQuery,
  type DeviceActivityItem,
} from '@opsconductor/contracts/inventory-api';
import type { InventorySectionName } from '@opsconductor/contracts/inventory';
import type { ApiDeps } from '../context.ts';
import type { InventoryEventKind } from '@opsconductor/inventory';
import { listDeviceSummaries, toDeviceDto } from '../services/devices.ts';
import { likeLiteral } from '@opsconductor/unit-of-work';
import { createRouter, json } from '../lib/router.ts';
import { authenticate, requireRole } from '../lib/auth.ts';
import { requestOrigin } from '../lib/audit.ts';
import { ApiError, documentedProblem, problemResponses } from '../lib/problem.ts';

const security = [{ bearerAuth: [] }];
const read = [authenticate];
const operate = [authenticate, requireRole('operator')];
const administer = [authenticate, requireRole('admin')];
const idParam = z.object({ id: uuid.describe("The device's ID") });

const list = createRoute({
  method: 'get',
  path: '/devices',
  operationId: 'listDevices',
  tags: ['devices'],
  summary: 'List devices: search, filter, sort, paginate',
  security,
  middleware: read,
  request: { query: deviceListFilters },
  responses: { 200: json(deviceSummaryList, 'Devices'), ...problemResponses },
});
const get = createRoute({
  method: 'get',
  path: '/devices/{id}',
  operationId: 'getDevice',
  tags: ['devices'],
  summary: 'A device with its inventory, groups, tags and custom fields',
  security,
  middleware: read,
  request: { params: idParam },
  responses: { 200: json(deviceDetail, 'Device'), ...problemResponses },
});
const software = createRoute({
  method: 'get',
  path: '/devices/{id}/software',
  operationId: 'listDeviceSoftware',
  tags: ['devices'],
  summary: 'Installed software (searchable)',
  security,
  middleware: read,
  request: { params: idParam, query: softwareListQuery },
  responses: { 200: json(deviceSoftwareList, 'Software'), ...problemResponses },
});
const services = createRoute({
  method: 'get',
  path: '/devices/{id}/services',
  operationId: 'listDeviceServices',
  tags: ['devices'],
  summary: 'Services and their state',
  security,
  middleware: read,
  request: { params: idParam },
  responses: { 200: json(deviceServiceList, 'Services'), ...problemResponses },
});
const timeline = createRoute({
  method: 'get',
  path: '/devices/{id}/timeline',
  operationId: 'getDeviceTimeline',
  tags: ['devices'],
  summary: 'Inventory history, newest first',
  security,
  middleware: read,
  request: { params: idParam, query: timelineQuery },
  responses: { 200: json(deviceTimeline, 'Events'), ...problemResponses },
});

const retire = createRoute({
  method: 'post',
  path: '/devices/{id}/retire',
  operationId: 'retireDevice',
  tags: ['devices'],
  summary: 'Retire a device (operator)',
  security,
  middleware: operate,
  description:
    'Its secret is refused from now on, by every API process (the agent gets 401 `device_retired` and stops). It leaves every group, ' +
    'gets no new runs, and its unfinished run targets fail now ("The device was retired."). Inventory, history and runs are kept; ' +
    'lists hide it unless `lifecycle=retired|all`. Retiring a retired device changes nothing.',
  request: { params: idParam },
  responses: { 200: json(deviceDto, 'Retired'), ...problemResponses },
});
const remove = createRoute({
  method: 'delete',
  path: '/devices/{id}',
  operationId: 'deleteDevice',
  tags: ['devices'],
  summary: 'Delete a device and its data (admin)',
  security,
  middleware: administer,
  description:
    'Purges the device with its inventory, history, memberships and commands; its credentials stop working at once. Job-run ' +
    'history keeps the device ID and hostname. `confirm` must repeat the hostname (400 `confirmation_mismatch` otherwise).',
  request: { params: idParam, query: deleteDeviceQuery },
  responses: { 204: { description: 'Deleted' }, ...problemResponses },
});
const rotateSecret = createRoute({
  method: 'post',
  path: '/devices/{id}/rotate-secret',
  operationId: 'rotateDeviceSecret',
  tags: ['devices'],
  summary: 'Give a device a new secret (admin)',
  security,
  middleware: administer,
  description:
    'Returns the new secret once; the old one is refused from now on (the agent stops with exit code 3). Install the new one on the ' +
    'device with `opsconductor-agent rekey` (it reads the secret from stdin or OPSCONDUCTOR_DEVICE_SECRET), then start the agent. ' +
    'It is never sent to the agent over the network: if the old secret leaked, whoever holds it must not receive the new one. ' +
    '409 `device_retired` for a retired device.',
  request: { params: idParam },
  responses: {
    200: json(rotatedDeviceSecret, 'The new secret'),
    409: documentedProblem('Retired (`device_retired`)'),
    ...problemResponses,
  },
});
const activity = createRoute({
  method: 'get',
  path: '/devices/{id}/activity',
  operationId: 'listDeviceActivity',
  tags: ['devices'],
  summary: 'What happened to the device, newest first',
  security,
  middleware: read,
  description:
    'Enrolled, came online, went offline, joined or left a group, inventory changed, a command finished, retired — written from ' +
    'domain events by the device-activity consumer, so an entry appears within seconds of the change.',
  request: { params: idParam, query: pagination },
  responses: { 200: json(deviceActivityList, 'Activity'), ...problemResponses },
});

async function mustExist(prisma: ApiDeps['db']['prisma'], id: string) {
  const d = await prisma.device.findUnique({ where: { id } });
  if (!d) throw new ApiError(404, 'not_found');
  return d;
}

export const deviceRoutes = createRouter()
  .openapi(list, async (c) => c.json(await listDeviceSummaries(c.var.deps, c.req.valid('query')), 200))
  .openapi(retire, async (c) => {
    const { id } = c.req.valid('param');
    await c.var.deps.services.devices.retire(requestOrigin(c), id);
    return c.json(toDeviceDto(await mustExist(c.var.deps.db.prisma, id), c.var.deps.config.presence), 200);
  })
  .openapi(remove, async (c) => {
    await c.var.deps.services.devices.delete(requestOrigin(c), c.req.valid('param').id, c.req.valid('query').confirm);
    return c.body(null, 204);
  })
  .openapi(rotateSecret, async (c) => {
    const { id } = c.req.valid('param');
    const deviceSecret = await c.var.deps.services.devices.rotateSecret(requestOrigin(c), id);
    return c.json({ deviceId: id, deviceSecret }, 200);
  })
  .openapi(get, async (c) => {
    const { id } = c.req.valid('param');
    const { prisma } = c.var.deps.db;
    const d = await prisma.device.findUnique({
      where: { id },
      include: {
        tags: { orderBy: { tag: 'asc' } },
        inventorySections: { where: { section: { in: ['system', 'hardware', 'directory', 'security', 'performance'] } } },
        groupMemberships: { include: { group: { select: { id: true, name: true, kind: true } } } },
        customFieldValues: { include: { field: { select: { key: true } } } },
      },
    });
    if (!d) throw new ApiError(404, 'not_found');
    const [softwareCount, servicesRow] = await Promise.all([
      prisma.deviceSoftware.count({ where: { deviceId: id } }),
      prisma.deviceInventorySection.findUnique({ where: { deviceId_section: { deviceId: id, section: 'services' } } }),
    ]);
    return c.json(
      {
        ...toDeviceDto(d, c.var.deps.config.presence),
        tags: d.tags.map((t) => t.tag),
        manufacturer: d.manufacturer,
        model: d.model,
        pendingReboot: d.pendingReboot,
        inventory: Object.fromEntries(d.inventorySections.map((s) => [s.section, s.data])),
        inventoryUpdatedAt: d.inventoryUpdatedAt?.toISOString() ?? null,
        softwareCount,
        serviceCount: (servicesRow?.data as { services?: unknown[] } | undefined)?.services?.length ?? 0,
        groups: d.groupMemberships.map((m) => m.group).sort((a, b) => a.name.localeCompare(b.name)),
        customFields: Object.fromEntries(d.customFieldValues.map((v) => [v.field.key, v.value as string | number | boolean | null])),
      } as z.infer<typeof deviceDetail>,
      200,
    );
  })
  .openapi(software, async (c) => {
    const { id } = c.req.valid('param');
    const { page, pageSize, search } = c.req.valid('query');
    const { prisma } = c.var.deps.db;
    await mustExist(prisma, id);
    const text = search && likeLiteral(search);
    const where = {
      deviceId: id,
      ...(text
        ? {
            OR: [
              { normalizedName: { contains: text.toLowerCase() } },
              { vendor: { contains: text, mode: 'insensitive' as const } },
              { productCode: { equals: text, mode: 'insensitive' as const } },
            ],
          }
        : {}),
    };
    const [rows, total] = await Promise.all([
      prisma.deviceSoftware.findMany({
        where,
        orderBy: [{ normalizedName: 'asc' }, { id: 'asc' }],
        skip: (page - 1) * pageSize,
        take: pageSize,
      }),
      prisma.deviceSoftware.count({ where }),
    ]);
    return c.json(
      {
        items: rows.map((r) => ({
          name: r.name,
          version: r.version,
          architecture: r.architecture,
          vendor: r.vendor,
          installDate: r.installDate,
          source: r.source,
          productCode: r.productCode,
          upgradeCode: r.upgradeCode,
        })),
        total,
      },
      200,
    );
  })
  .openapi(services, async (c) => {
    const { id } = c.req.valid('param');
    const { prisma } = c.var.deps.db;
    await mustExist(prisma, id);
    const row = await prisma.deviceInventorySection.findUnique({ where: { deviceId_section: { deviceId: id, section: 'services' } } });
    const items = (
      (row?.data as { services?: { name: string; displayName?: string | null; state: string; startMode: string }[] } | undefined)
        ?.services ?? []
    ).map((s) => ({ name: s.name, displayName: s.displayName ?? null, state: s.state, startMode: s.startMode }));
    return c.json({ items }, 200);
  })
  .openapi(timeline, async (c) => {
    const { id } = c.req.valid('param');
    const { page, pageSize, kind } = c.req.valid('query');
    const { prisma } = c.var.deps.db;
    await mustExist(prisma, id);
    const where = { deviceId: id, ...(kind ? { kind } : {}) };
    const [rows, total] = await Promise.all([
      prisma.deviceInventoryEvent.findMany({ where, orderBy: { id: 'desc' }, skip: (page - 1) * pageSize, take: pageSize }),
      prisma.deviceInventoryEvent.count({ where }),
    ]);
    return c.json(
      {
        items: rows.map((e) => ({
          id: e.id.toString(),
          occurredAt: e.occurredAt.toISOString(),
          section: e.section as InventorySectionName,
          kind: e.kind as InventoryEventKind,
          subject: e.subject,
          oldValue: e.oldValue,
          newValue: e.newValue,
        })),
        total,
      },
      200,
    );
  })
  .openapi(activity, async (c) => {
    const { id } = c.req.valid('param');
    const { page, pageSize } = c.req.valid('query');
    const { prisma } = c.var.deps.db;
    await mustExist(prisma, id);
    const [rows, total] = await Promise.all([
      prisma.deviceActivity.findMany({ where: { deviceId: id }, orderBy: { id: 'desc' }, skip: (page - 1) * pageSize, take: pageSize }),
      prisma.deviceActivity.count({ where: { deviceId: id } }),
    ]);
    return c.json(
      {
        items: rows.map(
          (r) => ({ id: r.id.toString(), type: r.type, occurredAt: r.occurredAt.toISOString(), details: r.details }) as DeviceActivityItem,
        ),
        total,
      },
      200,
    );
  });
