/**
 * Runs `fn` over `items` with at most `limit` calls in flight: a sliding window, not fixed batches — as soon as one
 * call settles the next item starts. Deterministic in workflow code (Temporal orders promise resolution).
 *
 * The first error stops new items from starting; calls already in flight are awaited (so nothing keeps running
 * behind the caller's back, e.g. during cancellation cleanup) and then that first error is thrown.
 */
export async function slidingWindow<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  let firstError: unknown;
  const lane = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        await fn(items[index]!, index);
      } catch (err) {
        if (!failed) {
          failed = true;
          firstError = err;
        }
      }
    }
  };
  const lanes = Math.max(1, Math.min(Math.floor(limit), items.length));
  await Promise.all(Array.from({ length: lanes }, lane));
  if (failed) throw firstError;
}

/** Splits `items` into consecutive chunks of at most `size`. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}
