/**
 * A download rate cap (a deployment's `network.maxBytesPerSecond`): a token bucket the download takes its bytes
 * from as they arrive. The stream is not read while the bucket is empty, so TCP's flow control slows the sender
 * down too: the cap holds on the wire, not only on the disk. One bucket per command, shared by its artifacts,
 * sources and retries, so a resumed or retried download does not get a fresh burst.
 */
import { sleep } from '../backoff.ts';

/** The burst the bucket holds: this share of a second's bytes (at least 16 KiB), so short bursts stay short. */
const BURST_SECONDS = 0.1;
const MIN_BURST_BYTES = 16 * 1024;

export class DownloadThrottle {
  private tokens: number;
  private last = performance.now();
  readonly burstBytes: number;

  constructor(readonly bytesPerSecond: number) {
    if (!Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) throw new RangeError('bytesPerSecond must be positive');
    this.burstBytes = Math.max(MIN_BURST_BYTES, Math.round(bytesPerSecond * BURST_SECONDS));
    this.tokens = this.burstBytes;
  }

  /** How long to wait before `bytes` more may go (0: now), taking them. A chunk larger than the burst goes into debt. */
  reserve(bytes: number): number {
    const now = performance.now();
    this.tokens = Math.min(this.burstBytes, this.tokens + ((now - this.last) / 1000) * this.bytesPerSecond);
    this.last = now;
    this.tokens -= bytes;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.bytesPerSecond) * 1000;
  }

  /** Takes `bytes`, waiting until the rate allows them (rejects when `signal` aborts). */
  async take(bytes: number, signal?: AbortSignal): Promise<void> {
    const waitMs = this.reserve(bytes);
    if (waitMs > 0) await sleep(waitMs, signal);
    signal?.throwIfAborted();
  }
}
