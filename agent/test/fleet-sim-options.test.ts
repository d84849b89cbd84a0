/** The fleet simulator's command line and behaviour selection (its protocol is tested end to end in test/e2e). */
import { describe, expect, it } from 'vitest';
import { behaviourFor, defaultBehaviour, drawOutcome, globMatcher, seededRandom, selectorMatcher } from '../src/fleet-sim/behaviour.ts';
import { parseCliArgs, parseDuration, parseLatency, parseSubset, UsageError } from '../src/fleet-sim/options.ts';

describe('fleet-sim command line', () => {
  it('reads durations and latency ranges', () => {
    expect([
      parseDuration('250ms'),
      parseDuration('5s'),
      parseDuration('1.5s'),
      parseDuration('2m'),
      parseDuration('1h'),
      parseDuration('40'),
    ]).toEqual([250, 5000, 1500, 120_000, 3_600_000, 40]);
    expect(parseLatency('50-200ms')).toEqual([50, 200]);
    expect(parseLatency('1s-5s')).toEqual([1000, 5000]);
    expect(parseLatency('2s')).toEqual([2000, 2000]);
    for (const bad of ['fast', '5x', '-1s', '10-5', '1-2-3s']) expect(() => parseLatency(bad), bad).toThrow(UsageError);
  });

  it('reads subsets: selectors and behaviour keys', () => {
    expect(parseSubset('index=0-99+200-209,exit-code=3')).toEqual({
      select: {
        indexes: [
          [0, 99],
          [200, 209],
        ],
      },
      behaviour: { exitCode: 3 },
    });
    expect(parseSubset('hostname=sim-0001*,fail-rate=1,fail-exit-code=7')).toEqual({
      select: { hostname: 'sim-0001*' },
      behaviour: { failRate: 1, failExitCode: 7 },
    });
    expect(parseSubset('fraction=0.05,offline')).toEqual({ select: { fraction: 0.05 }, behaviour: { offline: true } });
    expect(parseSubset('every=10,latency=5s-10s,reboot-rate=0.5,reboot-offline=20s,lose-journal')).toEqual({
      select: { every: 10 },
      behaviour: { latencyMs: [5000, 10_000], rebootRate: 0.5, rebootOfflineMs: 20_000, keepJournal: false },
    });
    for (const bad of [
      'exit-code=3',
      'index=9-1,exit-code=1',
      'every=0',
      'fraction=2',
      'index=0-1,colour=blue',
      'index=0-1,fail-rate=1.5',
      'index=0-1,exit-code=4294967296',
    ]) {
      expect(() => parseSubset(bad), bad).toThrow(UsageError);
    }
  });

  it('builds fleet options from flags and the environment', () => {
    const cli = parseCliArgs(
      [
        '--agents',
        '1000',
        '--ramp',
        '200/s',
        '--latency',
        '50-200ms',
        '--fail-rate',
        '0.02',
        '--state-file',
        'fleet.json',
        '--subset',
        'index=0-9,exit-code=2',
        '--checkin-interval',
        '0',
        '--duration',
        '2m',
        '--json',
      ],
      { OPSCONDUCTOR_SERVER_URL: 'http://127.0.0.1:4000', OPSCONDUCTOR_ENROLLMENT_TOKEN: 'oce_token' },
    );
    expect(cli).toEqual({
      fleet: {
        serverUrl: 'http://127.0.0.1:4000',
        enrollmentToken: 'oce_token',
        agents: 1000,
        rampPerSecond: 200,
        stateFile: 'fleet.json',
        checkinIntervalSeconds: 0,
        behaviour: { latencyMs: [50, 200], failRate: 0.02 },
        subsets: [{ select: { indexes: [[0, 9]] }, behaviour: { exitCode: 2 } }],
      },
      durationMs: 120_000,
      statsIntervalMs: 10_000,
      json: true,
      goodbye: false,
    });
    expect(parseCliArgs(['--server', 'http://x', '--ramp', 'all'], {})?.fleet.rampPerSecond).toBe(Infinity);
    expect(parseCliArgs(['--help'], {})).toBeNull();
    expect(() => parseCliArgs([], {})).toThrow(/--server is required/);
    expect(() => parseCliArgs(['--server', 'ftp://x'], {})).toThrow(/not an http/);
    expect(() => parseCliArgs(['--server', 'http://x', '--agents', '0'], {})).toThrow(UsageError);
    expect(() => parseCliArgs(['--server', 'http://x', '--frobnicate'], {})).toThrow(UsageError);
  });
});

describe('fleet-sim behaviour', () => {
  it('matches hostname patterns without regular expressions', () => {
    const m = globMatcher('SIM-00?1*');
    expect(['sim-0001', 'sim-00917', 'SIM-0011x'].every(m)).toBe(true);
    expect(['sim-001', 'sim-1001', 'xsim-0001'].some(m)).toBe(false);
    expect(globMatcher('*')('')).toBe(true);
    // A pattern that makes backtracking engines explode stays fast.
    expect(globMatcher(`${'*a'.repeat(30)}b`)('a'.repeat(5000))).toBe(false);
  });

  it('selects devices by index, every n-th and a seeded fraction, and lets later subsets win', () => {
    const devices = Array.from({ length: 1000 }, (_, index) => ({ index, hostname: `sim-${String(index).padStart(5, '0')}` }));
    const fraction = (seed: number) => devices.filter(selectorMatcher({ fraction: 0.1 }, seed)).map((d) => d.index);
    expect(fraction(1)).toEqual(fraction(1));
    expect(fraction(1)).not.toEqual(fraction(2));
    expect(fraction(1).length).toBeGreaterThan(60);
    expect(fraction(1).length).toBeLessThan(140);
    expect(devices.filter(selectorMatcher({ every: 100, indexes: [[0, 499]] }, 1)).map((d) => d.index)).toEqual([0, 100, 200, 300, 400]);
    const subsets = [
      { select: { indexes: [[0, 9]] as [number, number][] }, behaviour: { exitCode: 3 } },
      { select: { every: 5 }, behaviour: { exitCode: 4 } },
    ];
    expect(behaviourFor(devices[3]!, defaultBehaviour, subsets, 1).exitCode).toBe(3);
    expect(behaviourFor(devices[5]!, defaultBehaviour, subsets, 1).exitCode).toBe(4);
    expect(behaviourFor(devices[11]!, defaultBehaviour, subsets, 1).exitCode).toBe(0);
  });

  it('draws outcomes from the behaviour', () => {
    const random = seededRandom(7);
    const always = { ...defaultBehaviour, failRate: 1, failExitCode: 9, latencyMs: [100, 200] as const };
    for (let i = 0; i < 50; i++) {
      const o = drawOutcome(always, random);
      expect(o.exitCode).toBe(9);
      expect(o.latencyMs).toBeGreaterThanOrEqual(100);
      expect(o.latencyMs).toBeLessThanOrEqual(200);
    }
    const fails = Array.from({ length: 2000 }, () => drawOutcome({ ...defaultBehaviour, failRate: 0.2 }, random).exitCode !== 0).filter(
      Boolean,
    ).length;
    expect(fails).toBeGreaterThan(300);
    expect(fails).toBeLessThan(500);
  });
});
