/**
 * Agents must not be able to take the API down for people. Agent requests run on a pool of their own
 * (server.ts: `agentPool`), and what agents can pile up is bounded here: long-polls waiting at once,
 * and heavy work on the shared pool (inventory ingest) running at once. Past a bound the answer is
 * 503 `server_busy` with a Retry-After spread over 5–15 s, so a fleet that was refused together does
 * not come back together (the agent adds jitter of its own).
 */
import { ApiError } from './problem.ts';

export function serverBusy(detail: string): ApiError {
  return new ApiError(503, 'server_busy', detail, undefined, { 'Retry-After': String(5 + Math.floor(Math.random() * 11)) });
}

/** A counting semaphore whose waiters give up after `waitMs`. */
export class Gate {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly limit: number,
    private readonly waitMs: number,
  ) {}

  async run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.waiting.splice(this.waiting.indexOf(admit), 1);
          reject(serverBusy(`Too many ${what} at once; try again later.`));
        }, this.waitMs);
        const admit = () => {
          clearTimeout(timer);
          resolve();
        };
        this.waiting.push(admit);
      });
    } else {
      this.active++;
    }
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      // A slot passes straight to the next waiter; otherwise it is freed.
      if (next) next();
      else this.active--;
    }
  }
}

export class AgentAdmission {
  private polls = 0;
  readonly inventory: Gate;

  constructor(
    private readonly maxLongPolls: number,
    inventoryConcurrency: number,
  ) {
    this.inventory = new Gate(inventoryConcurrency, 5_000);
  }

  /** Admits one long-poll; the returned function lets it go. */
  enterPoll(): () => void {
    if (this.polls >= this.maxLongPolls) throw serverBusy('Too many agents are waiting for commands at once; try again later.');
    this.polls++;
    let left = false;
    return () => {
      if (!left) this.polls--;
      left = true;
    };
  }

  get longPolls(): number {
    return this.polls;
  }
}
