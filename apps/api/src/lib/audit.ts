/** One audit-log row per mutation: who, what, on which target, when and from where. */
import type { Context } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Prisma } from '@opsconductor/db';
import type { AppEnv } from '../context.ts';

export function clientIp(c: Context<AppEnv>): string | null {
  if (c.var.deps.config.trustProxy) {
    const fwd = c.req.header('x-forwarded-for')?.split(',')[0]?.trim();
    if (fwd) return fwd.slice(0, 64);
  }
  try {
    return getConnInfo(c).remote.address ?? null;
  } catch {
    return null;
  }
}

export interface AuditEntry {
  action: string;
  targetType?: string;
  targetId?: string;
  details?: Prisma.InputJsonValue;
  /** Defaults to the signed-in user; agents and the system pass their own. */
  actor?: { type: 'user' | 'device' | 'system'; id: string | null; name: string | null };
}

export async function audit(c: Context<AppEnv>, entry: AuditEntry): Promise<void> {
  const user = c.get('user');
  const actor = entry.actor ?? (user ? { type: 'user' as const, id: user.id, name: user.email } : { type: 'system' as const, id: null, name: null });
  await c.var.deps.db.prisma.auditLog.create({
    data: {
      actorType: actor.type,
      actorId: actor.id,
      actorName: actor.name,
      action: entry.action,
      targetType: entry.targetType ?? null,
      targetId: entry.targetId ?? null,
      details: entry.details,
      ipAddress: clientIp(c),
      userAgent: c.req.header('user-agent')?.slice(0, 500) ?? null,
    },
  });
}
