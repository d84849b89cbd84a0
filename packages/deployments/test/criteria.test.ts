/**
 * The rollout's verdicts: auto-pause while a wave runs, success criteria of a finished wave, and the post-install
 * health analysis against the devices not yet updated.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { autoPauseReason, emptyTally, healthReason, successCriteriaReason, successPercent, type WaveTally } from '../src/criteria.ts';

const tally = (t: Partial<WaveTally>): WaveTally => ({ ...emptyTally(), ...t });

describe('auto-pause', () => {
  const rule = { failurePercent: 10, minResults: 20 };

  it('waits for the minimum number of results, then pauses above the threshold (not at it)', () => {
    // 5 of 19 failed: a quarter, but too few results to judge.
    expect(autoPauseReason(tally({ total: 100, succeeded: 14, failed: 5, pending: 81 }), rule)).toBeNull();
    // Exactly 10%: not above.
    expect(autoPauseReason(tally({ total: 100, succeeded: 18, failed: 2, pending: 80 }), rule)).toBeNull();
    expect(autoPauseReason(tally({ total: 100, succeeded: 17, failed: 3, pending: 80 }), rule)).toBe(
      '3 of 20 results failed (15%), above the auto-pause threshold of 10%',
    );
  });

  it('does not count what a retry may still fix, skipped devices, or pending ones as results', () => {
    expect(autoPauseReason(tally({ total: 100, succeeded: 20, failed: 0, retrying: 30, skipped: 30, pending: 20 }), rule)).toBeNull();
  });

  it('never pauses without a rule', () => {
    expect(autoPauseReason(tally({ total: 10, failed: 10 }), null)).toBeNull();
  });

  it('pauses exactly when the failed share of at least minResults results exceeds the threshold', () => {
    fc.assert(
      fc.property(
        fc.nat(500),
        fc.nat(500),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 1, max: 100 }),
        (ok, bad, threshold, min) => {
          const reason = autoPauseReason(tally({ total: ok + bad, succeeded: ok, failed: bad }), {
            failurePercent: threshold,
            minResults: min,
          });
          const expected = ok + bad >= min && (bad / (ok + bad)) * 100 > threshold;
          expect(reason !== null).toBe(expected);
        },
      ),
    );
  });
});

describe('success criteria', () => {
  it('leave skipped devices out of the share and name the wave', () => {
    const t = tally({ total: 100, succeeded: 90, failed: 5, skipped: 5 });
    expect(successPercent(t)).toBeCloseTo(94.74, 2);
    expect(successCriteriaReason(t, 95, 'Wave 2')).toBe('Wave 2: 90 of 95 devices succeeded (94.7%), below the required 95%');
    expect(successCriteriaReason(t, 94, 'Wave 2')).toBeNull();
  });

  it('have nothing to judge in a wave of skipped devices only', () => {
    const t = tally({ total: 4, skipped: 4 });
    expect(successPercent(t)).toBeNull();
    expect(successCriteriaReason(t, 100, 'Pilot')).toBeNull();
  });
});

describe('health analysis', () => {
  const rule = { maxExcessPercent: 10, minDevices: 20 };

  it('pauses when the updated devices are unhealthy more often than the baseline by more than the limit', () => {
    expect(healthReason({ watched: 100, unhealthy: 20, baselineWatched: 400, baselineUnhealthy: 0 }, rule, 'Wave 1')).toBe(
      'Wave 1: 20 of 100 updated devices are unhealthy (20%) against 0% of the devices not yet updated, more than 10% above',
    );
  });

  it('does not blame the package for an outage the devices not yet updated share', () => {
    // A site lost its network: 25% of the updated devices and 20% of the others are away.
    expect(healthReason({ watched: 100, unhealthy: 25, baselineWatched: 400, baselineUnhealthy: 80 }, rule, 'Wave 1')).toBeNull();
  });

  it('waits for enough watched devices', () => {
    expect(healthReason({ watched: 19, unhealthy: 19, baselineWatched: 0, baselineUnhealthy: 0 }, rule, 'Pilot')).toBeNull();
  });

  it('without a baseline (the last wave), compares with none unhealthy', () => {
    expect(healthReason({ watched: 50, unhealthy: 6, baselineWatched: 0, baselineUnhealthy: 0 }, rule, 'Wave 3')).toMatch(
      /^Wave 3: 6 of 50 updated devices are unhealthy \(12%\) against 0%/,
    );
  });
});
