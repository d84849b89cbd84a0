/**
 * Every call into Temporal on a request path is bounded. Without a deadline the client retries an
 * unreachable server for about 20 s per call, and a request holding several calls hangs for a minute.
 */
import { defaultGrpcRetryOptions, makeGrpcRetryInterceptor, type Client, type ConnectionOptions } from '@temporalio/client';

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
  const call = temporal.connection.withDeadline(Date.now() + timeoutMs, fn);
  track(temporal, call);
  try {
    return await Promise.race([call, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** Calls still under way per client: the answer was given up on, the call itself ends at its deadline. */
const underway = new WeakMap<Client, Set<Promise<unknown>>>();
function track(temporal: Client, call: Promise<unknown>) {
  let calls = underway.get(temporal);
  if (!calls) underway.set(temporal, (calls = new Set()));
  const settled = call.then(
    () => {},
    () => {},
  );
  calls.add(settled);
  void settled.then(() => calls.delete(settled));
}

/**
 * Waits for every call made through withTemporalDeadline to end (at most its deadline). Close the
 * connection only after this: a call's retry that starts on a closed connection throws from a timer.
 */
export async function temporalCallsEnded(temporal: Client): Promise<void> {
  await Promise.all(underway.get(temporal) ?? []);
}

type GrpcInterceptor = NonNullable<ConnectionOptions['interceptors']>[number];

/**
 * The client's retry of failed calls (UNAVAILABLE and friends, with back-off), but never a retry that
 * would start after the call's deadline: such a retry can only fail, and it keeps the call (and a
 * timer) alive past the deadline. So every call ends by its deadline.
 */
export function retryWithinDeadline(): GrpcInterceptor {
  const defaults = defaultGrpcRetryOptions();
  return (options, nextCall) => {
    const { deadline } = options;
    const until = deadline === undefined ? Infinity : deadline instanceof Date ? deadline.getTime() : deadline;
    let delayMs = 0;
    return makeGrpcRetryInterceptor({
      retryableDecider: (attempt, status) => {
        if (!defaults.retryableDecider(attempt, status)) return false;
        delayMs = defaults.delayFunction(attempt, status);
        return Date.now() + delayMs < until;
      },
      delayFunction: () => delayMs,
    })(options, nextCall);
  };
}

/** Connection options for the API: bounded retries, and reconnect within seconds once Temporal is back. */
export const apiConnectionOptions = {
  interceptors: [retryWithinDeadline()],
  // gRPC backs off reconnecting up to 2 minutes by default; the API should notice a returning server sooner.
  channelArgs: { 'grpc.max_reconnect_backoff_ms': 5000 },
} satisfies ConnectionOptions;
