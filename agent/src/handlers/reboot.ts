/**
 * `reboot`: journals that the command waits for the device to restart (with the current boot ID),
 * then asks the system to restart. It is not over when the agent is stopped by the shutdown: the agent
 * that starts after the restart sees another boot ID and reports the command succeeded (agent.ts,
 * recovery). If the device has not restarted by `timeoutSeconds`, the command fails. The command that
 * restarts the system can be replaced (OPSCONDUCTOR_AGENT_REBOOT_COMMAND, run by the platform shell):
 * tests cannot restart the machine.
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { commandKindVersions } from '@opsconductor/contracts/commands';
import { executeProcess, shellInvocation, type ShellInvocation, type StopReason } from '../executor.ts';
import type { CommandHandler, HandlerOutcome } from './types.ts';

export const REBOOT_COMMAND_ENV = 'OPSCONDUCTOR_AGENT_REBOOT_COMMAND';
/** How long the restart request itself may take. */
const REQUEST_TIMEOUT_SECONDS = 120;

export function rebootInvocation(override: string | undefined, platform: NodeJS.Platform = process.platform): ShellInvocation {
  if (override) return shellInvocation('default', override, platform);
  if (platform === 'win32') return { file: 'shutdown.exe', args: ['/r', '/t', '5', '/c', 'OpsConductor: reboot command'] };
  return { file: '/sbin/shutdown', args: ['-r', 'now'] };
}

/** How the agent tells users a restart is coming, and how long it waits (a software command's `rebootNotice`). */
export interface RestartNotice {
  message: string;
  delaySeconds: number;
}

/** Longest notice text the agent passes on (Windows' `shutdown /c` takes at most 512 characters). */
export const MAX_NOTICE_TEXT_LENGTH = 480;
const NOTICE_MESSAGE_MAX = 400;
const DEFAULT_NOTICE_MESSAGE = 'Software was installed that needs a restart. Save your work.';

/**
 * The message as one harmless line: control characters (newlines, escapes that would reach users' terminals through
 * `wall`), bidirectional overrides and double quotes (Windows' command-line parsing) become spaces or single quotes,
 * whitespace is collapsed, and it is cut to a bounded length. Empty → a default sentence.
 */
export function sanitizeNoticeMessage(message: string): string {
  const clean = message
    .replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g, ' ')
    .replace(/"/g, "'")
    .replace(/\s+/g, ' ')
    .trim();
  const cut = Array.from(clean).slice(0, NOTICE_MESSAGE_MAX).join('');
  return cut || DEFAULT_NOTICE_MESSAGE;
}

/** "now", "in 45 seconds", "in 5 minutes" (rounded up). */
export function describeDelay(seconds: number): string {
  if (seconds <= 0) return 'now';
  if (seconds < 60) return `in ${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return `in ${minutes} minute${minutes === 1 ? '' : 's'}`;
}

/** The text users see: who says it, the message, and when the restart comes. */
export function noticeText(notice: RestartNotice): string {
  return `OpsConductor: ${sanitizeNoticeMessage(notice.message)} This device restarts ${describeDelay(notice.delaySeconds)}.`.slice(
    0,
    MAX_NOTICE_TEXT_LENGTH,
  );
}

/** What the agent does to restart with a notice: tell the users, wait, restart. Every step an argv (no shell, no input in a command line). */
export interface RestartPlan {
  /** Runs first (Linux: `wall`), when there is one. */
  notify?: ShellInvocation;
  /** The agent waits this long after the notice (0: the system itself waits, as Windows' `shutdown /t` does). */
  delayMs: number;
  restart: ShellInvocation;
}

export interface RestartPlanOptions {
  /** OPSCONDUCTOR_AGENT_REBOOT_COMMAND: replaces the restart (run by the platform shell); the agent then waits the delay itself. */
  override?: string;
  platform?: NodeJS.Platform;
  /** Path of `wall` (Linux, macOS), or null when there is none. */
  wall?: string | null;
}

/**
 * How to restart the device, with or without a notice:
 * - Windows: `shutdown.exe /r /t <delay> /d p:4:2 /c <text>` — Windows shows the text to logged-in users and counts
 *   down itself (surviving the agent);
 * - Linux, macOS: `wall -- <text>` now when `wall` exists, the agent waits the delay, then `shutdown -r now`;
 *   without `wall`, `shutdown -r +<minutes> <text>` (shutdown warns the users itself, at minute granularity).
 * - With an override, the notice as above where the platform has `wall`, then the agent waits and runs the override.
 */
export function restartPlan(notice: RestartNotice | undefined, options: RestartPlanOptions = {}): RestartPlan {
  const platform = options.platform ?? process.platform;
  if (!notice) return { delayMs: 0, restart: rebootInvocation(options.override, platform) };
  const delaySeconds = Math.max(0, Math.min(24 * 3600, Math.floor(notice.delaySeconds)));
  const text = noticeText({ ...notice, delaySeconds });
  const wall = platform === 'win32' ? null : (options.wall ?? null);
  // `--`: nothing in the text is read as an option; two arguments, so wall never takes the text for a file to read.
  const notify: ShellInvocation | undefined = wall
    ? { file: wall, args: ['--', 'OpsConductor:', text.replace(/^OpsConductor: /, '')] }
    : undefined;
  if (options.override)
    return { ...(notify ? { notify } : {}), delayMs: delaySeconds * 1000, restart: shellInvocation('default', options.override, platform) };
  if (platform === 'win32') {
    return { delayMs: 0, restart: { file: 'shutdown.exe', args: ['/r', '/t', String(delaySeconds), '/d', 'p:4:2', '/c', text] } };
  }
  if (notify) return { notify, delayMs: delaySeconds * 1000, restart: { file: '/sbin/shutdown', args: ['-r', 'now'] } };
  const when = delaySeconds === 0 ? 'now' : `+${Math.ceil(delaySeconds / 60)}`;
  return { delayMs: 0, restart: { file: '/sbin/shutdown', args: ['-r', when, text] } };
}

/** `wall` on this device's PATH (or the usual places), or null. */
export function findWall(env: NodeJS.ProcessEnv = process.env): string | null {
  const dirs = [...(env.PATH ?? '').split(path.delimiter).filter((d) => path.isAbsolute(d)), '/usr/bin', '/bin'];
  for (const dir of dirs) {
    const candidate = path.join(dir, 'wall');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

export function createRebootHandler(rebootCommand: string | undefined): CommandHandler<'reboot'> {
  return {
    kind: 'reboot',
    version: commandKindVersions.reboot,
    start(payload, ctx) {
      ctx.awaitingReboot(new Date(Date.now() + payload.timeoutSeconds * 1000));
      let stoppedBy: StopReason | undefined;
      const execution = executeProcess({
        commandId: ctx.commandId,
        invocation: rebootInvocation(rebootCommand),
        timeoutSeconds: REQUEST_TIMEOUT_SECONDS,
        env: ctx.env,
        killGraceMs: ctx.killGraceMs,
        onOutput: (stream, data) => ctx.output(stream, data),
      });
      const done = execution.done.then((outcome): HandlerOutcome => {
        // The system going down stops the agent (and with it the request): that is the reboot happening.
        if (outcome.status === 'succeeded' || stoppedBy === 'shutdown') return { awaitingReboot: true };
        if (stoppedBy === 'cancel') return { ...outcome, status: 'cancelled' };
        return {
          ...outcome,
          status: 'failed',
          error: `the restart request failed${outcome.error ? `: ${outcome.error}` : ` with exit code ${outcome.exitCode}`}`,
        };
      });
      return {
        done,
        stop(reason) {
          stoppedBy ??= reason;
          execution.stop(reason);
        },
      };
    },
  };
}
