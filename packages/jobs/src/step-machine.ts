/**
 * How a job's run moves on one device (ADR 20): from where the device is (the step it is on, that step's state,
 * whether an earlier step failed), what happens next. Pure: the worker's batch activity reads the state, asks
 * here, and writes what it is told; the same state always gives the same answer, so a retried batch decides as the
 * first attempt did.
 *
 * - A step runs when its condition holds: `always`; `on_success` while no earlier step has failed; `on_failure`
 *   once one has. Steps whose condition does not hold are skipped.
 * - A step that did not succeed is tried again while it has retries left (`backoffSeconds` × 2^(attempt − 1) after
 *   the attempt ended, at most a day), except when it was cancelled.
 * - A step's failure fails the device unless the step has `continueOnError`; then it is recorded on the step and
 *   the device carries on as if it had succeeded. The device's status is that of its first such failure, else
 *   `succeeded`.
 */
import type { JobStep } from '@opsconductor/contracts/jobs';

/** A step's state in job_run_steps.status. */
export type StepRunStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'timed_out' | 'cancelled' | 'offline' | 'skipped';
/** What a failed step fails its device with. */
export type StepFailure = 'failed' | 'timed_out' | 'cancelled' | 'offline';

export interface StepState {
  index: number;
  status: StepRunStatus;
  /** Attempts started so far. */
  attempts: number;
  /** A retry's time (pending), or the end of a wait step (running). */
  nextAt: Date | null;
  /** When the running attempt is overdue. */
  giveUpAt: Date | null;
}

export interface DeviceProgress {
  /** The step the device is on; null before its first step. */
  currentStep: number | null;
  /** The status of its first failure that was not allowed to continue. */
  failedStatus: StepFailure | null;
  /** The current step's row, once the device has reached it. */
  step: StepState | null;
}

export type StepDecision =
  /** Nothing to do until `until` (or until the step's command reports). */
  | { kind: 'wait'; until: Date | null }
  /** The running attempt is overdue: end its command timed out. */
  | { kind: 'give_up' }
  /** A wait step's time is over: it succeeded. */
  | { kind: 'complete_wait' }
  /** The step gets another attempt at `at`. */
  | { kind: 'retry'; at: Date }
  /** Start attempt `attempt` of the current step (a retry whose time came). */
  | { kind: 'attempt'; stepIndex: number; attempt: number }
  /** Skip `skipped`, then start step `next` (attempt 1); `next` null: the device is done, with `status`. */
  | { kind: 'advance'; skipped: number[]; next: number | null; failedStatus: StepFailure | null; status: StepFailure | 'succeeded' };

const MAX_BACKOFF_MS = 24 * 3600_000;

/** When the retry after attempt `attempts` (1, 2, …) of `step` is due. */
export function retryAt(step: JobStep, attempts: number, endedAt: Date): Date {
  const delay = Math.min(MAX_BACKOFF_MS, step.retries.backoffSeconds * 1000 * 2 ** Math.max(0, attempts - 1));
  return new Date(endedAt.getTime() + delay);
}

function runs(step: JobStep, failed: boolean): boolean {
  return step.condition === 'always' || (step.condition === 'on_failure' ? failed : !failed);
}

function advance(steps: readonly JobStep[], from: number, failedStatus: StepFailure | null): StepDecision {
  const skipped: number[] = [];
  for (let i = from; i < steps.length; i++) {
    if (runs(steps[i]!, failedStatus !== null))
      return { kind: 'advance', skipped, next: i, failedStatus, status: failedStatus ?? 'succeeded' };
    skipped.push(i);
  }
  return { kind: 'advance', skipped, next: null, failedStatus, status: failedStatus ?? 'succeeded' };
}

/** What happens next on a device that has not finished (a device before its first step may start: the caller admits it). */
export function decideStep(steps: readonly JobStep[], device: DeviceProgress, now: Date): StepDecision {
  const state = device.step;
  if (!state) return advance(steps, device.currentStep ?? 0, device.failedStatus);
  const step = steps[state.index];
  if (!step) return advance(steps, state.index + 1, device.failedStatus);
  switch (state.status) {
    case 'running':
      if (step.kind === 'wait') {
        return state.nextAt && state.nextAt <= now ? { kind: 'complete_wait' } : { kind: 'wait', until: state.nextAt };
      }
      return state.giveUpAt && state.giveUpAt <= now ? { kind: 'give_up' } : { kind: 'wait', until: state.giveUpAt };
    case 'pending':
      if (state.nextAt && state.nextAt > now) return { kind: 'wait', until: state.nextAt };
      return { kind: 'attempt', stepIndex: state.index, attempt: state.attempts + 1 };
    case 'succeeded':
    case 'skipped':
      return advance(steps, state.index + 1, device.failedStatus);
    case 'failed':
    case 'timed_out':
    case 'offline':
    case 'cancelled': {
      if (state.status !== 'cancelled' && state.attempts <= step.retries.count)
        return { kind: 'retry', at: retryAt(step, state.attempts, now) };
      const failedStatus = device.failedStatus ?? (step.continueOnError ? null : state.status);
      return advance(steps, state.index + 1, failedStatus);
    }
  }
}

/**
 * The longest a device can take from its first step's start to its end, in ms: every attempt of every step taking
 * its pickup window, its timeout and `graceMs`, every retry its longest backoff, every wait its seconds. The worker's
 * batch may run this long past the run's deadline (a bound for Temporal's timeouts, not an estimate).
 */
export function longestDeviceRunMs(steps: readonly JobStep[], pickupMs: number, graceMs: number): number {
  let total = 0;
  for (const step of steps) {
    if (step.kind === 'wait') {
      total += step.seconds * 1000;
      continue;
    }
    const attempts = step.retries.count + 1;
    total += attempts * (pickupMs + step.timeoutSeconds * 1000 + graceMs);
    for (let a = 1; a < attempts; a++) total += Math.min(MAX_BACKOFF_MS, step.retries.backoffSeconds * 1000 * 2 ** (a - 1));
  }
  return total;
}
