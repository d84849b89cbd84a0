/**
 * Keeps a child process running: a child that exits on its own is started again after an exponential
 * backoff (1 s, 2 s, 4 s … capped), reset once it has stayed up for a while. After many quick failures
 * in a row it gives up, and the caller decides what then (the dev launcher stops everything).
 */
import { constants } from 'node:os';
import type { Child } from './child.ts';

export interface RestartPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
  /** A child that ran at least this long before exiting starts over at the initial delay. */
  stableAfterMs: number;
  /** Consecutive quick failures after which the supervisor gives up. */
  maxQuickFailures: number;
}

export const defaultRestartPolicy: RestartPolicy = {
  initialDelayMs: 1000,
  maxDelayMs: 30_000,
  stableAfterMs: 60_000,
  maxQuickFailures: 10,
};

export interface SupervisedChild {
  name: string;
  /** The running process, if any (between a crash and its restart there is none). */
  readonly current: Child | undefined;
  /** Stops supervising and stops the process; resolves once it exited. */
  stop(): Promise<void>;
}

export interface SuperviseOptions {
  log: (message: string) => void;
  onGiveUp: (reason: string) => void;
  policy?: Partial<RestartPolicy>;
}

export function describeExit(child: Child): string {
  const { exitCode, signalCode } = child.process;
  if (signalCode) return `was killed by ${signalCode}`;
  // A launcher (npm, a shell) reports a program killed by a signal as exit code 128 + the signal's number.
  const signal =
    exitCode !== null && exitCode > 128 ? Object.entries(constants.signals).find(([, n]) => n === exitCode - 128)?.[0] : undefined;
  return `exited with code ${exitCode}${signal ? ` (killed by ${signal})` : ''}`;
}

export function supervise(name: string, start: () => Child, options: SuperviseOptions): SupervisedChild {
  const policy = { ...defaultRestartPolicy, ...options.policy };
  let current: Child | undefined;
  let stopping = false;
  let restartTimer: NodeJS.Timeout | undefined;
  let quickFailures = 0;

  const launch = () => {
    restartTimer = undefined;
    const child = start();
    const startedAt = Date.now();
    current = child;
    void child.exited.then(() => {
      // A launcher process may exit while the program it runs is still alive: clear the group.
      child.kill('SIGKILL');
      if (stopping) return;
      current = undefined;
      quickFailures = Date.now() - startedAt >= policy.stableAfterMs ? 1 : quickFailures + 1;
      if (quickFailures > policy.maxQuickFailures) {
        const reason = `${name} ${describeExit(child)}; it failed ${quickFailures} times in a row within ${Math.round(policy.stableAfterMs / 1000)} s of starting, giving up`;
        options.log(reason);
        options.onGiveUp(reason);
        return;
      }
      const delayMs = Math.min(policy.initialDelayMs * 2 ** (quickFailures - 1), policy.maxDelayMs);
      options.log(`${name} ${describeExit(child)}; restarting in ${formatSeconds(delayMs)} (attempt ${quickFailures})`);
      restartTimer = setTimeout(launch, delayMs);
    });
  };
  launch();

  return {
    name,
    get current() {
      return current;
    },
    async stop() {
      stopping = true;
      if (restartTimer) clearTimeout(restartTimer);
      await current?.stop();
    },
  };
}

function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}
