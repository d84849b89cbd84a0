/** The worker's dispatch rate: a token bucket holding one second's worth. */
import { describe, expect, it } from 'vitest';
import { DispatchRate } from '../src/dispatch-rate.ts';

function clock() {
  let now = 1_000_000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('DispatchRate', () => {
  it('lets one second of commands go at once, then refills at the rate', () => {
    const c = clock();
    const rate = new DispatchRate(100, c.now);
    expect(rate.take(30)).toBe(30);
    expect(rate.take(500)).toBe(70);
    expect(rate.take(1)).toBe(0);
    expect(rate.msUntilNext()).toBe(10);
    c.advance(250);
    expect(rate.take(500)).toBe(25);
    // Idle for a minute: still at most one second's worth.
    c.advance(60_000);
    expect(rate.take(1_000)).toBe(100);
  });

  it('shares one budget between all batches of the worker', () => {
    const c = clock();
    const rate = new DispatchRate(10, c.now);
    const granted = [rate.take(8), rate.take(8), rate.take(8)];
    expect(granted).toEqual([8, 2, 0]);
    c.advance(1000);
    expect(rate.take(8) + rate.take(8)).toBe(10);
  });

  it('refuses a rate that is not positive', () => {
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => new DispatchRate(bad)).toThrow(RangeError);
  });
});
