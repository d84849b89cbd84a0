/** The API the worker calls: one execution per remote command or file copy, on a machine without an agent. */

/** Receives a command's output as it arrives, stream by stream, already redacted. Never buffered whole. */
export interface RemoteOutput {
  (stream: 'stdout' | 'stderr', data: Buffer): void;
}

export type RemoteStatus = 'succeeded' | 'failed' | 'timed_out' | 'cancelled';

export interface RemoteResult {
  /** succeeded: exit code 0 (a copy: the file is in place). failed: any other exit code, or an error before the end. */
  status: RemoteStatus;
  /** The remote process's exit code; null when there is none (not started, killed, connection lost; a copy that failed). */
  exitCode: number | null;
  /** Why it did not succeed, when that is more than an exit code (never holds a secret or a password). */
  error?: string;
  durationMs: number;
  startedAt: Date;
  finishedAt: Date;
}

export interface RemoteExecution {
  /** Settles once everything is cleaned up remotely (or given up on); never rejects. */
  done: Promise<RemoteResult>;
  /** Stops the execution: status `cancelled`, unless it has already finished. Idempotent. */
  cancel(): void;
}

/** Input the transport refuses before connecting anywhere (a bad variable name, a relative path…). */
export class RemoteInputError extends Error {
  override name = 'RemoteInputError';
}
