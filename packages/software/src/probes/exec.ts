/**
 * Runs one program for a probe: an argument array (never a shell line), bounded output, a timeout that kills
 * the whole process tree (POSIX: the child leads its own process group; Windows: taskkill /T).
 */
import { spawn } from 'node:child_process';

export interface RunOptions {
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Output beyond this many bytes per stream is dropped (default 1 MiB). */
  maxOutputBytes?: number;
}

export interface RunResult {
  /** null when the process ended by a signal. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** How the probes run programs; tests pass recorded answers instead. Rejects (with `code: 'ENOENT'`) when the program is missing. */
export type Runner = (file: string, args: readonly string[], options?: RunOptions) => Promise<RunResult>;

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_OUTPUT = 1024 * 1024;
const KILL_GRACE_MS = 2_000;

function killTree(pid: number): void {
  if (process.platform === 'win32') {
    spawn('taskkill', ['/pid', String(pid), '/T', '/F'], { stdio: 'ignore', windowsHide: true }).once('error', () => undefined);
    return;
  }
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-pid, s);
    } catch {
      // the group is gone already
    }
  };
  signal('SIGTERM');
  setTimeout(() => signal('SIGKILL'), KILL_GRACE_MS).unref();
}

export const runProcess: Runner = (file, args, options = {}) =>
  new Promise((resolve, reject) => {
    const max = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
    const child = spawn(file, [...args], {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: process.platform !== 'win32',
      windowsHide: true,
    });
    const collect = () => {
      const chunks: Buffer[] = [];
      let size = 0;
      return {
        push(b: Buffer) {
          if (size >= max) return;
          chunks.push(b.subarray(0, max - size));
          size += b.length;
        },
        text: () => Buffer.concat(chunks).toString('utf8'),
      };
    };
    const out = collect();
    const err = collect();
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) killTree(child.pid);
    }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (exitCode, signal) => {
      clearTimeout(timer);
      resolve({ exitCode, signal, stdout: out.text(), stderr: err.text(), timedOut });
    });
  });

export const isMissingProgram = (e: unknown): boolean => (e as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';

/** The first line of a tool's complaint, for a probe error. */
export function firstLine(text: string): string {
  return (
    text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .find((l) => l !== '') ?? ''
  ).slice(0, 200);
}
