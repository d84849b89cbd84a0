/**
 * One remote execution's life: a deadline, a cancel, and one result. The transport's `run` does the work and
 * watches `signal`: once it aborts (reason `timeout` or `cancel`) it stops the remote side (a signal, a closed
 * channel, a deleted shell) and returns. Whatever `run` returns or throws, `done` resolves with one
 * RemoteResult; the status of a stopped execution is the stop's, whatever the remote side said after it.
 */
import { RemoteInputError, type RemoteExecution, type RemoteResult } from './types.ts';

export type StopReason = 'timeout' | 'cancel';

export interface Outcome {
  exitCode: number | null;
  error?: string;
}

/** The most setTimeout can wait (about 24.8 days); a longer timeout would fire at once. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export function checkTimeout(timeoutMs: number): void {
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > MAX_TIMEOUT_MS) {
    throw new RemoteInputError(`timeoutMs must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS}`);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The reason an aborted signal carries: `timeout` or `cancel`. */
export function stopReason(signal: AbortSignal): StopReason | undefined {
  if (!signal.aborted) return undefined;
  return signal.reason === 'timeout' ? 'timeout' : 'cancel';
}

/** `promise`, or a rejection once `signal` aborts first: for a step that does not watch the signal itself. */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(new Error(signal.reason === 'timeout' ? 'timed out' : 'cancelled'));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      promise.catch(() => {});
      reject(new Error(signal.reason === 'timeout' ? 'timed out' : 'cancelled'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/**
 * Starts `run` at once with a deadline of `timeoutMs`. `scrub` takes secrets out of an error message before it
 * reaches the result (an error can quote what the remote side was sent).
 */
export function startExecution(
  timeoutMs: number,
  run: (signal: AbortSignal) => Promise<Outcome>,
  scrub: (message: string) => string = (m) => m,
): RemoteExecution {
  checkTimeout(timeoutMs);
  const startedAt = new Date();
  const started = performance.now();
  const controller = new AbortController();
  let finished = false;
  const timer = setTimeout(() => controller.abort('timeout'), timeoutMs);
  const done = (async (): Promise<RemoteResult> => {
    let outcome: Outcome;
    try {
      outcome = await run(controller.signal);
    } catch (err) {
      outcome = { exitCode: null, error: errorMessage(err) };
    } finally {
      clearTimeout(timer);
      finished = true;
    }
    const stopped = stopReason(controller.signal);
    const status =
      stopped === 'timeout'
        ? 'timed_out'
        : stopped === 'cancel'
          ? 'cancelled'
          : outcome.exitCode === 0 && !outcome.error
            ? 'succeeded'
            : 'failed';
    let error = outcome.error;
    if (stopped === 'timeout') error = `timed out after ${timeoutMs} ms${error ? ` (${error})` : ''}`;
    else if (stopped === 'cancel') error = `cancelled${error ? ` (${error})` : ''}`;
    const result: RemoteResult = {
      status,
      exitCode: outcome.exitCode,
      durationMs: Math.round(performance.now() - started),
      startedAt,
      finishedAt: new Date(),
    };
    if (error) result.error = scrub(error);
    return result;
  })();
  return {
    done,
    cancel: () => {
      if (!finished && !controller.signal.aborted) controller.abort('cancel');
    },
  };
}

/** Replaces every secret value in a message (for errors; output goes through the streaming redactor). */
export function scrubber(secrets: Iterable<string>): (message: string) => string {
  const values = [...new Set(secrets)].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  return (message) => values.reduce((m, s) => m.split(s).join('[redacted]'), message);
}
