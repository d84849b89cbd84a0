/**
 * The agent's state directory: `agent.json` (device credentials), `journal.jsonl` and `agent.lock`.
 * The credentials file is the only secret on the endpoint, so it is written 0600 in a 0700 directory
 * and replaced atomically (a torn write must never leave an agent without its identity).
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

export const CONFIG_FILE = 'agent.json';
export const JOURNAL_FILE = 'journal.jsonl';
export const LOCK_FILE = 'agent.lock';

export function defaultStateDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  const fromEnv = env.OPSCONDUCTOR_AGENT_STATE_DIR;
  if (fromEnv) return fromEnv;
  if (platform === 'win32') {
    return path.win32.join(env.ProgramData ?? 'C:\\ProgramData', 'OpsConductor', 'agent');
  }
  if (process.getuid?.() === 0) return '/var/lib/opsconductor-agent';
  const stateHome = env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state');
  return path.join(stateHome, 'opsconductor-agent');
}

/** http(s) only, no embedded credentials: the bearer secret must be the only credential in play. */
export const serverUrlSchema = z
  .string()
  .trim()
  .pipe(z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }))
  .refine((value) => {
    const url = new URL(value);
    return url.username === '' && url.password === '';
  }, 'must not contain a user name or password')
  .refine((value) => {
    const url = new URL(value);
    return url.search === '' && url.hash === '';
  }, 'must not contain a query string or fragment')
  .transform((value) => value.replace(/\/+$/, ''));

export const agentConfigSchema = z.object({
  serverUrl: serverUrlSchema,
  deviceId: z.uuid(),
  deviceSecret: z.string().min(1).max(1000),
  enrolledAt: z.string().optional(),
  pollWaitSeconds: z.number().int().positive().optional(),
  checkinIntervalSeconds: z.number().int().positive().optional(),
});
export type AgentConfig = z.infer<typeof agentConfigSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function ensureStateDir(stateDir: string): void {
  const created = mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  // umask may have widened nothing but can narrow; set it exactly. Only for a directory we just
  // created: chmod-ing an existing one (someone passes --state-dir /tmp) could break the host.
  if (created !== undefined && process.platform !== 'win32') chmodSync(stateDir, 0o700);
}

/**
 * On Windows, POSIX modes mean nothing and %ProgramData% subfolders inherit "Users: read". Replace
 * the inherited ACL with SYSTEM + Administrators only. Best effort: returns an error message on failure.
 */
export function restrictWindowsAcl(target: string): string | undefined {
  if (process.platform !== 'win32') return undefined;
  try {
    execFileSync('icacls', [target, '/inheritance:r', '/grant:r', '*S-1-5-18:(OI)(CI)F', '*S-1-5-32-544:(OI)(CI)F'], {
      stdio: 'ignore',
      windowsHide: true,
      timeout: 15_000,
    });
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

export function configPath(stateDir: string): string {
  return path.join(stateDir, CONFIG_FILE);
}

export function configExists(stateDir: string): boolean {
  return existsSync(configPath(stateDir));
}

export function readConfig(stateDir: string): AgentConfig {
  const file = configPath(stateDir);
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ConfigError(`not enrolled: ${file} does not exist (run "enroll" first)`);
    }
    throw new ConfigError(`cannot read ${file}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new ConfigError(`${file} is not valid JSON; re-enroll with --force`);
  }
  const parsed = agentConfigSchema.safeParse(json);
  if (!parsed.success) throw new ConfigError(`${file} is invalid: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** Returns a warning when the credentials file is readable by others (POSIX only). */
export function checkConfigPermissions(stateDir: string): string | undefined {
  if (process.platform === 'win32') return undefined;
  const mode = statSync(configPath(stateDir)).mode & 0o777;
  if ((mode & 0o077) === 0) return undefined;
  return `${configPath(stateDir)} has mode ${mode.toString(8)}; it holds the device secret and should be 600`;
}

/** Write-to-temp, fsync, rename, fsync the directory: either the old or the new file survives a crash. */
export function writeFileAtomic(file: string, contents: string, mode = 0o600): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    unlinkSync(tmp); // leftover of a crash; 'wx' below then guarantees we never write through a link
  } catch {
    // Usually absent.
  }
  const fd = openSync(tmp, 'wx', mode);
  try {
    writeSync(fd, contents);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  if (process.platform !== 'win32') chmodSync(tmp, mode); // the open mode is subject to umask
  renameSync(tmp, file);
  fsyncDir(path.dirname(file));
}

export function fsyncDir(dir: string): void {
  if (process.platform === 'win32') return; // directories cannot be opened for fsync there
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some filesystems refuse directory fsync; the rename is still atomic, only less durable.
  }
}

export function writeConfig(stateDir: string, config: AgentConfig): void {
  ensureStateDir(stateDir);
  writeFileAtomic(configPath(stateDir), JSON.stringify(config, null, 2) + '\n', 0o600);
}

// --- single-instance lock -------------------------------------------------------------------------
// Two agents on one state directory would each run the same command: the journal's at-most-once
// promise only holds for a single writer.

const lockSchema = z.object({ pid: z.number().int(), bootId: z.string().optional(), startedAt: z.string().optional() });

function currentBootId(): string | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return undefined;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A crashed agent may linger as a zombie when nothing reaps it (e.g. a container whose PID 1 does not):
  // it answers kill(pid, 0) but holds nothing.
  if (process.platform === 'linux') {
    try {
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  }
  return true;
}

/** Returns the pid of a live agent holding the lock, if any. A lock from a previous boot is stale. */
export function lockHolder(stateDir: string): number | undefined {
  let raw: string;
  try {
    raw = readFileSync(path.join(stateDir, LOCK_FILE), 'utf8');
  } catch {
    return undefined;
  }
  let parsed: z.infer<typeof lockSchema>;
  try {
    parsed = lockSchema.parse(JSON.parse(raw));
  } catch {
    return undefined;
  }
  const bootId = currentBootId();
  if (parsed.bootId && bootId && parsed.bootId !== bootId) return undefined;
  if (parsed.pid === process.pid) return parsed.pid;
  return pidAlive(parsed.pid) ? parsed.pid : undefined;
}

export class LockHeldError extends Error {
  override name = 'LockHeldError';
  constructor(
    readonly pid: number,
    lockFile: string,
  ) {
    super(`another agent (pid ${pid}) is running on this state directory; if that is wrong, delete ${lockFile}`);
  }
}

export interface StateLock {
  release(): void;
}

export function acquireLock(stateDir: string): StateLock {
  ensureStateDir(stateDir);
  const file = path.join(stateDir, LOCK_FILE);
  const body = JSON.stringify({ pid: process.pid, bootId: currentBootId(), startedAt: new Date().toISOString() });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      try {
        writeSync(fd, body);
      } finally {
        closeSync(fd);
      }
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          try {
            unlinkSync(file);
          } catch {
            // Already gone: nothing to release.
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = lockHolder(stateDir);
      if (holder !== undefined) throw new LockHeldError(holder, file);
      try {
        unlinkSync(file); // stale: its owner died (crash, kill -9, reboot)
      } catch {
        // Raced with another starter; the next attempt decides.
      }
    }
  }
  throw new LockHeldError(lockHolder(stateDir) ?? -1, file);
}
