/** What the two batch activities share (one-command runs, job-run.ts; runs of jobs, job-steps.ts). */
import type pg from 'pg';
import type { Logger } from 'pino';
import { notifyEach, type Channel } from '@opsconductor/db/notify';
import type { TerminalDeviceStatus, TerminalStatusCounts } from './types.ts';

/** Most targets one batch activity takes (the workflow's batches are 500). */
export const MAX_TARGETS_PER_BATCH = 1000;

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * After a wake-up, a batch waits before it reads its targets again, so a burst of results costs one read: 50 ms
 * plus 2 ms per target (a one-device run goes on at once; a batch of 500, woken all through its fan-out, reads
 * about once a second).
 */
export const coalesceMs = (targets: number) => Math.min(1000, 50 + 2 * targets);

/** Wake-ups are best effort: listeners also poll, so a failed NOTIFY only delays them. */
export async function wake(pool: pg.Pool, channel: Channel, payloads: readonly string[], log: Logger): Promise<void> {
  try {
    await notifyEach(pool, channel, payloads);
  } catch (err) {
    log.warn({ err, channel }, 'NOTIFY failed; listeners will catch up on their next poll');
  }
}

/** Targets per terminal status. */
export function countStatuses(targets: readonly { status: string }[]): TerminalStatusCounts {
  const counts: TerminalStatusCounts = {};
  for (const { status } of targets) {
    if (status !== 'pending' && status !== 'running') {
      const s = status as TerminalDeviceStatus;
      counts[s] = (counts[s] ?? 0) + 1;
    }
  }
  return counts;
}

/** Why a batch's run, targets or concurrency cannot be taken, if they cannot. */
export function invalidTargets(input: { jobRunId: unknown; deviceIds: unknown; maxConcurrency: unknown } | undefined): string | undefined {
  if (!input || typeof input !== 'object' || typeof input.jobRunId !== 'string' || !UUID.test(input.jobRunId))
    return 'jobRunId must be a job run ID';
  const { deviceIds } = input;
  if (
    !Array.isArray(deviceIds) ||
    deviceIds.length > MAX_TARGETS_PER_BATCH ||
    deviceIds.some((id) => typeof id !== 'string' || !UUID.test(id))
  )
    return `deviceIds must be at most ${MAX_TARGETS_PER_BATCH} device IDs`;
  if (!Number.isInteger(input.maxConcurrency) || (input.maxConcurrency as number) < 1) return 'maxConcurrency must be a positive integer';
  return undefined;
}
