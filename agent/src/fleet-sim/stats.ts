/** Latency samples and counters of a simulated fleet, cheap enough for ten thousand agents. */

/** Durations in milliseconds; percentiles are computed on demand from a sorted copy. */
export class LatencyRecorder {
  private samples = new Float64Array(1024);
  private size = 0;

  record(ms: number): void {
    if (this.size === this.samples.length) {
      const grown = new Float64Array(this.samples.length * 2);
      grown.set(this.samples);
      this.samples = grown;
    }
    this.samples[this.size++] = ms;
  }

  get count(): number {
    return this.size;
  }

  summary(): LatencySummary {
    if (this.size === 0) return { count: 0, p50: null, p95: null, p99: null, max: null };
    const sorted = this.samples.slice(0, this.size).sort();
    const at = (q: number) => sorted[Math.min(this.size - 1, Math.floor(q * this.size))]!;
    return { count: this.size, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted[this.size - 1]! };
  }

  reset(): void {
    this.size = 0;
  }
}

export interface LatencySummary {
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

/** Request failures by what went wrong: an HTTP status (`http_503`), `timeout`, `connection` (reset, refused). */
export class ErrorCounter {
  private readonly counts = new Map<string, number>();

  add(kind: string): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
  }

  get total(): number {
    let n = 0;
    for (const c of this.counts.values()) n += c;
    return n;
  }

  byKind(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => a.localeCompare(b)));
  }

  reset(): void {
    this.counts.clear();
  }
}

/** Per protocol call: round trips of the successful ones and the failures. */
export class CallStats {
  readonly latency = new LatencyRecorder();
  readonly errors = new ErrorCounter();

  summary(): CallSummary {
    return { ...this.latency.summary(), errors: this.errors.total, errorsByKind: this.errors.byKind() };
  }

  reset(): void {
    this.latency.reset();
    this.errors.reset();
  }
}

export interface CallSummary extends LatencySummary {
  errors: number;
  errorsByKind: Record<string, number>;
}
