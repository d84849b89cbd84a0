/**
 * The relay for agentless targets (ADR 21): in each API process, one virtual agent per target that speaks the same
 * command channel as a real one — it long-polls the target's commands (AgentCommandService.poll, secrets put in at
 * delivery), reports the start, streams the output and reports the result — and runs each command over SSH or WinRM
 * with packages/agentless. Runs, steps, statuses, output, timeouts and cancellation therefore work exactly as on
 * agents: the job engine cannot tell the difference.
 *
 * Several API processes each relay every target; a command is claimed by one poll only (FOR UPDATE SKIP LOCKED).
 * A process that stops mid-command drops the connection, and the remote side kills the command (see
 * docs/agentless.md); the step then times out on the server like one whose agent vanished.
 */
import { createReadStream, type ReadStream } from 'node:fs';
import type { AgentCommand, CommandResult } from '@opsconductor/contracts/agent-protocol';
import { OutputStream, type StreamName } from '@opsconductor/command-output';
import { RemoteInputError, runPayload, type AgentlessConnection, type RemoteExecution, type RemoteResult } from '@opsconductor/agentless';
import type { ApiDeps, AuthDevice } from '../context.ts';
import { agentCommandService } from './agent-commands.ts';
import { agentlessTargetRow, revealCredential, winRmEndpoint, type TargetRow } from './agentless.ts';

/** Each target's poll waits this long for work before it asks again. */
const POLL_WAIT_SECONDS = 25;
/** A poll that brought nothing new (a cancellation already being carried out) is paced to one per this long. */
const MIN_POLL_INTERVAL_MS = 1000;
/** How often the targets are read again (other API processes add and remove them too). */
const REFRESH_INTERVAL_MS = 30_000;
/** A failed poll or report is tried again after this long. */
const RETRY_MS = 2000;
/** Starts and results are reported this many times before the relay gives up on them (the server then times the step out). */
const REPORT_ATTEMPTS = 5;

interface Loop {
  controller: AbortController;
  done: Promise<void>;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });

export class AgentlessRelay {
  private readonly loops = new Map<string, Loop>();
  /** Executions in flight, by command ID (a command redelivered to this process is not run twice). */
  private readonly running = new Map<string, RemoteExecution | null>();
  private refreshTimer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private again = false;
  private closed = false;

  constructor(private readonly deps: ApiDeps) {}

  start(): void {
    this.refresh();
    this.refreshTimer = setInterval(() => this.refresh(), REFRESH_INTERVAL_MS);
    this.refreshTimer.unref();
  }

  /** Reads the targets again (soon, once for all calls meanwhile): starts relaying new ones, stops removed ones. */
  refresh(): void {
    if (this.closed) return;
    if (this.refreshing) {
      this.again = true;
      return;
    }
    this.refreshing = this.sync()
      .catch((err: unknown) => this.deps.logger.warn({ err }, 'agentless relay: reading the targets failed'))
      .finally(() => {
        this.refreshing = undefined;
        if (this.again) {
          this.again = false;
          this.refresh();
        }
      });
  }

  /** Resolves once the current refresh (if any) is over: for tests and for callers that need the loops in place. */
  async settled(): Promise<void> {
    while (this.refreshing) await this.refreshing;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.refreshTimer);
    await this.refreshing;
    for (const loop of this.loops.values()) loop.controller.abort();
    for (const execution of this.running.values()) execution?.cancel();
    await Promise.all([...this.loops.values()].map((l) => l.done));
    this.loops.clear();
  }

  private async sync(): Promise<void> {
    const { rows } = await this.deps.db.pool.query<{ id: string; hostname: string }>(
      `SELECT d.id, d.hostname FROM agentless_targets t JOIN devices d ON d.id = t.device_id WHERE d.retired_at IS NULL`,
    );
    if (this.closed) return;
    const current = new Set(rows.map((r) => r.id));
    for (const [id, loop] of this.loops) {
      if (!current.has(id)) {
        loop.controller.abort();
        this.loops.delete(id);
      }
    }
    for (const device of rows) {
      if (this.loops.has(device.id)) continue;
      const controller = new AbortController();
      this.loops.set(device.id, { controller, done: this.pollLoop(device, controller.signal) });
    }
  }

  /** The target's virtual agent: poll, take the commands and cancellations, poll again. */
  private async pollLoop(device: AuthDevice, signal: AbortSignal): Promise<void> {
    const service = agentCommandService(this.deps);
    while (!signal.aborted) {
      const began = Date.now();
      let news = false;
      try {
        const envelope = await service.poll(device, POLL_WAIT_SECONDS, signal);
        for (const id of envelope.cancel) {
          const execution = this.running.get(id);
          if (execution) {
            execution.cancel();
            news = true;
          }
        }
        for (const command of envelope.commands) {
          if (this.running.has(command.id)) continue;
          news = true;
          this.running.set(command.id, null);
          void this.execute(device, command)
            // The database went away mid-command: the step ends at its give-up time, as one whose agent vanished.
            .catch((err: unknown) => this.deps.logger.warn({ err, commandId: command.id }, 'agentless relay: a command was dropped'))
            .finally(() => this.running.delete(command.id));
        }
      } catch (err) {
        if (signal.aborted) break;
        this.deps.logger.warn({ err, deviceId: device.id }, 'agentless relay: poll failed');
        await sleep(RETRY_MS, signal);
        continue;
      }
      if (!news) await sleep(Math.max(0, MIN_POLL_INTERVAL_MS - (Date.now() - began)), signal);
    }
  }

  /** Reports with retries while the database is briefly unavailable; undefined once it gave up (or the command is gone). */
  private async report<T>(what: string, commandId: string, call: () => Promise<T>): Promise<T | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (err) {
        const status = (err as { status?: unknown }).status;
        if (status === 404 || status === 409 || attempt >= REPORT_ATTEMPTS) {
          if (typeof status !== 'number' || status >= 500)
            this.deps.logger.warn({ err, commandId }, `agentless relay: reporting the ${what} failed`);
          return undefined;
        }
        await sleep(RETRY_MS * attempt);
      }
    }
  }

  private async execute(device: AuthDevice, command: AgentCommand): Promise<void> {
    const service = agentCommandService(this.deps);
    const startedAt = new Date();
    const started = await this.report('start', command.id, () => service.start(device, command.id, startedAt));
    if (!started) return;
    const finish = (result: Omit<CommandResult, 'startedAt' | 'finishedAt' | 'durationMs'>, at: RemoteResult | undefined) => {
      const finishedAt = at?.finishedAt ?? new Date();
      const full: CommandResult = {
        ...result,
        ...(result.error ? { error: result.error.slice(0, 4000) } : {}),
        startedAt: (at?.startedAt ?? startedAt).toISOString(),
        finishedAt: finishedAt.toISOString(),
        durationMs: at?.durationMs ?? Math.max(0, finishedAt.getTime() - startedAt.getTime()),
      };
      return this.report('result', command.id, () => service.result(device, command.id, full));
    };
    if (started.cancelRequested) {
      await finish({ status: 'cancelled', exitCode: null, error: 'cancelled before it started' }, undefined);
      return;
    }

    const target = await agentlessTargetRow(this.deps, device.id);
    if (!target) {
      await finish({ status: 'failed', exitCode: null, error: 'the agentless target was removed' }, undefined);
      return;
    }
    const connection = await this.connection(target);
    if (typeof connection === 'string') {
      await this.noteConnection(target, { error: connection });
      await finish({ status: 'failed', exitCode: null, error: connection }, undefined);
      return;
    }

    let execution: RemoteExecution | undefined;
    const streams = Object.fromEntries(
      (['stdout', 'stderr'] as const).map((stream) => [
        stream,
        new OutputStream({
          stream,
          base64Accepted: () => true,
          send: async (chunk) => {
            const answer = await this.report('output', command.id, () =>
              service.output(device, command.id, { ...chunk, encoding: chunk.encoding ?? 'utf8' }),
            );
            if (answer?.cancelRequested) execution?.cancel();
          },
        }),
      ]),
    ) as Record<StreamName, OutputStream>;
    let seenHostKey: string | undefined;
    // A file copy's source: closed once the command is over, whether or not the transport read it to the end.
    const opened: ReadStream[] = [];
    try {
      execution = runPayload(connection, command.payload, {
        onOutput: (stream, data) => streams[stream].write(data),
        openFile: (sha256) => {
          const stream = createReadStream(this.deps.files.pathOf(sha256));
          opened.push(stream);
          return stream;
        },
        onHostKey: (fingerprint) => (seenHostKey = fingerprint),
      });
    } catch (err) {
      const error = err instanceof RemoteInputError ? err.message : 'the command could not be started';
      if (!(err instanceof RemoteInputError)) this.deps.logger.warn({ err, commandId: command.id }, 'agentless relay: start failed');
      for (const stream of opened) stream.destroy();
      await finish({ status: 'failed', exitCode: null, error }, undefined);
      return;
    }
    this.running.set(command.id, execution);
    const result = await execution.done;
    for (const stream of opened) stream.destroy();
    await Promise.all([streams.stdout.close(), streams.stderr.close()]);
    // No exit code and an error: the connection (or the login) failed, or it broke before the end.
    const reached = result.exitCode !== null || result.status === 'succeeded';
    await this.noteConnection(target, reached ? { hostKey: seenHostKey } : { error: result.error ?? result.status, hostKey: seenHostKey });
    await finish({ status: result.status, exitCode: result.exitCode, ...(result.error ? { error: result.error } : {}) }, result);
  }

  /** How to reach the target with its credential, or why it cannot be reached. */
  private async connection(t: TargetRow): Promise<AgentlessConnection | string> {
    let auth: Awaited<ReturnType<typeof revealCredential>>;
    try {
      auth = await revealCredential(this.deps, t.credential_id, t.credential_kind);
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).name, deviceId: t.id }, 'agentless relay: the credential could not be read');
      auth = null;
    }
    if (!auth) return `the secret of credential "${t.credential_name}" cannot be read (is SECRETS_MASTER_KEYS set?)`;
    const connectTimeoutMs = t.connect_timeout_seconds * 1000;
    if (t.transport === 'ssh') {
      return {
        protocol: 'ssh',
        target: {
          host: t.host,
          port: t.port,
          username: t.username,
          auth,
          hostKey: t.ssh_host_key ? { sha256: t.ssh_host_key } : {},
          connectTimeoutMs,
        },
      };
    }
    if (!('password' in auth)) return 'WinRM logs in with a password: give this target a password credential';
    return {
      protocol: 'winrm',
      target: {
        endpoint: winRmEndpoint(t),
        username: t.username,
        password: auth.password,
        auth: t.winrm_auth,
        tls: { rejectUnauthorized: t.winrm_verify_tls, ...(t.winrm_ca ? { ca: t.winrm_ca } : {}) },
        allowBasicOverHttp: t.winrm_allow_basic_over_http,
        connectTimeoutMs,
      },
    };
  }

  /** Records the last connection (or its error) and pins an SSH host key seen on first use. */
  private async noteConnection(t: TargetRow, what: { error?: string; hostKey?: string | undefined }): Promise<void> {
    try {
      await this.deps.db.pool.query(
        `UPDATE agentless_targets SET
           last_connected_at = CASE WHEN $2::text IS NULL THEN now() ELSE last_connected_at END,
           last_error = $2, last_error_at = CASE WHEN $2::text IS NULL THEN last_error_at ELSE now() END,
           ssh_host_key = coalesce(ssh_host_key, $3), host_key_pinned_at = CASE WHEN ssh_host_key IS NULL AND $3::text IS NOT NULL THEN now() ELSE host_key_pinned_at END
         WHERE device_id = $1`,
        [t.id, what.error?.slice(0, 1000) ?? null, t.transport === 'ssh' && !t.ssh_host_key ? (what.hostKey ?? null) : null],
      );
    } catch (err) {
      this.deps.logger.warn({ err, deviceId: t.id }, 'agentless relay: recording the connection failed');
    }
  }
}
