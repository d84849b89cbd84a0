import { createRoute, z } from '@hono/zod-openapi';
import { device as deviceDto, deviceList, deviceListQuery, uuid } from '@opsconductor/contracts/api';
import type { Device, Prisma } from '@opsconductor/db';
import { createRouter } from '../lib/router.ts';
import { authenticate } from '../lib/auth.ts';
import { ApiError, problemResponses } from '../lib/problem.ts';

export function deviceStatus(lastSeenAt: Date | null, onlineWindowSeconds: number): 'online' | 'offline' | 'never_seen' {
  if (!lastSeenAt) return 'never_seen';
  return Date.now() - lastSeenAt.getTime() <= onlineWindowSeconds * 1000 ? 'online' : 'offline';
}

export function toDeviceDto(d: Device, onlineWindowSeconds: number): z.infer<typeof deviceDto> {
  return {
    id: d.id, hostname: d.hostname, osFamily: d.osFamily, osName: d.osName, osVersion: d.osVersion, architecture: d.architecture,
    ipAddresses: d.ipAddresses, agentVersion: d.agentVersion, status: deviceStatus(d.lastSeenAt, onlineWindowSeconds),
    lastSeenAt: d.lastSeenAt?.toISOString() ?? null, enrolledAt: d.enrolledAt.toISOString(),
  };
}

const security = [{ bearerAuth: [] }];
const list = createRoute({
  method: 'get', path: '/devices', tags: ['devices'], summary: 'List devices', security, middleware: [authenticate],
  request: { query: deviceListQuery },
  responses: { 200: { description: 'Devices', content: { 'application/json': { schema: deviceList } } }, ...problemResponses },
});
const get = createRoute({
  method: 'get', path: '/devices/{id}', tags: ['devices'], summary: 'One device', security, middleware: [authenticate],
  request: { params: z.object({ id: uuid }) },
  responses: { 200: { description: 'Device', content: { 'application/json': { schema: deviceDto } } }, ...problemResponses },
});

export const deviceRoutes = createRouter()
  .openapi(list, async (c) => {
    const { page, pageSize, search, status } = c.req.valid('query');
    const { db, config } = c.var.deps;
    const since = new Date(Date.now() - config.onlineWindowSeconds * 1000);
    const where: Prisma.DeviceWhereInput = {
      ...(search ? { OR: [{ hostname: { contains: search, mode: 'insensitive' } }, { ipAddresses: { has: search } }, { osName: { contains: search, mode: 'insensitive' } }] } : {}),
      ...(status === 'online' ? { lastSeenAt: { gte: since } } : status === 'offline' ? { lastSeenAt: { lt: since } } : status === 'never_seen' ? { lastSeenAt: null } : {}),
    };
    const [items, total] = await Promise.all([
      db.prisma.device.findMany({ where, orderBy: [{ hostname: 'asc' }, { id: 'asc' }], skip: (page - 1) * pageSize, take: pageSize }),
      db.prisma.device.count({ where }),
    ]);
    return c.json({ items: items.map((d) => toDeviceDto(d, config.onlineWindowSeconds)), total }, 200);
  })
  .openapi(get, async (c) => {
    const d = await c.var.deps.db.prisma.device.findUnique({ where: { id: c.req.valid('param').id } });
    if (!d) throw new ApiError(404, 'not_found');
    return c.json(toDeviceDto(d, c.var.deps.config.onlineWindowSeconds), 200);
  });
