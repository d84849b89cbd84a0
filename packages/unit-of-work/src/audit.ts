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

export async function writeAudit(sql: Sql, origin: Origin, entry: AuditEntry): Promise<void> {
  const actor = entry.actor ?? origin.actor;
  await sql.query(
    `INSERT INTO audit_logs (actor_type, actor_id, actor_name, action, target_type, target_id, details, ip_address, user_agent)
     VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9)`,
    [
      actor.type, actor.id, actor.name, entry.action, entry.targetType ?? null, entry.targetId ?? null,
      entry.details === undefined ? null : JSON.stringify(entry.details), origin.ipAddress ?? null, origin.userAgent?.slice(0, 500) ?? null,
    ],
  );
}
