/**
 * The only ways inventory collectors touch the system: run a program (never through a shell) and read a
 * file, both bounded in time and size. A missing tool, a permission error, a timeout or oversized output
 * all come back as `null`: collectors turn that into null/empty fields instead of failing the section.
 */
import { execFile, type ExecFileException } from 'node:child_process';
import { open } from 'node:fs/promises';
import path from 'node:path';

export interface RunOptions {
  /** Killed (SIGKILL) after this long; default 10 s. */
  timeoutMs?: number;
  /** Combined stdout/stderr bytes beyond which the program is killed and the run counts as failed; default 1 MiB. */
  maxBytes?: number;
  signal?: AbortSignal;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Agents started by a user's shell or a minimal service unit often lack the sbin directories, where
 * ufw, nft, iptables and friends live. Appended, never prepended: the caller's PATH keeps precedence.
 */
function toolPath(current: string | undefined): string {
  if (process.platform === 'win32') return current ?? '';
  const parts = (current ?? '').split(path.delimiter).filter(Boolean);
  for (const dir of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    if (!parts.includes(dir)) parts.push(dir);
  }
  return parts.join(path.delimiter);
}

/** The C locale keeps tool output parseable ("Status: active", not "Status: aktiv"). */
function toolEnv(): NodeJS.ProcessEnv {
  return { ...process.env, LC_ALL: 'C', LANG: 'C', LANGUAGE: 'C', PATH: toolPath(process.env.PATH) };
}

/** Runs `file` with `args`; resolves null when it could not run to completion (missing, killed, too much output). */
export function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult | null> {
  return new Promise((resolve) => {
    if (options.signal?.aborted) return resolve(null);
    let child;
    try {
      child = execFile(
        file,
        args,
        {
          encoding: 'utf8',
          timeout: options.timeoutMs ?? 10_000,
          killSignal: 'SIGKILL',
          maxBuffer: options.maxBytes ?? 1024 * 1024,
          signal: options.signal,
          windowsHide: true,
          env: toolEnv(),
        },
        (err: ExecFileException | null, stdout: string, stderr: string) => {
          if (!err) return resolve({ code: 0, stdout, stderr });
          // A numeric code is a normal exit with a non-zero status: callers decide what it means.
          if (typeof err.code === 'number' && !err.killed && !err.signal) return resolve({ code: err.code, stdout, stderr });
          resolve(null);
        },
      );
    } catch {
      return resolve(null);
    }
    // No tool we call reads stdin; an open pipe would only let one that unexpectedly prompts hang until the timeout.
    child.stdin?.end();
  });
}

/** Reads at most `maxBytes` of a text file (works for /proc and /sys files, whose size reads as 0). */
export async function readText(file: string, maxBytes = 1024 * 1024): Promise<string | null> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch {
    return null;
  }
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    const buffer = Buffer.alloc(64 * 1024);
    while (total < maxBytes) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, maxBytes - total), null);
      if (bytesRead === 0) break;
      chunks.push(Buffer.from(buffer.subarray(0, bytesRead)));
      total += bytesRead;
    }
    return Buffer.concat(chunks).toString('utf8');
  } catch {
    return null;
  } finally {
    await handle.close().catch(() => {});
  }
}

/** Resolves `fallback` if `promise` has not settled within `ms` (a hung NFS statfs must not stall a collection). */
export function withTimeout<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(fallback), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      () => {
        clearTimeout(timer);
        resolve(fallback);
      },
    );
  });
}

/** Runs `fn` over `items` with at most `limit` in flight, keeping the input order in the output. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      out[index] = await fn(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
