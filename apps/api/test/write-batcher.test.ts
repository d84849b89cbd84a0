/** The write batcher that groups agents' starts and results: batching under load, no wait when idle, failures. */
import { describe, expect, it } from 'vitest';
import { WriteBatcher } from '../src/lib/write-batcher.ts';

class Unavailable extends Error {}

/** A write whose calls stay open until released, recording each call's items. */
function controlledWrite() {
  const calls: number[][] = [];
  const releases: (() => void)[] = [];
  let open = 0;
  let mostOpen = 0;
  const write = async (items: number[]) => {
    calls.push(items);
    open++;
    mostOpen = Math.max(mostOpen, open);
    await new Promise<void>((resolve) => releases.push(resolve));
    open--;
    if (items.includes(13) && items.length > 1) throw new Error('13 is not written');
    if (items.includes(13)) throw new Error('13 alone');
    if (items.includes(99)) throw new Unavailable('database down');
    return items.map((i) => i * 10);
  };
  const releaseAll = async () => {
    while (releases.length > 0 || open > 0) {
      releases.splice(0).forEach((r) => r());
      await new Promise((r) => setImmediate(r));
    }
  };
  return { write, calls, releaseAll, mostOpen: () => mostOpen };
}

const failsEveryWrite = (err: unknown) => err instanceof Unavailable;

describe('WriteBatcher', () => {
  it('writes a lone item at once, on its own', async () => {
    const w = controlledWrite();
    const batcher = new WriteBatcher(w.write, { maxBatch: 100, maxInFlight: 2, failsEveryWrite });
    const answer = batcher.submit(1);
    expect(w.calls).toEqual([[1]]);
    await w.releaseAll();
    expect(await answer).toBe(10);
  });

  it('groups what arrives while batches run, in order, at most maxBatch per call and maxInFlight calls at once, and reports each call', async () => {
    const w = controlledWrite();
    const observed: number[] = [];
    const observe = (items: number, seconds: number) => {
      expect(seconds).toBeGreaterThanOrEqual(0);
      observed.push(items);
    };
    const batcher = new WriteBatcher(w.write, { maxBatch: 3, maxInFlight: 2, failsEveryWrite, observe });
    const answers = Array.from({ length: 10 }, (_, i) => batcher.submit(i + 1));
    expect(w.calls).toEqual([[1], [2]]);
    await w.releaseAll();
    expect(await Promise.all(answers)).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    expect(w.calls).toEqual([[1], [2], [3, 4, 5], [6, 7, 8], [9, 10]]);
    expect(w.mostOpen()).toBe(2);
    // Each call is reported with its size (the metrics' batch histograms).
    expect(observed).toEqual([1, 1, 3, 3, 2]);
  });

  it('fails only the write that fails: the others of its batch are written one by one', async () => {
    const w = controlledWrite();
    const batcher = new WriteBatcher(w.write, { maxBatch: 10, maxInFlight: 1, failsEveryWrite });
    const first = batcher.submit(1);
    const rest = [12, 13, 14].map((i) => batcher.submit(i).then(String, (err: Error) => err.message));
    await w.releaseAll();
    expect(await first).toBe(10);
    expect(await Promise.all(rest)).toEqual(['120', '13 alone', '140']);
    expect(w.calls).toEqual([[1], [12, 13, 14], [12], [13], [14]]);
  });

  it('fails every write of the batch at once when the database is unavailable', async () => {
    const w = controlledWrite();
    const batcher = new WriteBatcher(w.write, { maxBatch: 10, maxInFlight: 1, failsEveryWrite });
    const first = batcher.submit(1);
    const rest = [98, 99, 100].map((i) => batcher.submit(i).catch((err: unknown) => err));
    await w.releaseAll();
    await first;
    expect(await Promise.all(rest)).toEqual([expect.any(Unavailable), expect.any(Unavailable), expect.any(Unavailable)]);
    expect(w.calls).toEqual([[1], [98, 99, 100]]);
    // It keeps working afterwards.
    const later = batcher.submit(2);
    await w.releaseAll();
    expect(await later).toBe(20);
  });
});
