/**
 * Who a request acts for, for services (their units of work write the audit row with the change), and
 * audit rows for what is not a mutation of a service (sign-in attempts, throttling).
 */
import type { Context } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import { systemActor, userActor, writeAudit, type Actor, type AuditEntry, type Origin } from '@opsconductor/unit-of-work';
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

/** The request's actor (the signed-in user unless given) and where it came from. */
export function requestOrigin(c: Context<AppEnv>, actor?: Actor): Origin {
  const user = c.get('user');
  return {
    actor: actor ?? (user ? userActor(user) : systemActor('api')),
    ipAddress: clientIp(c),
    userAgent: c.req.header('user-agent') ?? null,
  };
}

/** An audit row of its own, for events that change nothing else (e.g. a failed sign-in). */
export async function audit(c: Context<AppEnv>, entry: AuditEntry): Promise<void> {
  await writeAudit(c.var.deps.db.pool, requestOrigin(c), entry);
}
