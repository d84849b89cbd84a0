/**
 * `jobRun`: runs one command (of any kind: shell, script, file.fetch, reboot…) on every target device of a job run and
 * records one terminal outcome per device.
 *
 * The command comes by reference (`command`: its kind, the SHA-256 of the payload the API stored once, and its
 * timeout), so the history never holds its body, however many devices run it. Runs started before that carry an inline
 * shell `payload`; they take the same path with it (no `patched()` is needed: the input decides, and the workflow's
 * commands are the same as before for such runs).
 *
 * Per device, `dispatchToAgent` queues the command for the agent and completes asynchronously with the agent's
 * result (the API writes the device's terminal state, then completes the activity by task token). The workflow only
 * writes outcomes the agent cannot report: timed out / offline (no result before the deadline), failed to dispatch,
 * cancelled. The database is the source of truth; the workflow's return value is the run's final summary.
 *
 * Fan-out (DESIGN.md limits): up to INLINE_DEVICE_LIMIT devices are dispatched by this workflow through a sliding
 * window; larger runs are split into `jobRunBatch` children of ≤ BATCH_SIZE devices, at most MAX_CHILDREN_IN_FLIGHT
 * at a time, which keeps every history far below Temporal's 10,240-event warning.
 *
 * Cancellation: cancelling the workflow cancels in-flight dispatches (TRY_CANCEL), records `cancelled` for every
 * device without an outcome, finalizes the run as `cancelled` and then rethrows the CancelledFailure, so the
 * execution itself ends as Canceled in Temporal (the API reads the run's status from the database).
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  ChildWorkflowFailure,
  TimeoutFailure,
  defineQuery,
  executeChild,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
  sleep,
} from '@temporalio/workflow';
import type { CommandRef, JobActivities, JobRunSummary, TerminalDeviceStatus, WorkflowDeviceOutcome } from '@opsconductor/activities';
import type { ShellCommandPayload } from '@opsconductor/contracts/commands';
import { OpsDeviceIds, OpsJobRunId, deviceIdsForSearch } from './search-attributes.ts';
import { chunk, slidingWindow } from './sliding-window.ts';

/** Runs with at most this many devices are dispatched by `jobRun` itself. */
export const INLINE_DEVICE_LIMIT = 500;
/** Devices per `jobRunBatch` child. */
export const BATCH_SIZE = 500;
/** Children running at the same time. */
export const MAX_CHILDREN_IN_FLIGHT = 20;
/** Time the agent and the API get past deadline + command timeout to report a result. */
export const DISPATCH_GRACE_MS = 60_000;

/** The command of a run: by reference (`command`), or inline for runs started before that (`payload`). */
export interface JobRunCommand {
  command?: CommandRef;
  /** @deprecated inline shell payload of older runs; new runs pass `command`. */
  payload?: ShellCommandPayload;
}

export interface JobRunInput extends JobRunCommand {
  jobRunId: string;
  deviceIds: string[];
  /** ISO time after which a command must no longer be started on a device. */
  deadlineAt: string;
  /**
   * Most devices with a command in flight at once, across the whole run. Default: all of them for runs of up to 500
   * devices; MAX_CHILDREN_IN_FLIGHT × BATCH_SIZE for larger runs.
   */
  maxConcurrency?: number;
}

export type JobRunResult = JobRunSummary;

export interface JobRunBatchInput extends JobRunCommand {
  jobRunId: string;
  /** 1-based batch number (the child's workflow ID is `job-run/<jobRunId>/batch-<batch>`). */
  batch: number;
  deviceIds: string[];
  deadlineAt: string;
  maxConcurrency: number;
}

export interface JobRunBatchResult {
  /** Devices per terminal status, as this batch observed them. */
  counts: Partial<Record<TerminalDeviceStatus, number>>;
  total: number;
}

export interface JobRunProgress {
  total: number;
  finished: number;
  counts: Partial<Record<TerminalDeviceStatus, number>>;
}

/** Progress of a run (or of one batch) as far as the workflow knows it; free of history events. */
export const progressQuery = defineQuery<JobRunProgress>('progress');

/** The child workflow ID of a batch. */
export function batchWorkflowId(jobRunId: string, batch: number): string {
  return `job-run/${jobRunId}/batch-${batch}`;
}

// Bookkeeping activities are idempotent database writes: retry them until the database is back.
const bookkeeping = proxyActivities<JobActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/**
 * One dispatch per device. No heartbeat timeout: a device may legitimately stay offline until the deadline. One
 * attempt only: a shell command is not idempotent, and a task token belongs to one attempt.
 */
function dispatchActivity(scheduleToCloseTimeoutMs: number, deviceId: string) {
  return proxyActivities<JobActivities>({
    scheduleToCloseTimeout: scheduleToCloseTimeoutMs,
    retry: { maximumAttempts: 1 },
    cancellationType: ActivityCancellationType.TRY_CANCEL,
    summary: `device ${deviceId}`,
  }).dispatchToAgent;
}

export async function jobRun(input: JobRunInput): Promise<JobRunResult> {
  const invalid = validateInput(input);
  if (invalid) {
    if (typeof input?.jobRunId === 'string' && input.jobRunId) {
      await bookkeeping.finalizeJobRun({ jobRunId: input.jobRunId, cancelled: false, reason: `Invalid job run: ${invalid}` });
    }
    throw ApplicationFailure.nonRetryable(invalid, 'InvalidJobRunInput');
  }
  const { jobRunId } = input;
  const deviceIds = [...new Set(input.deviceIds)];
  const cap = input.maxConcurrency ?? Number.POSITIVE_INFINITY;
  const inline = deviceIds.length <= INLINE_DEVICE_LIMIT;
  const targets = createTargetRunner(input);
  const batchCounts: Partial<Record<TerminalDeviceStatus, number>> = {};
  setHandler(progressQuery, () =>
    inline ? targets.progress(deviceIds.length) : { total: deviceIds.length, finished: sumCounts(batchCounts), counts: { ...batchCounts } },
  );

  try {
    await bookkeeping.markJobRunRunning({ jobRunId });
    if (inline) {
      await targets.runAll(deviceIds, Math.min(cap, INLINE_DEVICE_LIMIT));
    } else {
      await runBatches(input, deviceIds, cap, (result) => addCounts(batchCounts, result.counts));
      log.info('all batches finished', { jobRunId, counts: batchCounts });
    }
    return await bookkeeping.finalizeJobRun({ jobRunId, cancelled: false });
  } catch (err) {
    if (isCancellation(err) && CancellationScope.current().consideredCancelled) {
      await CancellationScope.nonCancellable(async () => {
        // Inline: record each unfinished device (in-flight ones get their commands cancelled on the agent).
        // Batches: each child recorded its own devices; finalize closes those of batches that never started.
        if (inline) await targets.cancelUnfinished(deviceIds, Math.min(cap, INLINE_DEVICE_LIMIT));
        const summary = await bookkeeping.finalizeJobRun({ jobRunId, cancelled: true });
        log.info('job run cancelled', { jobRunId, counts: summary.counts });
      });
      throw err;
    }
    // Unexpected: close the run so that no target stays pending forever, then fail the workflow.
    await CancellationScope.nonCancellable(async () => {
      try {
        await bookkeeping.finalizeJobRun({ jobRunId, cancelled: false, reason: `The job run failed: ${describeFailure(err)}` });
      } catch (finalizeErr) {
        log.error('could not finalize a failed job run', { jobRunId, error: describeFailure(finalizeErr) });
      }
    });
    throw err;
  }
}

/** A child of `jobRun` for runs larger than INLINE_DEVICE_LIMIT: dispatches one batch of devices. */
export async function jobRunBatch(input: JobRunBatchInput): Promise<JobRunBatchResult> {
  const deviceIds = [...new Set(input.deviceIds)];
  const targets = createTargetRunner(input);
  setHandler(progressQuery, () => targets.progress(deviceIds.length));
  try {
    await targets.runAll(deviceIds, input.maxConcurrency);
  } catch (err) {
    if (isCancellation(err) && CancellationScope.current().consideredCancelled) {
      await targets.cancelUnfinished(deviceIds, input.maxConcurrency);
    }
    throw err;
  }
  const { counts, finished } = targets.progress(deviceIds.length);
  return { counts, total: finished };
}

async function runBatches(
  input: JobRunInput,
  deviceIds: string[],
  cap: number,
  onBatchDone: (result: JobRunBatchResult) => void,
): Promise<void> {
  const batches = chunk(deviceIds, BATCH_SIZE);
  // maxConcurrency caps devices in flight across all children: children in flight × window per child ≤ cap.
  const perChild = Math.min(cap, BATCH_SIZE);
  const childrenInFlight = Number.isFinite(cap)
    ? Math.max(1, Math.min(MAX_CHILDREN_IN_FLIGHT, Math.floor(cap / perChild)))
    : MAX_CHILDREN_IN_FLIGHT;
  await slidingWindow(batches, childrenInFlight, async (ids, index) => {
    const batch = index + 1;
    const first = index * BATCH_SIZE + 1;
    try {
      const result = await executeChild(jobRunBatch, {
        workflowId: batchWorkflowId(input.jobRunId, batch),
        args: [
          {
            jobRunId: input.jobRunId,
            batch,
            deviceIds: ids,
            ...commandOf(input),
            deadlineAt: input.deadlineAt,
            maxConcurrency: perChild,
          },
        ],
        typedSearchAttributes: [
          { key: OpsJobRunId, value: input.jobRunId },
          { key: OpsDeviceIds, value: deviceIdsForSearch(ids) },
        ],
        staticSummary: `job run ${input.jobRunId}: devices ${first}–${first + ids.length - 1} of ${deviceIds.length}`,
        // Default cancellation (WAIT_CANCELLATION_COMPLETED): a cancelled child records `cancelled` for its devices
        // before the parent finalizes.
      });
      onBatchDone(result);
    } catch (err) {
      if (isCancellation(err) && CancellationScope.current().consideredCancelled) throw err;
      // Other batches go on; finalizeJobRun closes this batch's devices that have no outcome.
      log.error('job run batch failed', { jobRunId: input.jobRunId, batch, error: describeFailure(err) });
    }
  });
}

/** The command as the input carries it, and nothing else (an older run's inline payload stays inline). */
function commandOf(input: JobRunCommand): JobRunCommand {
  return input.command ? { command: input.command } : { payload: input.payload };
}

/** Dispatches devices and tracks the outcome the workflow saw for each. */
function createTargetRunner(params: JobRunCommand & { jobRunId: string; deadlineAt: string }) {
  const { jobRunId, deadlineAt } = params;
  const command = commandOf(params);
  const timeoutSeconds = (params.command ?? params.payload)!.timeoutSeconds;
  const deadlineMs = Date.parse(deadlineAt);
  const outcomes = new Map<string, TerminalDeviceStatus>();

  /** Writes an outcome the workflow decided; the first terminal writer wins in the database. */
  async function record(deviceId: string, outcome: WorkflowDeviceOutcome, message?: string): Promise<void> {
    try {
      const result = await CancellationScope.nonCancellable(() =>
        bookkeeping.recordDeviceOutcome({ jobRunId, deviceId, outcome, ...(message ? { message } : {}) }),
      );
      outcomes.set(deviceId, result.status);
    } catch (err) {
      // Only permanent errors get here (e.g. the device is not a target of this run): nothing to write to.
      log.error('could not record a device outcome', { jobRunId, deviceId, outcome, error: describeFailure(err) });
      outcomes.set(deviceId, outcome);
    }
  }

  async function runTarget(deviceId: string): Promise<void> {
    if (CancellationScope.current().consideredCancelled) throw new CancelledFailure('Workflow cancelled');
    const remainingMs = deadlineMs - Date.now();
    if (remainingMs <= 0) {
      // Waited for a slot past the deadline: the agent would refuse the command anyway.
      await record(deviceId, 'timed_out', 'The deadline passed before the command could be dispatched.');
      return;
    }
    const scheduleToCloseMs = Math.max(1000, remainingMs + timeoutSeconds * 1000 + DISPATCH_GRACE_MS);
    const dispatchScope = new CancellationScope();
    const dispatch = dispatchScope.run(() =>
      dispatchActivity(scheduleToCloseMs, deviceId)({ jobRunId, deviceId, ...command, expiresAt: deadlineAt }),
    );
    // The device is `offline` as soon as the deadline passes with its command never picked up; a command that was
    // picked up gets until deadline + timeout + grace (the activity's own timeout) to report.
    const deadlineScope = new CancellationScope();
    const deadlinePassed = deadlineScope
      .run(() => sleep(remainingMs))
      .then(
        () => true,
        () => false,
      );
    try {
      const settled = dispatch.then(
        () => false,
        () => false,
      );
      if (await Promise.race([settled, deadlinePassed])) {
        const { withdrawn } = await CancellationScope.nonCancellable(() => bookkeeping.withdrawUndeliveredCommand({ jobRunId, deviceId }));
        if (withdrawn) {
          dispatchScope.cancel();
          await record(deviceId, 'timed_out');
          return;
        }
      }
      const result = await dispatch;
      outcomes.set(deviceId, result.status);
    } catch (err) {
      if (isCancellation(err) && CancellationScope.current().consideredCancelled) throw err;
      if (err instanceof ActivityFailure && err.cause instanceof TimeoutFailure) {
        await record(deviceId, 'timed_out');
      } else if (isCancellation(err)) {
        // The activity was cancelled from outside this workflow (e.g. by the API): the device did not finish.
        await record(deviceId, 'cancelled', 'The command was cancelled.');
      } else {
        await record(deviceId, 'failed', `Dispatch failed: ${describeFailure(err)}`);
      }
    } finally {
      deadlineScope.cancel();
    }
  }

  return {
    runAll(deviceIds: readonly string[], maxConcurrency: number): Promise<void> {
      return slidingWindow(deviceIds, maxConcurrency, runTarget);
    },
    /** Records `cancelled` for every device without an outcome; runs even though the workflow is cancelled. */
    cancelUnfinished(deviceIds: readonly string[], maxConcurrency: number): Promise<void> {
      const unfinished = deviceIds.filter((id) => !outcomes.has(id));
      return CancellationScope.nonCancellable(() => slidingWindow(unfinished, maxConcurrency, (id) => record(id, 'cancelled')));
    },
    progress(total: number): JobRunProgress {
      const counts: Partial<Record<TerminalDeviceStatus, number>> = {};
      for (const status of outcomes.values()) counts[status] = (counts[status] ?? 0) + 1;
      return { total, finished: outcomes.size, counts };
    },
  };
}

function validateInput(input: JobRunInput): string | undefined {
  if (!input || typeof input !== 'object') return 'input must be an object';
  if (typeof input.jobRunId !== 'string' || !input.jobRunId) return 'jobRunId is required';
  if (!Array.isArray(input.deviceIds) || input.deviceIds.some((id) => typeof id !== 'string' || !id)) {
    return 'deviceIds must be a list of device IDs';
  }
  if (input.command) {
    if (typeof input.command.kind !== 'string' || !/^[0-9a-f]{64}$/.test(String(input.command.payloadSha256))) {
      return 'command must name a kind and the SHA-256 of a stored payload';
    }
  } else if (!input.payload || input.payload.kind !== 'shell') {
    return 'command (or an inline shell payload) is required';
  }
  const timeout = (input.command ?? input.payload)!.timeoutSeconds;
  if (!Number.isInteger(timeout) || timeout < 1) return "the command's timeoutSeconds must be a positive integer";
  if (typeof input.deadlineAt !== 'string' || Number.isNaN(Date.parse(input.deadlineAt))) {
    return 'deadlineAt must be an ISO date-time';
  }
  if (input.maxConcurrency !== undefined && (!Number.isInteger(input.maxConcurrency) || input.maxConcurrency < 1)) {
    return 'maxConcurrency must be a positive integer';
  }
  return undefined;
}

function describeFailure(err: unknown): string {
  if ((err instanceof ActivityFailure || err instanceof ChildWorkflowFailure) && err.cause) {
    return err.cause.message || err.message;
  }
  return err instanceof Error ? err.message : String(err);
}

function addCounts(into: Partial<Record<TerminalDeviceStatus, number>>, add: Partial<Record<TerminalDeviceStatus, number>>) {
  for (const [status, n] of Object.entries(add) as [TerminalDeviceStatus, number][]) into[status] = (into[status] ?? 0) + n;
}

function sumCounts(counts: Partial<Record<TerminalDeviceStatus, number>>): number {
  return Object.values(counts).reduce((a, b) => a + (b ?? 0), 0);
}
