/**
 * A job run's targets: explicit devices, the members of groups, the devices carrying any of some tags,
 * and the devices matching a device-list filter — their union, resolved to device IDs when the run is
 * created (later changes to groups or tags do not change a run). A preview resolves the same way, so
 * the count the console shows before the operator confirms is the count the run gets.
 */
import {
  MAX_DEVICES_PER_RUN,
  type DeviceFilter,
  type DeviceLifecycle,
  type JobRunTargetPreview,
  type JobRunTargetSelection,
} from '@opsconductor/contracts/api';
import type { Database, Prisma } from '@opsconductor/db';
import { deviceStatusAt, type PresenceThresholds } from '@opsconductor/rules';
import { likeLiteral, ServiceError } from '@opsconductor/unit-of-work';

/** What resolving targets needs: the database, and the presence thresholds (a `status` filter). */
export interface TargetDeps {
  db: Database;
  presence: PresenceThresholds;
}

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
async function checkReferences(deps: TargetDeps, s: JobRunTargetSelection): Promise<void> {
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
    throw new ServiceError(
      'invalid',
      'unknown_devices',
      `${missingDevices.length} device(s) do not exist.`,
      missingDevices.slice(0, 20).map((id) => ({ path: 'deviceIds', message: `unknown device ${id}` })),
    );
  }
  const retired = devices.filter((d) => d.retiredAt);
  if (retired.length) {
    throw new ServiceError(
      'invalid',
      'device_retired',
      `${retired.length} device(s) are retired and take no new runs.`,
      retired.slice(0, 20).map((d) => ({ path: 'deviceIds', message: `${d.hostname} (${d.id}) is retired` })),
    );
  }
  const missingGroups = missing(groupIds, groups);
  if (missingGroups.length) {
    throw new ServiceError(
      'invalid',
      'unknown_groups',
      `${missingGroups.length} group(s) do not exist.`,
      missingGroups.slice(0, 20).map((id) => ({ path: 'groupIds', message: `unknown group ${id}` })),
    );
  }
}

function selectionWhere(deps: TargetDeps, s: JobRunTargetSelection): Prisma.DeviceWhereInput {
  const any: Prisma.DeviceWhereInput[] = [];
  if (s.deviceIds?.length) any.push({ id: { in: s.deviceIds } });
  if (s.groupIds?.length) any.push({ groupMemberships: { some: { groupId: { in: s.groupIds } } } });
  if (s.tags?.length) any.push({ tags: { some: { tag: { in: s.tags } } } });
  if (s.filter) {
    const filter = deviceWhere(deps.presence, s.filter);
    // No condition: every device (Prisma reads `{ OR: [{}] }` as matching nothing).
    if (Object.keys(filter).length === 0) return { retiredAt: null };
    any.push(filter);
  }
  return { retiredAt: null, OR: any };
}

const byHostname: Prisma.DeviceOrderByWithRelationInput[] = [{ hostname: 'asc' }, { id: 'asc' }];

export async function previewTargets(deps: TargetDeps, selection: JobRunTargetSelection, sampleSize: number): Promise<JobRunTargetPreview> {
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
    sample: sample.map((d) => ({ id: d.id, hostname: d.hostname, status: deviceStatusAt(d, new Date(), deps.presence) })),
  };
}

/**
 * The devices a run gets: explicit devices first, in the order given, then the others by hostname.
 * Refuses a selection that matches no device or more than MAX_DEVICES_PER_RUN.
 */
export async function resolveTargets(deps: TargetDeps, selection: JobRunTargetSelection): Promise<{ id: string; hostname: string }[]> {
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
    throw new ServiceError(
      'invalid',
      'too_many_devices',
      `The selection matches ${total.toLocaleString('en-US')} devices; a run can target at most ${MAX_DEVICES_PER_RUN.toLocaleString('en-US')}. Narrow it down or split it into several runs.`,
    );
  }
  if (found.length === 0) throw new ServiceError('invalid', 'no_target_devices');
  const byId = new Map(found.map((d) => [d.id, d]));
  const explicit = (s.deviceIds ?? []).map((id) => byId.get(id)!);
  const first = new Set(s.deviceIds);
  return [...explicit, ...found.filter((d) => !first.has(d.id))];
}

/** The devices a filter selects: the device list, and the `filter` target of a job run (active devices unless asked). */
export function deviceWhere(
  presence: PresenceThresholds,
  f: Partial<DeviceFilter> & { lifecycle?: DeviceLifecycle },
): Prisma.DeviceWhereInput {
  const onlineSince = new Date(Date.now() - presence.onlineWindowSeconds * 1000);
  const offlineBefore = new Date(Date.now() - presence.offlineAfterSeconds * 1000);
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
  if (f.status === 'online') and.push({ lastSeenAt: { gte: onlineSince }, agentStoppedAt: null });
  if (f.status === 'stale') and.push({ lastSeenAt: { lt: onlineSince, gte: offlineBefore }, agentStoppedAt: null });
  if (f.status === 'offline')
    and.push({ lastSeenAt: { not: null }, OR: [{ lastSeenAt: { lt: offlineBefore } }, { agentStoppedAt: { not: null } }] });
  if (f.status === 'never_seen') and.push({ lastSeenAt: null });
  if (f.osFamily) and.push({ osFamily: f.osFamily });
  if (f.osName !== undefined) and.push({ osName: f.osName });
  if (f.osVersion !== undefined) and.push({ osVersion: f.osVersion });
  if (f.agentVersion !== undefined) and.push({ agentVersion: f.agentVersion, transport: 'agent' });
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
