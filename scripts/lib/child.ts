/**
 * Child processes with prefixed output and a graceful stop. Each child leads its own process group and
 * signals go to the whole group: a launcher (npm, remix) runs the real program as a grandchild, and a
 * SIGKILL to the launcher alone would leave the program running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

export interface Child {
  name: string;
  process: ChildProcess;
  exited: Promise<number | null>;
  /** Signals the child's whole process group. */
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM to the group, SIGKILL after the grace period; resolves once the child exited. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * The command and arguments that run a TypeScript entry point from sources: node with tsx's loader, one
 * process. Not the tsx CLI: it runs the program as a second process and, when that one is slow to
 * acknowledge a signal (a busy machine), signals it again, which our programs take as "stop now": an
 * agent then exits without saying goodbye.
 */
export function fromSources(entry: string, args: string[] = []): [command: string, args: string[]] {
  return [process.execPath, ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href, entry, ...args]];
}

export function startChild(
  name: string,
  command: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; output?: (line: string) => void } = {},
): Child {
  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const out = opts.output ?? ((line: string) => process.stdout.write(`[${name}] ${line}\n`));
  for (const stream of [child.stdout, child.stderr]) if (stream) createInterface({ input: stream }).on('line', out);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const kill = (signal: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, signal);
    } catch {
      // the group is gone already
    }
  };
  // Never leave a group behind when this process exits.
  const onExit = () => kill('SIGKILL');
  process.once('exit', onExit);
  void exited.then(() => process.off('exit', onExit));
  return {
    name,
    process: child,
    exited,
    kill,
    async stop(graceMs = 10_000) {
      if (child.exitCode === null && child.signalCode === null) {
        kill('SIGTERM');
        const timer = setTimeout(() => kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}
