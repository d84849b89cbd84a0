/**
 * The server side of the agent command channel: hand out commands (long-poll), take output and
 * heartbeats (each one heartbeats the Temporal activity), and complete the activity with the result.
 * A result is applied once; later copies are counted, never re-applied.
 */
import { ActivityCancelledError, ActivityNotFoundError } from '@temporalio/client';
import {
  MAX_OUTPUT_CHUNK_BYTES, OUTPUT_RETENTION_BYTES,
  type AgentCommand, type CommandResult, type OutputRequest, type PollResponse,
} from '@opsconductor/contracts/agent-protocol';
import { withTransaction } from '@opsconductor/db';
import { channels } from '@opsconductor/db/notify';
import type { ApiDeps, AuthDevice } from '../context.ts';
import { armWake } from '../lib/events.ts';
import { ApiError } from '../lib/problem.ts';
import { withTemporalDeadline } from '../lib/temporal.ts';
import { recordCommandFinished } from './command-events.ts';

/** A delivered command that was never started is handed out again after this long. */
const REDELIVER_AFTER_SECONDS = 60;
/** Temporal heartbeats per command are sent at most this often. */
const ACTIVITY_HEARTBEAT_EVERY_MS = 5_000;
/** Live-output wake-ups per run are coalesced to at most one per this many ms. */
const OUTPUT_EVENT_EVERY_MS = 100;

interface CommandRow {
  id: string;
  job_run_device_id: string;
  job_run_id: string;
  task_token: Buffer;
  cancel_requested: boolean;
  status: string;
  activity_closed_at: Date | null;
}

export class AgentCommandService {
  private readonly lastHeartbeat = new Map<string, number>();
  private readonly outputEventTimers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly deps: ApiDeps) {}

  private async claim(deviceId: string): Promise<AgentCommand[]> {
    const { rows } = await this.deps.db.pool.query<{ id: string; payload: AgentCommand['payload']; expires_at: Date }>(
      `UPDATE agent_commands SET status = 'delivered', delivered_at = now()
        WHERE id IN (
          SELECT id FROM agent_commands
           WHERE device_id = $1 AND expires_at > now() AND NOT cancel_requested
             AND (status = 'pending' OR (status = 'delivered' AND delivered_at < now() - make_interval(secs => $2)))
           ORDER BY created_at LIMIT 20 FOR UPDATE SKIP LOCKED)
    RETURNING id, payload, expires_at`,
      [deviceId, REDELIVER_AFTER_SECONDS],
    );
    return rows.map((r) => ({ id: r.id, payload: r.payload, expiresAt: r.expires_at.toISOString() }));
  }

  private async cancellations(deviceId: string): Promise<string[]> {
    const { rows } = await this.deps.db.pool.query<{ id: string }>(
      `SELECT id FROM agent_commands WHERE device_id = $1 AND cancel_requested AND status IN ('delivered', 'running')`,
      [deviceId],
    );
    return rows.map((r) => r.id);
  }

  /** Returns as soon as there is something for the device, or after `waitSeconds` with nothing. */
  async poll(device: AuthDevice, waitSeconds: number, signal: AbortSignal): Promise<PollResponse> {
    const until = Date.now() + waitSeconds * 1000;
    this.deps.metrics.agentPolls.inc();
    try {
      for (;;) {
        const wake = armWake(this.deps.events, channels.agentCommands, device.id);
        try {
          const [commands, cancel] = await Promise.all([this.claim(device.id), this.cancellations(device.id)]);
          const remaining = until - Date.now();
          if (commands.length || cancel.length || remaining <= 0 || signal.aborted) return { commands, cancel };
          await wake.wait(remaining, signal);
        } finally {
          wake.dispose();
        }
      }
    } finally {
      this.deps.metrics.agentPolls.dec();
    }
  }

  private async load(device: AuthDevice, commandId: string): Promise<CommandRow> {
    const { rows } = await this.deps.db.pool.query<CommandRow>(
      `SELECT ac.id, ac.job_run_device_id, jrd.job_run_id, ac.task_token, ac.cancel_requested, ac.status, ac.activity_closed_at
         FROM agent_commands ac JOIN job_run_devices jrd ON jrd.id = ac.job_run_device_id
        WHERE ac.id = $1 AND ac.device_id = $2`,
      [commandId, device.id],
    );
    // Another device's command is indistinguishable from a missing one.
    if (!rows[0]) throw new ApiError(404, 'not_found', 'No such command for this device.');
    return rows[0];
  }

  async start(device: AuthDevice, commandId: string, startedAt: Date): Promise<{ cancelRequested: boolean }> {
    const cmd = await this.load(device, commandId);
    const { pool } = this.deps.db;
    await pool.query(`UPDATE agent_commands SET status = 'running', started_at = COALESCE(started_at, $2) WHERE id = $1 AND status IN ('pending', 'delivered')`, [commandId, startedAt]);
    await pool.query(
      `UPDATE job_run_devices SET status = 'running', started_at = COALESCE(started_at, $2), updated_at = now() WHERE id = $1 AND finished_at IS NULL`,
      [cmd.job_run_device_id, startedAt],
    );
    this.deps.events.publish(channels.jobRunEvents, cmd.job_run_id);
    return { cancelRequested: await this.heartbeatActivity(cmd, true) };
  }

  /**
   * Stores a chunk as bytes, idempotently by (command, stream, seq). Output for a target that has already
   * finished is refused with 409 (a finished run's record does not change); a retried copy of a chunk that
   * was stored before the finish is still answered 200.
   */
  async output(device: AuthDevice, commandId: string, chunk: OutputRequest): Promise<{ cancelRequested: boolean }> {
    const data = Buffer.from(chunk.data, chunk.encoding === 'base64' ? 'base64' : 'utf8');
    if (data.length > MAX_OUTPUT_CHUNK_BYTES) throw new ApiError(413, 'payload_too_large', `An output chunk may hold at most ${MAX_OUTPUT_CHUNK_BYTES} bytes.`);
    const cmd = await this.load(device, commandId);
    const { pool } = this.deps.db;
    const inserted = await pool.query(
      `INSERT INTO output_chunks (job_run_device_id, command_id, stream, seq, data, bytes)
       SELECT $1, $2, $3, $4, $5, $6 FROM job_run_devices WHERE id = $1 AND finished_at IS NULL
       ON CONFLICT (command_id, stream, seq) DO NOTHING RETURNING id`,
      [cmd.job_run_device_id, commandId, chunk.stream, chunk.seq, data, data.length],
    );
    if (inserted.rowCount) {
      this.deps.metrics.outputBytes.inc(data.length);
      const column = chunk.stream === 'stdout' ? 'stdout_bytes' : 'stderr_bytes';
      const { rows } = await pool.query<{ total: string }>(
        `UPDATE job_run_devices SET ${column} = ${column} + $2, updated_at = now() WHERE id = $1 RETURNING ${column}::text AS total`,
        [cmd.job_run_device_id, data.length],
      );
      if (Number(rows[0]?.total ?? 0) > OUTPUT_RETENTION_BYTES) await this.trimOutput(cmd.job_run_device_id, chunk.stream);
      this.outputEvent(cmd.job_run_id);
    } else {
      const stored = await pool.query('SELECT 1 FROM output_chunks WHERE command_id = $1 AND stream = $2 AND seq = $3', [commandId, chunk.stream, chunk.seq]);
      if (!stored.rowCount) throw new ApiError(409, 'output_after_finish');
    }
    return { cancelRequested: await this.heartbeatActivity(cmd, false) };
  }

  /** Keeps only the newest OUTPUT_RETENTION_BYTES of a stream: whole older chunks go, the boundary one is cut. */
  private async trimOutput(jobRunDeviceId: string, stream: 'stdout' | 'stderr'): Promise<void> {
    const { pool } = this.deps.db;
    await pool.query(
      `DELETE FROM output_chunks WHERE id IN (
         SELECT id FROM (SELECT id, bytes, sum(bytes) OVER (ORDER BY id DESC) AS upto FROM output_chunks WHERE job_run_device_id = $1 AND stream = $2) t
          WHERE t.upto - t.bytes >= $3)`,
      [jobRunDeviceId, stream, OUTPUT_RETENTION_BYTES],
    );
    // The oldest chunk by its bigint id (an `id::text AS id` column would make ORDER BY id sort "10" before "9").
    const { rows } = await pool.query<{ chunk_id: string; data: Buffer; total: string }>(
      `SELECT id::text AS chunk_id, data, (SELECT sum(bytes) FROM output_chunks WHERE job_run_device_id = $1 AND stream = $2)::text AS total
         FROM output_chunks WHERE job_run_device_id = $1 AND stream = $2 ORDER BY id LIMIT 1`,
      [jobRunDeviceId, stream],
    );
    const first = rows[0];
    const excess = first ? Number(first.total) - OUTPUT_RETENTION_BYTES : 0;
    if (first && excess > 0) {
      let buf = first.data.subarray(excess);
      // Do not start inside a UTF-8 character: skip at most the 3 continuation bytes one can have.
      let skip = 0;
      while (skip < 3 && skip < buf.length && (buf[skip]! & 0xc0) === 0x80) skip++;
      buf = buf.subarray(skip);
      await pool.query('UPDATE output_chunks SET data = $2, bytes = $3 WHERE id = $1', [first.chunk_id, buf, buf.length]);
    }
    await pool.query(`UPDATE job_run_devices SET ${stream}_truncated = true, updated_at = now() WHERE id = $1`, [jobRunDeviceId]);
  }

  async heartbeat(device: AuthDevice, commandId: string): Promise<{ cancelRequested: boolean }> {
    return { cancelRequested: await this.heartbeatActivity(await this.load(device, commandId), true) };
  }

  /** Heartbeats the activity (throttled) and tells whether the agent must stop the command. */
  private async heartbeatActivity(cmd: CommandRow, force: boolean): Promise<boolean> {
    if (cmd.cancel_requested) return true;
    if (cmd.activity_closed_at) return false;
    const now = Date.now();
    if (!force && now - (this.lastHeartbeat.get(cmd.id) ?? 0) < ACTIVITY_HEARTBEAT_EVERY_MS) return false;
    this.lastHeartbeat.set(cmd.id, now);
    try {
      await withTemporalDeadline(this.deps.temporal, () => this.deps.temporal.activity.heartbeat(cmd.task_token));
      return false;
    } catch (err) {
      if (err instanceof ActivityCancelledError || err instanceof ActivityNotFoundError) {
        // Cancelled, or nobody waits any more (the run's deadline passed): stop the process.
        await this.deps.db.pool.query('UPDATE agent_commands SET cancel_requested = true WHERE id = $1', [cmd.id]);
        return true;
      }
      this.deps.logger.warn({ err, commandId: cmd.id }, 'activity heartbeat failed');
      return false;
    }
  }

  async result(device: AuthDevice, commandId: string, result: CommandResult): Promise<{ accepted: boolean; duplicate: boolean }> {
    await this.load(device, commandId);
    const { cmd, applied, duplicate } = await withTransaction(this.deps.db.pool, async (client) => {
      const { rows } = await client.query<CommandRow & { result: CommandResult | null }>(
        `SELECT ac.id, ac.job_run_device_id, jrd.job_run_id, ac.task_token, ac.cancel_requested, ac.status, ac.activity_closed_at, ac.result
           FROM agent_commands ac JOIN job_run_devices jrd ON jrd.id = ac.job_run_device_id
          WHERE ac.id = $1 AND ac.device_id = $2 FOR UPDATE OF ac`,
        [commandId, device.id],
      );
      const row = rows[0];
      // Gone since load(): the device (and with it its commands) was deleted meanwhile.
      if (!row) throw new ApiError(404, 'not_found', 'No such command for this device.');
      if (row.result !== null) {
        await client.query('UPDATE agent_commands SET result_count = result_count + 1, last_result_at = now() WHERE id = $1', [commandId]);
        return { cmd: row, applied: row.result, duplicate: true };
      }
      await client.query(
        `UPDATE agent_commands SET result = $2, status = 'completed', completed_at = now(), result_count = 1, last_result_at = now(),
                started_at = COALESCE(started_at, $3) WHERE id = $1`,
        [commandId, JSON.stringify(result), result.startedAt],
      );
      // First terminal writer wins: a device already marked timed out or cancelled by the workflow keeps that.
      await client.query(
        `UPDATE job_run_devices SET status = $2, exit_code = $3, error_message = $4, duration_ms = $5, finished_at = now(),
                started_at = COALESCE(started_at, $6), updated_at = now()
          WHERE id = $1 AND finished_at IS NULL`,
        [row.job_run_device_id, result.status, result.exitCode, result.error ?? null, result.durationMs, result.startedAt],
      );
      await recordCommandFinished(client, device, { id: commandId, jobRunId: row.job_run_id }, result);
      return { cmd: row, applied: result, duplicate: false };
    });
    this.deps.metrics.agentResults.inc({ status: result.status, duplicate: String(duplicate) });
    this.lastHeartbeat.delete(commandId);
    if (!duplicate) this.deps.events.publish(channels.jobRunEvents, cmd.job_run_id);
    if (!cmd.activity_closed_at) await this.closeActivity(cmd, applied);
    return { accepted: true, duplicate };
  }

  /** Completes the activity with the stored result. Throws 503 when Temporal is unreachable so the agent retries. */
  private async closeActivity(cmd: CommandRow, result: CommandResult): Promise<void> {
    try {
      await withTemporalDeadline(this.deps.temporal, () => this.deps.temporal.activity.complete(cmd.task_token, result));
    } catch (err) {
      if (!(err instanceof ActivityNotFoundError)) {
        this.deps.logger.warn({ err, commandId: cmd.id }, 'completing the activity failed; the agent will retry');
        throw new ApiError(503, 'temporal_unavailable');
      }
      // Already closed: timed out, cancelled, or completed by an earlier copy of this result.
    }
    await this.deps.db.pool.query('UPDATE agent_commands SET activity_closed_at = now() WHERE id = $1 AND activity_closed_at IS NULL', [cmd.id]);
  }

  private outputEvent(jobRunId: string) {
    if (this.outputEventTimers.has(jobRunId)) return;
    this.outputEventTimers.set(jobRunId, setTimeout(() => {
      this.outputEventTimers.delete(jobRunId);
      this.deps.events.publish(channels.jobRunEvents, jobRunId);
    }, OUTPUT_EVENT_EVERY_MS));
  }
}
