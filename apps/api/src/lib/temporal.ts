/**
 * Every call into Temporal on a request path is bounded. Without a deadline the client retries an
 * unreachable server for about 20 s per call, and a request holding several calls hangs for a minute.
 */
import type { Client } from '@temporalio/client';

/** What a request path waits for one Temporal call before answering 503. */
export const TEMPORAL_CALL_TIMEOUT_MS = 2000;

export class TemporalTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`Temporal did not answer within ${timeoutMs} ms`);
    this.name = 'TemporalTimeoutError';
  }
}

/**
 * Runs `fn` with a gRPC deadline on every Temporal call it makes, and gives up at the deadline even if
 * the client is still between retries (the gRPC deadline alone ends the next attempt, not the wait).
 */
export async function withTemporalDeadline<T>(temporal: Client, fn: () => Promise<T>, timeoutMs = TEMPORAL_CALL_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TemporalTimeoutError(timeoutMs)), timeoutMs);
  });
  try {
    return await Promise.race([temporal.connection.withDeadline(Date.now() + timeoutMs, fn), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
