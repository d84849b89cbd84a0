/** Device queries for the console and API: filtered, sorted, paginated lists and the detail view. */
import type { DeviceListFilters } from '@opsconductor/contracts/inventory-api';
import type { Device, Prisma } from '@opsconductor/db';
import type { DeviceFilter, DeviceLifecycle, Device as DeviceDto } from '@opsconductor/contracts/api';
import { deviceStatusAt } from '@opsconductor/rules';
import type { ApiDeps } from '../context.ts';
import { likeLiteral } from '@opsconductor/unit-of-work';

/** The devices a filter selects: the device list, and the `filter` target of a job run (active devices unless asked). */
export function deviceWhere(deps: ApiDeps, f: Partial<DeviceFilter> & { lifecycle?: DeviceLifecycle }): Prisma.DeviceWhereInput {
  const since = new Date(Date.now() - deps.config.onlineWindowSeconds * 1000);
  const and: Prisma.DeviceWhereInput[] = [];
  const lifecycle = f.lifecycle ?? 'active';
  if (lifecycle === 'active') and.push({ retiredAt: null });
  if (lifecycle === 'retired') and.push({ retiredAt: { not: null } });
  if (f.search) {
    // Prisma hands `contains` to (I)LIKE as is: `_` and `%` would match any character.
    const text = likeLiteral(f.search);
    and.push({
      OR: [
        { hostname: { contains: text, mode: 'insensitive' } },
        { ipAddresses: { has: f.search } },
        { osName: { contains: text, mode: 'insensitive' } },
        { model: { contains: text, mode: 'insensitive' } },
      ],
    });
  }
  // The same decision as deviceStatusAt (packages/rules), in SQL.
  if (f.status === 'online') and.push({ lastSeenAt: { gte: since }, agentStoppedAt: null });
  if (f.status === 'offline')
    and.push({ lastSeenAt: { not: null }, OR: [{ lastSeenAt: { lt: since } }, { agentStoppedAt: { not: null } }] });
  if (f.status === 'never_seen') and.push({ lastSeenAt: null });
  if (f.osFamily) and.push({ osFamily: f.osFamily });
  if (f.groupId) and.push({ groupMemberships: { some: { groupId: f.groupId } } });
  if (f.tag) and.push({ tags: { some: { tag: f.tag } } });
  if (f.customField) {
    const i = f.customField.indexOf(':');
    const key = f.customField.slice(0, i);
    const raw = f.customField.slice(i + 1);
    const candidates: Prisma.InputJsonValue[] = [raw];
    if (raw !== '' && !Number.isNaN(Number(raw))) candidates.push(Number(raw));
    if (raw === 'true' || raw === 'false') candidates.push(raw === 'true');
    and.push({ customFieldValues: { some: { field: { key }, OR: candidates.map((v) => ({ value: { equals: v } })) } } });
  }
  return and.length ? { AND: and } : {};
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
    status: deviceStatusAt(d, new Date(), onlineWindowSeconds),
    lastSeenAt: d.lastSeenAt?.toISOString() ?? null,
    enrolledAt: d.enrolledAt.toISOString(),
    retiredAt: d.retiredAt?.toISOString() ?? null,
  };
}
