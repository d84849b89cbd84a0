import { describe, expect, it } from 'vitest';
import { EvaluationBudgetExceeded, TimeSlicer } from '../src/time-slice.ts';

const busy = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};

describe('TimeSlicer', () => {
  it('gives the event loop back between slices of work', async () => {
    let timerRanAt = -1;
    let done = 0;
    setTimeout(() => (timerRanAt = done), 0);
    await new TimeSlicer(Infinity, 5).each(Array.from({ length: 20 }), () => {
      busy(2);
      done++;
    });
    expect(done).toBe(20);
    // The timer fired while work was still going on, not after all of it.
    expect(timerRanAt).toBeGreaterThan(0);
    expect(timerRanAt).toBeLessThan(20);
  });

  it('stops once the budget of work time is spent, not counting time spent waiting', async () => {
    const slicer = new TimeSlicer(30, 5);
    await new Promise((r) => setTimeout(r, 60)); // waiting is free
    await expect(slicer.each(Array.from({ length: 1000 }), () => busy(1))).rejects.toBeInstanceOf(EvaluationBudgetExceeded);
    await expect(new TimeSlicer(1000, 5).filter([1, 2, 3, 4], (n) => n % 2 === 0)).resolves.toEqual([2, 4]);
  });
});
