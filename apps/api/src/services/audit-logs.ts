/** The audit log read back: filtered, paginated for the console, and as CSV pages for export. */
import type { AuditLogFilters } from '@opsconductor/contracts/api';
import type { AuditLog, Prisma } from '@opsconductor/db';
import type { ApiDeps } from '../context.ts';
import { likeLiteral } from '@opsconductor/unit-of-work';
import type { CsvValue } from '../lib/csv.ts';

export function auditLogWhere(f: AuditLogFilters): Prisma.AuditLogWhereInput {
  const and: Prisma.AuditLogWhereInput[] = [];
  // Exact matches keep the (actor_name, id) and (actor_id, id) indexes usable; emails are stored lowercase.
  if (f.actor) and.push({ OR: [{ actorName: { in: [...new Set([f.actor, f.actor.toLowerCase()])] } }, { actorId: f.actor }] });
  if (f.actorType) and.push({ actorType: f.actorType });
  if (f.action) and.push(f.action.endsWith('.*') ? { action: { startsWith: likeLiteral(f.action.slice(0, -1)) } } : { action: f.action });
  if (f.targetType) and.push({ targetType: f.targetType });
  if (f.targetId) and.push({ targetId: f.targetId });
  if (f.from || f.to) and.push({ createdAt: { ...(f.from ? { gte: f.from } : {}), ...(f.to ? { lt: f.to } : {}) } });
  return { AND: and };
}

export function toAuditLogDto(r: AuditLog) {
  return {
    id: r.id.toString(),
    actorType: r.actorType,
    actorId: r.actorId,
    actorName: r.actorName,
    action: r.action,
    targetType: r.targetType,
    targetId: r.targetId,
    details: r.details ?? null,
    ipAddress: r.ipAddress,
    createdAt: r.createdAt.toISOString(),
  };
}

export async function listAuditLogs(deps: ApiDeps, q: AuditLogFilters & { page: number; pageSize: number }) {
  const where = auditLogWhere(q);
  const { prisma } = deps.db;
  const [rows, total] = await Promise.all([
    prisma.auditLog.findMany({ where, orderBy: { id: 'desc' }, skip: (q.page - 1) * q.pageSize, take: q.pageSize }),
    prisma.auditLog.count({ where }),
  ]);
  return { items: rows.map(toAuditLogDto), total };
}

export const auditLogCsvHeader = [
  'id',
  'created_at',
  'actor_type',
  'actor_id',
  'actor_name',
  'action',
  'target_type',
  'target_id',
  'ip_address',
  'user_agent',
  'details',
];

/** Pages of CSV rows over the filtered log, newest first (keyset on id, so concurrent inserts shift nothing). */
export function auditLogCsvPages(deps: ApiDeps, f: AuditLogFilters, pageSize = 1000): () => Promise<CsvValue[][]> {
  const where = auditLogWhere(f);
  let before: bigint | undefined;
  let done = false;
  return async () => {
    if (done) return [];
    const rows = await deps.db.prisma.auditLog.findMany({
      where: before === undefined ? where : { AND: [where, { id: { lt: before } }] },
      orderBy: { id: 'desc' },
      take: pageSize,
    });
    done = rows.length < pageSize;
    before = rows.at(-1)?.id;
    return rows.map((r) => [
      r.id,
      r.createdAt,
      r.actorType,
      r.actorId,
      r.actorName,
      r.action,
      r.targetType,
      r.targetId,
      r.ipAddress,
      r.userAgent,
      r.details === null ? null : JSON.stringify(r.details),
    ]);
  };
}
