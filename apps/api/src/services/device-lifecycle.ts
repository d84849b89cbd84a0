/**
 * A device's end of life, and its credentials:
 * - retire: the secret is refused at once (every API process: see lib/device-auth.ts), the device leaves
 *   every group and gets no new runs; what it had in flight ends now instead of waiting for timeouts;
 *   its inventory, history, audit trail and runs stay.
 * - delete: the same ending, then the row goes with its inventory, memberships and commands. Job-run
 *   targets keep the device ID and hostname, so run history still reads.
 * - rotate the secret: a new one (returned once); the old one stops working at once.
 */
import { randomBytes } from 'node:crypto';
import { ActivityNotFoundError } from '@temporalio/client';
import type pg from 'pg';
import { dispatchOutcomeOf, finishCommands, lockOpenCommands, markActivityClosed, type FinishedCommand } from '@opsconductor/commands';
import { withTransaction } from '@opsconductor/db';
import { channels } from '@opsconductor/db/notify';
import type { ApiDeps } from '../context.ts';
import { hashToken } from '../lib/auth.ts';
import { ApiError } from '../lib/problem.ts';

interface EndedWork { commands: FinishedCommand[]; jobRunIds: string[] }

async function lockDevice(client: pg.PoolClient, id: string) {
  const { rows } = await client.query<{ id: string; hostname: string; retired_at: Date | null }>(
    'SELECT id, hostname, retired_at FROM devices WHERE id = $1 FOR UPDATE',
    [id],
  );
  if (!rows[0]) throw new ApiError(404, 'not_found');
  return rows[0];
}

/**
 * In the caller's transaction: every unfinished run target of the device fails with `reason` (first
 * terminal writer wins, so a result that already arrived stays), and its open commands end `failed`
 * (an agent that still runs one is told to stop; a retired one is refused anyway). Returns the commands
 * whose Temporal activity still waits, to be completed after commit.
 */
async function endDeviceWork(client: pg.PoolClient, deviceId: string, reason: string): Promise<EndedWork> {
  const targets = await client.query<{ job_run_id: string }>(
    `UPDATE job_run_devices SET status = 'failed', finished_at = now(), error_message = $2, updated_at = now()
      WHERE device_id = $1 AND finished_at IS NULL RETURNING job_run_id`,
    [deviceId, reason],
  );
  const open = await lockOpenCommands(client, { deviceId });
  const commands = await finishCommands(client, open.map((c) => c.id), 'failed', { error: reason });
  return { commands: commands.filter((c) => c.taskToken && !c.activityClosedAt), jobRunIds: [...new Set(targets.rows.map((r) => r.job_run_id))] };
}

/** After commit: the waiting activities get the failed outcome now, so their runs move on. */
async function settle(deps: ApiDeps, deviceId: string, work: EndedWork): Promise<void> {
  for (const cmd of work.commands) {
    try {
      await deps.temporal.activity.complete(cmd.taskToken!, dispatchOutcomeOf(cmd));
    } catch (err) {
      // Not found: the activity already ended. Otherwise the target is already failed in the database
      // and the workflow's own timeout closes the activity later.
      if (!(err instanceof ActivityNotFoundError)) deps.logger.warn({ err, commandId: cmd.id, deviceId }, 'completing the activity of an ended device failed');
    }
    await markActivityClosed(deps.db.pool, cmd.id).catch(() => {});
  }
  // Long-polls of the device return (its next request is refused); run pages refresh.
  deps.events.publish(channels.agentCommands, deviceId);
  for (const runId of work.jobRunIds) deps.events.publish(channels.jobRunEvents, runId);
}

export async function retireDevice(deps: ApiDeps, deviceId: string): Promise<{ changed: boolean; endedTargets: number; removedFromGroups: number }> {
  const reason = 'The device was retired.';
  const outcome = await withTransaction(deps.db.pool, async (client) => {
    const device = await lockDevice(client, deviceId);
    if (device.retired_at) return null;
    await client.query('UPDATE devices SET retired_at = now() WHERE id = $1', [deviceId]);
    const work = await endDeviceWork(client, deviceId, reason);
    const groups = await client.query<{ group_id: string }>('SELECT group_id FROM device_group_members WHERE device_id = $1', [deviceId]);
    await deps.groups.apply(groups.rows.map((g) => ({ groupId: g.group_id, deviceId, change: 'removed' as const })), 'device retired', client);
    return { work, removedFromGroups: groups.rowCount ?? 0 };
  });
  deps.deviceAuth.forget(deviceId);
  if (!outcome) return { changed: false, endedTargets: 0, removedFromGroups: 0 };
  await settle(deps, deviceId, outcome.work);
  return { changed: true, endedTargets: outcome.work.jobRunIds.length, removedFromGroups: outcome.removedFromGroups };
}

/** `confirmHostname` must repeat the device's hostname exactly: a stray call cannot purge a device. */
export async function deleteDevice(deps: ApiDeps, deviceId: string, confirmHostname: string): Promise<{ hostname: string; wasRetired: boolean }> {
  const reason = 'The device was deleted.';
  const { device, work } = await withTransaction(deps.db.pool, async (client) => {
    const device = await lockDevice(client, deviceId);
    if (confirmHostname !== device.hostname) {
      throw new ApiError(400, 'confirmation_mismatch', 'Repeat the device\'s hostname in `confirm` to delete it.', [
        { path: 'confirm', message: `must be the device's hostname (${device.hostname})` },
      ]);
    }
    const work = await endDeviceWork(client, deviceId, reason);
    await client.query('DELETE FROM devices WHERE id = $1', [deviceId]);
    return { device, work };
  });
  deps.deviceAuth.forget(deviceId);
  await settle(deps, deviceId, work);
  return { hostname: device.hostname, wasRetired: device.retired_at !== null };
}

/** A new secret for the device, returned once; the old one is refused from now on. */
export async function rotateDeviceSecret(deps: ApiDeps, deviceId: string): Promise<string> {
  const secret = randomBytes(32).toString('base64url');
  const { rows } = await deps.db.pool.query<{ retired_at: Date | null }>(
    `UPDATE devices SET secret_hash = CASE WHEN retired_at IS NULL THEN $2 ELSE secret_hash END WHERE id = $1 RETURNING retired_at`,
    [deviceId, hashToken(secret)],
  );
  if (!rows[0]) throw new ApiError(404, 'not_found');
  if (rows[0].retired_at) throw new ApiError(409, 'device_retired', 'A retired device gets no new secret.');
  deps.deviceAuth.forget(deviceId);
  // A waiting long-poll returns now, so the agent learns at once that its old secret is refused.
  deps.events.publish(channels.agentCommands, deviceId);
  return secret;
}
