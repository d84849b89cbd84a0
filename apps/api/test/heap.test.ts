/** API_HEAP_GROWING_PERCENT: the API's heap grows by about that much past its live size, not V8's two to five times. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { apiEnvSchema } from '../src/env.ts';
import { DEFAULT_HEAP_GROWING_PERCENT, limitHeapGrowth } from '../src/lib/heap.ts';

const growth = async (percent: number) => {
  const { stdout } = await promisify(execFile)(process.execPath, [
    '--expose-gc',
    '--import',
    'tsx',
    join(import.meta.dirname, 'fixtures/heap-growth.ts'),
    String(percent),
  ]);
  return (JSON.parse(stdout) as { peakToLive: number }).peakToLive;
};

describe('heap growth', () => {
  it('is capped at API_HEAP_GROWING_PERCENT past the live heap (50 % unless set; 0 leaves it to V8)', async () => {
    expect(apiEnvSchema.parse({ DATABASE_URL: 'postgres://x/y' }).API_HEAP_GROWING_PERCENT).toBe(DEFAULT_HEAP_GROWING_PERCENT);
    expect(DEFAULT_HEAP_GROWING_PERCENT).toBe(50);
    expect(apiEnvSchema.parse({ DATABASE_URL: 'postgres://x/y', API_HEAP_GROWING_PERCENT: '0' }).API_HEAP_GROWING_PERCENT).toBe(0);
    for (const bad of ['-1', '1.5', 'lots']) {
      expect(apiEnvSchema.safeParse({ DATABASE_URL: 'postgres://x/y', API_HEAP_GROWING_PERCENT: bad }).success).toBe(false);
    }
    expect(() => limitHeapGrowth(-1)).toThrow(RangeError);

    const [capped, v8sChoice] = await Promise.all([growth(DEFAULT_HEAP_GROWING_PERCENT), growth(0)]);
    // The peak holds the live set, up to half of it again, and the garbage made since the last scavenge.
    expect(capped).toBeLessThan(3);
    expect(v8sChoice).toBeGreaterThan(capped * 1.5);
  }, 60_000);
});
