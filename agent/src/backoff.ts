export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** Injectable for deterministic tests. */
  random?: () => number;
}

/**
 * Exponential backoff with jitter: each delay is drawn from [d/2, d] where d doubles up to maxMs.
 * Half-jitter keeps a floor (so a flapping server is not hammered) while still spreading a fleet of
 * agents that lost the server at the same moment.
 */
export class Backoff {
  private attempt = 0;
  constructor(private readonly options: BackoffOptions) {}

  next(minimumMs = 0): number {
    const ceiling = Math.min(this.options.maxMs, this.options.initialMs * 2 ** this.attempt);
    if (ceiling < this.options.maxMs) this.attempt++;
    const random = this.options.random ?? Math.random;
    const delay = ceiling / 2 + random() * (ceiling / 2);
    // Retry-After from the server is honoured, never beyond our own cap, and spread over up to half as
    // long again: a fleet the server refused at once (503 when overloaded) must not come back at once.
    const floor = minimumMs > 0 ? minimumMs * (1 + 0.5 * random()) : 0;
    return Math.round(Math.min(this.options.maxMs, Math.max(delay, floor)));
  }

  reset(): void {
    this.attempt = 0;
  }
}

/** Resolves after `ms`, or early (without throwing) when `signal` aborts: loops re-check the signal. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
