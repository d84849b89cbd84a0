/**
 * `jobRun`: runs one command (of any kind: shell, script, file.fetch, reboot…), or a saved job's steps (`job`, ADR 20),
 * on every target device of a job run and records one terminal outcome per device.
 *
 * The command comes by reference (`command`: its kind, the SHA-256 of the payload the API stored once, and its
 * timeout), so the history never holds its body, however many devices run it. Runs started before that carry an inline
 * shell `payload`; the activities take it the same way.
 *
 * Fan-out (ADR 16): the targets are split into batches of BATCH_SIZE devices, and each batch is ONE activity,
 * `runCommandOnTargets`, which queues the command for its devices, waits for their outcomes in the database (the API
 * writes each agent's result there; no Temporal call per device) and ends what misses the deadline. At most
 * MAX_BATCHES_IN_FLIGHT batches run at once, through a sliding window, so a run on 10,000 devices is 20 activities and
 * a few dozen history events, and the Temporal UI shows each batch with its progress as heartbeat details. The
 * workflow only writes outcomes for a batch that could not finish (cancelled, or its activity failed for good).
 * The database is the source of truth; the workflow's return value is the run's final summary.
 *
 * A job's run: each batch is ONE `runJobOnTargets` activity that takes its devices through the job's steps (conditions,
 * retries, waits, reboots) from the database; the history stays as small as a one-command run's. When the run ends,
 * its chain (on success / on failure) is recorded by `startChainedRun` and started as a child workflow that outlives
 * this one (ABANDON), on the same targets.
 *
 * Cancellation: cancelling the workflow cancels the batches in flight (TRY_CANCEL), records `cancelled` for their
 * unfinished devices, finalizes the run as `cancelled` (which also closes batches that never started) and then
 * rethrows the CancelledFailure, so the execution itself ends as Canceled in Temporal.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ParentClosePolicy,
  TimeoutFailure,
  WorkflowIdReusePolicy,
  condition,
  defineQuery,
  defineSignal,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
  startChild,
} from '@temporalio/workflow';
import type {
  ApprovalOutcome,
  CommandRef,
  JobActivities,
  JobRunSummary,
  TargetsOutcome,
  TerminalStatusCounts,
} from '@opsconductor/activities';
import type { ShellCommandPayload } from '@opsconductor/contracts/commands';
import { chunk, slidingWindow } from './sliding-window.ts';
import { OpsDeviceIds, OpsJobRunId, deviceIdsForSearch } from './search-attributes.ts';

/** Devices per batch (one `runCommandOnTargets` activity). */
export const BATCH_SIZE = 500;
/** Batches running at the same time. */
export const MAX_BATCHES_IN_FLIGHT = 20;
/** Time the agent and the API get past deadline + command timeout to report a result. */
export const DISPATCH_GRACE_MS = 60_000;
/** A batch activity heartbeats after every pass (at least every few seconds); a worker that dies is noticed after this. */
export const BATCH_HEARTBEAT_TIMEOUT_MS = 30_000;
/** A batch's attempts may run this long past its give-up time before the workflow records its devices timed out. */
const BATCH_CLOSE_MARGIN_MS = 10 * 60_000;

/** The command of a run: by reference (`command`), or inline for runs started before that (`payload`). */
export interface JobRunCommand {
  command?: CommandRef;
  /** @deprecated inline shell payload of older runs; new runs pass `command`. */
  payload?: ShellCommandPayload;
}

export interface JobRunInput extends JobRunCommand {
  jobRunId: string;
  /**
   * A saved job's run: its steps are read from the run's job version by the activities (no command here). `giveUpAt`
   * bounds its batches: the deadline plus the longest a device can take with every step (packages/jobs' jobRunStart).
   */
  job?: { giveUpAt: string };
  /**
   * The job needs approval (four-eyes): the run waits — a durable timer and a signal, visible in the Temporal UI —
   * until the API records a decision and signals `approvalDecided`, or until `expiresAt`.
   */
  approval?: { expiresAt: string; requestedBy: string | null };
  deviceIds: string[];
  /** ISO time after which a command must no longer be started on a device. */
  deadlineAt: string;
  /**
   * Most devices with a command in flight at once, across the whole run. Default: MAX_BATCHES_IN_FLIGHT × BATCH_SIZE.
   */
  maxConcurrency?: number;
}

export type JobRunResult = JobRunSummary;

export interface JobRunProgress {
  /** The run waits for an approval decision. */
  awaitingApproval: boolean;
  total: number;
  /** Devices of the batches that finished. */
  finished: number;
  counts: TerminalStatusCounts;
  batches: { total: number; finished: number; inFlight: number };
}

/** Progress of a run by finished batches (a batch in flight shows its own progress as heartbeat details). */
export const progressQuery = defineQuery<JobRunProgress>('progress');

/** The API recorded an approval decision (the database holds it; the signal only wakes the run and shows in its history). */
export interface ApprovalDecided {
  decision: 'approved' | 'rejected';
  /** The deciding user's ID. */
  by: string;
}
export const approvalDecidedSignal = defineSignal<[ApprovalDecided]>('approvalDecided');

// Bookkeeping activities are idempotent database writes: retry them until the database is back.
const bookkeeping = proxyActivities<JobActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/**
 * One batch. Retried after a crash (the heartbeat times out; the next attempt resumes), never after a permanent error;
 * bounded by the batch's give-up time plus a margin.
 */
function batchActivities(closeTimeoutMs: number, summary: string) {
  return proxyActivities<JobActivities>({
    scheduleToCloseTimeout: closeTimeoutMs,
    heartbeatTimeout: BATCH_HEARTBEAT_TIMEOUT_MS,
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: '30 seconds',
      nonRetryableErrorTypes: ['InvalidActivityInput'],
    },
    cancellationType: ActivityCancellationType.TRY_CANCEL,
    summary,
  });
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
  const batches = chunk(deviceIds, BATCH_SIZE);
  // maxConcurrency caps devices in flight across all batches: batches in flight × devices per batch ≤ cap.
  const cap = input.maxConcurrency ?? Number.POSITIVE_INFINITY;
  const perBatch = Math.min(cap, BATCH_SIZE);
  const batchesInFlight = Number.isFinite(cap)
    ? Math.max(1, Math.min(MAX_BATCHES_IN_FLIGHT, Math.floor(cap / perBatch)))
    : MAX_BATCHES_IN_FLIGHT;
  let giveUpAt = input.job
    ? input.job.giveUpAt
    : new Date(Date.parse(input.deadlineAt) + (input.command ?? input.payload)!.timeoutSeconds * 1000 + DISPATCH_GRACE_MS).toISOString();

  const counts: TerminalStatusCounts = {};
  const progress = { finished: 0, batchesFinished: 0, batchesInFlight: 0, awaitingApproval: false };
  setHandler(progressQuery, () => ({
    awaitingApproval: progress.awaitingApproval,
    total: deviceIds.length,
    finished: progress.finished,
    counts: { ...counts },
    batches: { total: batches.length, finished: progress.batchesFinished, inFlight: progress.batchesInFlight },
  }));

  async function runBatch(ids: string[], index: number): Promise<void> {
    const first = index * BATCH_SIZE + 1;
    const summary = `devices ${first}–${first + ids.length - 1} of ${deviceIds.length}`;
    const closeTimeoutMs = Math.max(1000, Date.parse(giveUpAt) - Date.now() + BATCH_CLOSE_MARGIN_MS);
    progress.batchesInFlight++;
    let outcome: TargetsOutcome;
    try {
      const activities = batchActivities(closeTimeoutMs, summary);
      outcome = input.job
        ? await activities.runJobOnTargets({ jobRunId, deviceIds: ids, maxConcurrency: perBatch })
        : await activities.runCommandOnTargets({
            jobRunId,
            deviceIds: ids,
            ...commandOf(input),
            deadlineAt: input.deadlineAt,
            giveUpAt,
            maxConcurrency: perBatch,
          });
    } catch (err) {
      if (isCancellation(err) && CancellationScope.current().consideredCancelled) {
        await CancellationScope.nonCancellable(() => bookkeeping.recordTargetOutcomes({ jobRunId, deviceIds: ids, outcome: 'cancelled' }));
        throw err;
      }
      // The batch could not run to its end (a permanent error, or its attempts ran out of time): its devices
      // without an outcome get one; other batches go on.
      const timedOut = err instanceof ActivityFailure && err.cause instanceof TimeoutFailure;
      log.error('job run batch failed', { jobRunId, batch: index + 1, error: describeFailure(err) });
      outcome = await CancellationScope.nonCancellable(() =>
        bookkeeping.recordTargetOutcomes({
          jobRunId,
          deviceIds: ids,
          outcome: timedOut ? 'timed_out' : 'failed',
          ...(timedOut ? {} : { message: `Dispatch failed: ${describeFailure(err)}` }),
        }),
      );
    } finally {
      progress.batchesInFlight--;
    }
    progress.batchesFinished++;
    progress.finished += outcome.total;
    for (const [status, n] of Object.entries(outcome.counts)) {
      counts[status as keyof TerminalStatusCounts] = (counts[status as keyof TerminalStatusCounts] ?? 0) + (n ?? 0);
    }
  }

  try {
    if (input.job && input.approval) {
      progress.awaitingApproval = true;
      const outcome = await awaitApproval(jobRunId, input.approval.expiresAt);
      progress.awaitingApproval = false;
      if (outcome.decision !== 'approved') {
        log.info('job run not approved', { jobRunId, decision: outcome.decision });
        return await bookkeeping.finalizeJobRun({ jobRunId, cancelled: false });
      }
      giveUpAt = outcome.giveUpAt;
    }
    await bookkeeping.markJobRunRunning({ jobRunId });
    await slidingWindow(batches, batchesInFlight, runBatch);
    log.info('all batches finished', { jobRunId, counts });
    const summary = await bookkeeping.finalizeJobRun({ jobRunId, cancelled: false });
    if (input.job) await startChain(jobRunId);
    return summary;
  } catch (err) {
    if (isCancellation(err) && CancellationScope.current().consideredCancelled) {
      await CancellationScope.nonCancellable(async () => {
        // Batches in flight recorded their own devices; finalize closes those of batches that never started.
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

/**
 * Waits for the approval decision: woken by `approvalDecided`, or at `expiresAt`; the database decides (a decision
 * whose signal was lost is still found at expiry).
 */
async function awaitApproval(jobRunId: string, expiresAt: string): Promise<Exclude<ApprovalOutcome, { decision: 'pending' }>> {
  let signalled = false;
  setHandler(approvalDecidedSignal, () => {
    signalled = true;
  });
  for (;;) {
    const remaining = Date.parse(expiresAt) - Date.now();
    const woken = remaining > 0 && (await condition(() => signalled, remaining));
    signalled = false;
    const outcome = await bookkeeping.resolveApproval({ jobRunId, expired: !woken });
    if (outcome.decision !== 'pending') return outcome;
  }
}

/**
 * The run's chain, if its job has one for how the run ended: recorded by the activity, started as a child workflow that
 * goes on after this one ends. A chain that cannot start (no such job, a required parameter without a value) is noted
 * on the run by the activity; a failure to start the child is logged, and does not fail a run that has finished.
 */
async function startChain(jobRunId: string): Promise<void> {
  const chained = await bookkeeping.startChainedRun({ jobRunId });
  if (!chained.run) return;
  try {
    await startChild(jobRun, {
      workflowId: `job-run/${chained.run.jobRunId}`,
      args: [chained.run],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      typedSearchAttributes: [
        { key: OpsJobRunId, value: chained.run.jobRunId },
        { key: OpsDeviceIds, value: deviceIdsForSearch(chained.run.deviceIds) },
      ],
    });
  } catch (err) {
    log.error('could not start the chained run', { jobRunId, chained: chained.run.jobRunId, error: describeFailure(err) });
  }
}

/** The command as the input carries it, and nothing else (an older run's inline payload stays inline). */
function commandOf(input: JobRunCommand): JobRunCommand {
  return input.command ? { command: input.command } : { payload: input.payload };
}

function validateInput(input: JobRunInput): string | undefined {
  if (!input || typeof input !== 'object') return 'input must be an object';
  if (typeof input.jobRunId !== 'string' || !input.jobRunId) return 'jobRunId is required';
  if (!Array.isArray(input.deviceIds) || input.deviceIds.some((id) => typeof id !== 'string' || !id)) {
    return 'deviceIds must be a list of device IDs';
  }
  if (input.job) {
    if (typeof input.job.giveUpAt !== 'string' || Number.isNaN(Date.parse(input.job.giveUpAt)))
      return 'job.giveUpAt must be an ISO date-time';
  } else if (input.command) {
    if (typeof input.command.kind !== 'string' || !/^[0-9a-f]{64}$/.test(String(input.command.payloadSha256))) {
      return 'command must name a kind and the SHA-256 of a stored payload';
    }
  } else if (!input.payload || input.payload.kind !== 'shell') {
    return 'command (or an inline shell payload) is required';
  }
  const timeout = input.job ? 1 : (input.command ?? input.payload)!.timeoutSeconds;
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
  if (err instanceof ActivityFailure && err.cause) {
    return err.cause.message || err.message;
  }
  return err instanceof Error ? err.message : String(err);
}
