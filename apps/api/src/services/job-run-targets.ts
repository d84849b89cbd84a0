/**
 * A job run's targets: explicit devices, the members of groups, the devices carrying any of some tags,
 * and the devices matching a device-list filter — their union, resolved to device IDs when the run is
 * created (later changes to groups or tags do not change a run). A preview resolves the same way, so
 * the count the console shows before the operator confirms is the count the run gets.
 */
import { MAX_DEVICES_PER_RUN, type JobRunTargetPreview, type JobRunTargetSelection } from '@opsconductor/contracts/api';
import type { Prisma } from '@opsconductor/db';
import type { ApiDeps } from '../context.ts';
import { ApiError } from '../lib/problem.ts';
import { deviceStatusAt } from '@opsconductor/rules';
import { deviceWhere } from './devices.ts';

const unique = <T>(values: readonly T[] | undefined): T[] => [...new Set(values ?? [])];

/** The selection without duplicates or empty parts: what the run records as asked. */
export function normalizeSelection(s: JobRunTargetSelection): JobRunTargetSelection {
  return {
    ...(s.deviceIds?.length ? { deviceIds: unique(s.deviceIds) } : {}),
    ...(s.groupIds?.length ? { groupIds: unique(s.groupIds) } : {}),
    ...(s.tags?.length ? { tags: unique(s.tags) } : {}),
    ...(s.filter ? { filter: s.filter } : {}),
  };
}

/**
 * Unknown devices and groups are mistakes the caller should hear about (tags are free-form: none is
 * unknown), and so is naming a retired device (groups, tags and filters just leave them out).
 */
async function checkReferences(deps: ApiDeps, s: JobRunTargetSelection): Promise<void> {
  const { prisma } = deps.db;
  const deviceIds = s.deviceIds ?? [];
  const groupIds = s.groupIds ?? [];
  const [devices, groups] = await Promise.all([
    deviceIds.length
      ? prisma.device.findMany({ where: { id: { in: deviceIds } }, select: { id: true, hostname: true, retiredAt: true } })
      : [],
    groupIds.length ? prisma.deviceGroup.findMany({ where: { id: { in: groupIds } }, select: { id: true } }) : [],
  ]);
  const missing = (asked: string[], found: { id: string }[]) => {
    const known = new Set(found.map((r) => r.id));
    return asked.filter((id) => !known.has(id));
  };
  const missingDevices = missing(deviceIds, devices);
  if (missingDevices.length) {
    throw new ApiError(
      400,
      'unknown_devices',
      `${missingDevices.length} device(s) do not exist.`,
      missingDevices.slice(0, 20).map((id) => ({ path: 'deviceIds', message: `unknown device ${id}` })),
    );
  }
  const retired = devices.filter((d) => d.retiredAt);
  if (retired.length) {
    throw new ApiError(
      400,
      'device_retired',
      `${retired.length} device(s) are retired and take no new runs.`,
      retired.slice(0, 20).map((d) => ({ path: 'deviceIds', message: `${d.hostname} (${d.id}) is retired` })),
    );
  }
  const missingGroups = missing(groupIds, groups);
  if (missingGroups.length) {
    throw new ApiError(
      400,
      'unknown_groups',
      `${missingGroups.length} group(s) do not exist.`,
      missingGroups.slice(0, 20).map((id) => ({ path: 'groupIds', message: `unknown group ${id}` })),
    );
  }
}

function selectionWhere(deps: ApiDeps, s: JobRunTargetSelection): Prisma.DeviceWhereInput {
  const any: Prisma.DeviceWhereInput[] = [];
  if (s.deviceIds?.length) any.push({ id: { in: s.deviceIds } });
  if (s.groupIds?.length) any.push({ groupMemberships: { some: { groupId: { in: s.groupIds } } } });
  if (s.tags?.length) any.push({ tags: { some: { tag: { in: s.tags } } } });
  if (s.filter) {
    const filter = deviceWhere(deps, s.filter);
    // No condition: every device (Prisma reads `{ OR: [{}] }` as matching nothing).
    if (Object.keys(filter).length === 0) return { retiredAt: null };
    any.push(filter);
  }
  return { retiredAt: null, OR: any };
}

const byHostname: Prisma.DeviceOrderByWithRelationInput[] = [{ hostname: 'asc' }, { id: 'asc' }];

export async function previewTargets(deps: ApiDeps, selection: JobRunTargetSelection, sampleSize: number): Promise<JobRunTargetPreview> {
  const s = normalizeSelection(selection);
  await checkReferences(deps, s);
  const where = selectionWhere(deps, s);
  const { prisma } = deps.db;
  const [total, sample] = await Promise.all([
    prisma.device.count({ where }),
    sampleSize
      ? prisma.device.findMany({
          where,
          orderBy: byHostname,
          take: sampleSize,
          select: { id: true, hostname: true, lastSeenAt: true, agentStoppedAt: true },
        })
      : [],
  ]);
  return {
    total,
    maxDevices: MAX_DEVICES_PER_RUN,
    sample: sample.map((d) => ({ id: d.id, hostname: d.hostname, status: deviceStatusAt(d, new Date(), deps.config.onlineWindowSeconds) })),
  };
}

/**
 * The devices a run gets: explicit devices first, in the order given, then the others by hostname.
 * Refuses a selection that matches no device or more than MAX_DEVICES_PER_RUN.
 */
export async function resolveTargets(deps: ApiDeps, selection: JobRunTargetSelection): Promise<{ id: string; hostname: string }[]> {
  const s = normalizeSelection(selection);
  await checkReferences(deps, s);
  const where = selectionWhere(deps, s);
  const { prisma } = deps.db;
  const found = await prisma.device.findMany({
    where,
    orderBy: byHostname,
    take: MAX_DEVICES_PER_RUN + 1,
    select: { id: true, hostname: true },
  });
  if (found.length > MAX_DEVICES_PER_RUN) {
    const total = await prisma.device.count({ where });
    throw new ApiError(
      400,
      'too_many_devices',
      `The selection matches ${total.toLocaleString('en-US')} devices; a run can target at most ${MAX_DEVICES_PER_RUN.toLocaleString('en-US')}. Narrow it down or split it into several runs.`,
    );
  }
  if (found.length === 0) throw new ApiError(400, 'no_target_devices');
  const byId = new Map(found.map((d) => [d.id, d]));
  const explicit = (s.deviceIds ?? []).map((id) => byId.get(id)!);
  const first = new Set(s.deviceIds);
  return [...explicit, ...found.filter((d) => !first.has(d.id))];
}
