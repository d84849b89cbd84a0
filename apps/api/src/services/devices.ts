/** Device queries for the console and API: filtered, sorted, paginated lists and the detail view. */
import type { DeviceListFilters } from '@opsconductor/contracts/inventory-api';
import { deviceWhere as deviceWhereAt } from '@opsconductor/devices';
import type { Device, Prisma } from '@opsconductor/db';
import type { DeviceFilter, DeviceLifecycle, Device as DeviceDto } from '@opsconductor/contracts/api';
import { deviceStatusAt } from '@opsconductor/rules';
import type { ApiDeps } from '../context.ts';

/** The devices a filter selects (packages/devices' deviceWhere with the API's online window). */
export function deviceWhere(deps: ApiDeps, f: Partial<DeviceFilter> & { lifecycle?: DeviceLifecycle }): Prisma.DeviceWhereInput {
  return deviceWhereAt(deps.config.onlineWindowSeconds, f);
}

export async function listDeviceSummaries(deps: ApiDeps, f: Partial<DeviceListFilters> & { page: number; pageSize: number }) {
  const where = deviceWhere(deps, f);
  const direction = f.order ?? 'asc';
  const orderBy: Prisma.DeviceOrderByWithRelationInput[] =
    f.sort === 'lastSeenAt'
      ? [{ lastSeenAt: { sort: direction, nulls: 'last' } }]
      : f.sort === 'osName'
        ? [{ osName: direction }]
        : f.sort === 'enrolledAt'
          ? [{ enrolledAt: direction }]
          : [{ hostname: direction }];
  const [rows, total] = await Promise.all([
    deps.db.prisma.device.findMany({
      where,
      orderBy: [...orderBy, { id: 'asc' }],
      skip: (f.page - 1) * f.pageSize,
      take: f.pageSize,
      include: { tags: { select: { tag: true }, orderBy: { tag: 'asc' } } },
    }),
    deps.db.prisma.device.count({ where }),
  ]);
  return {
    items: rows.map((d) => ({
      ...toDeviceDto(d, deps.config.onlineWindowSeconds),
      tags: d.tags.map((t) => t.tag),
      manufacturer: d.manufacturer,
      model: d.model,
      pendingReboot: d.pendingReboot,
    })),
    total,
  };
}

export function toDeviceDto(d: Device, onlineWindowSeconds: number): DeviceDto {
  return {
    id: d.id,
    hostname: d.hostname,
    osFamily: d.osFamily,
    osName: d.osName,
    osVersion: d.osVersion,
    architecture: d.architecture,
    ipAddresses: d.ipAddresses,
    agentVersion: d.agentVersion,
    transport: d.transport,
    status: deviceStatusAt(d, new Date(), onlineWindowSeconds),
    lastSeenAt: d.lastSeenAt?.toISOString() ?? null,
    enrolledAt: d.enrolledAt.toISOString(),
    retiredAt: d.retiredAt?.toISOString() ?? null,
  };
}
