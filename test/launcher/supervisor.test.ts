/** The dev launcher's supervisor on real child processes: backoff, the log line, reset, giving up. */
import { describe, expect, it } from 'vitest';
import { startChild } from '../../scripts/lib/child.ts';
import { supervise } from '../../scripts/lib/supervisor.ts';
import { waitFor } from '../support/tools.ts';

const exitAfter = (ms: number, code: number) => () =>
  startChild('flaky', process.execPath, ['-e', `setTimeout(() => process.exit(${code}), ${ms})`], { output: () => {} });

describe('supervise', () => {
  it('restarts a crashing child with growing delays, then gives up and says why', async () => {
    const log: string[] = [];
    let gaveUp = '';
    const starts: number[] = [];
    const child = supervise('flaky', () => (starts.push(Date.now()), exitAfter(0, 3)()), {
      log: (m) => log.push(m),
      onGiveUp: (reason) => (gaveUp = reason),
      policy: { initialDelayMs: 100, maxDelayMs: 400, stableAfterMs: 60_000, maxQuickFailures: 4 },
    });
    await waitFor('giving up', async () => gaveUp, 20_000, 20);
    expect(log).toEqual([
      'flaky exited with code 3; restarting in 0.1 s (attempt 1)',
      'flaky exited with code 3; restarting in 0.2 s (attempt 2)',
      'flaky exited with code 3; restarting in 0.4 s (attempt 3)',
      'flaky exited with code 3; restarting in 0.4 s (attempt 4)',
      'flaky exited with code 3; it failed 5 times in a row within 60 s of starting, giving up',
    ]);
    expect(gaveUp).toBe(log.at(-1));
    expect(starts).toHaveLength(5);
    // It did wait as it said: 0.1 + 0.2 + 0.4 + 0.4 s between the five starts at least.
    expect(starts.at(-1)! - starts[0]!).toBeGreaterThanOrEqual(1100);
    expect(child.current).toBeUndefined();
  });

  it('starts over at the first delay once a child stayed up long enough', async () => {
    const log: string[] = [];
    let runs = 0;
    // The first run fails at once; later ones stay up longer than stableAfterMs before exiting.
    const child = supervise('steady', () => exitAfter(++runs === 1 ? 0 : 400, 1)(), {
      log: (m) => log.push(m),
      onGiveUp: () => {},
      policy: { initialDelayMs: 100, maxDelayMs: 1000, stableAfterMs: 200, maxQuickFailures: 10 },
    });
    await waitFor('three exits', async () => log.length >= 3, 10_000, 20);
    await child.stop();
    expect(log.slice(0, 3)).toEqual(Array(3).fill('steady exited with code 1; restarting in 0.1 s (attempt 1)'));
  });

  it('stops a running child and does not restart it', async () => {
    const log: string[] = [];
    const child = supervise(
      'long',
      () => startChild('long', process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { output: () => {} }),
      {
        log: (m) => log.push(m),
        onGiveUp: () => {},
      },
    );
    await waitFor('the child', async () => child.current?.process.pid, 5000, 20);
    const { process: p } = child.current!;
    await child.stop();
    expect(p.signalCode).toBe('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    expect(log).toEqual([]);
    expect(child.current?.process.pid).toBe(p.pid); // nothing new was started
  });
});
