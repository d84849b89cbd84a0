/**
 * The server side of the agent command channel: hand out commands (long-poll), take output, heartbeats
 * and results. Every state change goes through packages/commands; this module adds what needs the API
 * process: the wake-up index (an idle poll costs no query) and wake-ups of run pages and of the worker's
 * batch dispatches (ADR 16), which learn of a result from the database, so no request here waits on Temporal.
 */
import {
  MAX_OUTPUT_CHUNK_BYTES,
  type AgentCommand,
  type CommandResult,
  type HeartbeatRequest,
  type OutputRequest,
  type PollResponse,
} from '@opsconductor/contracts/agent-protocol';
import {
  appendOutput,
  claimCommandsOfDevices,
  loadDeviceCommand,
  mustStop,
  recordAgentResults,
  recordHeartbeat,
  startCommands,
  type AgentReport,
  type AgentResultOutcome,
  type Claim,
  type ClaimedCommand,
  type CommandRow,
  type CommandStart,
  type FinishedCommand,
  type OutputChunk,
  type OutputOutcome,
} from '@opsconductor/commands';
import type { CommandPayload } from '@opsconductor/contracts/commands';
import { isDatabaseUnavailable } from '@opsconductor/db';
import { jobRunSecretPurpose, secretOwnerOf } from '@opsconductor/jobs';
import { channels } from '@opsconductor/db/notify';
import { wakeDispatchers } from '@opsconductor/domain-events';
import { deviceActor } from '@opsconductor/unit-of-work';
import type { ApiDeps, AuthDevice } from '../context.ts';
import { armWake } from '@opsconductor/db/event-hub';
import { ApiError } from '../lib/problem.ts';
import { withSignedArtifacts } from './artifact-delivery.ts';
import { recordInstallation } from './package-installations.ts';
import { WriteBatcher, type WriteBatcherOptions } from '../lib/write-batcher.ts';

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
/**
 * The polls' claims, starts, results and output of many devices are written together (lib/write-batcher.ts): at
 * most this many per statement or transaction, and this many batches of each at once (16 of the agent pool's
 * connections at most; check-ins, heartbeats and authentication take the others).
 */
const REPORT_BATCHING: Omit<WriteBatcherOptions, 'failsEveryWrite'> = { maxBatch: 500, maxInFlight: 4 };
/** Output chunks per statement: up to 4 MiB of them. */
const OUTPUT_CHUNKS_PER_BATCH = (4 * 1024 * 1024) / MAX_OUTPUT_CHUNK_BYTES;

export class AgentCommandService {
  private readonly runWakeTimers = new Map<string, NodeJS.Timeout>();
  private dispatcherWakeTimer: NodeJS.Timeout | undefined;
  private readonly claims: WriteBatcher<string, Claim>;
  private readonly starts: WriteBatcher<CommandStart, CommandRow | undefined>;
  private readonly results: WriteBatcher<AgentReport, AgentResultOutcome | undefined>;
  private readonly outputs: WriteBatcher<OutputChunk, OutputOutcome | undefined>;

  constructor(private readonly deps: ApiDeps) {
    const batching = (kind: string, maxBatch = REPORT_BATCHING.maxBatch): WriteBatcherOptions => ({
      ...REPORT_BATCHING,
      maxBatch,
      failsEveryWrite: isDatabaseUnavailable,
      observe: (items, seconds) => {
        deps.metrics.reportBatchSize.observe({ kind }, items);
        deps.metrics.reportBatchDuration.observe({ kind }, seconds);
      },
    });
    const claimOptions = { limit: COMMANDS_PER_POLL, redeliverAfterSeconds: REDELIVER_AFTER_SECONDS, cancelTtlSeconds: CANCEL_TTL_SECONDS };
    this.claims = new WriteBatcher((deviceIds) => claimCommandsOfDevices(deps.agentPool, deviceIds, claimOptions), batching('claim'));
    this.starts = new WriteBatcher((starts) => startCommands(deps.agentPool, starts), batching('start'));
    this.results = new WriteBatcher((reports) => recordAgentResults(deps.agentPool, reports), batching('result'));
    this.outputs = new WriteBatcher((chunks) => appendOutput(deps.agentPool, chunks), batching('output', OUTPUT_CHUNKS_PER_BATCH));
  }

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
            const claim = await this.claims.submit(device.id);
            if (claim.finished.length > 0) this.afterFinished(claim.finished);
            if (claim.commands.length > 0 || claim.cancel.length > 0) {
              const commands: AgentCommand[] = await Promise.all(
                claim.commands.map(async (c) => ({
                  id: c.id,
                  attempt: c.attempt,
                  expiresAt: c.expiresAt.toISOString(),
                  payload: await this.forDelivery(device, c),
                })),
              );
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

  /**
   * A job step's payload names its run's secret parameters (`secretRefs`); the agent gets their values (`secrets`),
   * read from the secret store now (the run's own, or its schedule's), never stored with the payload. A value that cannot be read (the run ended and
   * its secrets with it, or a master key is missing) is left out: the agent then refuses to run the command.
   */
  /** The payload as the device gets it: software artifacts signed for it, job secrets filled in. */
  private async forDelivery(device: AuthDevice, command: ClaimedCommand): Promise<CommandPayload> {
    const { payload } = command;
    if (payload.kind === 'software.install' || payload.kind === 'software.uninstall')
      return withSignedArtifacts(this.deps, device.id, payload, command.jobRunId);
    return this.withSecrets(command);
  }

  private async withSecrets(command: ClaimedCommand): Promise<CommandPayload> {
    const { payload, jobRunId } = command;
    if ((payload.kind !== 'shell' && payload.kind !== 'script') || !payload.secretRefs || !jobRunId) return payload;
    const run = await this.deps.agentPool.query<{ parameters: unknown }>('SELECT parameters FROM job_runs WHERE id = $1', [jobRunId]);
    const owner = secretOwnerOf(jobRunId, run.rows[0]?.parameters);
    const secrets: Record<string, string> = {};
    for (const [variable, parameter] of Object.entries(payload.secretRefs)) {
      const ref = { ...owner, purpose: jobRunSecretPurpose(parameter) };
      try {
        const value = await this.deps.secrets.revealText(ref);
        if (value !== null) secrets[variable] = value;
      } catch (err) {
        this.deps.logger.warn({ jobRunId, parameter, error: (err as Error).name }, 'a secret parameter could not be read for delivery');
      }
    }
    return { ...payload, secrets };
  }

  private async load(device: AuthDevice, commandId: string): Promise<CommandRow> {
    const row = await loadDeviceCommand(this.deps.agentPool, device.id, commandId);
    // Another device's command is indistinguishable from a missing one.
    if (!row) throw new ApiError(404, 'not_found', 'No such command for this device.');
    return row;
  }

  /** The agent is about to run the command; `cancelRequested` tells it not to (cancelled, or already over). */
  async start(device: AuthDevice, commandId: string, startedAt: Date): Promise<{ cancelRequested: boolean }> {
    const row = await this.starts.submit({ deviceId: device.id, commandId, startedAt });
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
    const outcome = await this.outputs.submit({ deviceId: device.id, commandId, stream: chunk.stream, seq: chunk.seq, data });
    if (!outcome) throw new ApiError(404, 'not_found', 'No such command for this device.');
    if (outcome.kind === 'after_finish') throw new ApiError(409, 'output_after_finish');
    if (outcome.kind === 'stored') {
      this.deps.metrics.outputBytes.inc(data.length);
      if (outcome.command.jobRunId) this.wakeRun(outcome.command.jobRunId);
    }
    return { cancelRequested: mustStop(outcome.command) };
  }

  /**
   * The agent is still running the command, maybe in a new phase (recorded on the command: a deployment shows it as
   * the device's status); the answer tells it whether to stop (cancelled, or already over here).
   */
  async heartbeat(device: AuthDevice, commandId: string, body: HeartbeatRequest = {}): Promise<{ cancelRequested: boolean }> {
    if (body.phase === undefined) return { cancelRequested: mustStop(await this.load(device, commandId)) };
    const recorded = await recordHeartbeat(this.deps.agentPool, device.id, commandId, body.phase);
    if (!recorded) throw new ApiError(404, 'not_found', 'No such command for this device.');
    if (recorded.phaseChanged && recorded.row.jobRunId) this.wakeRun(recorded.row.jobRunId);
    return { cancelRequested: mustStop(recorded.row) };
  }

  async result(device: AuthDevice, commandId: string, result: CommandResult): Promise<{ accepted: boolean; duplicate: boolean }> {
    const outcome = await this.results.submit({ deviceId: device.id, commandId, result, actor: deviceActor(device) });
    // Gone: never this device's, or the device (and with it its commands) was deleted meanwhile.
    if (!outcome) throw new ApiError(404, 'not_found', 'No such command for this device.');
    if (outcome.kind === 'refused') throw new ApiError(409, 'command_not_delivered');
    // Before answering, and again for a retried copy: an agent that got no answer sends it again.
    if (outcome.kind === 'applied' || outcome.kind === 'duplicate') {
      const row = outcome.kind === 'applied' ? outcome.finished : outcome.row;
      await recordInstallation(this.deps.agentPool, row, row.result?.software);
    }
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
