/**
 * A finished run's status from its devices' outcomes: what an operator needs to read at a glance
 * (the per-status counts travel with it). The order of the checks is the definition — keep it in step
 * with `jobRunStatus` in packages/contracts/src/api.ts and the migration that re-derived old runs.
 */
import type { DeviceStatusCounts, FinalJobRunStatus } from './types.ts';

export function jobRunOutcome(counts: DeviceStatusCounts, cancelled: boolean): FinalJobRunStatus {
  if (cancelled) return 'cancelled';
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  if (counts.succeeded === total) return 'succeeded';
  if (counts.succeeded > 0) return 'partially_succeeded';
  if (counts.failed > 0) return 'failed';
  if (counts.timed_out > 0) return 'timed_out';
  if (counts.offline > 0) return 'unreachable';
  if (counts.cancelled > 0) return 'cancelled';
  // Only terminal outcomes remain when a run is finalized; anything else is not a success.
  return 'failed';
}
