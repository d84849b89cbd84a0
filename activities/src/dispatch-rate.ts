/**
 * How fast one worker hands out new commands, across all the batches it runs: a token bucket of `perSecond` tokens
 * that holds at most one second's worth. A run on a few devices goes out at once; a fan-out to thousands is
 * released at a rate the API and PostgreSQL can take, so the fleet's starts and results do not all arrive in the
 * same second (ADR 16: unpaced, 10,000 devices answering together made the API time out and the agents back off).
 */
export class DispatchRate {
  private tokens: number;
  private refilledAt: number;

  constructor(
    readonly perSecond: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isFinite(perSecond) || perSecond <= 0) throw new RangeError('perSecond must be a positive number');
    this.tokens = perSecond;
    this.refilledAt = now();
  }

  private refill(): void {
    const at = this.now();
    this.tokens = Math.min(this.perSecond, this.tokens + ((at - this.refilledAt) / 1000) * this.perSecond);
    this.refilledAt = at;
  }

  /** Takes up to `wanted` commands' worth now; returns how many may go. */
  take(wanted: number): number {
    this.refill();
    const granted = Math.max(0, Math.min(wanted, Math.floor(this.tokens)));
    this.tokens -= granted;
    return granted;
  }

  /** Milliseconds until at least one more command may go. */
  msUntilNext(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.perSecond) * 1000);
  }
}
