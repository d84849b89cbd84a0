/** One audit-log row per mutation: who, what, on which target, when and from where. */
import type { Sql } from '@opsconductor/domain-events';
import type { Actor, Origin } from './actor.ts';

export interface AuditEntry {
  action: string;
  targetType?: string;
  targetId?: string | null;
  details?: unknown;
  /** Defaults to the origin's actor (e.g. an enrollment is done by the device it creates). */
  actor?: Actor;
}

/** The audit row's columns (for writers that insert it themselves, e.g. in a Prisma transaction). */
export interface AuditRow {
  actorType: string;
  actorId: string | null;
  actorName: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  details: unknown;
  ipAddress: string | null;
  userAgent: string | null;
}

export function auditRow(origin: Origin, entry: AuditEntry): AuditRow {
  const actor = entry.actor ?? origin.actor;
  return {
    actorType: actor.type,
    actorId: actor.id,
    actorName: actor.name,
    action: entry.action,
    targetType: entry.targetType ?? null,
    targetId: entry.targetId ?? null,
    details: entry.details,
    ipAddress: origin.ipAddress ?? null,
    userAgent: origin.userAgent?.slice(0, 500) ?? null,
  };
}

export async function writeAudit(sql: Sql, origin: Origin, entry: AuditEntry): Promise<void> {
  const r = auditRow(origin, entry);
  await sql.query(
    `INSERT INTO audit_logs (actor_type, actor_id, actor_name, action, target_type, target_id, details, ip_address, user_agent)
     VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9)`,
    [
      r.actorType,
      r.actorId,
      r.actorName,
      r.action,
      r.targetType,
      r.targetId,
      r.details === undefined ? null : JSON.stringify(r.details),
      r.ipAddress,
      r.userAgent,
    ],
  );
}
