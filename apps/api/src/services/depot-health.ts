/**
 * Depot sources are checked every DEPOT_HEALTH_INTERVAL_SECONDS by one API process: each process tries a PostgreSQL
 * session advisory lock at each tick and only the one holding it checks, so however many API processes run, each
 * source is checked once per interval (and the next process takes over when that one stops).
 */
import type { ApiDeps } from '../context.ts';
import { checkSource } from './depot-sources.ts';

/** The advisory lock's key: one for the whole cluster (hashtextextended('depot-source-health', 0)). */
const LOCK_SQL = `SELECT pg_try_advisory_lock(hashtextextended('depot-source-health', 0)) AS locked`;
const UNLOCK_SQL = `SELECT pg_advisory_unlock(hashtextextended('depot-source-health', 0))`;
/** Sources checked at once (a mirror that does not answer takes its timeout). */
const HEALTH_CONCURRENCY = 4;

export class DepotHealthMonitor {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly deps: ApiDeps,
    private readonly intervalSeconds: number,
  ) {}

  /** Starts checking (nothing when the interval is 0). */
  start(): void {
    if (this.intervalSeconds <= 0 || this.timer) return;
    this.timer = setInterval(() => {
      if (this.running) return; // the previous round is still going: skip this tick
      this.running = this.checkAll()
        .then(() => {})
        .catch((err: unknown) => this.deps.logger.warn({ err }, 'depot source health check failed'))
        .finally(() => {
          this.running = undefined;
        });
    }, this.intervalSeconds * 1000);
    this.timer.unref();
  }

  /** Checks every source now if no other process is doing so; returns whether this process did. */
  async checkAll(): Promise<boolean> {
    const client = await this.deps.db.pool.connect();
    let locked = false;
    try {
      locked = (await client.query<{ locked: boolean }>(LOCK_SQL)).rows[0]!.locked;
      if (!locked) return false;
      const { rows } = await client.query<{ id: string }>('SELECT id FROM depot_sources ORDER BY priority, id');
      let next = 0;
      const worker = async () => {
        while (next < rows.length && !this.stopped) {
          const { id } = rows[next++]!;
          // A source removed meanwhile is a 404 here: nothing to record.
          await checkSource(this.deps, id).catch((err: unknown) => {
            if ((err as { status?: number }).status !== 404) throw err;
          });
        }
      };
      await Promise.all(Array.from({ length: HEALTH_CONCURRENCY }, worker));
      return true;
    } finally {
      if (locked) await client.query(UNLOCK_SQL).catch(() => {});
      client.release();
    }
  }

  /** Stops the timer and waits for a round in progress. */
  async close(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
