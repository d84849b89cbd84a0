/**
 * A command handler runs one kind of command (packages/contracts/src/commands.ts). The agent gives it
 * the payload and a context, and gets back an execution it can stop; it announces `kind@version` of
 * every handler it has as its capabilities. A new kind is a new handler in this folder, registered in
 * index.ts — nothing else in the agent changes.
 */
import type { CommandKind, CommandPayloadOf } from '@opsconductor/contracts/commands';
import type { ExecutionOutcome, StopReason } from '../executor.ts';
import type { AgentHttpClient } from '../http.ts';
import type { Logger } from '../log.ts';
import type { StreamName } from '../output.ts';

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

/** The outcome of something that ran in-process (no process to wait for). */
export function outcome(fields: Omit<ExecutionOutcome, 'finishedAt' | 'durationMs' | 'signal'>, t0: number): ExecutionOutcome {
  return { signal: null, ...fields, finishedAt: new Date(), durationMs: Math.max(0, Math.round(performance.now() - t0)) };
}
