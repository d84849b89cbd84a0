/**
 * Rule evaluation is synchronous CPU work inside the API process. Over a whole fleet it can take
 * seconds (linear-time regexes are cheap per match, not free), and it must never hold the event loop
 * that long: health checks, long-polls and every other request would wait. A TimeSlicer lets a loop
 * give the event loop back every few milliseconds, and stop once a time budget is spent.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

/** Thrown when evaluation exceeds its budget (a rule preview has one; saved groups do not). */
export class EvaluationBudgetExceeded extends Error {
  constructor(readonly budgetMs: number) {
    super(`rule evaluation took longer than ${budgetMs} ms`);
    this.name = 'EvaluationBudgetExceeded';
  }
}

/** CPU time is counted only inside each() loops, so time spent awaiting the database is not. */
export class TimeSlicer {
  private sliceStarted = 0;
  private spent = 0;

  constructor(
    private readonly budgetMs = Infinity,
    private readonly sliceMs = 10,
  ) {}

  /** Runs `fn` on every item, yielding when a slice is used up and throwing when the budget is. */
  async each<T>(items: Iterable<T>, fn: (item: T) => void): Promise<void> {
    this.sliceStarted = performance.now();
    for (const item of items) {
      fn(item);
      const now = performance.now();
      if (now - this.sliceStarted < this.sliceMs) continue;
      this.spent += now - this.sliceStarted;
      if (this.spent > this.budgetMs) throw new EvaluationBudgetExceeded(this.budgetMs);
      await yieldToEventLoop();
      this.sliceStarted = performance.now();
    }
    this.spent += performance.now() - this.sliceStarted;
  }

  /** The items passing `test`. */
  async filter<T>(items: Iterable<T>, test: (item: T) => boolean): Promise<T[]> {
    const out: T[] = [];
    await this.each(items, (item) => {
      if (test(item)) out.push(item);
    });
    return out;
  }
}
