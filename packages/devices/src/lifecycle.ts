/**
 * A device's end of life, and its credentials:
 * - retire: the secret is refused at once (every API process), the device leaves every group and gets no
 *   new runs; what it had in flight ends now instead of waiting for timeouts; its inventory, history,
 *   audit trail and runs stay. Emits device.retired.
 * - delete: the same ending, then the row goes with its inventory, memberships and commands. Job-run
 *   targets keep the device ID and hostname, so run history still reads.
 * - rotate the secret: a new one (returned once); the old one stops working at once.
 * The change, the memberships it ends, the audit row and the event commit together; after the commit the
 * device's long-polls and its runs' pages (and the batch dispatches waiting for it) are woken.
 */
import { randomBytes } from 'node:crypto';
import { finishCommands, lockOpenCommands } from '@opsconductor/commands';
import type { Database } from '@opsconductor/db';
import { channels, type Channel } from '@opsconductor/db/notify';
import { domainEvent } from '@opsconductor/domain-events';
import type { GroupMembership } from '@opsconductor/groups';
import { hashToken } from '@opsconductor/identity';
import { conflict, invalid, notFound, withUnitOfWork, type Origin, type UnitOfWork } from '@opsconductor/unit-of-work';

export interface DeviceLifecycleDeps {
  db: Database;
  membership: GroupMembership;
  /** Wakes waiting requests (long-polls, run pages), in this process and others. */
  wake(channel: Channel, deviceOrRunId: string): void;
  /** The device's credentials changed: drop what is cached of them now. */
  credentialsChanged(deviceId: string): void;
}

interface EndedWork {
  jobRunIds: string[];
}

async function lockDevice(uow: UnitOfWork, id: string) {
  const { rows } = await uow.sql.query<{ id: string; hostname: string; retired_at: Date | null }>(
    'SELECT id, hostname, retired_at FROM devices WHERE id = $1 FOR UPDATE',
    [id],
  );
  if (!rows[0]) throw notFound();
  return rows[0];
}

/**
 * In the caller's transaction: every unfinished run target of the device fails with `reason` (first
 * terminal writer wins, so a result that already arrived stays), and its open commands end `failed`
 * (an agent that still runs one is told to stop; a retired one is refused anyway). Returns the runs to
 * wake after commit.
 */
async function endDeviceWork(uow: UnitOfWork, deviceId: string, reason: string): Promise<EndedWork> {
  const targets = await uow.sql.query<{ job_run_id: string }>(
    `UPDATE job_run_devices SET status = 'failed', finished_at = now(), error_message = $2, updated_at = now()
      WHERE device_id = $1 AND finished_at IS NULL RETURNING job_run_id`,
    [deviceId, reason],
  );
  const open = await lockOpenCommands(uow.sql, { deviceId });
  const ended = await finishCommands(
    uow.sql,
    open.map((c) => c.id),
    'failed',
    { error: reason, actor: uow.origin.actor },
  );
  return { jobRunIds: [...new Set([...targets.rows.map((r) => r.job_run_id), ...ended.flatMap((c) => (c.jobRunId ? [c.jobRunId] : []))])] };
}

export class DeviceLifecycle {
  constructor(private readonly deps: DeviceLifecycleDeps) {}

  /** Retiring a retired device changes nothing (`changed: false`, no audit row, no event). */
  async retire(origin: Origin, deviceId: string): Promise<{ changed: boolean; endedTargets: number; removedFromGroups: number }> {
    const reason = 'The device was retired.';
    const outcome = await withUnitOfWork(this.deps.db, origin, async (uow) => {
      const device = await lockDevice(uow, deviceId);
      if (device.retired_at) return null;
      await uow.sql.query('UPDATE devices SET retired_at = now() WHERE id = $1', [deviceId]);
      const work = await endDeviceWork(uow, deviceId, reason);
      const groups = await uow.sql.query<{ group_id: string }>('SELECT group_id FROM device_group_members WHERE device_id = $1', [
        deviceId,
      ]);
      const removed = await this.deps.membership.apply(
        groups.rows.map((g) => ({ groupId: g.group_id, deviceId, change: 'removed' as const })),
        'device retired',
        uow,
      );
      await uow.audit({
        action: 'device.retire',
        targetType: 'device',
        targetId: deviceId,
        details: { hostname: device.hostname, endedRuns: work.jobRunIds.length, removedFromGroups: removed.length },
      });
      await uow.emit(
        domainEvent('device.retired', {
          deviceId,
          hostname: device.hostname,
          removedFromGroupIds: removed.map((r) => r.groupId),
          endedJobRunIds: work.jobRunIds,
        }),
      );
      return { work, removedFromGroups: removed.length };
    });
    this.deps.credentialsChanged(deviceId);
    if (!outcome) return { changed: false, endedTargets: 0, removedFromGroups: 0 };
    this.settle(deviceId, outcome.work);
    return { changed: true, endedTargets: outcome.work.jobRunIds.length, removedFromGroups: outcome.removedFromGroups };
  }

  /** `confirmHostname` must repeat the device's hostname exactly: a stray call cannot purge a device. */
  async delete(origin: Origin, deviceId: string, confirmHostname: string): Promise<{ hostname: string; wasRetired: boolean }> {
    const reason = 'The device was deleted.';
    const { device, work } = await withUnitOfWork(this.deps.db, origin, async (uow) => {
      const device = await lockDevice(uow, deviceId);
      if (confirmHostname !== device.hostname) {
        throw invalid('confirmation_mismatch', "Repeat the device's hostname in `confirm` to delete it.", [
          { path: 'confirm', message: `must be the device's hostname (${device.hostname})` },
        ]);
      }
      const work = await endDeviceWork(uow, deviceId, reason);
      await uow.sql.query('DELETE FROM devices WHERE id = $1', [deviceId]);
      await uow.audit({
        action: 'device.delete',
        targetType: 'device',
        targetId: deviceId,
        details: { hostname: device.hostname, wasRetired: device.retired_at !== null },
      });
      return { device, work };
    });
    this.deps.credentialsChanged(deviceId);
    this.settle(deviceId, work);
    return { hostname: device.hostname, wasRetired: device.retired_at !== null };
  }

  /** A new secret for the device, returned once; the old one is refused from now on. */
  async rotateSecret(origin: Origin, deviceId: string): Promise<string> {
    const secret = randomBytes(32).toString('base64url');
    await withUnitOfWork(this.deps.db, origin, async (uow) => {
      const { rows } = await uow.sql.query<{ retired_at: Date | null }>(
        `UPDATE devices SET secret_hash = CASE WHEN retired_at IS NULL THEN $2 ELSE secret_hash END WHERE id = $1 RETURNING retired_at`,
        [deviceId, hashToken(secret)],
      );
      if (!rows[0]) throw notFound();
      if (rows[0].retired_at) throw conflict('device_retired', 'A retired device gets no new secret.');
      await uow.audit({ action: 'device.rotate_secret', targetType: 'device', targetId: deviceId });
    });
    this.deps.credentialsChanged(deviceId);
    // A waiting long-poll returns now, so the agent learns at once that its old secret is refused.
    this.deps.wake(channels.agentCommands, deviceId);
    return secret;
  }

  /** After commit: the device's long-polls return (its next request is refused); its runs move on. */
  private settle(deviceId: string, work: EndedWork): void {
    this.deps.wake(channels.agentCommands, deviceId);
    for (const runId of work.jobRunIds) this.deps.wake(channels.jobRunEvents, runId);
  }
}
