/**
 * Groups the same write from many agents into one database call, so a fan-out's reports cost a commit per
 * batch instead of one per device (each commit waits for its WAL flush). Nothing waits for a batch to fill:
 * a write that arrives while fewer than `maxInFlight` batches run goes at once, alone; under load, the writes
 * that arrived while the batches ran go together in the next one.
 */
export interface WriteBatcherOptions {
  /** Most writes in one call. */
  maxBatch: number;
  /** Most calls running at once (each holds a database connection). */
  maxInFlight: number;
  /**
   * True for an error that is not about any one write (the database is unavailable): every write of the batch
   * fails with it. Any other error fails only the write that causes it: the batch's writes are retried one by one.
   */
  failsEveryWrite: (err: unknown) => boolean;
  /** Told of every batched call: how many writes it held and how long it took. */
  observe?: (items: number, seconds: number) => void;
}

interface Pending<In, Out> {
  item: In;
  resolve: (out: Out) => void;
  reject: (err: unknown) => void;
}

export class WriteBatcher<In, Out> {
  private queue: Pending<In, Out>[] = [];
  private inFlight = 0;

  /** `write` answers for each item, in order. */
  constructor(
    private readonly write: (items: In[]) => Promise<Out[]>,
    private readonly options: WriteBatcherOptions,
  ) {}

  submit(item: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.options.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.inFlight++;
      void this.run(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async run(batch: Pending<In, Out>[]): Promise<void> {
    try {
      const began = performance.now();
      const answers = await this.write(batch.map((p) => p.item));
      this.options.observe?.(batch.length, (performance.now() - began) / 1000);
      batch.forEach((p, i) => p.resolve(answers[i]!));
    } catch (err) {
      if (batch.length === 1 || this.options.failsEveryWrite(err)) {
        for (const p of batch) p.reject(err);
        return;
      }
      for (const p of batch) {
        await this.write([p.item]).then(([answer]) => p.resolve(answer!), p.reject);
      }
    }
  }
}
