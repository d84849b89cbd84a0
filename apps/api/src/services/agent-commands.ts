/**
 * The server side of the agent command channel: hand out commands (long-poll), take output and
 * heartbeats (each one heartbeats the Temporal activity), and complete the activity with the result.
 * Every state change goes through packages/commands; this module adds what needs the API process:
 * the wake-up index (an idle poll costs no query), Temporal, and wake-ups of run pages.
 */
import { ActivityCancelledError, ActivityNotFoundError } from '@temporalio/client';
import {
  MAX_OUTPUT_CHUNK_BYTES,
  OUTPUT_RETENTION_BYTES,
  type AgentCommand,
  type CommandResult,
  type OutputRequest,
  type PollResponse,
} from '@opsconductor/contracts/agent-protocol';
import {
  claimCommands,
  dispatchOutcomeOf,
  flagCancellation,
  loadDeviceCommand,
  markActivityClosed,
  mustStop,
  recordAgentResult,
  startCommand,
  type CommandRow,
  type FinishedCommand,
} from '@opsconductor/commands';
import { channels } from '@opsconductor/db/notify';
import { wakeDispatchers } from '@opsconductor/domain-events';
import { deviceActor } from '@opsconductor/unit-of-work';
import type { ApiDeps, AuthDevice } from '../context.ts';
import { armWake } from '../lib/events.ts';
import { ApiError } from '../lib/problem.ts';
import { withTemporalDeadline } from '../lib/temporal.ts';

/** A delivered command that was never started is handed out again after this long. */
const REDELIVER_AFTER_SECONDS = 60;
/** A cancellation is listed in polls this long; unconfirmed by then, the command ends `cancelled`. */
export const CANCEL_TTL_SECONDS = 120;
/** Commands handed out per poll. */
const COMMANDS_PER_POLL = 20;
/** Temporal heartbeats per command are sent at most this often. */
const ACTIVITY_HEARTBEAT_EVERY_MS = 5_000;
/** Live-output wake-ups per run are coalesced to at most one per this many ms. */
const OUTPUT_EVENT_EVERY_MS = 100;

export class AgentCommandService {
  private readonly lastHeartbeat = new Map<string, number>();
  private readonly outputEventTimers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly deps: ApiDeps) {}

  /**
   * Returns as soon as there is something for the device, or after `waitSeconds` with nothing. Looks in
   * the database only when the device may have work (lib/command-wakeups.ts); an idle poll just waits.
   */
  async poll(device: AuthDevice, waitSeconds: number, signal: AbortSignal): Promise<PollResponse> {
    const { wakeups } = this.deps;
    const until = Date.now() + waitSeconds * 1000;
    const leave = this.deps.admission.enterPoll();
    this.deps.metrics.agentPolls.inc();
    try {
      for (;;) {
        // Armed before the read, so a notification that lands while we read is not missed.
        const wake = armWake(this.deps.events, channels.agentCommands, device.id);
        try {
          if (wakeups.mayHaveWork(device.id)) {
            const ticket = wakeups.ticket();
            const claim = await claimCommands(this.deps.agentPool, device.id, {
              limit: COMMANDS_PER_POLL,
              redeliverAfterSeconds: REDELIVER_AFTER_SECONDS,
              cancelTtlSeconds: CANCEL_TTL_SECONDS,
            });
            if (claim.finished.length > 0) await this.afterFinished(claim.finished, true);
            if (claim.commands.length > 0 || claim.cancel.length > 0) {
              const commands: AgentCommand[] = claim.commands.map((c) => ({
                id: c.id,
                attempt: c.attempt,
                expiresAt: c.expiresAt.toISOString(),
                payload: c.payload,
              }));
              return { commands, cancel: claim.cancel };
            }
            wakeups.markIdle(device.id, ticket, claim.recheckAt);
          }
          const remaining = until - Date.now();
          if (remaining <= 0 || signal.aborted) return { commands: [], cancel: [] };
          const recheck = wakeups.mayHaveWork(device.id) ? remaining : wakeups.msUntilRecheck(device.id);
          await wake.wait(Math.min(remaining, Math.max(1, recheck)), signal);
        } finally {
          wake.dispose();
        }
      }
    } finally {
      this.deps.metrics.agentPolls.dec();
      leave();
    }
  }

  private async load(device: AuthDevice, commandId: string): Promise<CommandRow> {
    const row = await loadDeviceCommand(this.deps.agentPool, device.id, commandId);
    // Another device's command is indistinguishable from a missing one.
    if (!row) throw new ApiError(404, 'not_found', 'No such command for this device.');
    return row;
  }

  /** The agent is about to run the command; `cancelRequested` tells it not to (cancelled, or already over). */
  async start(device: AuthDevice, commandId: string, startedAt: Date): Promise<{ cancelRequested: boolean }> {
    const row = await startCommand(this.deps.agentPool, device.id, commandId, startedAt);
    if (!row) throw new ApiError(404, 'not_found', 'No such command for this device.');
    if (row.jobRunId) this.deps.events.publish(channels.jobRunEvents, row.jobRunId);
    return { cancelRequested: await this.heartbeatActivity(row, true) };
  }

  /**
   * Stores a chunk as bytes, idempotently by (command, stream, seq). Output for a command that has
   * already ended is refused with 409 (its record does not change); a retried copy of a chunk that was
   * stored before the end is still answered 200.
   */
  async output(device: AuthDevice, commandId: string, chunk: OutputRequest): Promise<{ cancelRequested: boolean }> {
    const data = Buffer.from(chunk.data, chunk.encoding === 'base64' ? 'base64' : 'utf8');
    if (data.length > MAX_OUTPUT_CHUNK_BYTES)
      throw new ApiError(413, 'payload_too_large', `An output chunk may hold at most ${MAX_OUTPUT_CHUNK_BYTES} bytes.`);
    const cmd = await this.load(device, commandId);
    const pool = this.deps.agentPool;
    const inserted = await pool.query(
      `INSERT INTO output_chunks (command_id, stream, seq, data, bytes)
       SELECT id, $2, $3, $4, $5 FROM agent_commands WHERE id = $1 AND state IN ('queued', 'delivered', 'running')
       ON CONFLICT (command_id, stream, seq) DO NOTHING RETURNING id`,
      [commandId, chunk.stream, chunk.seq, data, data.length],
    );
    if (inserted.rowCount) {
      this.deps.metrics.outputBytes.inc(data.length);
      const column = chunk.stream === 'stdout' ? 'stdout_bytes' : 'stderr_bytes';
      const { rows } = await pool.query<{ total: string }>(
        `UPDATE agent_commands SET ${column} = ${column} + $2 WHERE id = $1 RETURNING ${column}::text AS total`,
        [commandId, data.length],
      );
      if (Number(rows[0]?.total ?? 0) > OUTPUT_RETENTION_BYTES) await this.trimOutput(commandId, chunk.stream);
      if (cmd.jobRunId) this.outputEvent(cmd.jobRunId);
    } else {
      const stored = await pool.query('SELECT 1 FROM output_chunks WHERE command_id = $1 AND stream = $2 AND seq = $3', [
        commandId,
        chunk.stream,
        chunk.seq,
      ]);
      if (!stored.rowCount) throw new ApiError(409, 'output_after_finish');
    }
    return { cancelRequested: await this.heartbeatActivity(cmd, false) };
  }

  /** Keeps only the newest OUTPUT_RETENTION_BYTES of a stream: whole older chunks go, the boundary one is cut. */
  private async trimOutput(commandId: string, stream: 'stdout' | 'stderr'): Promise<void> {
    const pool = this.deps.agentPool;
    await pool.query(
      `DELETE FROM output_chunks WHERE id IN (
         SELECT id FROM (SELECT id, bytes, sum(bytes) OVER (ORDER BY id DESC) AS upto FROM output_chunks WHERE command_id = $1 AND stream = $2) t
          WHERE t.upto - t.bytes >= $3)`,
      [commandId, stream, OUTPUT_RETENTION_BYTES],
    );
    // The oldest chunk by its bigint id (an `id::text AS id` column would make ORDER BY id sort "10" before "9").
    const { rows } = await pool.query<{ chunk_id: string; data: Buffer; total: string }>(
      `SELECT id::text AS chunk_id, data, (SELECT sum(bytes) FROM output_chunks WHERE command_id = $1 AND stream = $2)::text AS total
         FROM output_chunks WHERE command_id = $1 AND stream = $2 ORDER BY id LIMIT 1`,
      [commandId, stream],
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
    await pool.query(`UPDATE agent_commands SET ${stream}_truncated = true WHERE id = $1`, [commandId]);
  }

  async heartbeat(device: AuthDevice, commandId: string): Promise<{ cancelRequested: boolean }> {
    return { cancelRequested: await this.heartbeatActivity(await this.load(device, commandId), true) };
  }

  /**
   * Heartbeats the activity (throttled) and tells whether the agent must stop the command: cancelled, or
   * already recorded as over here — a command never keeps running after the server considers it ended.
   */
  private async heartbeatActivity(cmd: CommandRow, force: boolean): Promise<boolean> {
    if (mustStop(cmd)) return true;
    if (cmd.activityClosedAt || !cmd.taskToken) return false;
    const taskToken = cmd.taskToken;
    const now = Date.now();
    if (!force && now - (this.lastHeartbeat.get(cmd.id) ?? 0) < ACTIVITY_HEARTBEAT_EVERY_MS) return false;
    this.lastHeartbeat.set(cmd.id, now);
    try {
      await withTemporalDeadline(this.deps.temporal, () => this.deps.temporal.activity.heartbeat(taskToken));
      return false;
    } catch (err) {
      if (err instanceof ActivityCancelledError || err instanceof ActivityNotFoundError) {
        // Cancelled, or nobody waits any more (the run's deadline passed): stop the process.
        await flagCancellation(this.deps.agentPool, cmd.id);
        this.deps.events.publish(channels.agentCommands, cmd.deviceId);
        return true;
      }
      this.deps.logger.warn({ err, commandId: cmd.id }, 'activity heartbeat failed');
      return false;
    }
  }

  async result(device: AuthDevice, commandId: string, result: CommandResult): Promise<{ accepted: boolean; duplicate: boolean }> {
    const outcome = await recordAgentResult(this.deps.agentPool, device.id, commandId, result, deviceActor(device));
    // Gone: never this device's, or the device (and with it its commands) was deleted meanwhile.
    if (!outcome) throw new ApiError(404, 'not_found', 'No such command for this device.');
    if (outcome.kind === 'refused') throw new ApiError(409, 'command_not_delivered');
    const duplicate = outcome.kind === 'duplicate';
    this.deps.metrics.agentResults.inc({ status: result.status, duplicate: String(outcome.kind !== 'applied') });
    this.lastHeartbeat.delete(commandId);
    // A copy after the first: if the activity is still open (Temporal was down then), complete it now.
    await this.afterFinished(
      [outcome.kind === 'applied' ? outcome.finished : (outcome.row as FinishedCommand)],
      outcome.kind === 'applied',
    );
    return { accepted: outcome.kind === 'applied', duplicate };
  }

  /**
   * After commands ended here (results, unsupported kinds, unconfirmed cancellations): run pages refresh,
   * and the activities waiting for them complete. Throws 503 when Temporal is unreachable, so an agent
   * retries its result; the stored outcome is what gets completed then.
   */
  async afterFinished(finished: FinishedCommand[], endedNow: boolean): Promise<void> {
    // Their command.finished events were committed: dispatchers deliver them now rather than at their next poll.
    if (endedNow) wakeDispatchers(this.deps.agentPool).catch(() => {});
    for (const runId of new Set(finished.map((f) => f.jobRunId).filter((id): id is string => id !== null))) {
      this.deps.events.publish(channels.jobRunEvents, runId);
    }
    let unavailable = false;
    for (const f of finished) {
      this.lastHeartbeat.delete(f.id);
      if (f.activityClosedAt || !f.taskToken) continue;
      try {
        await this.closeActivity(f);
      } catch {
        unavailable = true;
      }
    }
    if (unavailable) throw new ApiError(503, 'temporal_unavailable');
  }

  /** Completes the activity with the command's outcome. Throws when Temporal is unreachable. */
  private async closeActivity(cmd: FinishedCommand): Promise<void> {
    try {
      await withTemporalDeadline(this.deps.temporal, () => this.deps.temporal.activity.complete(cmd.taskToken!, dispatchOutcomeOf(cmd)));
    } catch (err) {
      if (!(err instanceof ActivityNotFoundError)) {
        this.deps.logger.warn({ err, commandId: cmd.id }, 'completing the activity failed; the agent will retry');
        throw err;
      }
      // Already closed: timed out, cancelled, or completed by an earlier copy of this result.
    }
    await markActivityClosed(this.deps.agentPool, cmd.id);
  }

  private outputEvent(jobRunId: string) {
    if (this.outputEventTimers.has(jobRunId)) return;
    this.outputEventTimers.set(
      jobRunId,
      setTimeout(() => {
        this.outputEventTimers.delete(jobRunId);
        this.deps.events.publish(channels.jobRunEvents, jobRunId);
      }, OUTPUT_EVENT_EVERY_MS),
    );
  }
}
