/**
 * `devices.last_seen_at` for agent requests, written in batches: every poll and unchanged check-in marks
 * its device seen in memory, and `UPDATE … FROM unnest(…)` statements of 1,000 devices each every
 * `flushSeconds` write them all. The
 * online window (DEVICE_ONLINE_WINDOW_SECONDS, 90 s by default) is far longer than the flush interval,
 * so a device never looks offline for it. The first time this process sees a device (and after the
 * device said goodbye here) it is written at once, so a restarted agent shows online without delay.
 */
import type pg from 'pg';
import type { Logger } from 'pino';

/** Devices written per statement of a flush. */
const FLUSH_SLICE = 1000;

export class LastSeenWriter {
  private pending = new Map<string, Date>();
  /** Devices this process has written at least once (so later sightings can wait for the batch). */
  private readonly known = new Set<string>();
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly pool: pg.Pool,
    private readonly logger: Logger,
    flushSeconds: number,
  ) {
    this.timer = setInterval(() => void this.flush(), flushSeconds * 1000);
    this.timer.unref();
  }

  /**
   * Records that the device was heard from at `at` (when its request arrived). Writes at once only for a
   * device new to this process; then it returns false when the device is gone (deleted, retired) so the
   * caller can refuse it.
   */
  async seen(deviceId: string, at: Date = new Date()): Promise<boolean> {
    if (this.known.has(deviceId)) {
      const pending = this.pending.get(deviceId);
      if (!pending || pending < at) this.pending.set(deviceId, at);
      return true;
    }
    if ((await this.write([deviceId], [at])) === 0) return false;
    if (this.known.size >= 500_000) this.known.clear();
    this.known.add(deviceId);
    return true;
  }

  /** The device's row was just written with a fresh last-seen (check-in): nothing pending for it. */
  written(deviceId: string): void {
    this.pending.delete(deviceId);
    this.known.add(deviceId);
  }

  /** The agent said goodbye: its next request must show it online again at once. */
  forget(deviceId: string): void {
    this.pending.delete(deviceId);
    this.known.delete(deviceId);
  }

  /** Writes everything pending in one statement. Never throws: a failed batch is merged into the next one. */
  flush(): Promise<void> {
    this.flushing ??= (async () => {
      const batch = this.pending;
      this.pending = new Map();
      if (batch.size === 0) return;
      const ids = [...batch.keys()];
      const times = [...batch.values()];
      // In slices: each statement locks its rows until it commits, and a check-in or goodbye of one of them waits.
      for (let i = 0; i < ids.length; i += FLUSH_SLICE) {
        try {
          await this.write(ids.slice(i, i + FLUSH_SLICE), times.slice(i, i + FLUSH_SLICE));
        } catch (err) {
          this.logger.warn({ err, devices: ids.length - i }, 'writing last-seen times failed; retrying with the next batch');
          for (let j = i; j < ids.length; j++) if (!this.pending.has(ids[j]!)) this.pending.set(ids[j]!, times[j]!);
          return;
        }
      }
    })().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  /**
   * Never moves last-seen back, and keeps a goodbye that came after the sighting (another process may
   * have taken it meanwhile): a device that said goodbye stays offline until it is heard from again.
   */
  private async write(ids: string[], at: Date[]): Promise<number> {
    const { rowCount } = await this.pool.query(
      `UPDATE devices d
          SET last_seen_at = greatest(d.last_seen_at, v.seen),
              agent_stopped_at = CASE WHEN d.agent_stopped_at > v.seen THEN d.agent_stopped_at END
         FROM unnest($1::uuid[], $2::timestamptz[]) AS v(id, seen)
        WHERE d.id = v.id AND d.retired_at IS NULL`,
      [ids, at],
    );
    return rowCount ?? 0;
  }
}
