/**
 * Presence events: device.came_online and device.went_offline, derived from the same status the API
 * shows (packages/rules deviceStatusAt): a device goes offline when it has not been heard from past the offline
 * threshold, or its agent said goodbye; it comes (back) online when heard from again. Stale (missed check-ins,
 * not yet offline) is a status, not an event: a device that comes back before the offline threshold announces
 * nothing. `devices.announced_online` holds what the last event said; announcing is one
 * conditional UPDATE, so concurrent sweeps never announce a change twice.
 * - The `device-presence` Temporal Schedule sweeps every device every minute (going offline is noticed
 *   by time passing, coming back by check-ins: both show up in the sweep).
 * - An agent's goodbye announces device.went_offline at once, in the goodbye's transaction.
 */
import type { Database } from '@opsconductor/db';
import { domainEvent } from '@opsconductor/domain-events';
import type { GroupMembership } from '@opsconductor/groups';
import type { PresenceThresholds } from '@opsconductor/rules';
import { inTransaction, systemActor, withUnitOfWork, type EventTransaction, type Origin } from '@opsconductor/unit-of-work';

export interface PresenceChanges {
  cameOnline: number;
  wentOffline: number;
}

/**
 * Announces every presence change since the last announcement, for all devices or the given ones, in
 * the caller's transaction or one of its own. Never-seen and retired devices have no presence.
 */
export async function announcePresence(
  db: Database,
  o: { presence: PresenceThresholds; deviceIds?: readonly string[]; origin?: Origin },
  tx?: EventTransaction,
): Promise<PresenceChanges> {
  return inTransaction(db, tx, o.origin ?? { actor: systemActor('schedule device-presence') }, async (t) => {
    const { rows } = await t.sql.query<{
      id: string;
      hostname: string;
      online: boolean;
      last_seen_at: Date | null;
      agent_stopped: boolean;
    }>(
      `WITH status AS (
         -- Online or stale: heard from within the offline threshold and not stopped.
         SELECT id, (agent_stopped_at IS NULL AND last_seen_at >= now() - make_interval(secs => $1)) AS online
           FROM devices WHERE retired_at IS NULL AND last_seen_at IS NOT NULL AND ($2::uuid[] IS NULL OR id = ANY($2::uuid[])))
       UPDATE devices d SET announced_online = s.online FROM status s
        WHERE d.id = s.id AND d.announced_online IS DISTINCT FROM s.online
    RETURNING d.id, d.hostname, s.online, d.last_seen_at, d.agent_stopped_at IS NOT NULL AS agent_stopped`,
      [o.presence.offlineAfterSeconds, o.deviceIds ? [...o.deviceIds] : null],
    );
    rows.sort((a, b) => (a.id < b.id ? -1 : 1));
    await t.emit(
      ...rows.map((r) => {
        const base = { deviceId: r.id, hostname: r.hostname, lastSeenAt: r.last_seen_at?.toISOString() ?? null };
        return r.online
          ? domainEvent('device.came_online', base)
          : domainEvent('device.went_offline', { ...base, reason: r.agent_stopped ? 'agent_stopped' : 'not_seen' });
      }),
    );
    const cameOnline = rows.filter((r) => r.online).length;
    return { cameOnline, wentOffline: rows.length - cameOnline };
  });
}

/**
 * The agent stops cleanly: the device is offline now (device.went_offline) and rules on device.status
 * follow, in one transaction. False when the device is gone or retired.
 */
export async function recordGoodbye(
  deps: { db: Database; membership: GroupMembership; presence: PresenceThresholds },
  origin: Origin,
  deviceId: string,
): Promise<boolean> {
  return withUnitOfWork(deps.db, origin, async (uow) => {
    const stopped = await uow.sql.query('UPDATE devices SET agent_stopped_at = now() WHERE id = $1 AND retired_at IS NULL', [deviceId]);
    if (!stopped.rowCount) return false;
    await announcePresence(deps.db, { presence: deps.presence, deviceIds: [deviceId] }, uow);
    await deps.membership.deviceChanged(deviceId, 'agent stopped', uow);
    return true;
  });
}
