/** A finished run's status from its devices' outcomes. */
import { describe, expect, it } from 'vitest';
import { jobRunOutcome } from '../src/job-run-outcome.ts';
import type { DeviceStatusCounts } from '../src/types.ts';

const counts = (c: Partial<DeviceStatusCounts>): DeviceStatusCounts => ({
  pending: 0,
  running: 0,
  succeeded: 0,
  failed: 0,
  timed_out: 0,
  cancelled: 0,
  offline: 0,
  ...c,
});

describe('jobRunOutcome', () => {
  it.each([
    [{ succeeded: 3 }, 'succeeded'],
    [{ succeeded: 2, failed: 1 }, 'partially_succeeded'],
    [{ succeeded: 1, offline: 4 }, 'partially_succeeded'],
    [{ failed: 1 }, 'failed'],
    [{ failed: 1, timed_out: 2, offline: 3 }, 'failed'],
    [{ timed_out: 1 }, 'timed_out'],
    [{ timed_out: 1, offline: 5 }, 'timed_out'],
    [{ offline: 2 }, 'unreachable'],
    [{ offline: 1, cancelled: 1 }, 'unreachable'],
    [{ cancelled: 2 }, 'cancelled'],
    [{ pending: 1 }, 'failed'],
  ] as const)('%o → %s', (c, expected) => {
    expect(jobRunOutcome(counts(c), false)).toBe(expected);
  });

  it('is cancelled when the run was cancelled, whatever the devices did', () => {
    expect(jobRunOutcome(counts({ succeeded: 5 }), true)).toBe('cancelled');
    expect(jobRunOutcome(counts({ offline: 5 }), true)).toBe('cancelled');
  });
});
