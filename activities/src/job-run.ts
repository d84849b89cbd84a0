/**
 * Activities of the `jobRun` workflow. `runCommandOnTargets` runs the run's command on one batch of targets (ADR 16):
 * it queues a command per target, wakes the agents, and waits — woken by the run's notifications, heartbeating its
 * progress — until every target has a terminal state, ending the commands that miss the deadline itself. The API
 * writes each agent's result straight to the database; no Temporal call is made per device. The others keep
 * `job_runs` / `job_run_devices` in step with what the workflow decided. All of them are idempotent: Temporal may run
 * any of them more than once (a retried batch resumes where the last attempt stopped).
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { closeStepsSql, finishCommands, lockOpenCommands, queueCommands, requestCancellation, storePayload } from '@opsconductor/commands';
import { withTransaction, type Database } from '@opsconductor/db';
import type { EventHub } from '@opsconductor/db/event-hub';
import { domainEvent } from '@opsconductor/domain-events';
import { systemActor, withUnitOfWork } from '@opsconductor/unit-of-work';
import { channels, type Channel } from '@opsconductor/db/notify';
import { JOB_RUN_SECRET_OWNER } from '@opsconductor/jobs';
import type pg from 'pg';
import type { Logger } from 'pino';
import { UUID, coalesceMs, countStatuses, invalidTargets, wake as wakeListeners } from './batches.ts';
import type { DispatchRate } from './dispatch-rate.ts';
import { jobRunOutcome } from './job-run-outcome.ts';
import type { MaintenanceWindowSpec } from '@opsconductor/contracts/maintenance-windows';
import { DEVICE_WINDOWS_SQL, insideAnyWindow, nextOpening, windowsByDevice, type DeviceWindowRow } from '@opsconductor/deployments';
import type {
  BatchProgress,
  DeviceRunStatus,
  DeviceStatusCounts,
  FinalizeJobRunInput,
  FinalJobRunStatus,
  JobRunSummary,
  MarkJobRunRunningInput,
  RecordTargetOutcomesInput,
  RunCommandOnTargetsInput,
  TargetsOutcome,
  TerminalDeviceStatus,
  TerminalStatusCounts,
  WorkflowDeviceOutcome,
} from './types.ts';

/** While the dispatch rate holds targets back, a batch looks again this often (the bucket refills meanwhile). */
const RATE_WAIT_MS = 1000;
/** A batch that respects maintenance windows reads its devices' windows again this often. */
const WINDOWS_REREAD_MS = 60_000;
/** A batch reads its targets at least this often, woken or not (a NOTIFY lost while the LISTEN connection was down). */
const BATCH_IDLE_READ_MS = 5_000;
/** Without a LISTEN connection (no event hub), it reads this often. */
const BATCH_POLL_MS = 1_000;

const MESSAGES = {
  notPickedUp: 'The device did not pick up the command before the deadline.',
  notDispatched: 'The deadline passed before the command could be dispatched.',
  noResult: 'No result arrived before the deadline plus the command timeout.',
  cancelled: 'The job run was cancelled.',
  failed: 'The command could not be dispatched.',
} as const;

export const DEVICE_RUN_STATUSES: readonly DeviceRunStatus[] = [
  'pending',
  'running',
  'succeeded',
  'failed',
  'timed_out',
  'cancelled',
  'offline',
];

/** Error types (ApplicationFailure.type) these activities throw; the workflow treats them as permanent. */
export const errorTypes = {
  targetNotFound: 'JobRunTargetNotFound',
  jobRunNotFound: 'JobRunNotFound',
  invalidInput: 'InvalidActivityInput',
} as const;

export interface JobRunActivityDeps {
  db: Database;
  logger: Logger;
  /** LISTEN/NOTIFY wake-ups (the worker's hub); without one, batches poll every BATCH_POLL_MS. */
  events?: EventHub;
  /** The pace of new commands, shared by all the worker's batches (DISPATCH_PER_SECOND; default 150 a second). */
  rate: DispatchRate;
}

export const DEFAULT_DISPATCH_PER_SECOND = 150;

/** A batch's targets in numbers (BatchProgress plus the terminal counts). */
interface Tally extends BatchProgress {
  counts: TerminalStatusCounts;
}

/** One target of a batch, as a pass reads it. */
interface BatchTarget {
  id: string;
  deviceId: string;
  status: DeviceRunStatus;
  finished: boolean;
  /** It has a command (of any state). */
  dispatched: boolean;
  /** Its command is still open (queued, delivered or running). */
  open: boolean;
  /** Its command was never handed to the agent. */
  queued: boolean;
}

export function createJobRunActivities({ db, logger, events, rate }: JobRunActivityDeps) {
  const { pool } = db;

  const wake = (channel: Channel, payloads: readonly string[], log: Logger) => wakeListeners(pool, channel, payloads, log);

  /** The batch's targets in the order given (devices that are not targets of the run are left out). */
  async function readTargets(jobRunId: string, deviceIds: string[]): Promise<BatchTarget[]> {
    const { rows } = await pool.query<BatchTarget>(
      `SELECT jrd.id, jrd.device_id AS "deviceId", jrd.status::text AS status, jrd.finished_at IS NOT NULL AS finished,
              c.id IS NOT NULL AS dispatched, coalesce(c.state IN ('queued', 'delivered', 'running'), false) AS open,
              coalesce(c.state = 'queued', false) AS queued
         FROM unnest($2::uuid[]) WITH ORDINALITY AS d(device_id, n)
         JOIN job_run_devices jrd ON jrd.job_run_id = $1 AND jrd.device_id = d.device_id
         LEFT JOIN LATERAL (SELECT ac.id, ac.state FROM agent_commands ac WHERE ac.job_run_device_id = jrd.id
                             ORDER BY ac.attempt DESC LIMIT 1) c ON true
        ORDER BY d.n`,
      [jobRunId, deviceIds],
    );
    return rows;
  }

  /** How the batch's targets stand, by status: one small aggregate, for the passes that only wait. */
  async function tallyTargets(jobRunId: string, deviceIds: string[], undispatched: number): Promise<Tally> {
    const { rows } = await pool.query<{ status: DeviceRunStatus; n: number; finished: number }>(
      `SELECT status::text AS status, count(*)::int AS n, count(finished_at)::int AS finished
         FROM job_run_devices WHERE job_run_id = $1 AND device_id = ANY($2::uuid[]) GROUP BY status`,
      [jobRunId, deviceIds],
    );
    const tally: Tally = { targets: 0, finished: 0, inFlight: 0, counts: {} };
    for (const r of rows) {
      tally.targets += r.n;
      tally.finished += r.finished;
      if (r.finished > 0 && r.status !== 'pending' && r.status !== 'running') tally.counts[r.status] = r.finished;
    }
    // Every unfinished target but the backlog has its command.
    tally.inFlight = tally.targets - tally.finished - undispatched;
    return tally;
  }

  /**
   * Gives targets an outcome the workflow (or a batch) decided — timed out, cancelled, failed — ending their open
   * commands with it; the first terminal writer wins, so an agent's result stored first is kept. On cancellation
   * commands no agent has seen end `cancelled`, delivered ones are flagged for the agent to stop. Returns how many
   * targets this wrote and the devices to wake.
   */
  async function recordOutcomes(
    jobRunId: string,
    deviceIds: string[],
    outcome: WorkflowDeviceOutcome,
    message: string | undefined,
  ): Promise<{ applied: number; wakeDevices: string[] }> {
    const result = await withTransaction(pool, async (client) => {
      const targetIds = await targetIdsOf(client, jobRunId, deviceIds);
      // Commands before their targets, the order in which the API locks them (a result: command, then target).
      const open = await lockOpenCommands(client, { jobRunDeviceIds: targetIds });
      let wakeDevices: string[] = [];
      let applied = 0;
      if (outcome === 'cancelled') {
        applied = await closeTargets(client, targetIds, 'cancelled', message ?? MESSAGES.cancelled);
        wakeDevices = (await requestCancellation(client, open, message ?? MESSAGES.cancelled)).flaggedDevices;
      } else {
        // Each target takes its command's end (first writer wins): undelivered → offline, delivered → timed out.
        const byState = (states: string[]) => open.filter((c) => states.includes(c.state)).map((c) => c.id);
        const ended =
          outcome === 'timed_out'
            ? [
                ...(await finishCommands(client, byState(['queued']), 'offline', { error: MESSAGES.notPickedUp })),
                ...(await finishCommands(client, byState(['delivered', 'running']), 'timed_out', { error: message ?? MESSAGES.noResult })),
              ]
            : await finishCommands(client, byState(['queued', 'delivered', 'running']), 'failed', { error: message ?? MESSAGES.failed });
        applied = ended.length;
        // An agent still running one is told to stop.
        wakeDevices = ended.filter((c) => c.state !== 'offline').map((c) => c.deviceId);
        // Targets without an open command: never dispatched, or their command ended without deciding them.
        applied +=
          outcome === 'timed_out'
            ? (await closeTargets(client, targetIds, 'timed_out', message ?? MESSAGES.notDispatched, { neverDispatched: true })) +
              (await closeTargets(client, targetIds, 'timed_out', message ?? MESSAGES.noResult))
            : await closeTargets(client, targetIds, 'failed', message ?? MESSAGES.failed);
      }
      return { applied, wakeDevices, targetIds };
    });
    if (outcome === 'cancelled' && result.targetIds.length > 0) {
      // A batch that queued a command while this transaction waited for its target's lock committed it before we
      // read the target: commands still open on a closed target are cancelled too.
      const late = await withTransaction(pool, async (client) => {
        const open = await lockOpenCommands(client, { jobRunDeviceIds: result.targetIds });
        return (await requestCancellation(client, open, message ?? MESSAGES.cancelled)).flaggedDevices;
      });
      result.wakeDevices.push(...late);
    }
    const log = logger.child({ jobRunId, outcome });
    if (result.applied > 0) await wake(channels.jobRunEvents, [jobRunId], log);
    if (result.wakeDevices.length > 0) await wake(channels.agentCommands, [...new Set(result.wakeDevices)], log);
    return { applied: result.applied, wakeDevices: result.wakeDevices };
  }

  async function usesMaintenanceWindows(jobRunId: string): Promise<boolean> {
    const { rows } = await pool.query<{ on: boolean }>('SELECT maintenance_windows AS on FROM job_runs WHERE id = $1', [jobRunId]);
    return rows[0]?.on ?? false;
  }

  /**
   * A run that respects maintenance windows starts a device only inside one of its groups' windows (a device without
   * any: at once). Targets held back get `not_before` (when their next window opens), for their status. The windows
   * are read again every WINDOWS_REREAD_MS, so a window added or removed meanwhile counts.
   */
  function maintenanceWindowGate(jobRunId: string, deviceIds: string[]) {
    let windows = new Map<string, MaintenanceWindowSpec[]>();
    let readAt = Number.NEGATIVE_INFINITY;
    const written = new Map<string, number>();
    return {
      async insideNow(targets: BatchTarget[]): Promise<BatchTarget[]> {
        if (Date.now() - readAt > WINDOWS_REREAD_MS) {
          windows = windowsByDevice((await pool.query<DeviceWindowRow>(DEVICE_WINDOWS_SQL, [deviceIds])).rows);
          readAt = Date.now();
        }
        const now = new Date();
        const inside: BatchTarget[] = [];
        const later: { id: string; at: Date }[] = [];
        for (const t of targets) {
          const ws = windows.get(t.deviceId);
          if (!ws || insideAnyWindow(ws, now)) {
            inside.push(t);
            continue;
          }
          const at = nextOpening(ws, now);
          if (at && written.get(t.id) !== at.getTime()) later.push({ id: t.id, at });
        }
        if (later.length > 0) {
          await pool.query(
            `UPDATE job_run_devices t SET not_before = l.at, updated_at = now() FROM unnest($2::uuid[], $3::timestamptz[]) AS l(id, at)
              WHERE t.id = l.id AND t.job_run_id = $1`,
            [jobRunId, later.map((l) => l.id), later.map((l) => l.at)],
          );
          for (const l of later) written.set(l.id, l.at.getTime());
        }
        return inside;
      },
    };
  }

  async function isHeld(jobRunId: string): Promise<boolean> {
    const { rows } = await pool.query<{ held: boolean }>('SELECT held FROM job_runs WHERE id = $1', [jobRunId]);
    return rows[0]?.held ?? false;
  }

  /** Queues the command for these targets (their rows locked: a concurrent cancellation orders with us). */
  async function queueBatch(targets: BatchTarget[], payloadSha256: string, expiresAt: Date): Promise<string[]> {
    return withTransaction(pool, async (client) => {
      const { rows } = await client.query<{ id: string; device_id: string }>(
        `SELECT id, device_id FROM job_run_devices WHERE id = ANY($1::uuid[]) AND finished_at IS NULL ORDER BY id FOR UPDATE`,
        [targets.map((t) => t.id)],
      );
      return queueCommands(client, {
        targets: rows.map((r) => ({ deviceId: r.device_id, owner: { jobRunDeviceId: r.id } })),
        attempt: 1,
        payloadSha256,
        expiresAt,
      });
    });
  }

  /**
   * At the deadline: commands no agent picked up end `offline` (their targets with them) and targets never
   * dispatched end `timed_out`. A command delivered before the deadline is left alone: the agent may still run it.
   */
  async function recordLate(jobRunId: string, deviceIds: string[]): Promise<void> {
    const applied = await withTransaction(pool, async (client) => {
      const targetIds = await targetIdsOf(client, jobRunId, deviceIds);
      // Locking the command rows orders us with the API's claim (which locks them too); and a command whose
      // expires_at (the deadline) has passed can no longer be claimed at all.
      const open = await lockOpenCommands(client, { jobRunDeviceIds: targetIds });
      const ended = await finishCommands(
        client,
        open.filter((c) => c.state === 'queued').map((c) => c.id),
        'offline',
        { error: MESSAGES.notPickedUp },
      );
      return ended.length + (await closeTargets(client, targetIds, 'timed_out', MESSAGES.notDispatched, { neverDispatched: true }));
    });
    if (applied > 0) await wake(channels.jobRunEvents, [jobRunId], logger.child({ jobRunId }));
  }

  return {
    /**
     * Runs the command on a batch of the run's targets and returns how they ended. Each pass reads the targets;
     * before the deadline it queues commands for targets without one (at most `maxConcurrency` open at a time) and
     * wakes their agents; at the deadline it ends undelivered commands `offline` and gives targets it never reached
     * `timed_out`; at `giveUpAt` it ends what is still open `timed_out` (the agent is told to stop). It returns when
     * every target has a terminal state. Between passes it waits for the run's notifications (an agent's result,
     * output, an outcome) or a timer, and heartbeats `BatchProgress`. A retried attempt (a worker crashed: the
     * heartbeat timed out) resumes: commands already queued are not queued again. Cancelling it stops the waiting;
     * the workflow records the cancellation (`recordTargetOutcomes`).
     */
    async runCommandOnTargets(input: RunCommandOnTargetsInput): Promise<TargetsOutcome> {
      const invalid = invalidBatch(input);
      if (invalid) throw ApplicationFailure.nonRetryable(invalid, errorTypes.invalidInput);
      const { jobRunId, deviceIds, maxConcurrency } = input;
      const ctx = Context.current();
      const log = logger.child({ activity: 'runCommandOnTargets', jobRunId, attempt: ctx.info.attempt });
      const deadline = new Date(input.deadlineAt);
      const giveUpAt = Date.parse(input.giveUpAt);
      // Runs started before commands went by reference carry the payload: store it (once) here.
      const payloadSha256 = input.command ? input.command.payloadSha256 : await storePayload(pool, input.payload!);
      const stored = await pool.query('SELECT 1 FROM command_payloads WHERE sha256 = $1', [payloadSha256]);
      if (!stored.rowCount) throw ApplicationFailure.nonRetryable(`no stored command payload ${payloadSha256}`, errorTypes.invalidInput);

      const windows = (await usesMaintenanceWindows(jobRunId)) ? maintenanceWindowGate(jobRunId, deviceIds) : null;
      let woken = false;
      let onWake: (() => void) | undefined;
      const unsubscribe = events?.subscribe(channels.jobRunEvents, jobRunId, () => {
        woken = true;
        onWake?.();
      });
      try {
        // The phase whose work is done: until the next one starts, a pass only counts the targets' outcomes.
        let doneIn: 'dispatch' | 'late' | 'overdue' | undefined;
        // Targets waiting for the dispatch rate, when no concurrency cap applies (then no pass needs to re-read them).
        let backlog: BatchTarget[] = [];
        const capped = maxConcurrency < deviceIds.length;
        const dispatch = async (next: BatchTarget[]) => {
          const queued = await queueBatch(next, payloadSha256, deadline);
          if (queued.length > 0) {
            await wake(channels.agentCommands, queued, log);
            log.info({ queued: queued.length }, 'commands queued for the agents');
          }
        };
        for (;;) {
          const now = Date.now();
          const phase = now < deadline.getTime() ? 'dispatch' : now < giveUpAt ? 'late' : 'overdue';
          // Set when the dispatch rate (not the concurrency cap) held targets back: look again as soon as it allows.
          let rateLimited = false;
          let tally: Tally;
          // A held run (a paused deployment wave) starts no device until released; what runs goes on.
          const held = phase === 'dispatch' && doneIn !== 'dispatch' && (await isHeld(jobRunId));
          if (held) {
            tally = await tallyTargets(jobRunId, deviceIds, backlog.length);
          } else if (phase === 'dispatch' && backlog.length > 0) {
            const next = backlog.splice(0, rate.take(backlog.length));
            rateLimited = backlog.length > 0;
            if (next.length > 0) await dispatch(next);
            if (backlog.length === 0) doneIn = 'dispatch';
            tally = await tallyTargets(jobRunId, deviceIds, backlog.length);
          } else if (doneIn === phase) {
            tally = await tallyTargets(jobRunId, deviceIds, 0);
          } else {
            let targets = await readTargets(jobRunId, deviceIds);
            let changed = false;
            if (phase === 'dispatch') {
              const inFlight = targets.filter((t) => t.open).length;
              const eligible = targets.filter((t) => !t.finished && !t.dispatched);
              const wanted = (windows ? await windows.insideNow(eligible) : eligible).slice(0, Math.max(0, maxConcurrency - inFlight));
              // Paced by the worker's dispatch rate: the rest waits (in the backlog unless a cap needs fresh reads).
              const next = wanted.slice(0, rate.take(wanted.length));
              rateLimited = next.length < wanted.length;
              if (!capped) backlog = wanted.slice(next.length);
              if (next.length > 0) {
                await dispatch(next);
                changed = true;
              }
            } else if (phase === 'late') {
              const late = targets.filter((t) => !t.finished && (!t.dispatched || t.queued)).map((t) => t.deviceId);
              if (late.length > 0) {
                // Undelivered commands end offline; targets never reached time out.
                await recordLate(jobRunId, late);
                changed = true;
              }
            } else {
              const unfinished = targets.filter((t) => !t.finished).map((t) => t.deviceId);
              if (unfinished.length > 0) {
                await recordOutcomes(jobRunId, unfinished, 'timed_out', undefined);
                changed = true;
              }
            }
            if (changed) targets = await readTargets(jobRunId, deviceIds);
            // Dispatching is done once every target has its command (or an outcome); the later phases act once.
            if (phase !== 'dispatch' || targets.every((t) => t.finished || t.dispatched)) doneIn = phase;
            const finished = targets.filter((t) => t.finished);
            tally = {
              targets: targets.length,
              finished: finished.length,
              inFlight: targets.filter((t) => t.open).length,
              counts: countStatuses(finished),
            };
          }
          const progress: BatchProgress = { targets: tally.targets, finished: tally.finished, inFlight: tally.inFlight };
          ctx.heartbeat(progress);
          if (tally.finished === tally.targets) {
            log.info(progress, 'batch finished');
            return { counts: tally.counts, total: tally.finished };
          }

          // Sleep until woken (coalescing a burst), the next time boundary, or the idle read; cancellation rejects.
          const nextBoundary = now < deadline.getTime() ? deadline.getTime() : now < giveUpAt ? giveUpAt : now + BATCH_POLL_MS;
          const idle = rateLimited ? Math.max(RATE_WAIT_MS, rate.msUntilNext()) : events?.listening ? BATCH_IDLE_READ_MS : BATCH_POLL_MS;
          const waitMs = Math.max(10, Math.min(idle, nextBoundary - Date.now() + 10));
          if (!woken) {
            await Promise.race([ctx.sleep(waitMs), new Promise<void>((resolve) => (onWake = resolve))]);
            onWake = undefined;
          }
          if (woken) {
            await ctx.sleep(coalesceMs(deviceIds.length));
            woken = false;
          }
        }
      } finally {
        unsubscribe?.();
      }
    },

    /**
     * Writes an outcome the workflow decided for targets (cancelled; timed out or failed when their batch could not
     * run to its end). First terminal writer wins. Returns how all these targets stand now.
     */
    async recordTargetOutcomes(input: RecordTargetOutcomesInput): Promise<TargetsOutcome> {
      const { jobRunId, deviceIds, outcome } = input;
      if (!['timed_out', 'cancelled', 'failed'].includes(outcome)) {
        throw ApplicationFailure.nonRetryable(`unknown outcome ${String(outcome)}`, errorTypes.invalidInput);
      }
      if (!Array.isArray(deviceIds) || deviceIds.some((id) => typeof id !== 'string' || !UUID.test(id))) {
        throw ApplicationFailure.nonRetryable('deviceIds must be device IDs', errorTypes.invalidInput);
      }
      const message = input.message === undefined ? undefined : truncate(input.message, 4000);
      const { applied } = await recordOutcomes(jobRunId, deviceIds, outcome, message);
      const finished = (await readTargets(jobRunId, deviceIds)).filter((t) => t.finished);
      logger.info({ activity: 'recordTargetOutcomes', jobRunId, outcome, applied }, 'target outcomes recorded');
      return { counts: countStatuses(finished), total: finished.length };
    },

    /** queued → running (sets started_at). Does nothing to a run that is already running or finished. */
    async markJobRunRunning({ jobRunId }: MarkJobRunRunningInput): Promise<{ status: string }> {
      const log = logger.child({ activity: 'markJobRunRunning', jobRunId });
      const updated = await pool.query<{ status: string }>(
        `UPDATE job_runs SET status = 'running', started_at = coalesce(started_at, now())
          WHERE id = $1 AND status = 'queued' RETURNING status::text`,
        [jobRunId],
      );
      if (updated.rowCount === 1) {
        await wake(channels.jobRunEvents, [jobRunId], log);
        return { status: 'running' };
      }
      const existing = await pool.query<{ status: string }>(`SELECT status::text FROM job_runs WHERE id = $1`, [jobRunId]);
      if (!existing.rows[0]) throw ApplicationFailure.nonRetryable(`job run ${jobRunId} not found`, errorTypes.jobRunNotFound);
      return { status: existing.rows[0].status };
    },

    /**
     * Ends the run: gives every target still without a terminal state one (`cancelled` if the run was cancelled,
     * else `failed`), then sets the run's status from its targets' outcomes (jobRunOutcome: succeeded, partially
     * succeeded, failed, timed out, unreachable or cancelled) and finished_at. A run that is already finished keeps its
     * state; the call just reports it.
     */
    async finalizeJobRun(input: FinalizeJobRunInput): Promise<JobRunSummary> {
      const { jobRunId, cancelled } = input;
      const log = logger.child({ activity: 'finalizeJobRun', jobRunId, cancelled });
      // The run's end, its audit row and job_run.finished commit together.
      const result = await withUnitOfWork(db, { actor: systemActor('workflow jobRun') }, async ({ sql: client, audit, emit }) => {
        const run = await client.query<{ status: string; finished_at: Date | null }>(
          `SELECT status::text, finished_at FROM job_runs WHERE id = $1 FOR UPDATE`,
          [jobRunId],
        );
        const row = run.rows[0];
        if (!row) return undefined;
        if (row.finished_at) {
          return { summary: summarize(row.status as FinalJobRunStatus, await countTargets(client, jobRunId)), changed: false, flagged: [] };
        }
        const sweepStatus: TerminalDeviceStatus = cancelled ? 'cancelled' : 'failed';
        const message = truncate(
          input.reason ?? (cancelled ? 'The job run was cancelled.' : 'No outcome was recorded for this device.'),
          4000,
        );
        // Commands before targets, the order in which the API locks them.
        const open = await lockOpenCommands(client, { jobRunId });
        const swept = await client.query<{ id: string }>(
          `WITH swept AS (
             UPDATE job_run_devices
                SET status = $2::"DeviceRunStatus", finished_at = now(), error_message = $3, updated_at = now()
              WHERE job_run_id = $1 AND finished_at IS NULL
          RETURNING id
           ), steps AS (${closeStepsSql('swept', '$2', '$3')})
           SELECT id FROM swept`,
          [jobRunId, sweepStatus, message],
        );
        // A job's secret parameter values are kept only while its run may still use them.
        await client.query(`DELETE FROM secrets WHERE owner_type = $1 AND owner_id = $2`, [JOB_RUN_SECRET_OWNER, jobRunId]);
        const sweptIds = new Set(swept.rows.map((r) => r.id));
        const { flaggedDevices: flagged } = await requestCancellation(
          client,
          open.filter((c) => c.jobRunDeviceId !== null && sweptIds.has(c.jobRunDeviceId)),
          message,
        );
        const counts = await countTargets(client, jobRunId);
        const status = jobRunOutcome(counts, cancelled);
        await client.query(
          `UPDATE job_runs SET status = $2::"JobRunStatus", finished_at = now(), started_at = coalesce(started_at, now())
            WHERE id = $1`,
          [jobRunId, status],
        );
        if (swept.rowCount) log.warn({ swept: swept.rowCount, sweepStatus }, 'targets without an outcome were closed');
        const summary = summarize(status, counts);
        await audit({
          action: 'job_run.finish',
          targetType: 'job_run',
          targetId: jobRunId,
          details: { status, counts, swept: swept.rowCount ?? 0 },
        });
        await emit(domainEvent('job_run.finished', { jobRunId, status, cancelled, counts, total: summary.total }));
        return { summary, changed: true, flagged };
      });
      if (!result) throw ApplicationFailure.nonRetryable(`job run ${jobRunId} not found`, errorTypes.jobRunNotFound);
      if (result.changed) await wake(channels.jobRunEvents, [jobRunId], log);
      if (result.flagged.length > 0) await wake(channels.agentCommands, result.flagged, log);
      log.info({ status: result.summary.status, counts: result.summary.counts }, 'job run finalized');
      return result.summary;
    },
  };
}

/** The IDs of the run's targets for these devices (not locked). */
async function targetIdsOf(client: pg.PoolClient, jobRunId: string, deviceIds: string[]): Promise<string[]> {
  const { rows } = await client.query<{ id: string }>(
    'SELECT id FROM job_run_devices WHERE job_run_id = $1 AND device_id = ANY($2::uuid[])',
    [jobRunId, deviceIds],
  );
  return rows.map((r) => r.id);
}

/**
 * Closes these targets that still have no terminal state (all of them, or only those never dispatched) with
 * `status`; returns how many it closed.
 */
async function closeTargets(
  client: pg.PoolClient,
  targetIds: string[],
  status: TerminalDeviceStatus,
  message: string,
  opts: { neverDispatched?: boolean } = {},
): Promise<number> {
  if (targetIds.length === 0) return 0;
  const { rows } = await client.query<{ n: number }>(
    `WITH closed AS (
       UPDATE job_run_devices jrd
          SET status = $2::"DeviceRunStatus", finished_at = now(), error_message = $3, updated_at = now()
        WHERE jrd.id = ANY($1::uuid[]) AND jrd.finished_at IS NULL
          AND (NOT $4 OR NOT EXISTS (SELECT 1 FROM agent_commands ac WHERE ac.job_run_device_id = jrd.id))
       RETURNING jrd.id
     ), steps AS (${closeStepsSql('closed', '$2', '$3')})
     SELECT count(*)::int AS n FROM closed`,
    [targetIds, status, truncate(message, 4000), opts.neverDispatched ?? false],
  );
  return rows[0]!.n;
}

/** Why a batch's input cannot be run, if it cannot. */
function invalidBatch(input: RunCommandOnTargetsInput): string | undefined {
  const targets = invalidTargets(input);
  if (targets) return targets;
  if (
    !(typeof input.command?.payloadSha256 === 'string' && /^[0-9a-f]{64}$/.test(input.command.payloadSha256)) &&
    input.payload?.kind !== 'shell'
  ) {
    return 'a command (or a shell payload) is required';
  }
  if (Number.isNaN(Date.parse(input.deadlineAt)) || Number.isNaN(Date.parse(input.giveUpAt)))
    return 'deadlineAt and giveUpAt must be ISO times';
  return undefined;
}

async function countTargets(client: pg.PoolClient, jobRunId: string): Promise<DeviceStatusCounts> {
  const counts = Object.fromEntries(DEVICE_RUN_STATUSES.map((s) => [s, 0])) as DeviceStatusCounts;
  const rows = await client.query<{ status: DeviceRunStatus; n: number }>(
    `SELECT status::text AS status, count(*)::int AS n FROM job_run_devices WHERE job_run_id = $1 GROUP BY status`,
    [jobRunId],
  );
  for (const { status, n } of rows.rows) counts[status] = n;
  return counts;
}

function sumCounts(counts: DeviceStatusCounts): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

function summarize(status: FinalJobRunStatus, counts: DeviceStatusCounts): JobRunSummary {
  return { status, counts, total: sumCounts(counts) };
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
