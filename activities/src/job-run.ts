/**
 * Activities of the `jobRun` workflow. `dispatchToAgent` hands a command to a device's agent and completes
 * asynchronously (the API completes it by task token with the agent's result, after writing the device's terminal
 * state); the others keep `job_runs` / `job_run_devices` in step with what the workflow decided. All of them are
 * idempotent: Temporal may run the bookkeeping ones more than once.
 */
import { ApplicationFailure, CompleteAsyncError, Context } from '@temporalio/activity';
import { finishCommands, lockOpenCommands, queueCommand, requestCancellation, storePayload } from '@opsconductor/commands';
import { withTransaction, type Database } from '@opsconductor/db';
import { domainEvent } from '@opsconductor/domain-events';
import { systemActor, withUnitOfWork } from '@opsconductor/unit-of-work';
import { channels, notify, type Channel } from '@opsconductor/db/notify';
import type pg from 'pg';
import type { Logger } from 'pino';
import { jobRunOutcome } from './job-run-outcome.ts';
import { withDatabaseRetry } from './pg-retry.ts';
import type {
  DeviceRunStatus,
  DeviceStatusCounts,
  DispatchResult,
  DispatchToAgentInput,
  FinalizeJobRunInput,
  FinalJobRunStatus,
  JobRunSummary,
  MarkJobRunRunningInput,
  RecordDeviceOutcomeInput,
  RecordDeviceOutcomeResult,
  TerminalDeviceStatus,
  WithdrawUndeliveredCommandInput,
} from './types.ts';

/** How long `dispatchToAgent` keeps retrying a database that is briefly unavailable (its one attempt must not fail). */
const DISPATCH_DB_RETRY_MS = 30_000;

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
}

export function createJobRunActivities({ db, logger }: JobRunActivityDeps) {
  const { pool } = db;

  /** Wake-ups are best effort: listeners also poll, so a failed NOTIFY only delays them. */
  async function wake(channel: Channel, payload: string, log: Logger): Promise<void> {
    try {
      await notify(pool, channel, payload);
    } catch (err) {
      log.warn({ err, channel }, 'NOTIFY failed; listeners will catch up on their next poll');
    }
  }

  return {
    /**
     * Queues the command for the device's agent (one `agent_commands` row per attempt, holding this attempt's task
     * token and a reference to the stored payload), wakes the device's long-poll and leaves the activity open: the API
     * completes it with the command's outcome. A target that already has a terminal state is not dispatched again.
     */
    async dispatchToAgent(input: DispatchToAgentInput): Promise<DispatchResult> {
      const { jobRunId, deviceId, command, payload, expiresAt } = input;
      const info = Context.current().info;
      const log = logger.child({ activity: 'dispatchToAgent', jobRunId, deviceId, attempt: info.attempt });
      const byReference = typeof command?.payloadSha256 === 'string';
      if ((!byReference && payload?.kind !== 'shell') || Number.isNaN(Date.parse(expiresAt))) {
        throw ApplicationFailure.nonRetryable(
          'dispatchToAgent needs a command (or a shell payload) and an ISO expiresAt',
          errorTypes.invalidInput,
        );
      }
      const taskToken = Buffer.from(info.taskToken);

      const queued = await withDatabaseRetry(
        () =>
          withTransaction(pool, async (client) => {
            // The row lock orders us with recordDeviceOutcome: either it sees our command (and ends it) or we see
            // its terminal state (and dispatch nothing).
            const target = await client.query<TargetRow>(
              `SELECT id, status, finished_at, exit_code, error_message
                 FROM job_run_devices WHERE job_run_id = $1 AND device_id = $2 FOR UPDATE`,
              [jobRunId, deviceId],
            );
            const row = target.rows[0];
            if (!row) return { kind: 'missing' as const };
            if (row.finished_at) return { kind: 'finished' as const, row };
            // Runs started before commands went by reference carry the payload: store it (once) here.
            const payloadSha256 = byReference ? command!.payloadSha256 : await storePayload(client, payload!);
            const queuedCommand = await queueCommand(client, {
              deviceId,
              owner: { jobRunDeviceId: row.id },
              attempt: info.attempt,
              payloadSha256,
              taskToken,
              expiresAt: new Date(expiresAt),
            });
            if (!queuedCommand) return { kind: 'unknown_payload' as const, payloadSha256 };
            return { kind: 'queued' as const, commandId: queuedCommand.id, inserted: queuedCommand.inserted };
          }),
        {
          maxElapsedMs: DISPATCH_DB_RETRY_MS,
          onRetry: (err, attempt) => log.warn({ err, retry: attempt }, 'database unavailable; retrying'),
        },
      );

      if (queued.kind === 'unknown_payload') {
        throw ApplicationFailure.nonRetryable(`no stored command payload ${queued.payloadSha256}`, errorTypes.invalidInput);
      }
      if (queued.kind === 'missing') {
        throw ApplicationFailure.nonRetryable(`device ${deviceId} is not a target of job run ${jobRunId}`, errorTypes.targetNotFound);
      }
      if (queued.kind === 'finished') {
        log.info({ status: queued.row.status }, 'target already finished; not dispatching');
        return {
          status: queued.row.status as TerminalDeviceStatus,
          exitCode: queued.row.exit_code === null ? null : Number(queued.row.exit_code),
          ...(queued.row.error_message ? { error: queued.row.error_message } : {}),
          alreadyFinished: true,
        };
      }
      // NOTIFY after the commit (it takes a global lock at commit time) and never inside the transaction.
      await wake(channels.agentCommands, deviceId, log);
      log.info({ commandId: queued.commandId, inserted: queued.inserted }, 'command queued for the agent');
      throw new CompleteAsyncError();
    },

    /**
     * Writes a terminal state the workflow decided (timed out, cancelled, failed to dispatch). The first terminal
     * writer wins, so an agent's result that arrived first is kept. Undelivered commands of the target are expired
     * so that a late agent never starts them; on cancellation, delivered ones are flagged for the agent to kill.
     */
    async recordDeviceOutcome(input: RecordDeviceOutcomeInput): Promise<RecordDeviceOutcomeResult> {
      const { jobRunId, deviceId, outcome } = input;
      if (!['timed_out', 'cancelled', 'failed'].includes(outcome)) {
        throw ApplicationFailure.nonRetryable(`unknown outcome ${String(outcome)}`, errorTypes.invalidInput);
      }
      const log = logger.child({ activity: 'recordDeviceOutcome', jobRunId, deviceId, outcome });
      const result = await withTransaction(pool, async (client) => {
        // Commands before their target, the order in which the API locks them (a result: command, then target).
        const open = await lockOpenCommands(client, { jobRunDeviceIds: await targetIdsOf(client, jobRunId, [deviceId]) });
        const target = await client.query<TargetRow>(
          `SELECT id, status, finished_at, exit_code, error_message
             FROM job_run_devices WHERE job_run_id = $1 AND device_id = $2 FOR UPDATE`,
          [jobRunId, deviceId],
        );
        const row = target.rows[0];
        if (!row) return undefined;

        let status: TerminalDeviceStatus = outcome;
        let message = input.message;
        if (outcome === 'timed_out') {
          const commands = await client.query<{ total: number; delivered: number }>(
            `SELECT count(*)::int AS total, count(delivered_at)::int AS delivered
               FROM agent_commands WHERE job_run_device_id = $1`,
            [row.id],
          );
          const { total, delivered } = commands.rows[0]!;
          if (total > 0 && delivered === 0) {
            status = 'offline';
            message ??= 'The device did not pick up the command before the deadline.';
          } else if (total === 0) {
            // Never dispatched (the deadline passed while the device waited for a slot): not the device's fault.
            message ??= 'The deadline passed before the command could be dispatched.';
          } else {
            message ??= 'No result arrived before the deadline plus the command timeout.';
          }
        } else if (outcome === 'cancelled') {
          message ??= 'The job run was cancelled.';
        } else {
          message ??= 'The command could not be dispatched.';
        }
        message = truncate(message, 4000);

        let applied = false;
        if (!row.finished_at) {
          const updated = await client.query(
            `UPDATE job_run_devices
                SET status = $2::"DeviceRunStatus", finished_at = now(), error_message = $3, updated_at = now()
              WHERE id = $1 AND finished_at IS NULL`,
            [row.id, status, message],
          );
          applied = updated.rowCount === 1;
        }
        // Nobody waits for the commands any more. A cancellation is for the agent to carry out (it is told, and
        // confirms); otherwise the server ends them now, and an agent still running one is told to stop.
        let flaggedDevices: string[] = [];
        if (outcome === 'cancelled') {
          flaggedDevices = (await requestCancellation(client, open, message)).flaggedDevices;
        } else {
          const ended = await finishCommands(
            client,
            open.map((c) => c.id),
            outcome === 'timed_out' ? { queued: 'offline', delivered: 'timed_out', running: 'timed_out' } : 'failed',
            { error: message },
          );
          flaggedDevices = ended.filter((c) => c.state !== 'offline').map((c) => c.deviceId);
        }
        return {
          status: applied ? status : (row.status as TerminalDeviceStatus),
          applied,
          flaggedDevices,
        };
      });
      if (!result) {
        throw ApplicationFailure.nonRetryable(`device ${deviceId} is not a target of job run ${jobRunId}`, errorTypes.targetNotFound);
      }
      if (result.applied) await wake(channels.jobRunEvents, jobRunId, log);
      if (result.flaggedDevices.length > 0) await wake(channels.agentCommands, deviceId, log);
      log.info({ status: result.status, applied: result.applied }, 'device outcome recorded');
      return { status: result.status, applied: result.applied };
    },

    /**
     * At the run's deadline: if no agent ever picked up a command for this target, end its commands `offline` (the
     * target takes that outcome) and report `withdrawn` (the workflow then records the device `offline` at once instead
     * of waiting deadline + timeout).
     * A command delivered before the deadline is left alone: the agent may still be running it.
     */
    async withdrawUndeliveredCommand({ jobRunId, deviceId }: WithdrawUndeliveredCommandInput): Promise<{ withdrawn: boolean }> {
      const result = await withTransaction(pool, async (client) => {
        // Locking the command rows orders us with the API's claim (which also locks them); and a command whose
        // expires_at (the deadline) has passed can no longer be claimed at all.
        const commands = await client.query<{ id: string; delivered_at: Date | null }>(
          `SELECT ac.id, ac.delivered_at FROM agent_commands ac JOIN job_run_devices jrd ON jrd.id = ac.job_run_device_id
            WHERE jrd.job_run_id = $1 AND jrd.device_id = $2 FOR UPDATE OF ac`,
          [jobRunId, deviceId],
        );
        if (commands.rows.some((c) => c.delivered_at !== null)) return { withdrawn: false };
        await finishCommands(
          client,
          commands.rows.map((c) => c.id),
          { queued: 'offline' },
          { error: 'The device did not pick up the command before the deadline.' },
        );
        return { withdrawn: true };
      });
      // The target took its command's outcome (offline): its run's page shows it now.
      if (result.withdrawn)
        await wake(channels.jobRunEvents, jobRunId, logger.child({ activity: 'withdrawUndeliveredCommand', jobRunId, deviceId }));
      return result;
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
        await wake(channels.jobRunEvents, jobRunId, log);
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
          `UPDATE job_run_devices
              SET status = $2::"DeviceRunStatus", finished_at = now(), error_message = $3, updated_at = now()
            WHERE job_run_id = $1 AND finished_at IS NULL
        RETURNING id`,
          [jobRunId, sweepStatus, message],
        );
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
      if (result.changed) await wake(channels.jobRunEvents, jobRunId, log);
      for (const deviceId of result.flagged) await wake(channels.agentCommands, deviceId, log);
      log.info({ status: result.summary.status, counts: result.summary.counts }, 'job run finalized');
      return result.summary;
    },
  };
}

interface TargetRow {
  id: string;
  status: DeviceRunStatus;
  finished_at: Date | null;
  /** bigint: node-postgres returns int8 as a decimal string. */
  exit_code: string | null;
  error_message: string | null;
}

/** The IDs of the run's targets for these devices (not locked). */
async function targetIdsOf(client: pg.PoolClient, jobRunId: string, deviceIds: string[]): Promise<string[]> {
  const { rows } = await client.query<{ id: string }>(
    'SELECT id FROM job_run_devices WHERE job_run_id = $1 AND device_id = ANY($2::uuid[])',
    [jobRunId, deviceIds],
  );
  return rows.map((r) => r.id);
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
