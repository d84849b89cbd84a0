/**
 * `runJobOnTargets`: one batch of a saved job's run (ADR 20). Like `runCommandOnTargets` (ADR 16) it is one
 * activity for up to a thousand devices that works from the database and waits for the run's notifications; no
 * Temporal call is made per device or per step. Each device goes through the job's steps in order: every pass
 * reads where the batch's devices are, asks the step machine (packages/jobs/src/step-machine.ts) what comes next
 * for each, and writes that: a step's command queued (its parameters in `env`, secrets only as references), a
 * retry scheduled, a wait step ended, an overdue attempt ended, a device finished. The API writes each command's
 * result onto its step (packages/commands/src/owners.ts) and wakes the batch.
 *
 * New devices start while fewer than `maxConcurrency` of the batch's devices are under way, before the run's
 * deadline and until its failure threshold is reached; devices never started then end `timed_out` (the deadline) or
 * `cancelled` (the threshold). A retried attempt of the activity resumes: every decision comes from the database
 * and every write is conditional on the state it was decided from.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { finishCommands, queueStepCommands, storePayloads, type StepCommandInput } from '@opsconductor/commands';
import type { CommandPayload } from '@opsconductor/contracts/commands';
import { jobDefinition, type JobDefinition } from '@opsconductor/contracts/jobs';
import { withTransaction, type Database } from '@opsconductor/db';
import type { EventHub } from '@opsconductor/db/event-hub';
import { channels, type Channel } from '@opsconductor/db/notify';
import {
  JOB_RUN_SECRET_OWNER,
  STEP_RESULT_GRACE_MS,
  decideStep,
  jobRunGiveUpAt,
  deviceValues,
  recordJobRun,
  resolveRunValues,
  secretParameterNames,
  stepPayload,
  type DeviceProgress,
  type StepDecision,
  type StepFailure,
  type StepRunStatus,
  type ParameterValue,
} from '@opsconductor/jobs';
import { domainEvent } from '@opsconductor/domain-events';
import { systemActor, withUnitOfWork } from '@opsconductor/unit-of-work';
import type pg from 'pg';
import type { Logger } from 'pino';
import { coalesceMs, countStatuses, invalidTargets, wake as wakeListeners } from './batches.ts';
import type { DispatchRate } from './dispatch-rate.ts';
import type { ApprovalOutcome, BatchProgress, ChainedRun, RunJobOnTargetsInput, TargetsOutcome, TerminalDeviceStatus } from './types.ts';

/** A batch reads its devices at least this often, woken or not; without a LISTEN connection, this often. */
const IDLE_READ_MS = 5_000;
const POLL_MS = 1_000;

const MESSAGES = {
  notDispatched: 'The deadline passed before the device was reached.',
  threshold: (what: string) => `Not started: the run's failure threshold (${what}) was reached.`,
  overdue: 'No result arrived within the step’s pickup window, timeout and grace.',
  notPickedUp: 'The device did not pick up the step’s command in time.',
} as const;

export interface JobStepActivityDeps {
  db: Database;
  logger: Logger;
  events?: EventHub;
  /** The worker's dispatch rate, shared with one-command runs. */
  rate: DispatchRate;
}

/** The run as a batch needs it. */
interface RunContext {
  definition: JobDefinition;
  values: Map<string, ParameterValue>;
  secretNames: string[];
  createdAt: Date;
  deadlineAt: Date;
  thresholdCount: number | null;
  thresholdPercent: number | null;
}

/** A device of the batch as a pass reads it. */
interface DeviceRow {
  id: string;
  deviceId: string;
  status: string;
  finished: boolean;
  currentStep: number | null;
  failedStatus: StepFailure | null;
  stepId: string | null;
  stepIndex: number | null;
  stepStatus: StepRunStatus | null;
  attempts: number | null;
  nextAt: Date | null;
  giveUpAt: Date | null;
}

function progressOf(row: DeviceRow): DeviceProgress {
  return {
    currentStep: row.currentStep,
    failedStatus: row.failedStatus,
    step:
      row.stepId === null
        ? null
        : { index: row.stepIndex!, status: row.stepStatus!, attempts: row.attempts!, nextAt: row.nextAt, giveUpAt: row.giveUpAt },
  };
}

/** A step attempt to start on a device this pass. */
interface Start {
  row: DeviceRow;
  stepIndex: number;
  attempt: number;
  /** Steps skipped on the way to it (an advance). */
  skipped: number[];
  failedStatus: StepFailure | null;
}

export function createJobStepActivities({ db, logger, events, rate }: JobStepActivityDeps) {
  const { pool } = db;

  const wake = (channel: Channel, payloads: readonly string[], log: Logger) => wakeListeners(pool, channel, payloads, log);

  async function loadRun(jobRunId: string): Promise<RunContext> {
    const { rows } = await pool.query<{
      definition: unknown;
      parameters: { values?: Record<string, ParameterValue>; secrets?: string[] } | null;
      created_at: Date;
      deadline_at: Date;
      failure_threshold_count: number | null;
      failure_threshold_percent: number | null;
    }>(
      // An approved run's pickup window starts at its approval (its deadline was moved on by as much).
      `SELECT jv.definition, jr.parameters, coalesce(jr.approval_decided_at, jr.created_at) AS created_at, jr.deadline_at,
              jr.failure_threshold_count, jr.failure_threshold_percent
         FROM job_runs jr JOIN job_versions jv ON jv.job_id = jr.job_id AND jv.version = jr.job_version WHERE jr.id = $1`,
      [jobRunId],
    );
    const row = rows[0];
    if (!row) throw ApplicationFailure.nonRetryable(`job run ${jobRunId} is not a run of a saved job`, 'JobRunNotFound');
    const parsed = jobDefinition.safeParse(row.definition);
    if (!parsed.success)
      throw ApplicationFailure.nonRetryable(`job run ${jobRunId}: its job version does not parse`, 'InvalidActivityInput');
    const given = row.parameters?.secrets ?? [];
    return {
      definition: parsed.data,
      values: new Map(Object.entries(row.parameters?.values ?? {})),
      // Only the secrets the run was given values for (an optional one may have none).
      secretNames: secretParameterNames(parsed.data).filter((name) => given.includes(name)),
      createdAt: row.created_at,
      deadlineAt: row.deadline_at,
      thresholdCount: row.failure_threshold_count,
      thresholdPercent: row.failure_threshold_percent,
    };
  }

  async function readDevices(jobRunId: string, deviceIds: string[]): Promise<DeviceRow[]> {
    const { rows } = await pool.query<DeviceRow>(
      `SELECT jrd.id, jrd.device_id AS "deviceId", jrd.status::text AS status, jrd.finished_at IS NOT NULL AS finished,
              jrd.current_step AS "currentStep", jrd.failed_status::text AS "failedStatus",
              s.id AS "stepId", s.step_index AS "stepIndex", s.status::text AS "stepStatus", s.attempts, s.next_at AS "nextAt",
              -- A command still waiting for its agent is given up on once it can no longer be picked up.
              CASE WHEN c.state = 'queued' THEN least(s.give_up_at, c.expires_at) ELSE s.give_up_at END AS "giveUpAt"
         FROM unnest($2::uuid[]) WITH ORDINALITY AS d(device_id, n)
         JOIN job_run_devices jrd ON jrd.job_run_id = $1 AND jrd.device_id = d.device_id
         LEFT JOIN job_run_steps s ON s.job_run_device_id = jrd.id AND s.step_index = jrd.current_step
         LEFT JOIN LATERAL (SELECT ac.state, ac.expires_at FROM agent_commands ac WHERE ac.job_run_step_id = s.id
                             ORDER BY ac.attempt DESC LIMIT 1) c ON s.status = 'running'
        ORDER BY d.n`,
      [jobRunId, deviceIds],
    );
    return rows;
  }

  /** Whether the run's failure threshold is reached (recording when it first was); its description. */
  async function thresholdReached(jobRunId: string, run: RunContext): Promise<string | undefined> {
    if (run.thresholdCount === null && run.thresholdPercent === null) return undefined;
    const { rows } = await pool.query<{ failed: number; total: number }>(
      `SELECT count(*) FILTER (WHERE status IN ('failed', 'timed_out', 'offline'))::int AS failed, count(*)::int AS total
         FROM job_run_devices WHERE job_run_id = $1`,
      [jobRunId],
    );
    const { failed, total } = rows[0]!;
    const byCount = run.thresholdCount !== null && failed >= run.thresholdCount;
    const byPercent = run.thresholdPercent !== null && failed * 100 >= run.thresholdPercent * total && failed > 0;
    if (!byCount && !byPercent) return undefined;
    await pool.query('UPDATE job_runs SET threshold_reached_at = coalesce(threshold_reached_at, now()) WHERE id = $1', [jobRunId]);
    return byCount ? `${run.thresholdCount} failed devices` : `${run.thresholdPercent} % of the devices failed`;
  }

  /** Ends targets that never started (first writer wins); returns how many. */
  async function closeUnstarted(targetIds: string[], status: TerminalDeviceStatus, message: string): Promise<number> {
    if (targetIds.length === 0) return 0;
    const { rowCount } = await pool.query(
      `UPDATE job_run_devices SET status = $2::"DeviceRunStatus", finished_at = now(), error_message = $3, updated_at = now()
        WHERE id = ANY($1::uuid[]) AND finished_at IS NULL AND current_step IS NULL`,
      [targetIds, status, message],
    );
    return rowCount ?? 0;
  }

  /** Ends overdue attempts' commands: one no agent picked up `offline`, one under way `timed_out` (its step takes it). */
  async function giveUp(stepIds: string[]): Promise<string[]> {
    if (stepIds.length === 0) return [];
    return withTransaction(pool, async (client) => {
      const { rows } = await client.query<{ id: string; state: string }>(
        `SELECT id, state::text FROM agent_commands WHERE job_run_step_id = ANY($1::uuid[]) AND state IN ('queued', 'delivered', 'running')
          ORDER BY id FOR UPDATE`,
        [stepIds],
      );
      const queued = rows.filter((r) => r.state === 'queued').map((r) => r.id);
      const started = rows.filter((r) => r.state !== 'queued').map((r) => r.id);
      const ended = [
        ...(await finishCommands(client, queued, 'offline', { error: MESSAGES.notPickedUp })),
        ...(await finishCommands(client, started, 'timed_out', { error: MESSAGES.overdue })),
      ];
      // A running step whose command had already ended (or never came) ends timed out itself.
      await client.query(
        `UPDATE job_run_steps SET status = 'timed_out', finished_at = now(), error_message = coalesce(error_message, $2), updated_at = now()
          WHERE id = ANY($1::uuid[]) AND status = 'running'`,
        [stepIds, MESSAGES.overdue],
      );
      return ended.filter((c) => c.state === 'timed_out').map((c) => c.deviceId);
    });
  }

  /** Wait steps whose time is over succeed. */
  async function completeWaits(stepIds: string[]): Promise<void> {
    if (stepIds.length === 0) return;
    await pool.query(
      `UPDATE job_run_steps SET status = 'succeeded', finished_at = now(), duration_ms = (extract(epoch FROM now() - started_at) * 1000)::int,
              exit_code = 0, updated_at = now()
        WHERE id = ANY($1::uuid[]) AND status = 'running'`,
      [stepIds],
    );
  }

  /** Failed attempts with retries left wait for their next one. */
  async function scheduleRetries(retries: { stepId: string; status: string; at: Date }[]): Promise<void> {
    if (retries.length === 0) return;
    await pool.query(
      `UPDATE job_run_steps s SET status = 'pending', next_at = r.at, updated_at = now()
         FROM unnest($1::uuid[], $2::text[], $3::timestamptz[]) AS r(id, status, at)
        WHERE s.id = r.id AND s.status::text = r.status`,
      [retries.map((r) => r.stepId), retries.map((r) => r.status), retries.map((r) => r.at)],
    );
  }

  /** Devices done with the job: their status, with the first failure's error, the last step's exit code and the steps' time. */
  async function finishDevices(
    done: { row: DeviceRow; skipped: number[]; status: string; failedStatus: StepFailure | null }[],
  ): Promise<void> {
    if (done.length === 0) return;
    await withTransaction(pool, async (client) => {
      await insertSkipped(
        client,
        done.flatMap((d) => d.skipped.map((index) => ({ targetId: d.row.id, index }))),
      );
      await client.query(
        `UPDATE job_run_devices jrd
            SET status = d.status::"DeviceRunStatus", failed_status = d.failed_status::"DeviceRunStatus", finished_at = now(),
                started_at = coalesce(jrd.started_at, now()), updated_at = now(),
                exit_code = (SELECT s.exit_code FROM job_run_steps s WHERE s.job_run_device_id = jrd.id AND s.status <> 'skipped'
                              ORDER BY s.step_index DESC LIMIT 1),
                error_message = (SELECT s.error_message FROM job_run_steps s WHERE s.job_run_device_id = jrd.id
                                  AND s.status::text = d.failed_status ORDER BY s.step_index LIMIT 1),
                duration_ms = (SELECT sum(s.duration_ms)::int FROM job_run_steps s WHERE s.job_run_device_id = jrd.id)
           FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[]) AS d(id, status, failed_status, current_step)
          WHERE jrd.id = d.id AND jrd.finished_at IS NULL AND jrd.current_step IS NOT DISTINCT FROM d.current_step`,
        [done.map((d) => d.row.id), done.map((d) => d.status), done.map((d) => d.failedStatus), done.map((d) => d.row.currentStep)],
      );
    });
  }

  /**
   * Starts step attempts: renders each device's command (its values, the run's secrets by reference), stores the
   * payloads, then in one transaction moves each device to its step (skipping the steps in between), writes the
   * step's row and queues its command. A device that changed since it was read (cancelled, finished) is left out.
   */
  async function startSteps(jobRunId: string, run: RunContext, starts: Start[], log: Logger): Promise<string[]> {
    if (starts.length === 0) return [];
    const now = new Date();
    const pickupMs = run.deadlineAt.getTime() - run.createdAt.getTime();
    const expiresAt = new Date(Math.max(run.deadlineAt.getTime(), now.getTime() + pickupMs));
    const needsFacts = run.definition.parameters.some((p) => p.type === 'device');
    const facts = needsFacts ? await deviceFacts(starts.map((s) => s.row.deviceId)) : new Map<string, DeviceFactsRow>();
    const files = await fileSizes(run.definition);

    const commands: { start: Start; payload: CommandPayload; giveUpAt: Date }[] = [];
    const waits: { start: Start; until: Date }[] = [];
    const unrunnable: { start: Start; problem: string }[] = [];
    for (const start of starts) {
      const step = run.definition.steps[start.stepIndex]!;
      if (step.kind === 'wait') {
        waits.push({ start, until: new Date(now.getTime() + step.seconds * 1000) });
        continue;
      }
      const f = facts.get(start.row.deviceId);
      const values = deviceValues(run.definition, run.values, {
        deviceId: start.row.deviceId,
        hostname: f?.hostname ?? '',
        osName: f?.os_name ?? null,
        osVersion: f?.os_version ?? null,
        architecture: f?.architecture ?? null,
      });
      const built = stepPayload(step, values, run.secretNames, step.kind === 'file_copy' ? files.get(step.fileSha256) : undefined);
      if (!built.ok) unrunnable.push({ start, problem: `The step cannot run on this device: ${built.problem}.` });
      else
        commands.push({
          start,
          payload: built.payload,
          giveUpAt: new Date(expiresAt.getTime() + step.timeoutSeconds * 1000 + STEP_RESULT_GRACE_MS),
        });
    }
    const shas = await storePayloads(
      pool,
      commands.map((c) => c.payload),
    );

    return withTransaction(pool, async (client) => {
      // Locked, so a cancellation of a device orders with us; only devices still where we read them move on.
      const { rows } = await client.query<{ id: string; current_step: number | null }>(
        `SELECT id, current_step FROM job_run_devices WHERE id = ANY($1::uuid[]) AND finished_at IS NULL ORDER BY id FOR UPDATE`,
        [starts.map((s) => s.row.id)],
      );
      const live = new Map(rows.map((r) => [r.id, r.current_step]));
      const current = (s: Start) => live.has(s.row.id) && live.get(s.row.id) === s.row.currentStep;
      const all = [...commands.map((c) => c.start), ...waits.map((w) => w.start), ...unrunnable.map((u) => u.start)].filter(current);
      await insertSkipped(
        client,
        all.flatMap((s) => s.skipped.map((index) => ({ targetId: s.row.id, index }))),
      );
      await client.query(
        `UPDATE job_run_devices jrd SET current_step = d.step, failed_status = d.failed_status::"DeviceRunStatus", updated_at = now()
           FROM unnest($1::uuid[], $2::int[], $3::text[]) AS d(id, step, failed_status) WHERE jrd.id = d.id`,
        [all.map((s) => s.row.id), all.map((s) => s.stepIndex), all.map((s) => s.failedStatus)],
      );
      // Each attempt's step row: a first attempt inserts it, a retry moves it from pending to running again.
      const stepRows = [
        ...commands
          .filter((c) => current(c.start))
          .map((c) => ({
            s: c.start,
            status: 'running',
            nextAt: null as Date | null,
            giveUpAt: c.giveUpAt as Date | null,
            error: null as string | null,
          })),
        ...waits
          .filter((w) => current(w.start))
          .map((w) => ({ s: w.start, status: 'running', nextAt: w.until, giveUpAt: null, error: null })),
        ...unrunnable
          .filter((u) => current(u.start))
          .map((u) => ({ s: u.start, status: 'failed', nextAt: null, giveUpAt: null, error: u.problem })),
      ];
      const { rows: stepIds } = await client.query<{ id: string; job_run_device_id: string; step_index: number }>(
        `INSERT INTO job_run_steps (id, job_run_device_id, step_index, status, attempts, next_at, give_up_at, error_message,
                                    started_at, finished_at)
         SELECT gen_random_uuid(), r.target_id, r.step_index, r.status::"StepRunStatus", r.attempt, r.next_at, r.give_up_at, r.error,
                CASE WHEN r.next_at IS NOT NULL THEN now() END, CASE WHEN r.status = 'failed' THEN now() END
           FROM unnest($1::uuid[], $2::int[], $3::text[], $4::int[], $5::timestamptz[], $6::timestamptz[], $7::text[])
                AS r(target_id, step_index, status, attempt, next_at, give_up_at, error)
         ON CONFLICT (job_run_device_id, step_index) DO UPDATE
            SET status = EXCLUDED.status, attempts = EXCLUDED.attempts, next_at = EXCLUDED.next_at, give_up_at = EXCLUDED.give_up_at,
                error_message = coalesce(EXCLUDED.error_message, job_run_steps.error_message),
                finished_at = EXCLUDED.finished_at, updated_at = now()
          WHERE job_run_steps.status = 'pending' AND job_run_steps.attempts = EXCLUDED.attempts - 1
         RETURNING id, job_run_device_id, step_index`,
        [
          stepRows.map((r) => r.s.row.id),
          stepRows.map((r) => r.s.stepIndex),
          stepRows.map((r) => r.status),
          stepRows.map((r) => r.s.attempt),
          stepRows.map((r) => r.nextAt),
          stepRows.map((r) => r.giveUpAt),
          stepRows.map((r) => r.error),
        ],
      );
      const stepIdOf = new Map(stepIds.map((r) => [`${r.job_run_device_id}/${r.step_index}`, r.id]));
      // Wait steps show the device running; commands do once their agent starts them.
      const waiting = waits.filter((w) => current(w.start)).map((w) => w.start.row.id);
      if (waiting.length > 0) {
        await client.query(
          `UPDATE job_run_devices SET status = 'running', started_at = coalesce(started_at, now()) WHERE id = ANY($1::uuid[])`,
          [waiting],
        );
      }
      const queue: StepCommandInput[] = [];
      commands.forEach((c, i) => {
        const stepId = stepIdOf.get(`${c.start.row.id}/${c.start.stepIndex}`);
        if (!stepId || !current(c.start)) return;
        queue.push({
          deviceId: c.start.row.deviceId,
          jobRunDeviceId: c.start.row.id,
          jobRunStepId: stepId,
          attempt: c.start.attempt,
          payloadSha256: shas[i]!,
          expiresAt,
        });
      });
      const queued = await queueStepCommands(client, queue);
      if (queued.length > 0) log.info({ queued: queued.length }, 'step commands queued for the agents');
      return queued.map((q) => q.deviceId);
    });
  }

  interface DeviceFactsRow {
    id: string;
    hostname: string;
    os_name: string | null;
    os_version: string | null;
    architecture: string | null;
  }

  async function deviceFacts(deviceIds: string[]): Promise<Map<string, DeviceFactsRow>> {
    const { rows } = await pool.query<DeviceFactsRow>(
      'SELECT id, hostname, os_name, os_version, architecture FROM devices WHERE id = ANY($1::uuid[])',
      [deviceIds],
    );
    return new Map(rows.map((r) => [r.id, r]));
  }

  async function fileSizes(def: JobDefinition): Promise<Map<string, number>> {
    const shas = [...new Set(def.steps.flatMap((s) => (s.kind === 'file_copy' ? [s.fileSha256] : [])))];
    if (shas.length === 0) return new Map();
    const { rows } = await pool.query<{ sha256: string; size: string }>('SELECT sha256, size FROM stored_files WHERE sha256 = ANY($1)', [
      shas,
    ]);
    return new Map(rows.map((r) => [r.sha256, Number(r.size)]));
  }

  return {
    /**
     * Where a run that needs approval stands, from the database (the API records the decision there, then signals
     * the workflow): approved → the run is queued, its deadline moved on by the time it waited (so devices get the
     * whole window), and the workflow gets the new bound for its batches; rejected → it ends `rejected`; no decision
     * yet → `pending`, or, once `expired` (the workflow's timer fired), it ends `expired`. A run that ends here runs
     * on no device: every target ends `cancelled` saying why. Idempotent.
     */
    async resolveApproval({ jobRunId, expired }: { jobRunId: string; expired: boolean }): Promise<ApprovalOutcome> {
      const log = logger.child({ activity: 'resolveApproval', jobRunId });
      const result = await withUnitOfWork(
        db,
        { actor: systemActor('workflow jobRun') },
        async ({ sql, audit, emit }): Promise<ApprovalOutcome> => {
          const { rows } = await sql.query<{
            status: string;
            approval_decision: string | null;
            email: string | null;
            definition: unknown;
            created_at: Date;
            deadline_at: Date;
            approval_decided_at: Date | null;
          }>(
            `SELECT jr.status::text, jr.approval_decision, u.email, jv.definition, jr.created_at, jr.deadline_at, jr.approval_decided_at
             FROM job_runs jr JOIN job_versions jv ON jv.job_id = jr.job_id AND jv.version = jr.job_version
             LEFT JOIN users u ON u.id = jr.approval_decided_by_id
            WHERE jr.id = $1 FOR UPDATE OF jr`,
            [jobRunId],
          );
          const run = rows[0];
          const parsed = jobDefinition.safeParse(run?.definition);
          if (!run || !parsed.success)
            throw ApplicationFailure.nonRetryable(`job run ${jobRunId} is not a run of a saved job`, 'JobRunNotFound');
          if (run.status === 'rejected' || run.status === 'expired') return { decision: run.status as 'rejected' | 'expired' };
          const giveUpAt = (deadlineAt: Date, startedAt: Date) => jobRunGiveUpAt(parsed.data, startedAt, deadlineAt).toISOString();
          if (run.status !== 'awaiting_approval')
            return { decision: 'approved' as const, giveUpAt: giveUpAt(run.deadline_at, run.approval_decided_at ?? run.created_at) };
          if (run.approval_decision === 'approved') {
            const moved = await sql.query<{ deadline_at: Date }>(
              `UPDATE job_runs SET status = 'queued', deadline_at = approval_decided_at + (deadline_at - created_at) WHERE id = $1 RETURNING deadline_at`,
              [jobRunId],
            );
            return { decision: 'approved' as const, giveUpAt: giveUpAt(moved.rows[0]!.deadline_at, run.approval_decided_at!) };
          }
          if (run.approval_decision !== 'rejected' && !expired) return { decision: 'pending' as const };
          const decision = run.approval_decision === 'rejected' ? ('rejected' as const) : ('expired' as const);
          const message =
            decision === 'rejected'
              ? `Not run: ${run.email ?? 'an operator'} rejected the run.`
              : 'Not run: nobody approved the run in time.';
          const closed = await sql.query(
            `UPDATE job_run_devices SET status = 'cancelled', finished_at = now(), error_message = $2, updated_at = now()
            WHERE job_run_id = $1 AND finished_at IS NULL`,
            [jobRunId, message],
          );
          await sql.query(`UPDATE job_runs SET status = $2::"JobRunStatus", finished_at = now() WHERE id = $1`, [jobRunId, decision]);
          await sql.query(`DELETE FROM secrets WHERE owner_type = $1 AND owner_id = $2`, [JOB_RUN_SECRET_OWNER, jobRunId]);
          const counts = { cancelled: closed.rowCount ?? 0 };
          await audit({ action: 'job_run.finish', targetType: 'job_run', targetId: jobRunId, details: { status: decision, counts } });
          await emit(domainEvent('job_run.finished', { jobRunId, status: decision, cancelled: false, counts, total: counts.cancelled }));
          return { decision };
        },
      );
      if (result.decision !== 'pending') await wake(channels.jobRunEvents, [jobRunId], log);
      log.info({ decision: result.decision }, 'approval resolved');
      return result;
    },

    /**
     * When a finished run of a job has a chain for how it ended (`onSuccess` for a run that succeeded,
     * `onFailure` for one that did not; none after a cancellation), records the chained job's run on the same
     * targets: the chained job's current version, the values of parameters of the same names (defaults for the
     * others; secrets are not passed on, so a chained job that needs one is not started), the same deadline,
     * concurrency and threshold. The workflow starts it as a child. Idempotent: the chained run is recorded once.
     */
    async startChainedRun({ jobRunId }: { jobRunId: string }): Promise<ChainedRun> {
      const { rows } = await pool.query<{
        status: string;
        finished_at: Date | null;
        parameters: { values?: Record<string, ParameterValue> } | null;
        created_at: Date;
        deadline_at: Date;
        max_concurrency: number | null;
        failure_threshold_count: number | null;
        failure_threshold_percent: number | null;
        created_by_id: string | null;
        definition: unknown;
      }>(
        `SELECT jr.status::text, jr.finished_at, jr.parameters, jr.created_at, jr.deadline_at, jr.max_concurrency,
                jr.failure_threshold_count, jr.failure_threshold_percent, jr.created_by_id, jv.definition
           FROM job_runs jr JOIN job_versions jv ON jv.job_id = jr.job_id AND jv.version = jr.job_version WHERE jr.id = $1`,
        [jobRunId],
      );
      const parent = rows[0];
      const parsed = jobDefinition.safeParse(parent?.definition);
      if (!parent?.finished_at || !parsed.success || parent.status === 'cancelled') return { note: null };
      const which = parent.status === 'succeeded' ? 'onSuccess' : 'onFailure';
      const name = parsed.data.chains[which];
      if (!name) return { note: null };
      const label = which === 'onSuccess' ? 'on success' : 'on failure';
      const log = logger.child({ activity: 'startChainedRun', jobRunId, chain: which });

      return withUnitOfWork(db, { actor: systemActor('workflow jobRun') }, async ({ sql, audit }) => {
        // One chained run per run, whatever retries: the parent's row orders concurrent attempts.
        await sql.query('SELECT 1 FROM job_runs WHERE id = $1 FOR UPDATE', [jobRunId]);
        const existing = await sql.query<{ id: string }>('SELECT id FROM job_runs WHERE chained_from_id = $1', [jobRunId]);
        if (existing.rows[0]) {
          const note = (await sql.query<{ chain_note: string | null }>('SELECT chain_note FROM job_runs WHERE id = $1', [jobRunId]))
            .rows[0]!;
          return { note: note.chain_note };
        }
        const note = async (text: string): Promise<ChainedRun> => {
          await sql.query('UPDATE job_runs SET chain_note = $2 WHERE id = $1', [jobRunId, text]);
          log.info({ note: text }, 'chain');
          return { note: text };
        };
        const job = await sql.query<{ id: string; version: number; definition: unknown; archived: boolean }>(
          `SELECT j.id, j.current_version AS version, jv.definition, j.archived_at IS NOT NULL AS archived FROM jobs j
             JOIN job_versions jv ON jv.job_id = j.id AND jv.version = j.current_version WHERE j.name = $1`,
          [name],
        );
        const chained = job.rows[0] && jobDefinition.safeParse(job.rows[0].definition);
        if (!chained?.success) return note(`Chain ${label}: there is no job named "${name}".`);
        if (job.rows[0]!.archived) return note(`Chain ${label}: "${name}" is archived and was not started.`);
        const passed = Object.fromEntries(
          Object.entries(parent.parameters?.values ?? {}).filter(([key]) =>
            chained.data.parameters.some((p) => p.name === key && p.type !== 'device' && p.type !== 'secret'),
          ),
        );
        const values = resolveRunValues(chained.data, passed);
        if (!values.ok) {
          const why = values.issues.map((i) => `${i.path} ${i.message}`).join('; ');
          return note(`Chain ${label}: "${name}" was not started: ${why}.`);
        }
        const targets = await sql.query<{ id: string; hostname: string }>(
          'SELECT device_id AS id, hostname FROM job_run_devices WHERE job_run_id = $1 ORDER BY hostname, device_id',
          [jobRunId],
        );
        const id = randomUUID();
        const threshold =
          parent.failure_threshold_count === null && parent.failure_threshold_percent === null
            ? null
            : { count: parent.failure_threshold_count ?? undefined, percent: parent.failure_threshold_percent ?? undefined };
        const start = await recordJobRun(sql, {
          id,
          job: { id: job.rows[0]!.id, version: job.rows[0]!.version, definition: chained.data },
          values: values.values,
          secretNames: [],
          targets: targets.rows,
          deadlineSeconds: Math.max(10, Math.round((parent.deadline_at.getTime() - parent.created_at.getTime()) / 1000)),
          maxConcurrency: parent.max_concurrency,
          failureThreshold: threshold,
          createdById: parent.created_by_id,
          targetSelection: { chainedFrom: jobRunId },
          chainedFromId: jobRunId,
        });
        await audit({
          action: 'job_run.create',
          targetType: 'job_run',
          targetId: id,
          details: {
            jobId: job.rows[0]!.id,
            jobVersion: job.rows[0]!.version,
            chainedFrom: jobRunId,
            chain: which,
            deviceCount: targets.rows.length,
          },
        });
        const result = await note(`Chain ${label}: started run ${id} of "${name}" (version ${job.rows[0]!.version}).`);
        return { ...result, run: start };
      });
    },

    /**
     * Runs the job's steps on a batch of the run's targets and returns how they ended (see the module comment).
     * Heartbeats `BatchProgress`; cancelling it stops the waiting, and the workflow records the cancellation.
     */
    async runJobOnTargets(input: RunJobOnTargetsInput): Promise<TargetsOutcome> {
      const invalid = invalidTargets(input);
      if (invalid) throw ApplicationFailure.nonRetryable(invalid, 'InvalidActivityInput');
      const { jobRunId, deviceIds, maxConcurrency } = input;
      const ctx = Context.current();
      const log = logger.child({ activity: 'runJobOnTargets', jobRunId, attempt: ctx.info.attempt });
      const run = await loadRun(jobRunId);
      const { steps } = run.definition;

      let woken = false;
      let onWake: (() => void) | undefined;
      const unsubscribe = events?.subscribe(channels.jobRunEvents, jobRunId, () => {
        woken = true;
        onWake?.();
      });
      // A finished device never changes again: each pass reads only the others (at 10,000 devices, most of a late pass).
      const finishedRows = new Map<string, DeviceRow>();
      try {
        for (;;) {
          const now = new Date();
          const rows = await readDevices(
            jobRunId,
            deviceIds.filter((id) => !finishedRows.has(id)),
          );
          for (const r of rows) if (r.finished) finishedRows.set(r.deviceId, r);
          const unfinished = rows.filter((r) => !r.finished);
          const finished = [...finishedRows.values()];
          const progress: BatchProgress = {
            targets: finished.length + unfinished.length,
            finished: finished.length,
            inFlight: unfinished.filter((r) => r.currentStep !== null).length,
          };
          ctx.heartbeat(progress);
          if (unfinished.length === 0) {
            log.info(progress, 'batch finished');
            return { counts: countStatuses(finished), total: finished.length };
          }

          let changed = false;
          let nextDue = now.getTime() + (events?.listening ? IDLE_READ_MS : POLL_MS);
          const due = (at: Date | null) => {
            if (at) nextDue = Math.min(nextDue, at.getTime());
          };
          const starts: Start[] = [];
          const overdue: string[] = [];
          const waitsDone: string[] = [];
          const retries: { stepId: string; status: string; at: Date }[] = [];
          const done: { row: DeviceRow; skipped: number[]; status: string; failedStatus: StepFailure | null }[] = [];
          const take = (row: DeviceRow, d: StepDecision) => {
            switch (d.kind) {
              case 'wait':
                due(d.until);
                break;
              case 'give_up':
                overdue.push(row.stepId!);
                break;
              case 'complete_wait':
                waitsDone.push(row.stepId!);
                break;
              case 'retry':
                retries.push({ stepId: row.stepId!, status: row.stepStatus!, at: d.at });
                due(d.at);
                break;
              case 'attempt':
                starts.push({ row, stepIndex: d.stepIndex, attempt: d.attempt, skipped: [], failedStatus: row.failedStatus });
                break;
              case 'advance':
                if (d.next === null) done.push({ row, skipped: d.skipped, status: d.status, failedStatus: d.failedStatus });
                else starts.push({ row, stepIndex: d.next, attempt: 1, skipped: d.skipped, failedStatus: d.failedStatus });
                break;
            }
          };
          for (const row of unfinished) if (row.currentStep !== null) take(row, decideStep(steps, progressOf(row), now));

          // Devices not started yet: before the deadline, within the concurrency limit, until the threshold.
          const waiting = unfinished.filter((r) => r.currentStep === null);
          if (waiting.length > 0) {
            if (now >= run.deadlineAt) {
              changed =
                (await closeUnstarted(
                  waiting.map((r) => r.id),
                  'timed_out',
                  MESSAGES.notDispatched,
                )) > 0 || changed;
            } else {
              const reached = await thresholdReached(jobRunId, run);
              if (reached) {
                changed =
                  (await closeUnstarted(
                    waiting.map((r) => r.id),
                    'cancelled',
                    MESSAGES.threshold(reached),
                  )) > 0 || changed;
              } else {
                const room = Math.max(0, maxConcurrency - progress.inFlight);
                for (const row of waiting.slice(0, room)) take(row, decideStep(steps, progressOf(row), now));
                due(run.deadlineAt);
              }
            }
          }

          // New commands go at the worker's dispatch rate; the rest are decided again next pass.
          const commandStarts = starts.filter((s) => steps[s.stepIndex]!.kind !== 'wait');
          const allowed = rate.take(commandStarts.length);
          const held = new Set(commandStarts.slice(allowed));
          if (held.size > 0) nextDue = Math.min(nextDue, now.getTime() + Math.max(50, rate.msUntilNext()));
          const toStart = starts.filter((s) => !held.has(s));

          const timedOutOn = await giveUp(overdue);
          await completeWaits(waitsDone);
          await scheduleRetries(retries);
          await finishDevices(done);
          const queuedOn = await startSteps(jobRunId, run, toStart, log);
          changed ||= overdue.length + waitsDone.length + retries.length + done.length + toStart.length > 0;
          if (queuedOn.length > 0) await wake(channels.agentCommands, [...new Set(queuedOn)], log);
          if (timedOutOn.length > 0) await wake(channels.agentCommands, [...new Set(timedOutOn)], log);
          if (changed) {
            await wake(channels.jobRunEvents, [jobRunId], log);
            // What was just written may decide more at once (a finished wait, a skipped step): look again soon.
            nextDue = Date.now();
          }

          const waitMs = Math.max(10, nextDue - Date.now() + 10);
          if (!woken || changed) {
            woken = false;
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
  };
}

async function insertSkipped(client: pg.PoolClient, skipped: { targetId: string; index: number }[]): Promise<void> {
  if (skipped.length === 0) return;
  await client.query(
    `INSERT INTO job_run_steps (id, job_run_device_id, step_index, status, finished_at)
     SELECT gen_random_uuid(), s.target_id, s.step_index, 'skipped', now() FROM unnest($1::uuid[], $2::int[]) AS s(target_id, step_index)
     ON CONFLICT (job_run_device_id, step_index) DO NOTHING`,
    [skipped.map((s) => s.targetId), skipped.map((s) => s.index)],
  );
}
