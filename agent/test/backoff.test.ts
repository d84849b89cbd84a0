import { describe, expect, it } from 'vitest';
import { Backoff } from '../src/backoff.ts';

describe('Backoff', () => {
  it('honours Retry-After and spreads a fleet over up to half as long again, within the cap', () => {
    const delays = [0, 0.5, 0.999].map((r) => new Backoff({ initialMs: 500, maxMs: 60_000, random: () => r }).next(10_000));
    expect(delays).toEqual([10_000, 12_500, 14_995]);
    expect(new Backoff({ initialMs: 500, maxMs: 12_000, random: () => 0.999 }).next(10_000)).toBe(12_000);
    // Without Retry-After: exponential, each draw within [d/2, d].
    const b = new Backoff({ initialMs: 1000, maxMs: 30_000, random: () => 1 });
    expect([b.next(), b.next(), b.next()]).toEqual([1000, 2000, 4000]);
  });
});
