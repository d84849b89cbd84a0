/**
 * The agent daemon: check-in (with its capabilities and boot ID), long-poll, command execution through
 * the handler of each command's kind (handlers/) with output streaming and heartbeats, result delivery
 * with retries, and at-most-once execution through the journal. After a crash it stops what a running
 * command left behind and reports it `interrupted` (orphans.ts); a `reboot` completes once it runs
 * under a new boot ID.
 *
 * Concurrency model: one poll loop and one check-in loop; each running command is an async task;
 * each result has its own delivery loop. Two abort signals drive shutdown: `lifetime` stops polling,
 * check-ins and command starts at once; `hardStop` fires after the shutdown grace period and abandons
 * output/result delivery (undelivered results stay in the journal and are re-sent at next start).
 */
import {
  AGENT_PROTOCOL_VERSION,
  agentCommand,
  HEARTBEAT_INTERVAL_SECONDS,
  MAX_POLL_WAIT_SECONDS,
  protocol1ResultStatuses,
  type AgentCommand,
  type CommandPhase,
  type CommandResult,
  type DeviceFacts,
} from '@opsconductor/contracts/agent-protocol';
import type { DepotSigningKey } from '@opsconductor/contracts/software';
import { z } from 'zod';
import { Backoff, sleep } from './backoff.ts';
import { readBootId } from './boot-id.ts';
import { ArtifactCache, DEFAULT_DEPOT_CACHE_MB } from './depot/cache.ts';
import { TrustedKeys } from './depot/trusted-keys.ts';
import { DEFAULT_KILL_GRACE_MS, executeProcess, type StopReason } from './executor.ts';
import { collectFacts } from './facts.ts';
import { HandlerRegistry, type Execution } from './handlers/index.ts';
import { findWall, restartPlan, type RestartNotice } from './handlers/reboot.ts';
import {
  AgentApiError,
  AgentHttpClient,
  CredentialsRejectedError,
  isRetryable,
  retryAfterMs,
  type FetchLike,
  type PollEnvelope,
} from './http.ts';
import { InventoryReporter, type InventoryReporterOptions } from './inventory/reporter.ts';
import { EXPIRED_ERROR, INTERRUPTED_ERROR, Journal, REBOOTED_ERROR, type JournalEntry } from './journal.ts';
import { createLogger, type Logger } from './log.ts';
import { stopOrphans } from './orphans.ts';
import { OutputStream, type OutputChunk } from '@opsconductor/command-output';
import path from 'node:path';
import { acquireLock, type StateLock } from './state.ts';

export interface RetryPolicy {
  initialMs: number;
  maxMs: number;
}

export interface AgentOptions {
  serverUrl: string;
  deviceId: string;
  deviceSecret: string;
  stateDir: string;
  fetch?: FetchLike;
  logger?: Logger;
  /** Commands running at once; further ones wait in a queue (default 4). */
  maxConcurrentCommands?: number;
  /** Long-poll wait; capped at MAX_POLL_WAIT_SECONDS (default 25). */
  pollWaitSeconds?: number;
  /** Used until the first check-in response says otherwise (default 300). */
  checkinIntervalSeconds?: number;
  /** Timeout for every call except the long-poll (default 15 s). */
  requestTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  outputFlushIntervalMs?: number;
  outputFlushBytes?: number;
  /** SIGTERM → SIGKILL grace when killing a process tree (default 3 s). */
  killGraceMs?: number;
  /** How long stop() keeps trying to deliver output and results before giving up (default 10 s). */
  shutdownTimeoutMs?: number;
  /** Poll/check-in backoff on connection errors and 5xx (default 1 s → 30 s). */
  connectionRetry?: RetryPolicy;
  /** Result/output delivery backoff (default 0.5 s → 30 s). */
  deliveryRetry?: RetryPolicy;
  collectFacts?: () => Promise<DeviceFacts>;
  /** Extra environment for commands (tests); the agent's own environment is always inherited. */
  commandEnv?: NodeJS.ProcessEnv;
  /** Inventory reporting, on by default; `false` turns it off (tests that do not want it), an object tunes it. */
  inventory?: false | AgentInventoryOptions;
  /** Polls and reports over the agent channel when the server offers it (default true); `false`: HTTP requests only. */
  channel?: boolean;
  /** Replaces the system's restart command of `reboot` commands (OPSCONDUCTOR_AGENT_REBOOT_COMMAND; tests). */
  rebootCommand?: string;
  /** The device's boot ID, instead of reading it (tests: a restart under a new boot ID). */
  bootId?: string;
  /** Where `wall` is for reboot notices (default: looked up on PATH; null: none). Tests. */
  wallPath?: string | null;
  /** Size cap of the artifact cache in bytes (default DEFAULT_DEPOT_CACHE_MB MiB; `--depot-cache-mb`). */
  depotCacheMaxBytes?: number;
  /** Where the artifact cache lives (default `<stateDir>/depot-cache`). */
  depotCacheDir?: string;
}

export type AgentInventoryOptions = Pick<InventoryReporterOptions, 'collect' | 'retry' | 'minIntervalSeconds' | 'random'>;

export type AgentExitReason = 'stopped' | 'credentials_rejected' | 'error';
export interface AgentExit {
  reason: AgentExitReason;
}

const OUTPUT_MAX_ATTEMPTS = 8;
/** How long a restart a software command asks for waits for its result to reach the server. */
const RESTART_AFTER_RESULT_MAX_WAIT_MS = 30_000;
const START_MAX_ATTEMPTS = 3;
const COMPACT_INTERVAL_MS = 6 * 3600 * 1000;
const MIN_CHECKIN_INTERVAL_S = 5;
const MAX_CHECKIN_INTERVAL_S = 24 * 3600;
/** Floor between polls that came back empty early, so a misbehaving server cannot spin us. */
const MIN_EMPTY_POLL_INTERVAL_MS = 1000;
const MAX_ERROR_LENGTH = 4000;
/** Pause before restarting the inventory loop after a bug crashed it. */
const INVENTORY_RESTART_DELAY_MS = 5 * 60 * 1000;

interface RunningCommand {
  command: AgentCommand;
  execution?: Execution;
  /** Cancel/stop requested before the process was spawned. */
  pendingStop?: StopReason;
  /** Told to stop for a cancellation already. */
  cancelling?: boolean;
  lastContactMs: number;
  /** The phase the command reported last (software commands), sent with every heartbeat. */
  phase?: CommandPhase;
}

const commandIdSchema = z.object({ id: z.uuid() });

function clipError(message: string): string {
  return message.length > MAX_ERROR_LENGTH ? message.slice(0, MAX_ERROR_LENGTH - 1) + '…' : message;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A result for a command that never got a process: start and finish are the same instant. */
function notRunResult(status: CommandResult['status'], error: string | undefined, at: Date): CommandResult {
  const iso = at.toISOString();
  return { status, exitCode: null, ...(error ? { error: clipError(error) } : {}), startedAt: iso, finishedAt: iso, durationMs: 0 };
}

/** The end of a command that started in an earlier agent process (or boot), decided now. */
function resultSinceStart(entry: JournalEntry, now: Date, status: CommandResult['status'], error?: string): CommandResult {
  const started = Date.parse(entry.startedAt ?? '');
  const startedAt = Number.isNaN(started) ? now : new Date(started);
  return {
    status,
    exitCode: null,
    ...(error ? { error } : {}),
    startedAt: startedAt.toISOString(),
    finishedAt: now.toISOString(),
    durationMs: Math.max(0, now.getTime() - startedAt.getTime()),
  };
}

export class Agent {
  private readonly client: AgentHttpClient;
  private readonly log: Logger;
  private readonly lifetime = new AbortController();
  private readonly hardStop = new AbortController();
  private readonly queue: AgentCommand[] = [];
  private readonly running = new Map<string, RunningCommand>();
  private readonly tasks = new Set<Promise<void>>();
  private readonly reporting = new Map<string, Promise<void>>();
  private readonly heartbeatsInFlight = new Set<string>();
  private readonly maxConcurrent: number;
  private readonly pollWaitSeconds: number;
  private checkinIntervalSeconds: number;
  /** Whether the server stores base64 output chunks byte for byte (it says so at check-in). */
  private serverAcceptsBase64Output = false;
  /** Whether the server records command phases from heartbeats (it lists them at check-in). */
  private serverRecordsPhases = false;
  /** The server's protocol version (check-in); results it does not know are sent as `failed`. */
  private serverProtocolVersion = 1;
  private readonly handlers: HandlerRegistry;
  private bootId = '';
  private reporter: InventoryReporter | undefined;
  /** Reboot commands waiting for the device to restart: each fails when its time is up. */
  private readonly rebootDeadlines = new Map<string, NodeJS.Timeout>();
  private firstCheckin!: () => void;
  /** Settles after the first check-in (or its failure): results wait for it, to know the server's protocol. */
  private readonly firstCheckinDone = new Promise<void>((resolve) => (this.firstCheckin = resolve));
  private serverClockOffsetMs = 0;
  private journal: Journal | undefined;
  private lock: StateLock | undefined;
  private trustedKeys: TrustedKeys | undefined;
  /** The artifact cache software commands download into (depot/cache.ts); one per agent, shared by its commands. */
  readonly artifactCache: ArtifactCache;
  private loops: Promise<unknown>[] = [];
  private compactTimer: NodeJS.Timeout | undefined;
  private hardStopTimer: NodeJS.Timeout | undefined;
  private exitReason: AgentExitReason | undefined;
  private resolveFinished!: (exit: AgentExit) => void;
  /** Settles when the agent has fully stopped, whether through stop() or rejected credentials. */
  readonly finished: Promise<AgentExit>;

  constructor(private readonly options: AgentOptions) {
    this.log = options.logger ?? createLogger();
    this.client = new AgentHttpClient({
      serverUrl: options.serverUrl,
      deviceSecret: options.deviceSecret,
      fetch: options.fetch,
      requestTimeoutMs: options.requestTimeoutMs,
      ...(options.channel === false ? { channel: false } : {}),
    });
    this.maxConcurrent = Math.max(1, options.maxConcurrentCommands ?? 4);
    this.pollWaitSeconds = Math.min(MAX_POLL_WAIT_SECONDS, Math.max(1, Math.round(options.pollWaitSeconds ?? 25)));
    this.checkinIntervalSeconds = options.checkinIntervalSeconds ?? 300;
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve));
    this.artifactCache = new ArtifactCache({
      dir: options.depotCacheDir ?? path.join(options.stateDir, 'depot-cache'),
      maxBytes: options.depotCacheMaxBytes ?? DEFAULT_DEPOT_CACHE_MB * 1024 * 1024,
      log: this.log.child({ component: 'depot-cache' }),
    });
    this.handlers = new HandlerRegistry({
      rebootCommand: options.rebootCommand,
      ...(options.inventory === false ? {} : { fullInventoryReport: (signal) => this.reportInventoryNow(signal) }),
    });
  }

  /** What this agent announces it can run. */
  get capabilities(): string[] {
    return this.handlers.capabilities();
  }

  get stopping(): boolean {
    return this.exitReason !== undefined;
  }

  /** Ids of commands whose process is running or about to start. */
  get runningCommandIds(): string[] {
    return [...this.running.keys()];
  }

  get queuedCommandIds(): string[] {
    return this.queue.map((command) => command.id);
  }

  /** The depot signing keys the last check-in listed (saved across restarts); empty before the agent starts. */
  get depotSigningKeys(): DepotSigningKey[] {
    return this.trustedKeys?.keys() ?? [];
  }

  /**
   * Takes the state-directory lock, recovers the journal (re-sending undelivered results, stopping what
   * commands that were running when the previous agent died left behind and reporting them interrupted,
   * completing reboots), then starts check-in and polling.
   */
  async start(): Promise<void> {
    if (this.journal) throw new Error('agent already started');
    this.lock = acquireLock(this.options.stateDir);
    try {
      this.journal = Journal.open(this.options.stateDir, { logger: this.log });
      this.trustedKeys = TrustedKeys.load(this.options.stateDir, this.log);
      this.bootId = this.options.bootId ?? (await readBootId());
    } catch (err) {
      this.journal?.close();
      this.lock.release();
      throw err;
    }
    this.log.info('agent starting', {
      deviceId: this.options.deviceId,
      serverUrl: this.options.serverUrl,
      stateDir: this.options.stateDir,
      maxConcurrentCommands: this.maxConcurrent,
      bootId: this.bootId,
      capabilities: this.handlers.capabilities(),
    });
    if (new URL(this.options.serverUrl).protocol === 'http:') {
      this.log.warn('server URL is plain http: the device secret travels unencrypted');
    }
    await this.recover();
    this.artifactCache.cleanPartials().catch((err: unknown) => this.log.warn('could not clean old partial downloads', { err }));
    this.compactTimer = setInterval(() => this.compactJournal(), COMPACT_INTERVAL_MS);
    this.compactTimer.unref();

    const firstCheckinDone = this.firstCheckinDone;
    this.loops = [
      this.checkinLoop(this.firstCheckin).catch((err) => this.loopCrashed('check-in', err)),
      this.pollLoop(firstCheckinDone).catch((err) => this.loopCrashed('poll', err)),
    ];
    if (this.options.inventory !== false) {
      this.loops.push(
        this.inventoryLoop(firstCheckinDone, this.options.inventory ?? {}).catch((err) => this.log.error('inventory loop failed', { err })),
      );
    }
  }

  /** Stops polling, kills running commands (reported failed: "agent stopped"), flushes, releases the state dir. */
  stop(): Promise<AgentExit> {
    this.beginShutdown('stopped');
    return this.finished;
  }

  /** A bug, not a network problem: stop rather than live on without polling, so a supervisor restarts us. */
  private loopCrashed(loop: string, err: unknown): void {
    this.log.error(`${loop} loop crashed; stopping the agent`, { err });
    this.beginShutdown('error');
  }

  /**
   * Unlike the poll loop, a crashed inventory loop does not stop the agent: commands matter more than
   * inventory. It starts over after a pause instead.
   */
  private async inventoryLoop(firstCheckinDone: Promise<void>, options: AgentInventoryOptions): Promise<void> {
    // After the first check-in, so a device whose credentials are refused never collects for nothing.
    await firstCheckinDone;
    const signal = this.lifetime.signal;
    const log = this.log.child({ component: 'inventory' });
    while (!signal.aborted) {
      const reporter = (this.reporter = new InventoryReporter({
        ...options,
        client: this.client,
        stateDir: this.options.stateDir,
        deviceId: this.options.deviceId,
        log,
        signal,
        onFatal: (err) => this.handleFatal(err),
      }));
      try {
        await reporter.run();
        return;
      } catch (err) {
        log.error('inventory loop crashed; restarting it later', { err, restartInMs: INVENTORY_RESTART_DELAY_MS });
        await sleep(INVENTORY_RESTART_DELAY_MS, signal);
      }
    }
  }

  /** The inventory.refresh command: a full report through the running reporter. */
  private async reportInventoryNow(signal: AbortSignal): Promise<{ accepted: boolean; changedSections: string[] }> {
    await this.firstCheckinDone;
    if (!this.reporter) throw new Error('inventory reporting has not started yet');
    return this.reporter.reportFullNow(signal);
  }

  // --- recovery ---------------------------------------------------------------------------------

  private async recover(): Promise<void> {
    const journal = this.requireJournal();
    for (const entry of journal.unreported()) {
      const log = this.log.child({ commandId: entry.id });
      if (entry.result) {
        log.info('re-sending undelivered result', { status: entry.result.status });
        this.report(entry.id, entry.result);
      } else if (entry.awaitingReboot) {
        this.awaitReboot(entry);
      } else if (entry.bootId !== undefined && entry.bootId !== this.bootId) {
        // The device restarted meanwhile: nothing of the command runs any more.
        log.warn('command was running when the device restarted; reporting it interrupted');
        this.finishAndReport(entry.id, resultSinceStart(entry, new Date(), 'interrupted', REBOOTED_ERROR));
      } else {
        // Same boot (or a journal from before boot IDs): the command's processes may live on. Stop them
        // before reporting, so the server never records as over a command that still runs here.
        const stopped = await stopOrphans(entry.id, entry.pid, this.options.killGraceMs ?? DEFAULT_KILL_GRACE_MS).catch((err: unknown) => {
          log.error('could not stop the processes the command left behind', { err });
          return 0;
        });
        log.warn('command was running when the agent stopped; reporting it interrupted', { orphansStopped: stopped });
        this.finishAndReport(entry.id, resultSinceStart(entry, new Date(), 'interrupted', INTERRUPTED_ERROR));
      }
    }
  }

  /**
   * A reboot command waiting for the device to restart: done under another boot ID; under this one it
   * fails once its time is up (unless the device restarts first, and the next agent reports it).
   */
  private awaitReboot(entry: JournalEntry): void {
    const waiting = entry.awaitingReboot!;
    const log = this.log.child({ commandId: entry.id });
    if (waiting.bootId !== this.bootId) {
      log.info('the device restarted: reboot command done', { previousBootId: waiting.bootId, bootId: this.bootId });
      this.finishAndReport(entry.id, resultSinceStart(entry, new Date(), 'succeeded'));
      return;
    }
    const until = Date.parse(waiting.until);
    log.info('waiting for the device to restart', { until: waiting.until });
    const timer = setTimeout(
      () => {
        this.rebootDeadlines.delete(entry.id);
        log.warn('the device did not restart in time; reporting the reboot command failed');
        this.finishAndReport(entry.id, resultSinceStart(entry, new Date(), 'failed', `the device did not restart by ${waiting.until}`));
      },
      Math.max(0, (Number.isNaN(until) ? 0 : until) - Date.now()),
    );
    timer.unref();
    this.rebootDeadlines.set(entry.id, timer);
  }

  private compactJournal(): void {
    try {
      this.journal?.compact();
    } catch (err) {
      this.log.warn('journal compaction failed', { err });
    }
  }

  private requireJournal(): Journal {
    if (!this.journal) throw new Error('agent not started');
    return this.journal;
  }

  // --- check-in and polling ---------------------------------------------------------------------

  private serverNow(): number {
    return Date.now() + this.serverClockOffsetMs;
  }

  private async checkin(): Promise<void> {
    const facts = await (this.options.collectFacts ?? collectFacts)();
    const sentAt = Date.now();
    const res = await this.client.checkin(facts, this.lifetime.signal, {
      protocolVersion: AGENT_PROTOCOL_VERSION,
      capabilities: this.handlers.capabilities(),
      bootId: this.bootId,
    });
    const receivedAt = Date.now();
    const serverTime = Date.parse(res.serverTime);
    // Endpoint clocks are often wrong; expiry decisions use the server's clock, corrected by half the RTT.
    if (!Number.isNaN(serverTime)) this.serverClockOffsetMs = serverTime - (sentAt + receivedAt) / 2;
    if (res.deviceId !== this.options.deviceId) {
      this.log.warn('server reports a different device ID than agent.json', { serverDeviceId: res.deviceId });
    }
    // Set by every check-in: a server that was downgraded stops getting base64 output and new statuses.
    this.serverAcceptsBase64Output = res.outputEncodings?.includes('base64') ?? false;
    this.serverRecordsPhases = res.commandPhases?.includes('downloading') ?? false;
    this.serverProtocolVersion = res.protocolVersion ?? 1;
    // A list replaces the last one; an answer without it (an older server) keeps it.
    this.trustedKeys?.update(res.depotSigningKeys);
    this.checkinIntervalSeconds = Math.min(MAX_CHECKIN_INTERVAL_S, Math.max(MIN_CHECKIN_INTERVAL_S, res.checkinIntervalSeconds));
    this.log.debug('checked in', { checkinIntervalSeconds: this.checkinIntervalSeconds });
  }

  private async checkinLoop(firstDone: () => void): Promise<void> {
    const backoff = new Backoff(this.options.connectionRetry ?? { initialMs: 1000, maxMs: 30_000 });
    const signal = this.lifetime.signal;
    while (!signal.aborted) {
      let delayMs: number;
      try {
        await this.checkin();
        backoff.reset();
        delayMs = this.checkinIntervalSeconds * 1000;
      } catch (err) {
        if (signal.aborted) break;
        if (this.handleFatal(err)) break;
        delayMs = backoff.next(retryAfterMs(err));
        this.log.warn('check-in failed', { err, retryInMs: delayMs });
      }
      firstDone();
      await sleep(delayMs, signal);
    }
    firstDone();
  }

  private async pollLoop(firstCheckinDone: Promise<void>): Promise<void> {
    await firstCheckinDone;
    const backoff = new Backoff(this.options.connectionRetry ?? { initialMs: 1000, maxMs: 30_000 });
    const signal = this.lifetime.signal;
    while (!signal.aborted) {
      const began = Date.now();
      let envelope: PollEnvelope;
      try {
        envelope = await this.client.poll(this.pollWaitSeconds, signal);
        backoff.reset();
      } catch (err) {
        if (signal.aborted) break;
        if (this.handleFatal(err)) break;
        const delayMs = backoff.next(retryAfterMs(err));
        this.log.warn('poll failed', { err, retryInMs: delayMs });
        await sleep(delayMs, signal);
        continue;
      }
      if (envelope.commands.length > 0 || envelope.cancel.length > 0) {
        this.log.debug('poll returned work', { commands: envelope.commands.length, cancel: envelope.cancel.length });
      }
      // A poll that brought nothing new (a cancellation already being carried out, or of a command this
      // agent does not know) is paced like an empty one, or a server repeating it would spin us.
      if (!this.handlePoll(envelope)) {
        const elapsed = Date.now() - began;
        if (elapsed < MIN_EMPTY_POLL_INTERVAL_MS) await sleep(MIN_EMPTY_POLL_INTERVAL_MS - elapsed, signal);
      }
    }
  }

  /** Takes what a poll brought; returns whether any of it was new. */
  private handlePoll(envelope: PollEnvelope): boolean {
    if (this.stopping) return false;
    let news = false;
    for (const raw of envelope.commands) {
      try {
        const parsed = agentCommand.safeParse(raw);
        if (parsed.success && this.handlers.has(parsed.data.payload.kind)) {
          news = this.accept(parsed.data) || news;
          continue;
        }
        const withId = commandIdSchema.safeParse(raw);
        const kind = (raw as { payload?: { kind?: unknown } } | null)?.payload?.kind;
        const reason = parsed.success ? `no handler for "${parsed.data.payload.kind}" commands` : z.prettifyError(parsed.error);
        if (!withId.success) {
          this.log.warn('ignoring a command without a valid id', { reason });
          continue;
        }
        // Fail it rather than ignore it: otherwise the server redelivers it and the workflow waits
        // until its timeout. The journal keeps this at-most-once like any other command.
        news = true;
        if (typeof kind === 'string' && !this.handlers.has(kind))
          this.reject(withId.data.id, 'unsupported', `this agent cannot run "${kind.slice(0, 100)}" commands`);
        else this.reject(withId.data.id, 'failed', `the agent could not accept the command: ${reason}`);
      } catch (err) {
        // Typically the journal could not be written: leave the command to a later redelivery.
        this.log.error('could not accept a command', { err });
      }
    }
    for (const raw of envelope.cancel) {
      const parsed = z.uuid().safeParse(raw);
      if (parsed.success) news = this.cancel(parsed.data) || news;
    }
    return news;
  }

  private reject(commandId: string, status: 'failed' | 'unsupported', error: string): void {
    const journal = this.requireJournal();
    const entry = journal.get(commandId);
    if (entry?.result || entry?.startedAt || this.running.has(commandId)) return;
    this.log.warn('rejecting a command the agent cannot run', { commandId, status, error });
    journal.markReceived(commandId, '');
    this.finishAndReport(commandId, notRunResult(status, error, new Date()));
  }

  // --- command lifecycle ------------------------------------------------------------------------

  /** Returns false for a redelivery of something this process already handles. */
  private accept(command: AgentCommand): boolean {
    const { id } = command;
    const log = this.log.child({ commandId: id });
    // Redelivery of something this process is already handling.
    if (this.running.has(id) || this.queue.some((queued) => queued.id === id) || this.rebootDeadlines.has(id)) return false;

    const journal = this.requireJournal();
    const entry = journal.get(id);
    if (entry?.result) {
      log.info('command delivered again after it finished; re-sending its result');
      this.report(id, entry.result);
      return true;
    }
    if (entry?.startedAt) {
      // Started by an earlier agent process that died: it may have run, so it must not run again.
      log.warn('command delivered again after an agent restart; reporting it interrupted without running it');
      this.finishAndReport(id, resultSinceStart(entry, new Date(), 'interrupted', INTERRUPTED_ERROR));
      return true;
    }
    journal.markReceived(id, command.expiresAt);
    this.queue.push(command);
    log.info('command received', { kind: command.payload.kind, queued: this.queue.length, running: this.running.size });
    this.pump();
    return true;
  }

  private pump(): void {
    while (!this.stopping && this.running.size < this.maxConcurrent && this.queue.length > 0) {
      const command = this.queue.shift()!;
      const expiresAt = Date.parse(command.expiresAt);
      if (Number.isNaN(expiresAt) || expiresAt <= this.serverNow()) {
        this.log.warn('command expired before it could start', { commandId: command.id, expiresAt: command.expiresAt });
        const error = Number.isNaN(expiresAt) ? `${EXPIRED_ERROR} (unreadable expiresAt)` : EXPIRED_ERROR;
        this.finishAndReport(command.id, notRunResult('failed', error, new Date()));
        continue;
      }
      const task: Promise<void> = this.runCommand(command)
        .catch((err) => {
          this.log.error('command task crashed', { commandId: command.id, err });
          // Its process may or may not have run; it must still get a result rather than hang.
          if (!this.journal?.get(command.id)?.result) {
            this.finishAndReport(command.id, notRunResult('failed', `internal agent error: ${describe(err)}`, new Date()));
          }
        })
        .finally(() => this.tasks.delete(task));
      this.tasks.add(task);
    }
  }

  /** Returns whether the cancellation changed anything here. */
  private cancel(commandId: string): boolean {
    const queuedAt = this.queue.findIndex((command) => command.id === commandId);
    if (queuedAt >= 0) {
      this.queue.splice(queuedAt, 1);
      this.log.info('command cancelled before it started', { commandId });
      this.finishAndReport(commandId, notRunResult('cancelled', undefined, new Date()));
      return true;
    }
    const run = this.running.get(commandId);
    if (!run) {
      // Finished already: the server has not got the result yet (it would not ask otherwise), send it.
      const result = this.journal?.get(commandId)?.result;
      if (result && !this.reporting.has(commandId)) {
        this.report(commandId, result);
        return true;
      }
      return false; // being reported, or never ours: the server's cancellation expires
    }
    if (run.pendingStop === 'cancel' || run.cancelling) return false;
    this.log.info('cancelling command', { commandId });
    run.cancelling = true;
    if (run.execution) run.execution.stop('cancel');
    else run.pendingStop ??= 'cancel';
    return true;
  }

  private async runCommand(command: AgentCommand): Promise<void> {
    const { id, payload } = command;
    const log = this.log.child({ commandId: id });
    const run: RunningCommand = { command, lastContactMs: Date.now() };
    this.running.set(id, run); // synchronously, before any await: pump() counts on it
    let heartbeat: NodeJS.Timeout | undefined;
    try {
      const startedAt = new Date();
      const journal = this.requireJournal();
      try {
        journal.markStarted(id, startedAt, this.bootId);
      } catch (err) {
        log.error('could not record the command start; not running it', { err });
        this.finishAndReport(
          id,
          notRunResult('failed', `the agent could not record the command start durably, so it did not run it: ${describe(err)}`, startedAt),
        );
        return;
      }

      const { refusal, cancelRequested } = await this.notifyStart(id, startedAt);
      if (refusal !== undefined || cancelRequested || run.pendingStop || this.stopping) {
        const result =
          refusal !== undefined
            ? notRunResult('failed', refusal, startedAt)
            : cancelRequested || run.pendingStop === 'cancel'
              ? notRunResult('cancelled', undefined, startedAt)
              : notRunResult('failed', 'agent stopped', startedAt);
        log.info('command not started', { status: result.status, error: result.error });
        this.finishAndReport(id, result);
        return;
      }

      const flushOptions = {
        flushIntervalMs: this.options.outputFlushIntervalMs,
        flushBytes: this.options.outputFlushBytes,
        send: (chunk: OutputChunk) => this.sendOutput(run, chunk),
        base64Accepted: () => this.serverAcceptsBase64Output,
      };
      const stdout = new OutputStream({ stream: 'stdout', ...flushOptions });
      const stderr = new OutputStream({ stream: 'stderr', ...flushOptions });

      log.info('starting command', { kind: payload.kind, timeoutSeconds: payload.timeoutSeconds });
      const execution = this.handlers.start(payload, {
        commandId: id,
        output: (stream, data) => (stream === 'stdout' ? stdout : stderr).write(data),
        env: this.options.commandEnv ? { ...process.env, ...this.options.commandEnv } : process.env,
        killGraceMs: this.options.killGraceMs ?? DEFAULT_KILL_GRACE_MS,
        stateDir: this.options.stateDir,
        bootId: this.bootId,
        client: this.client,
        log,
        spawned: (pid) => {
          try {
            journal.markSpawned(id, pid);
          } catch (err) {
            log.warn('could not journal the command process', { err, pid });
          }
        },
        awaitingReboot: (until) => journal.markAwaitingReboot(id, this.bootId, until),
        phase: (phase) => {
          if (run.phase === phase) return;
          run.phase = phase;
          log.info('command phase', { phase });
          void this.sendHeartbeat(run, 0, true);
        },
        depot: {
          cache: this.artifactCache,
          trustedKeys: () => this.depotSigningKeys,
          serverNow: () => this.serverNow(),
        },
      });
      run.execution = execution;
      const heartbeatMs = this.options.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_SECONDS * 1000;
      heartbeat = setInterval(() => void this.sendHeartbeat(run, heartbeatMs), heartbeatMs);

      const outcome = await execution.done;
      clearInterval(heartbeat);
      if ('awaitingReboot' in outcome) {
        this.running.delete(id);
        this.pump();
        await Promise.all([stdout.close(), stderr.close()]);
        // Stopping because the system goes down is the reboot happening: the next agent reports it.
        if (!this.stopping) this.awaitReboot(journal.get(id)!);
        return;
      }
      const result: CommandResult = {
        status: outcome.status,
        exitCode: outcome.exitCode,
        ...(outcome.error ? { error: clipError(outcome.error) } : {}),
        // The instant journaled and sent with /start, so both records agree.
        startedAt: startedAt.toISOString(),
        finishedAt: outcome.finishedAt.toISOString(),
        durationMs: outcome.durationMs,
        ...(outcome.software ? { software: outcome.software } : {}),
      };
      log.info('command finished', { status: result.status, exitCode: result.exitCode, durationMs: result.durationMs });
      // Free the slot now; delivering the remaining output is network work, not a running command.
      this.running.delete(id);
      this.pump();
      this.finishAndReport(id, result, Promise.all([stdout.close(), stderr.close()]));
      if (outcome.software?.rebootRequired && 'reboot' in payload && payload.reboot !== 'never')
        void this.restartAfterResult(id, payload.rebootNotice);
    } finally {
      clearInterval(heartbeat);
      if (this.running.get(id) === run) {
        this.running.delete(id);
        this.pump();
      }
    }
  }

  /**
   * A software command whose version restarts the device (`reboot`: `if_required` and the installer asked, or
   * `always`): the restart is requested once the result is delivered, or after RESTART_AFTER_RESULT_MAX_WAIT_MS
   * without a server (the journal delivers it after the restart then).
   */
  private async restartAfterResult(commandId: string, notice: RestartNotice | undefined): Promise<void> {
    const log = this.log.child({ commandId });
    const delivered = this.reporting.get(commandId) ?? Promise.resolve();
    await Promise.race([delivered, sleep(RESTART_AFTER_RESULT_MAX_WAIT_MS, this.lifetime.signal).catch(() => {})]);
    if (this.stopping) return;
    const plan = restartPlan(notice, {
      override: this.options.rebootCommand,
      wall: notice ? (this.options.wallPath !== undefined ? this.options.wallPath : findWall()) : null,
    });
    const run = (invocation: typeof plan.restart) =>
      executeProcess({ commandId, invocation, timeoutSeconds: 120, onOutput: () => {} }).done;
    if (plan.notify) {
      const told = await run(plan.notify);
      if (told.status !== 'succeeded')
        log.warn('could not tell the users about the restart', { exitCode: told.exitCode, error: told.error });
    }
    if (plan.delayMs > 0) {
      log.info('restarting the device after the notice delay', { delayMs: plan.delayMs });
      await sleep(plan.delayMs, this.lifetime.signal);
      // Stopped meanwhile (a service restart, an update): the users were told, but nobody is left to restart.
      if (this.stopping) {
        log.warn('the agent stopped before the announced restart; the device was not restarted');
        return;
      }
    }
    log.info('restarting the device, as the installed version asks', notice ? { delaySeconds: notice.delaySeconds } : {});
    const outcome = await run(plan.restart);
    if (outcome.status !== 'succeeded') log.error('the restart request failed', { exitCode: outcome.exitCode, error: outcome.error });
  }

  /**
   * Tells the server the command is starting. Returns a reason when the server refuses (4xx), and
   * `cancelRequested` when it no longer wants it run (cancelled, or already over): then the command is
   * not run. When the server is merely unreachable the command runs anyway; the journal already
   * guarantees it runs once, and its result is delivered when the server is back.
   */
  private async notifyStart(commandId: string, startedAt: Date): Promise<{ refusal?: string; cancelRequested?: boolean }> {
    const backoff = new Backoff(this.options.deliveryRetry ?? { initialMs: 500, maxMs: 30_000 });
    const signal = this.lifetime.signal;
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await this.client.start(commandId, startedAt.toISOString(), signal);
        return { cancelRequested: res.cancelRequested === true };
      } catch (err) {
        if (signal.aborted) return {};
        if (this.handleFatal(err)) return { refusal: 'device credentials rejected' };
        if (!isRetryable(err)) return { refusal: clipError(`server refused to start the command: ${describe(err)}`) };
        if (attempt >= START_MAX_ATTEMPTS) {
          this.log.warn('could not notify the server of the start; running anyway', { commandId, err });
          return {};
        }
        await sleep(backoff.next(retryAfterMs(err)), signal);
      }
    }
  }

  private async sendOutput(run: RunningCommand, chunk: OutputChunk): Promise<void> {
    const { id } = run.command;
    const backoff = new Backoff(this.options.deliveryRetry ?? { initialMs: 500, maxMs: 30_000 });
    const signal = this.hardStop.signal;
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) return;
      try {
        const res = await this.client.output(id, chunk, signal);
        run.lastContactMs = Date.now();
        if (res.cancelRequested) this.cancel(id);
        return;
      } catch (err) {
        if (signal.aborted || this.handleFatal(err)) return;
        if (!isRetryable(err) || attempt >= OUTPUT_MAX_ATTEMPTS) {
          this.log.warn('dropping an output chunk', { commandId: id, stream: chunk.stream, seq: chunk.seq, attempt, err });
          return;
        }
        await sleep(backoff.next(retryAfterMs(err)), signal);
      }
    }
  }

  /**
   * Heartbeats only fill silence (every output chunk already counts as one on the server), except the one a new phase
   * sends at once (`now`). The phase goes only to a server that records phases.
   */
  private async sendHeartbeat(run: RunningCommand, intervalMs: number, now = false): Promise<void> {
    const { id } = run.command;
    // A phase's heartbeat retried after the command ended: nothing to say any more.
    if (now && (!this.serverRecordsPhases || this.running.get(id) !== run)) return;
    if (this.heartbeatsInFlight.has(id) || (!now && Date.now() - run.lastContactMs < intervalMs * 0.9)) {
      // A phase change during a heartbeat in flight: the next one carries it (and sends it soon).
      if (now) setTimeout(() => void this.sendHeartbeat(run, 0, true), 200).unref();
      return;
    }
    this.heartbeatsInFlight.add(id);
    try {
      const phase = this.serverRecordsPhases ? run.phase : undefined;
      const res = await this.client.heartbeat(id, this.lifetime.signal, phase ? { phase } : {});
      run.lastContactMs = Date.now();
      if (res.cancelRequested) this.cancel(id);
    } catch (err) {
      if (!this.lifetime.signal.aborted && !this.handleFatal(err)) {
        this.log.warn('heartbeat failed', { commandId: id, err });
      }
    } finally {
      this.heartbeatsInFlight.delete(id);
    }
  }

  /** Journals the result (fsynced) and delivers it once `after` (the output flush) has settled. */
  private finishAndReport(commandId: string, result: CommandResult, after?: Promise<unknown>): void {
    try {
      this.requireJournal().markFinished(commandId, result);
    } catch (err) {
      // Still deliver it; only a crash before delivery would lose it (and then the restart rule applies).
      this.log.error('could not journal a result', { commandId, err });
    }
    this.report(commandId, result, after);
  }

  private report(commandId: string, result: CommandResult, after?: Promise<unknown>): void {
    if (this.reporting.has(commandId)) return;
    const log = this.log.child({ commandId });
    const delivery = (async () => {
      await after;
      // The server's protocol decides which statuses it understands.
      await this.firstCheckinDone;
      const sent =
        this.serverProtocolVersion >= 2 || protocol1ResultStatuses.includes(result.status)
          ? result
          : { ...result, status: 'failed' as const };
      const backoff = new Backoff(this.options.deliveryRetry ?? { initialMs: 500, maxMs: 30_000 });
      const signal = this.hardStop.signal;
      for (;;) {
        if (signal.aborted) return;
        try {
          const res = await this.client.result(commandId, sent, signal);
          // Any 2xx means the server has recorded the result; `accepted: false` is a late result the
          // server keeps but does not apply, and re-sending it would never change that.
          log.info('result delivered', { status: result.status, accepted: res.accepted, duplicate: res.duplicate });
          this.journal?.markReported(commandId, 'delivered');
          return;
        } catch (err) {
          if (signal.aborted || this.handleFatal(err)) return;
          if (!isRetryable(err)) {
            log.error('server refused the result; dropping it', { err });
            this.journal?.markReported(commandId, 'dropped');
            return;
          }
          const delayMs = backoff.next(retryAfterMs(err));
          log.warn('result delivery failed; retrying', { err, retryInMs: delayMs });
          await sleep(delayMs, signal);
        }
      }
    })()
      .catch((err) => log.error('result delivery crashed', { err }))
      .finally(() => this.reporting.delete(commandId));
    this.reporting.set(commandId, delivery);
  }

  // --- shutdown ---------------------------------------------------------------------------------

  /** Returns true (and shuts the agent down) when `err` means the device credentials are rejected. */
  private handleFatal(err: unknown): boolean {
    if (!(err instanceof CredentialsRejectedError)) return false;
    if (!this.stopping) {
      if (err.code === 'device_retired') {
        this.log.error('this device was retired on the server and is no longer managed; stopping (enroll again to manage it)', { err });
      } else {
        this.log.error(
          'the server rejected the device credentials; stopping (if its secret was rotated, install the new one with "rekey")',
          { err },
        );
      }
    }
    this.beginShutdown('credentials_rejected');
    return true;
  }

  private beginShutdown(reason: AgentExitReason): void {
    if (this.exitReason) return;
    this.exitReason = reason;
    this.log.info('agent stopping', { reason, running: this.running.size, queued: this.queue.length });
    this.lifetime.abort();
    clearInterval(this.compactTimer);
    // A reboot still awaited stays in the journal: the next agent decides it from the boot ID.
    for (const timer of this.rebootDeadlines.values()) clearTimeout(timer);
    this.rebootDeadlines.clear();
    // Queued commands were never started: the server redelivers them to the next agent run.
    this.queue.length = 0;
    for (const run of this.running.values()) {
      if (run.execution) run.execution.stop('shutdown');
      else run.pendingStop ??= 'shutdown';
    }
    if (reason === 'credentials_rejected') this.hardStop.abort();
    else this.hardStopTimer = setTimeout(() => this.hardStop.abort(), this.options.shutdownTimeoutMs ?? 10_000);
    void this.finishShutdown();
  }

  private async finishShutdown(): Promise<void> {
    await Promise.allSettled(this.loops);
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
    while (this.reporting.size > 0) await Promise.allSettled([...this.reporting.values()]);
    clearTimeout(this.hardStopTimer);
    this.hardStop.abort();
    // Last, after the results: from now on the server shows the device offline. A refused device has
    // nothing to say goodbye with.
    await this.client.close();
    if (this.exitReason !== 'credentials_rejected') await this.sayGoodbye();
    try {
      this.journal?.close();
    } finally {
      this.lock?.release();
    }
    const exit: AgentExit = { reason: this.exitReason ?? 'stopped' };
    this.log.info('agent stopped', { ...exit });
    this.resolveFinished(exit);
  }

  /** Best effort: an unreachable or older server (404) costs at most GOODBYE_TIMEOUT_MS. */
  private async sayGoodbye(): Promise<void> {
    try {
      await this.client.goodbye();
      this.log.debug('said goodbye: the server shows this device offline');
    } catch (err) {
      const older = err instanceof AgentApiError && err.status === 404;
      this.log[older ? 'debug' : 'warn']('could not say goodbye; the server will show this device offline once it is overdue', { err });
    }
  }
}

/** Creates and starts an agent. */
export async function startAgent(options: AgentOptions): Promise<Agent> {
  const agent = new Agent(options);
  await agent.start();
  return agent;
}
