/**
 * A command handler runs one kind of command (packages/contracts/src/commands.ts). The agent gives it
 * the payload and a context, and gets back an execution it can stop; it announces `kind@version` of
 * every handler it has as its capabilities. A new kind is a new handler in this folder, registered in
 * index.ts — nothing else in the agent changes.
 */
import type { CommandPhase } from '@opsconductor/contracts/agent-protocol';
import type { CommandKind, CommandPayloadOf } from '@opsconductor/contracts/commands';
import type { ExecutionOutcome, StopReason } from '../executor.ts';
import type { ArtifactCache } from '../depot/cache.ts';
import type { AgentHttpClient } from '../http.ts';
import type { DepotSigningKey } from '@opsconductor/contracts/software';
import type { Logger } from '../log.ts';
import type { StreamName } from '@opsconductor/command-output';

export interface HandlerContext {
  commandId: string;
  /** Where the command's bytes go as it writes them (to the server, in order, as output chunks). */
  output(stream: StreamName, data: Buffer): void;
  /** The environment for processes the command starts. */
  env: NodeJS.ProcessEnv;
  killGraceMs: number;
  stateDir: string;
  bootId: string;
  client: AgentHttpClient;
  log: Logger;
  /** Journals the pid of the command's process (a restarted agent stops what a crash left behind). */
  spawned(pid: number): void;
  /** Journals, durably, that the command now waits for the device to restart (until `until`). */
  awaitingReboot(until: Date): void;
  /**
   * The command entered a phase (software commands: downloading, installing): the agent tells the server at once
   * (when it records phases) and with every heartbeat after.
   */
  phase?(phase: CommandPhase): void;
  /** What software commands need to get their artifacts (agent/README.md, "Artifacts"). */
  depot: HandlerDepot;
}

export interface HandlerDepot {
  /** The agent's artifact cache: pass it to fetchArtifact. */
  cache: ArtifactCache;
  /** The depot signing keys the server listed at the last check-in: pass them to verifyManifest. */
  trustedKeys(): DepotSigningKey[];
  /** The server's clock as this agent estimates it (ms since the epoch): `now` for verifyManifest. */
  serverNow(): number;
}

/** How a command ended on the device, or that it now waits for the device to restart. */
export type HandlerOutcome = ExecutionOutcome | { awaitingReboot: true };

export interface Execution {
  readonly done: Promise<HandlerOutcome>;
  /** Stops the command: `cancelled` on cancel, `failed` (agent stopped) on shutdown. */
  stop(reason: StopReason): void;
}

export interface CommandHandler<K extends CommandKind = CommandKind> {
  readonly kind: K;
  /** The payload version it understands (commandKindVersions). */
  readonly version: number;
  start(payload: CommandPayloadOf<K>, ctx: HandlerContext): Execution;
}

/** What in-process work ends with: succeeded with this output, or failed with this error. */
export type InProcessResult = { ok: true; output: string } | { ok: false; error: string; output?: string };

/**
 * Runs a command the agent carries out itself (no process to wait for): `work` gets a signal that aborts
 * on the payload's timeout, a cancellation or the agent's shutdown, and its result (or failure, reported
 * as `<what> failed: …`) becomes the outcome; its output goes to stdout.
 */
export function runInProcess(
  ctx: HandlerContext,
  timeoutSeconds: number,
  what: string,
  work: (signal: AbortSignal) => Promise<InProcessResult>,
): Execution {
  const startedAt = new Date();
  const t0 = performance.now();
  const controller = new AbortController();
  let stopped: StopReason | 'timeout' | undefined;
  const end = (fields: Pick<ExecutionOutcome, 'status' | 'exitCode' | 'error'>): ExecutionOutcome => ({
    signal: null,
    ...fields,
    startedAt,
    finishedAt: new Date(),
    durationMs: Math.max(0, Math.round(performance.now() - t0)),
  });
  const timer = setTimeout(() => {
    stopped = 'timeout';
    controller.abort();
  }, timeoutSeconds * 1000);
  const done = work(controller.signal)
    .then(
      (result) => {
        if (result.output) ctx.output('stdout', Buffer.from(result.output));
        return result.ok ? end({ status: 'succeeded', exitCode: 0 }) : end({ status: 'failed', exitCode: null, error: result.error });
      },
      (err: unknown) => {
        if (stopped === 'timeout') return end({ status: 'timed_out', exitCode: null, error: `timed out after ${timeoutSeconds} s` });
        if (stopped === 'cancel') return end({ status: 'cancelled', exitCode: null });
        if (stopped === 'shutdown') return end({ status: 'failed', exitCode: null, error: 'agent stopped' });
        return end({ status: 'failed', exitCode: null, error: `${what} failed: ${err instanceof Error ? err.message : String(err)}` });
      },
    )
    .finally(() => clearTimeout(timer));
  return {
    done,
    stop(reason) {
      stopped ??= reason;
      controller.abort();
    },
  };
}
