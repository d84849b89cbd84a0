/** Device queries for the console and API: filtered, sorted, paginated lists and the detail view. */
import type { DeviceListFilters } from '@opsconductor/contracts/inventory-api';
import { deviceWhere as deviceWhereAt } from '@opsconductor/devices';
import type { Device, Prisma } from '@opsconductor/db';
import type { DeviceFilter, DeviceLifecycle, Device as DeviceDto } from '@opsconductor/contracts/api';
import { deviceStatusAt, type PresenceThresholds } from '@opsconductor/rules';
import type { AssignmentComplianceState } from '@opsconductor/contracts/constants';
import type { ApiDeps } from '../context.ts';
import { wantedVersions } from './fleet.ts';

/** The devices a filter selects (packages/devices' deviceWhere with the API's online window). */
export function deviceWhere(deps: ApiDeps, f: Partial<DeviceFilter> & { lifecycle?: DeviceLifecycle }): Prisma.DeviceWhereInput {
  return deviceWhereAt(deps.config.presence, f);
}

/**
 * The devices a software assignment covers, or those of them in one compliance state against the version it wants
 * (its own or the package's latest, as the fleet summary counts them). An unknown assignment covers nothing.
 */
async function assignmentWhere(deps: ApiDeps, assignmentId: string, state: AssignmentComplianceState | undefined) {
  const nothing: Prisma.DeviceWhereInput = { id: { in: [] } };
  const { rows } = await deps.db.pool.query<{
    id: string;
    package_id: string;
    version_id: string | null;
    version: string | null;
    device_id: string | null;
    group_id: string | null;
  }>(
    `SELECT a.id, a.package_id, a.version_id, v.version, a.device_id, a.group_id
       FROM software_assignments a LEFT JOIN package_versions v ON v.id = a.version_id WHERE a.id = $1`,
    [assignmentId],
  );
  const a = rows[0];
  if (!a) return nothing;
  const covered: Prisma.DeviceWhereInput = a.device_id ? { id: a.device_id } : { groupMemberships: { some: { groupId: a.group_id! } } };
  if (!state) return covered;
  const versionId = (await wantedVersions(deps, [a])).get(a.id)?.id;
  if (!versionId) return state === 'pending' ? covered : nothing;
  const report: Prisma.DeviceWhereInput =
    state === 'compliant'
      ? { packageInstallations: { some: { versionId, state: 'installed' } } }
      : state === 'non_compliant'
        ? { packageInstallations: { some: { versionId, state: { in: ['failed', 'not_installed'] } } } }
        : { packageInstallations: { none: { versionId } } };
  return { AND: [covered, report] };
}

export async function listDeviceSummaries(deps: ApiDeps, f: Partial<DeviceListFilters> & { page: number; pageSize: number }) {
  const base = deviceWhere(deps, f);
  const where = f.assignmentId ? { AND: [base, await assignmentWhere(deps, f.assignmentId, f.compliance)] } : base;
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
      ...toDeviceDto(d, deps.config.presence),
      tags: d.tags.map((t) => t.tag),
      manufacturer: d.manufacturer,
      model: d.model,
      pendingReboot: d.pendingReboot,
    })),
    total,
  };
}

export function toDeviceDto(d: Device, presence: PresenceThresholds): DeviceDto {
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
    status: deviceStatusAt(d, new Date(), presence),
    lastSeenAt: d.lastSeenAt?.toISOString() ?? null,
    enrolledAt: d.enrolledAt.toISOString(),
    retiredAt: d.retiredAt?.toISOString() ?? null,
  };
}
