/**
 * How far V8 lets the heap grow past the live heap before its next full collection. V8's own choice, for a
 * process that allocates all the time, is two to four times the live heap: at 10,000 idle agents the API
 * held about 130 MB live and 380 MB of heap, 520–590 MB of RSS. Capped at 50 %, it holds 340–390 MB of RSS for
 * the same fleet, with the same CPU and latencies (README, Benchmarks).
 */
import v8 from 'node:v8';

export const DEFAULT_HEAP_GROWING_PERCENT = 50;

/** Sets V8's `--heap-growing-percent` (read at every full collection, so it takes effect at once); 0 leaves V8's choice. */
export function limitHeapGrowth(percent: number): void {
  if (!Number.isInteger(percent) || percent < 0) throw new RangeError('percent must be a whole number, 0 or more');
  if (percent > 0) v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
}
