/**
 * A terminal's Ctrl-C sends SIGINT to every process of its foreground process group: the launcher and
 * also the PostgreSQL and Temporal servers it started, which would stop at once, before the api and
 * worker they serve. So the launcher does its work in a copy of itself that leads its own process
 * group; the process the terminal started only forwards signals and output, and exits with its exit
 * code. (The copy never touches the terminal itself: a background process group writing to it would
 * be stopped under `stty tostop`.)
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';

const INNER = 'OPSCONDUCTOR_LAUNCHER_INNER';

/**
 * In the front process: starts the inner copy and returns false (the caller does nothing more). In the
 * inner copy: returns true; `onFrontGone` runs if the front process dies without forwarding a signal.
 */
export function runInOwnProcessGroup(onFrontGone: () => void): boolean {
  // Output may lose its reader (a closed terminal, `| tee` ended by Ctrl-C): that must not stop the
  // launcher halfway, leaving servers behind.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
  if (process.env[INNER] === '1') {
    delete process.env[INNER];
    process.on('disconnect', onFrontGone);
    return true;
  }
  const inner = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, [INNER]: '1' },
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => inner.kill(signal === 'SIGHUP' ? 'SIGTERM' : signal));
  }
  inner.stdout?.pipe(process.stdout);
  inner.stderr?.pipe(process.stderr);
  // 'close' comes after the last output, unlike 'exit'.
  inner.on('close', (code, signal) => process.exit(code ?? 128 + (signal ? constants.signals[signal] : 0)));
  return false;
}
