/**
 * Runs one process (a shell command, a script's interpreter…) as its own process tree and kills the
 * whole tree on timeout, cancellation or agent shutdown. POSIX children get their own process group
 * (detached), so one signal to -pgid reaches every descendant that did not deliberately leave the
 * group (setsid, double fork into a new session); Windows uses taskkill /T. Every process of the tree
 * inherits OPSCONDUCTOR_COMMAND_ID, by which a restarted agent finds the ones a crash left behind
 * (orphans.ts). A shell command is always passed to the shell as a single argv element: no string
 * building, no quoting on our side.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import type { CommandResult, ShellCommandPayload } from '@opsconductor/contracts/agent-protocol';
import type { SoftwareCommandReport } from '@opsconductor/contracts/software';
import { sleep } from './backoff.ts';
import type { StreamName } from '@opsconductor/command-output';

export const DEFAULT_KILL_GRACE_MS = 3000;
/**
 * After the shell exits, how long to keep reading its pipes. A background process it left behind
 * (`daemon &`) keeps the pipes open forever; we must not wait for it to report the result.
 */
const STDIO_DRAIN_MS = 2000;

export type StopReason = 'cancel' | 'shutdown';
/** The environment variable every process of a command's tree carries. */
export const COMMAND_ID_ENV = 'OPSCONDUCTOR_COMMAND_ID';
type KillReason = StopReason | 'timeout';

export interface ShellInvocation {
  file: string;
  args: string[];
  windowsVerbatimArguments?: boolean;
}

export class UnsupportedShellError extends Error {
  override name = 'UnsupportedShellError';
}

export function shellInvocation(
  shell: ShellCommandPayload['shell'],
  command: string,
  platform: NodeJS.Platform = process.platform,
): ShellInvocation {
  if (platform === 'win32') {
    switch (shell) {
      case 'default':
      case 'powershell':
        return {
          file: 'powershell.exe',
          args: ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-Command', command],
        };
      case 'cmd':
        // cmd.exe does not parse argv like other programs: with /s it strips exactly one pair of outer
        // quotes and runs the rest verbatim. This is what Node itself does for `shell: true`; any
        // other quoting would alter the command. /v:on turns on delayed expansion: job steps read their
        // parameters as !OC_PARAM_X!, expanded after cmd has parsed the line, so a value is never code.
        return { file: 'cmd.exe', args: ['/d', '/v:on', '/s', '/c', `"${command}"`], windowsVerbatimArguments: true };
      default:
        throw new UnsupportedShellError(`shell "${shell}" is not available on Windows`);
    }
  }
  switch (shell) {
    case 'default':
    case 'sh':
      return { file: '/bin/sh', args: ['-c', command] };
    case 'bash':
      // Resolved through PATH: bash is /bin/bash on Linux but often /usr/local/bin/bash or
      // /opt/homebrew/bin/bash elsewhere.
      return { file: 'bash', args: ['-c', command] };
    case 'powershell':
      return { file: 'pwsh', args: ['-NoProfile', '-NonInteractive', '-Command', command] };
    case 'cmd':
      throw new UnsupportedShellError('shell "cmd" is only available on Windows');
  }
}

export interface ProcessOptions {
  commandId: string;
  invocation: ShellInvocation;
  timeoutSeconds: number;
  /** The bytes the process wrote, as they arrive (not decoded: output is stored byte for byte). */
  onOutput: (stream: StreamName, data: Buffer) => void;
  /** Called once the process exists, before any of its output (the agent journals its pid). */
  onSpawn?: (pid: number) => void;
  killGraceMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface ExecuteOptions extends Omit<ProcessOptions, 'invocation' | 'timeoutSeconds'> {
  payload: ShellCommandPayload;
}

export interface ExecutionOutcome {
  status: CommandResult['status'];
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  error?: string;
  startedAt: Date;
  finishedAt: Date;
  durationMs: number;
  /** software.install / software.uninstall: the precise outcome, sent with the result. */
  software?: SoftwareCommandReport;
}

export interface ShellExecution {
  readonly pid: number | undefined;
  readonly done: Promise<ExecutionOutcome>;
  /**
   * Kills the process tree. The outcome becomes `cancelled` (cancel) or `failed` with "agent stopped"
   * (shutdown). No effect once the shell has exited.
   */
  stop(reason: StopReason): void;
}

// --- process-group helpers ------------------------------------------------------------------------

/**
 * Whether any non-zombie process is still in the group. On Linux /proc is read because `kill -0`
 * also succeeds for zombies, and orphaned zombies linger where PID 1 does not reap (containers).
 */
export async function processGroupAlive(pgid: number): Promise<boolean> {
  if (process.platform === 'linux') {
    let names: string[] | undefined;
    try {
      names = await readdir('/proc');
    } catch {
      names = undefined;
    }
    if (names) {
      for (const name of names) {
        if (!/^\d+$/.test(name)) continue;
        let stat: string;
        try {
          stat = await readFile(`/proc/${name}/stat`, 'utf8');
        } catch {
          continue; // exited while we looked
        }
        // Fields after the parenthesised command name (which may itself contain spaces or ')').
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') return true;
      }
      return false;
    }
  }
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

async function waitForGroupExit(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!(await processGroupAlive(pgid))) return true;
    if (Date.now() >= deadline) return false;
    await sleep(Math.min(50, Math.max(1, deadline - Date.now())));
  }
}

export async function killPosixGroup(pgid: number, graceMs: number): Promise<void> {
  signalGroup(pgid, 'SIGTERM');
  if (await waitForGroupExit(pgid, graceMs)) {
    // Members we cannot see in /proc (hidepid, another uid after setuid) would pass for gone; a
    // final SIGKILL to the group costs nothing when it really is empty.
    signalGroup(pgid, 'SIGKILL');
    return;
  }
  signalGroup(pgid, 'SIGKILL');
  // SIGKILL is delivered asynchronously; wait so callers can rely on the tree being gone.
  await waitForGroupExit(pgid, 2000);
}

export function killWindowsTree(pid: number): Promise<void> {
  return new Promise((resolve) => {
    const killer = spawn('taskkill', ['/pid', String(pid), '/T', '/F'], { stdio: 'ignore', windowsHide: true });
    killer.once('error', () => resolve());
    killer.once('exit', () => resolve());
  });
}

// --- execution ------------------------------------------------------------------------------------

export function executeShellCommand(options: ExecuteOptions): ShellExecution {
  const { payload, ...rest } = options;
  let invocation: ShellInvocation;
  try {
    invocation = shellInvocation(payload.shell, payload.command);
  } catch (err) {
    return failedToStart((err as Error).message);
  }
  return executeProcess({ ...rest, invocation, timeoutSeconds: payload.timeoutSeconds });
}

/** An execution that never started a process. */
export function failedToStart(error: string): ShellExecution {
  const now = new Date();
  return {
    pid: undefined,
    done: Promise.resolve({ status: 'failed', exitCode: null, signal: null, error, startedAt: now, finishedAt: now, durationMs: 0 }),
    stop() {},
  };
}

export function executeProcess(options: ProcessOptions): ShellExecution {
  const { invocation, timeoutSeconds } = options;
  const killGraceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  const isWindows = process.platform === 'win32';
  const startedAt = new Date();
  const t0 = performance.now();
  const outcome = (fields: Omit<ExecutionOutcome, 'startedAt' | 'finishedAt' | 'durationMs'>): ExecutionOutcome => ({
    ...fields,
    startedAt,
    finishedAt: new Date(),
    durationMs: Math.max(0, Math.round(performance.now() - t0)),
  });

  let child: ChildProcess;
  try {
    child = spawn(invocation.file, invocation.args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      // Own process group on POSIX so the tree can be signalled as one; on Windows `detached` would
      // open a new console window instead, and taskkill /T walks the tree anyway.
      detached: !isWindows,
      windowsHide: true,
      windowsVerbatimArguments: invocation.windowsVerbatimArguments,
      env: { ...(options.env ?? process.env), [COMMAND_ID_ENV]: options.commandId },
      cwd: options.cwd,
    });
  } catch (err) {
    // Synchronous spawn errors: e.g. a NUL byte in the command.
    return failedToStart(`could not start ${invocation.file}: ${(err as Error).message}`);
  }
  if (child.pid !== undefined) options.onSpawn?.(child.pid);

  let killReason: KillReason | undefined;
  let exited = false;
  let termination: Promise<void> | undefined;
  let timeoutTimer: NodeJS.Timeout | undefined;

  const kill = (reason: KillReason) => {
    if (exited || killReason || child.pid === undefined) return;
    killReason = reason;
    clearTimeout(timeoutTimer);
    termination = isWindows ? killWindowsTree(child.pid) : killPosixGroup(child.pid, killGraceMs);
  };

  for (const name of ['stdout', 'stderr'] as const) {
    const stream = child[name];
    if (!stream) continue;
    stream.on('data', (data: Buffer) => options.onOutput(name, data));
    stream.on('error', () => {}); // EPIPE/destroy after exit: nothing left to read
  }

  const done = new Promise<ExecutionOutcome>((resolve) => {
    let settled = false;
    let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let drainTimer: NodeJS.Timeout | undefined;

    const settle = async () => {
      if (settled || !exitInfo) return;
      settled = true;
      clearTimeout(drainTimer);
      await termination; // a killed tree is reported only once it is really gone
      const { code, signal } = exitInfo;
      let status: ExecutionOutcome['status'];
      let error: string | undefined;
      if (killReason === 'timeout') {
        status = 'timed_out';
        error = `timed out after ${timeoutSeconds} s`;
      } else if (killReason === 'cancel') {
        status = 'cancelled';
      } else if (killReason === 'shutdown') {
        status = 'failed';
        error = 'agent stopped';
      } else if (signal) {
        status = 'failed';
        error = `terminated by signal ${signal}`;
      } else {
        status = code === 0 ? 'succeeded' : 'failed';
      }
      resolve(outcome({ status, exitCode: signal ? null : code, signal, ...(error ? { error } : {}) }));
    };

    child.once('error', (err) => {
      // Emitted instead of 'exit' when the executable cannot be started (ENOENT, EACCES).
      if (child.pid !== undefined || exitInfo || settled) return;
      settled = true;
      clearTimeout(timeoutTimer);
      resolve(outcome({ status: 'failed', exitCode: null, signal: null, error: `could not start ${invocation.file}: ${err.message}` }));
    });
    child.once('exit', (code, signal) => {
      exited = true;
      exitInfo = { code, signal };
      clearTimeout(timeoutTimer);
      drainTimer = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        void settle();
      }, STDIO_DRAIN_MS);
    });
    child.once('close', () => void settle());
  });

  if (child.pid !== undefined) {
    timeoutTimer = setTimeout(() => kill('timeout'), timeoutSeconds * 1000);
  }

  return {
    pid: child.pid,
    done,
    stop: (reason) => kill(reason),
  };
}
