/**
 * One simulated device: enrolls (or reuses saved credentials), checks in, long-polls and answers every
 * command it gets as the real agent would — start, output chunks, heartbeats, result — with the timing and
 * outcome its behaviour draws, without running anything. It keeps an in-memory journal with the real
 * agent's rules: a command runs at most once, a result is re-sent until the server takes it, and a command
 * that was running when the device "rebooted" is reported interrupted afterwards (unless the journal is lost).
 * Software commands change the set of package versions it has installed (software.ts), which survives reboots;
 * a successful install may leave it silent (no polls, check-ins or heartbeats) until an action brings it back.
 */
import { randomUUID } from 'node:crypto';
import {
  AGENT_PROTOCOL_VERSION,
  HEARTBEAT_INTERVAL_SECONDS,
  MAX_POLL_WAIT_SECONDS,
  type AgentCommand,
  type DeviceFacts,
} from '@opsconductor/contracts/agent-protocol';
import { capability, commandKinds } from '@opsconductor/contracts/commands';
import type { SoftwareOutcome } from '@opsconductor/contracts/constants';
import type { ArtifactManifest } from '@opsconductor/contracts/software';
import { Backoff, sleep } from '../backoff.ts';
import { EXPIRED_ERROR, INTERRUPTED_ERROR } from '../journal.ts';
import { AGENT_VERSION } from '../version.ts';
import { drawOutcome, type CommandBehaviour } from './behaviour.ts';
import { ProtocolCallError, ProtocolDriftError, type CheckinBody, type ProtocolClient, type ResultBody } from './protocol-client.ts';
import {
  isSoftwarePayload,
  planSoftwareCommand,
  stoppedReport,
  type ArtifactFetch,
  type SoftwarePhase,
  type SoftwarePlan,
} from './software.ts';
import type { FleetCredential } from './state-file.ts';
import type { FleetStats } from './fleet-stats.ts';
import type { CallStats } from './stats.ts';

const ALL_CAPABILITIES = commandKinds.map((kind) => capability(kind));

/** `silent`: went silent after an install (`silentAfterInstallRate`) and waits for `revive`, `goOnline` or `reboot`. */
export type VirtualAgentStatus = 'new' | 'enrolling' | 'online' | 'offline' | 'rebooting' | 'silent' | 'rejected' | 'stopped';

export interface CommandEvent {
  index: number;
  hostname: string;
  deviceId: string;
  commandId: string;
  /** Wall-clock ms (Date.now()) when the poll answer carrying the command arrived. */
  receivedAt: number;
}

export interface ResultEvent {
  index: number;
  hostname: string;
  deviceId: string;
  commandId: string;
  status: ResultBody['status'];
  exitCode: number | null;
  /** software.install / software.uninstall: the outcome the result reported. */
  softwareOutcome?: SoftwareOutcome;
  /** Wall-clock ms when the server took the result. */
  reportedAt: number;
}

/** What every virtual agent of a fleet shares. */
export interface AgentEnvironment {
  client: ProtocolClient;
  stats: FleetStats;
  random: () => number;
  /** Overrides the server's check-in interval; 0 checks in only when coming online. */
  checkinIntervalSeconds?: number;
  /** Random delay (0…jitterMs) before each reaction, so a fleet does not answer in lockstep. */
  jitterMs: number;
  /** Enrolls again when the server refuses saved credentials; undefined without a token. */
  enrollmentToken?: string;
  onCommand?: (event: CommandEvent) => void;
  onResult?: (event: ResultEvent) => void;
  /** The credentials changed (enrolled or enrolled again): the fleet saves them. */
  onCredentials?: (credential: FleetCredential) => void;
  /** Downloads a software command's artifact with the device's credentials (behaviour `downloadArtifacts`). */
  fetchArtifact?: (deviceSecret: string, manifest: ArtifactManifest, signal: AbortSignal) => Promise<ArtifactFetch>;
  /** The device's software state changed (installed versions, silence): the fleet saves it. */
  onStateChange?: () => void;
}

/** A device's software state at start (from the state file). */
export interface InitialSoftwareState {
  installed?: Iterable<string>;
  silent?: boolean;
}

interface JournalEntry {
  startedAt?: string;
  result?: ResultBody;
  reported?: boolean;
}

const START_MAX_ATTEMPTS = 3;
/** Commands remembered per device; the oldest reported ones are forgotten beyond this (a long-running simulation). */
const JOURNAL_LIMIT = 1000;
const OUTPUT_MAX_ATTEMPTS = 8;
/** Floor between polls that came back empty early (as the real agent). */
const MIN_EMPTY_POLL_INTERVAL_MS = 1000;

class CredentialsRejected extends Error {}

/** A 10.x.y.z address per index: distinct, stable, readable. */
function ipFor(index: number): string {
  return `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`;
}

function timeoutMsOf(payload: AgentCommand['payload']): number | undefined {
  const seconds = (payload as { timeoutSeconds?: unknown }).timeoutSeconds;
  return typeof seconds === 'number' ? seconds * 1000 : undefined;
}

export class VirtualAgent {
  status: VirtualAgentStatus = 'new';
  /** Changes on every simulated reboot. */
  bootId = randomUUID();
  credential: FleetCredential | undefined;
  /** Kept across the retries of one enrolment, so a retry after a lost answer gets the same device. */
  private enrollmentId: string | undefined;
  private pollWaitSeconds = 25;
  private checkinIntervalSeconds = 60;
  private session: AbortController | undefined;
  private readonly tasks = new Set<Promise<void>>();
  private loops: Promise<void>[] = [];
  private journal = new Map<string, JournalEntry>();
  /** Per running command: aborting it cancels the command. */
  private readonly running = new Map<string, AbortController>();
  /** Installed package versions, by version ID: they survive reboots (and, with a state file, restarts). */
  private readonly installed = new Set<string>();
  /** SHA-256s of artifacts downloaded before (the agent's cache; in memory only). */
  private readonly cached = new Set<string>();
  /** Went silent after an install; stays away until revived (or brought online, or rebooted) by an action. */
  private isSilent: boolean;
  /** On a metered connection (behaviour `metered`; `fleet.setMetered` changes it). */
  metered: boolean;
  /** Whether the server records command phases (its check-in answer lists them). */
  private serverRecordsPhases = false;

  constructor(
    readonly index: number,
    readonly hostname: string,
    /** Changed while running by `fleet.changeBehaviour` (a fault injected into a fleet at work). */
    public behaviour: CommandBehaviour,
    private readonly env: AgentEnvironment,
    credential?: FleetCredential,
    software: InitialSoftwareState = {},
  ) {
    this.credential = credential;
    for (const id of software.installed ?? []) this.installed.add(id);
    this.isSilent = software.silent ?? false;
    this.metered = behaviour.metered;
  }

  get silent(): boolean {
    return this.isSilent;
  }

  /** The installed package versions (version IDs, sorted). */
  installedVersions(): string[] {
    return [...this.installed].sort();
  }

  /** Removes a version by hand (a user uninstalled it outside OpsConductor); returns whether it was installed. */
  removeSoftware(versionId: string): boolean {
    const removed = this.installed.delete(versionId);
    if (removed) this.env.onStateChange?.();
    return removed;
  }

  /** Installs a version by hand (outside OpsConductor); returns whether it was missing. */
  addSoftware(versionId: string): boolean {
    if (this.installed.has(versionId)) return false;
    this.installed.add(versionId);
    this.env.onStateChange?.();
    return true;
  }

  /** A silent device comes back (new session, same boot ID); returns whether it was silent. */
  async revive(): Promise<boolean> {
    if (!this.isSilent) return false;
    if (this.credential && this.status !== 'rejected' && this.status !== 'stopped') await this.goOnline();
    return true;
  }

  get deviceId(): string | undefined {
    return this.credential?.deviceId;
  }

  facts(): DeviceFacts {
    return {
      hostname: this.hostname,
      osFamily: 'linux',
      osName: 'Debian GNU/Linux',
      osVersion: '12',
      architecture: 'x64',
      ipAddresses: [ipFor(this.index)],
      agentVersion: AGENT_VERSION,
    };
  }

  /**
   * The check-in body, built in one place and typed by the contract's `checkinRequest`: the current
   * protocol, every command kind (a virtual agent "runs" any kind by drawing its outcome), and the boot ID.
   */
  private checkinBody(): CheckinBody {
    return { facts: this.facts(), protocolVersion: AGENT_PROTOCOL_VERSION, capabilities: ALL_CAPABILITIES, bootId: this.bootId };
  }

  async enroll(token: string): Promise<void> {
    this.status = 'enrolling';
    const began = performance.now();
    this.enrollmentId ??= randomUUID();
    try {
      const res = await this.env.client.enroll({ enrollmentToken: token, facts: this.facts(), enrollmentId: this.enrollmentId });
      this.enrollmentId = undefined;
      this.env.stats.enroll.latency.record(performance.now() - began);
      this.credential = { index: this.index, hostname: this.hostname, deviceId: res.deviceId, deviceSecret: res.deviceSecret };
      this.pollWaitSeconds = Math.min(MAX_POLL_WAIT_SECONDS, Math.max(1, res.pollWaitSeconds));
      this.checkinIntervalSeconds = res.checkinIntervalSeconds;
      this.env.onCredentials?.(this.credential);
      this.status = 'offline';
    } catch (err) {
      this.status = 'new';
      this.env.stats.failure(this.env.stats.enroll, err);
      throw err;
    }
  }

  /** Starts check-in and polling; resolves once the first check-in got through (it retries until then). */
  async goOnline(): Promise<void> {
    if (!this.credential) throw new Error(`device ${this.index} is not enrolled`);
    if (this.session) return;
    if (this.isSilent) {
      this.isSilent = false;
      this.env.onStateChange?.();
    }
    const session = new AbortController();
    this.session = session;
    this.status = 'online';
    const signal = session.signal;
    await this.firstCheckin(signal);
    if (signal.aborted) return;
    this.recover(signal);
    this.loops = [this.checkinLoop(signal), this.pollLoop(signal)].map((p) =>
      p.catch((err) => {
        if (err instanceof CredentialsRejected) return this.rejected();
        this.env.stats.note(`device ${this.index}: loop crashed: ${(err as Error)?.stack ?? String(err)}`);
      }),
    );
  }

  /**
   * The agent stops at once, as if killed or cut off: in-flight calls are abandoned and running commands
   * are lost (the journal still knows they started). With `goodbye`, it first tells the server (a clean stop).
   */
  async goOffline(opts: { goodbye?: boolean; status?: VirtualAgentStatus } = {}): Promise<void> {
    const session = this.session;
    this.session = undefined;
    if (session) {
      session.abort();
      await Promise.allSettled([...this.loops, ...this.tasks]);
      this.loops = [];
    }
    // Closed before the goodbye, so no poll sent on it can reach the server after the goodbye (and show it online).
    if (this.credential) await this.env.client.disconnect(this.credential.deviceSecret);
    if (opts.goodbye && this.credential && session) await this.env.client.goodbye(this.credential.deviceSecret).catch(() => {});
    if (this.status !== 'rejected') this.status = opts.status ?? (this.isSilent ? 'silent' : 'offline');
  }

  /** After an install: stops polling, checking in and heartbeating, as a device the update broke. */
  private async goSilent(): Promise<void> {
    if (this.status !== 'online') return;
    this.isSilent = true;
    this.env.stats.wentSilent++;
    this.env.onStateChange?.();
    await this.goOffline({ status: 'silent' });
  }

  /** Goes away for `offlineMs`, then comes back with a new boot ID (and, unless `keepJournal`, no memory of its commands). */
  async reboot(offlineMs: number, keepJournal = this.behaviour.keepJournal): Promise<void> {
    if (this.status !== 'online' && this.status !== 'silent') return;
    // A silent device (hung after an install) comes back from a reboot.
    await this.goOffline({ status: 'rebooting' });
    this.env.stats.reboots++;
    await sleep(offlineMs);
    if ((this.status as VirtualAgentStatus) !== 'rebooting') return; // stopped meanwhile
    this.bootId = randomUUID();
    if (!keepJournal) this.journal = new Map();
    await this.goOnline();
  }

  async stop(opts: { goodbye?: boolean } = {}): Promise<void> {
    await this.goOffline({ ...opts, status: 'stopped' });
  }

  private rejected(): void {
    this.status = 'rejected';
    this.env.stats.rejected++;
    this.session?.abort();
    this.session = undefined;
  }

  private secret(): string {
    return this.credential!.deviceSecret;
  }

  /** Any call: counts failures by kind, and turns a refused secret into CredentialsRejected. */
  private failed(call: CallStats, err: unknown): void {
    if (err instanceof ProtocolCallError && err.status === 401) throw new CredentialsRejected(err.message);
    this.env.stats.failure(call, err);
  }

  private async firstCheckin(signal: AbortSignal): Promise<void> {
    const backoff = new Backoff({ initialMs: 1000, maxMs: 30_000 });
    let reenrolled = false;
    while (!signal.aborted) {
      try {
        await this.checkin(signal);
        return;
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof ProtocolCallError && err.status === 401) {
          // Saved credentials of a device the server no longer knows (a reset database): enroll afresh.
          if (this.env.enrollmentToken && !reenrolled) {
            reenrolled = true;
            try {
              await this.enroll(this.env.enrollmentToken);
              this.status = 'online';
              continue;
            } catch {
              // counted by enroll(); fall through to being rejected
            }
          }
          this.rejected();
          return;
        }
        this.env.stats.failure(this.env.stats.checkin, err);
        await sleep(backoff.next(err instanceof ProtocolCallError ? err.retryAfterMs : 0), signal);
      }
    }
  }

  private async checkin(signal: AbortSignal): Promise<void> {
    const began = performance.now();
    const res = await this.env.client.checkin(this.secret(), this.checkinBody(), signal);
    this.env.stats.checkin.latency.record(performance.now() - began);
    this.checkinIntervalSeconds = res.checkinIntervalSeconds;
    this.serverRecordsPhases = res.commandPhases?.includes('downloading') ?? false;
  }

  private async checkinLoop(signal: AbortSignal): Promise<void> {
    const backoff = new Backoff({ initialMs: 1000, maxMs: 30_000 });
    for (;;) {
      const seconds = this.env.checkinIntervalSeconds ?? this.checkinIntervalSeconds;
      if (seconds <= 0) return;
      // ±10 %: check-ins of a fleet that came up together spread out.
      await sleep(seconds * 1000 * (0.9 + 0.2 * this.env.random()), signal);
      if (signal.aborted) return;
      try {
        await this.checkin(signal);
        backoff.reset();
      } catch (err) {
        if (signal.aborted) return;
        this.failed(this.env.stats.checkin, err);
        await sleep(backoff.next(), signal);
      }
    }
  }

  private async pollLoop(signal: AbortSignal): Promise<void> {
    const backoff = new Backoff({ initialMs: 1000, maxMs: 30_000 });
    const stats = this.env.stats;
    while (!signal.aborted) {
      const began = performance.now();
      let answer: Awaited<ReturnType<ProtocolClient['poll']>>;
      try {
        answer = await this.env.client.poll(this.secret(), this.pollWaitSeconds, signal);
        backoff.reset();
      } catch (err) {
        if (signal.aborted) return;
        this.failed(stats.poll, err);
        await sleep(backoff.next(err instanceof ProtocolCallError ? err.retryAfterMs : 0), signal);
        continue;
      }
      const receivedAt = Date.now();
      const elapsed = performance.now() - began;
      if (answer.commands.length === 0 && answer.cancel.length === 0) {
        stats.poll.latency.record(elapsed);
        if (elapsed < MIN_EMPTY_POLL_INTERVAL_MS) await sleep(MIN_EMPTY_POLL_INTERVAL_MS - elapsed, signal);
        continue;
      }
      stats.pollsWithWork++;
      for (const id of answer.cancel) this.running.get(id)?.abort();
      for (const command of answer.commands) this.accept(command, receivedAt, signal);
    }
  }

  /** Re-sends unreported results and fails what was running when the agent went away (as the real agent at start). */
  private recover(signal: AbortSignal): void {
    const now = new Date();
    for (const [id, entry] of this.journal) {
      if (entry.reported) continue;
      if (entry.result) this.track(this.report(id, entry.result, signal));
      else if (entry.startedAt) this.track(this.finish(id, this.restarted(entry, now), signal));
    }
  }

  private restarted(entry: JournalEntry, now: Date): ResultBody {
    const startedAt = entry.startedAt ?? now.toISOString();
    return {
      status: 'interrupted',
      exitCode: null,
      error: INTERRUPTED_ERROR,
      startedAt,
      finishedAt: now.toISOString(),
      durationMs: Math.max(0, now.getTime() - Date.parse(startedAt)),
    };
  }

  private track(task: Promise<void>): void {
    const t = task
      .catch((err) => {
        if (err instanceof CredentialsRejected) this.rejected();
        else this.env.stats.note(`device ${this.index}: command task crashed: ${(err as Error)?.stack ?? String(err)}`);
      })
      .finally(() => this.tasks.delete(t));
    this.tasks.add(t);
  }

  private accept(command: AgentCommand, receivedAt: number, signal: AbortSignal): void {
    const entry = this.journal.get(command.id);
    if (this.running.has(command.id)) return; // redelivered while it runs
    if (entry?.result) {
      if (!entry.reported) return; // its delivery is still under way
      this.track(this.report(command.id, entry.result, signal));
      return;
    }
    if (entry?.startedAt) {
      this.track(this.finish(command.id, this.restarted(entry, new Date()), signal));
      return;
    }
    this.env.stats.commandsReceived++;
    this.env.onCommand?.({
      index: this.index,
      hostname: this.hostname,
      deviceId: this.credential!.deviceId,
      commandId: command.id,
      receivedAt,
    });
    this.journal.set(command.id, {});
    this.track(this.execute(command, signal));
  }

  private async jitter(signal: AbortSignal): Promise<void> {
    if (this.env.jitterMs > 0) await sleep(this.env.random() * this.env.jitterMs, signal);
  }

  private async execute(command: AgentCommand, signal: AbortSignal): Promise<void> {
    const { id } = command;
    const entry = this.journal.get(id)!;
    const cancel = new AbortController();
    this.running.set(id, cancel);
    try {
      await this.jitter(signal);
      if (signal.aborted) return;
      const startedAt = new Date();
      entry.startedAt = startedAt.toISOString();
      if (Date.parse(command.expiresAt) <= startedAt.getTime()) {
        await this.finish(
          id,
          {
            status: 'failed',
            exitCode: null,
            error: EXPIRED_ERROR,
            startedAt: entry.startedAt,
            finishedAt: entry.startedAt,
            durationMs: 0,
          },
          signal,
        );
        return;
      }
      if (await this.notifyStart(id, entry.startedAt, signal)) cancel.abort();
      const outcome = drawOutcome(this.behaviour, this.env.random);
      const timeoutMs = timeoutMsOf(command.payload);
      const runsMs = timeoutMs !== undefined ? Math.min(outcome.latencyMs, timeoutMs) : outcome.latencyMs;
      const stopped = AbortSignal.any([signal, cancel.signal]);
      let software: SoftwarePlan | undefined;
      if (isSoftwarePayload(command.payload)) {
        try {
          software = await this.planSoftware(command.payload, stopped);
        } catch (err) {
          if (!stopped.aborted) throw err;
        }
      }
      // The run's time is shared by the phases the command reached (each reported when it begins).
      const phases = software && this.serverRecordsPhases ? software.phases : [];
      const marks = phases.map((phase, i) => ({ atMs: (runsMs * i) / phases.length, phase }));
      if (!stopped.aborted) await this.simulateRun(id, runsMs, stopped, cancel, marks);
      if (signal.aborted) return; // the device went away mid-run: the journal remembers it started
      const finishedAt = new Date();
      const status = cancel.signal.aborted
        ? 'cancelled'
        : timeoutMs !== undefined && outcome.latencyMs > timeoutMs
          ? 'timed_out'
          : software
            ? software.status
            : outcome.exitCode === 0
              ? 'succeeded'
              : 'failed';
      const ranToEnd = status === 'succeeded' || status === 'failed';
      const exitCode = ranToEnd ? (software ? software.exitCode : outcome.exitCode) : null;
      const isSoftware = isSoftwarePayload(command.payload);
      const report =
        software && ranToEnd
          ? software.report
          : isSoftware
            ? stoppedReport(software, status === 'cancelled' ? 'cancelled' : `timed out after ${(timeoutMs ?? runsMs) / 1000} s`)
            : undefined;
      if (software && ranToEnd) this.applySoftware(software);
      if (report) this.env.stats.softwareOutcome(report.outcome);
      this.running.delete(id);
      await this.finish(
        id,
        {
          status,
          exitCode,
          ...(report && status !== 'succeeded' ? { error: software && ranToEnd ? software.error : `failed: ${report.detail ?? ''}` } : {}),
          startedAt: entry.startedAt,
          finishedAt: finishedAt.toISOString(),
          durationMs: finishedAt.getTime() - startedAt.getTime(),
          ...(report ? { software: report } : {}),
        },
        signal,
      );
      if (signal.aborted) return;
      // Silence wins over a restart: the device hung before it could restart.
      if (software?.silent && ranToEnd) void this.goSilent();
      else if (outcome.reboot || (software?.restart && ranToEnd)) void this.reboot(this.behaviour.rebootOfflineMs);
    } finally {
      this.running.delete(id);
    }
  }

  /** Decides a software command's outcome against the installed versions, downloading its artifacts if asked to. */
  private planSoftware(payload: Parameters<typeof planSoftwareCommand>[0], stopped: AbortSignal): Promise<SoftwarePlan> {
    const fetch = this.env.fetchArtifact;
    const secret = this.secret();
    return planSoftwareCommand(
      payload,
      { installed: this.installed, cached: this.cached, metered: this.metered },
      this.behaviour,
      this.env.random,
      fetch ? (manifest) => fetch(secret, manifest, stopped) : undefined,
    );
  }

  private applySoftware(plan: SoftwarePlan): void {
    for (const sha256 of plan.downloaded) this.cached.add(sha256);
    if (plan.install.length === 0 && plan.uninstall.length === 0) return;
    for (const id of plan.install) this.installed.add(id);
    for (const id of plan.uninstall) this.installed.delete(id);
    this.env.onStateChange?.();
  }

  /** Output chunks spread over the run, heartbeats in the silences and with each phase as it begins; ends early when cancelled. */
  private async simulateRun(
    id: string,
    runsMs: number,
    stopped: AbortSignal,
    cancel: AbortController,
    marks: readonly { atMs: number; phase: SoftwarePhase }[] = [],
  ): Promise<void> {
    const { outputChunks, outputBytes } = this.behaviour;
    const until = performance.now() + runsMs;
    const heartbeatMs = HEARTBEAT_INTERVAL_SECONDS * 1000;
    const step = outputChunks > 0 ? runsMs / (outputChunks + 1) : Infinity;
    let seq = 0;
    let lastContact = performance.now();
    let mark = 0;
    let phase: SoftwarePhase | undefined;
    const line = `${this.hostname} ${'x'.repeat(Math.max(0, outputBytes - this.hostname.length - 2))}\n`.slice(0, Math.max(1, outputBytes));
    while (!stopped.aborted) {
      const now = performance.now();
      const nextOutput = seq < outputChunks ? until - runsMs + step * (seq + 1) : Infinity;
      const nextMark = mark < marks.length ? until - runsMs + marks[mark]!.atMs : Infinity;
      const next = Math.min(until, nextOutput, lastContact + heartbeatMs, nextMark);
      if (next > now) await sleep(next - now, stopped);
      if (stopped.aborted) return;
      const at = performance.now();
      if (mark < marks.length && at >= nextMark) {
        phase = marks[mark++]!.phase;
        if (await this.sendHeartbeat(id, stopped, phase)) cancel.abort();
        lastContact = performance.now();
      } else if (seq < outputChunks && at >= nextOutput) {
        if (await this.sendOutput(id, seq++, line, stopped)) cancel.abort();
        lastContact = performance.now();
      } else if (at >= until) {
        return;
      } else if (at >= lastContact + heartbeatMs) {
        if (await this.sendHeartbeat(id, stopped, phase)) cancel.abort();
        lastContact = performance.now();
      }
    }
  }

  /** Returns whether the server asks to cancel. */
  private async notifyStart(id: string, startedAt: string, signal: AbortSignal): Promise<boolean> {
    const backoff = new Backoff({ initialMs: 500, maxMs: 30_000 });
    const stats = this.env.stats;
    for (let attempt = 1; ; attempt++) {
      const began = performance.now();
      try {
        const res = await this.env.client.start(this.secret(), id, { startedAt }, signal);
        stats.start.latency.record(performance.now() - began);
        return res.cancelRequested;
      } catch (err) {
        if (signal.aborted) return false;
        this.failed(stats.start, err);
        // The real agent runs the command anyway when the server is unreachable; so do we.
        if (!(err instanceof ProtocolCallError && err.retryable) || attempt >= START_MAX_ATTEMPTS) return false;
        await sleep(backoff.next(err.retryAfterMs), signal);
      }
    }
  }

  private async sendOutput(id: string, seq: number, data: string, signal: AbortSignal): Promise<boolean> {
    const backoff = new Backoff({ initialMs: 500, maxMs: 30_000 });
    for (let attempt = 1; ; attempt++) {
      const began = performance.now();
      try {
        const res = await this.env.client.output(this.secret(), id, { stream: 'stdout', seq, data }, signal);
        this.env.stats.output.latency.record(performance.now() - began);
        return res.cancelRequested;
      } catch (err) {
        if (signal.aborted) return false;
        this.failed(this.env.stats.output, err);
        if (!(err instanceof ProtocolCallError && err.retryable) || attempt >= OUTPUT_MAX_ATTEMPTS) return false;
        await sleep(backoff.next(err.retryAfterMs), signal);
      }
    }
  }

  private async sendHeartbeat(id: string, signal: AbortSignal, phase?: SoftwarePhase): Promise<boolean> {
    const began = performance.now();
    try {
      const res = await this.env.client.heartbeat(this.secret(), id, signal, phase ? { phase } : {});
      this.env.stats.heartbeat.latency.record(performance.now() - began);
      return res.cancelRequested;
    } catch (err) {
      if (!signal.aborted) this.failed(this.env.stats.heartbeat, err);
      return false;
    }
  }

  private pruneJournal(): void {
    if (this.journal.size <= JOURNAL_LIMIT) return;
    for (const [id, entry] of this.journal) {
      if (this.journal.size <= JOURNAL_LIMIT / 2) break;
      if (entry.reported) this.journal.delete(id);
    }
  }

  private async finish(id: string, result: ResultBody, signal: AbortSignal): Promise<void> {
    const entry = this.journal.get(id) ?? {};
    entry.result = result;
    this.journal.set(id, entry);
    await this.report(id, result, signal);
  }

  /** Delivers a result until the server takes it (or refuses it with a 4xx), with the real agent's backoff. */
  private async report(id: string, result: ResultBody, signal: AbortSignal): Promise<void> {
    const backoff = new Backoff({ initialMs: 500, maxMs: 30_000 });
    const stats = this.env.stats;
    while (!signal.aborted) {
      const began = performance.now();
      try {
        const res = await this.env.client.result(this.secret(), id, result, signal);
        stats.result.latency.record(performance.now() - began);
        if (res.duplicate) stats.duplicateResults++;
        else stats.resultsAccepted++;
        const entry = this.journal.get(id);
        if (entry) entry.reported = true;
        this.pruneJournal();
        this.env.onResult?.({
          index: this.index,
          hostname: this.hostname,
          deviceId: this.credential!.deviceId,
          commandId: id,
          status: result.status,
          exitCode: result.exitCode ?? null,
          ...(result.software ? { softwareOutcome: result.software.outcome } : {}),
          reportedAt: Date.now(),
        });
        return;
      } catch (err) {
        if (signal.aborted) return;
        this.failed(stats.result, err);
        if (err instanceof ProtocolDriftError || !(err instanceof ProtocolCallError && err.retryable)) {
          const entry = this.journal.get(id);
          if (entry) entry.reported = true; // dropped, as the real agent drops a refused result
          return;
        }
        await sleep(backoff.next(err.retryAfterMs), signal);
      }
    }
  }
}
