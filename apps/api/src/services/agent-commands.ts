/**
 * The server side of the agent command channel: hand out commands (long-poll), take output, heartbeats
 * and results. Every state change goes through packages/commands; this module adds what needs the API
 * process: the wake-up index (an idle poll costs no query) and wake-ups of run pages and of the worker's
 * batch dispatches (ADR 16), which learn of a result from the database, so no request here waits on Temporal.
 */
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
  loadDeviceCommand,
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
import { armWake } from '@opsconductor/db/event-hub';
import { ApiError } from '../lib/problem.ts';

/** A delivered command that was never started is handed out again after this long. */
const REDELIVER_AFTER_SECONDS = 60;
/** A cancellation is listed in polls this long; unconfirmed by then, the command ends `cancelled`. */
export const CANCEL_TTL_SECONDS = 120;
/** Commands handed out per poll. */
const COMMANDS_PER_POLL = 20;
/**
 * Wake-ups after agent reports are coalesced: per run at most one per this many ms (run pages and the worker's
 * batch activity re-read the database when woken, so one wake-up covers every report before it), and the outbox
 * dispatchers at most one per this many ms per process. 10,000 devices reporting at once then cost a few dozen
 * NOTIFYs (each takes PostgreSQL's global notify lock at commit), not tens of thousands.
 */
const WAKE_EVERY_MS = 100;

export class AgentCommandService {
  private readonly runWakeTimers = new Map<string, NodeJS.Timeout>();
  private dispatcherWakeTimer: NodeJS.Timeout | undefined;

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
            if (claim.finished.length > 0) this.afterFinished(claim.finished);
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
    if (row.jobRunId) this.wakeRun(row.jobRunId);
    return { cancelRequested: mustStop(row) };
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
      if (cmd.jobRunId) this.wakeRun(cmd.jobRunId);
    } else {
      const stored = await pool.query('SELECT 1 FROM output_chunks WHERE command_id = $1 AND stream = $2 AND seq = $3', [
        commandId,
        chunk.stream,
        chunk.seq,
      ]);
      if (!stored.rowCount) throw new ApiError(409, 'output_after_finish');
    }
    return { cancelRequested: mustStop(cmd) };
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

  /** The agent is still running the command; the answer tells it whether to stop (cancelled, or already over here). */
  async heartbeat(device: AuthDevice, commandId: string): Promise<{ cancelRequested: boolean }> {
    return { cancelRequested: mustStop(await this.load(device, commandId)) };
  }

  async result(device: AuthDevice, commandId: string, result: CommandResult): Promise<{ accepted: boolean; duplicate: boolean }> {
    const outcome = await recordAgentResult(this.deps.agentPool, device.id, commandId, result, deviceActor(device));
    // Gone: never this device's, or the device (and with it its commands) was deleted meanwhile.
    if (!outcome) throw new ApiError(404, 'not_found', 'No such command for this device.');
    if (outcome.kind === 'refused') throw new ApiError(409, 'command_not_delivered');
    const duplicate = outcome.kind === 'duplicate';
    this.deps.metrics.agentResults.inc({ status: result.status, duplicate: String(outcome.kind !== 'applied') });
    if (outcome.kind === 'applied') this.afterFinished([outcome.finished]);
    return { accepted: outcome.kind === 'applied', duplicate };
  }

  /**
   * After commands ended here (results, unsupported kinds, unconfirmed cancellations): their run's page and the
   * worker's batch dispatch waiting for them wake up, and the outbox dispatchers deliver their command.finished
   * events now rather than at their next poll.
   */
  private afterFinished(finished: FinishedCommand[]): void {
    this.dispatcherWakeTimer ??= setTimeout(() => {
      this.dispatcherWakeTimer = undefined;
      wakeDispatchers(this.deps.agentPool).catch(() => {});
    }, WAKE_EVERY_MS);
    for (const f of finished) if (f.jobRunId) this.wakeRun(f.jobRunId);
  }

  /** Wakes the run's pages and its batch activity (in every process) within WAKE_EVERY_MS, once for all reports meanwhile. */
  private wakeRun(jobRunId: string) {
    if (this.runWakeTimers.has(jobRunId)) return;
    this.runWakeTimers.set(
      jobRunId,
      setTimeout(() => {
        this.runWakeTimers.delete(jobRunId);
        this.deps.events.publish(channels.jobRunEvents, jobRunId);
      }, WAKE_EVERY_MS),
    );
  }
}

const perApi = new WeakMap<ApiDeps, AgentCommandService>();
/** The one AgentCommandService of an API instance, shared by the HTTP routes and the agent channel (one set of wake-up timers). */
export function agentCommandService(deps: ApiDeps): AgentCommandService {
  let service = perApi.get(deps);
  if (!service) perApi.set(deps, (service = new AgentCommandService(deps)));
  return service;
}
