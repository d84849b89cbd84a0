/** One audit-log row per mutation: who, what, on which target, when and from where. */
import type { Context } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Prisma } from '@opsconductor/db';
import type { AppEnv } from '../context.ts';
import { clientAddress } from './client-address.ts';

/** The client's address for audit rows, sessions and login throttling (see client-address.ts). */
export function clientIp(c: Context<AppEnv>): string | null {
  let peer: string | undefined;
  try {
    peer = getConnInfo(c).remote.address;
  } catch {
    return null; // not a node socket (app.request in a unit test)
  }
  return clientAddress(peer, c.req.header('x-forwarded-for'), c.var.deps.config.trustedProxies);
}

export interface AuditEntry {
  action: string;
  targetType?: string;
  targetId?: string;
  details?: Prisma.InputJsonValue;
  /** Defaults to the signed-in user; agents and the system pass their own. */
  actor?: { type: 'user' | 'device' | 'system'; id: string | null; name: string | null };
}

/** The audit row for `entry` as the request `c` made it, to write in a transaction of the caller's. */
export function auditRecord(c: Context<AppEnv>, entry: AuditEntry): Prisma.AuditLogCreateManyInput {
  const user = c.get('user');
  const actor = entry.actor ?? (user ? { type: 'user' as const, id: user.id, name: user.email } : { type: 'system' as const, id: null, name: null });
  return {
    actorType: actor.type,
    actorId: actor.id,
    actorName: actor.name,
    action: entry.action,
    targetType: entry.targetType ?? null,
    targetId: entry.targetId ?? null,
    details: entry.details,
    ipAddress: clientIp(c),
    userAgent: c.req.header('user-agent')?.slice(0, 500) ?? null,
  };
}

export async function audit(c: Context<AppEnv>, entry: AuditEntry): Promise<void> {
  await c.var.deps.db.prisma.auditLog.create({ data: auditRecord(c, entry) });
}
