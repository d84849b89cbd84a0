/** What the Linux and Windows probes share: files through fs, detection scripts through a temporary file. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ScriptInterpreter } from '@opsconductor/contracts/constants';
import { firstLine, isMissingProgram, type Runner } from './exec.ts';
import { ProbeError, type FileProbeResult } from './types.ts';

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** "Not there" (ENOENT, ENOTDIR) is an answer; anything else (EACCES, EIO) is a probe failure. */
export async function fileProbe(path: string, version?: (path: string) => Promise<string | undefined>): Promise<FileProbeResult> {
  let isFile: boolean;
  try {
    isFile = (await stat(path)).isFile();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { exists: false };
    throw new ProbeError(`cannot read ${path}: ${code ?? String(e)}`);
  }
  if (!isFile) return { exists: true };
  return {
    exists: true,
    sha256: async () => {
      try {
        return await sha256File(path);
      } catch (e) {
        throw new ProbeError(`cannot hash ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
      }
    },
    ...(version ? { version: () => version(path) } : {}),
  };
}

export interface ScriptInvocation {
  /** The file name the script is written to (its extension matters to cmd and PowerShell). */
  fileName: string;
  command: (scriptPath: string) => { file: string; args: string[] };
}

/**
 * Writes the script to a private temporary directory and runs its interpreter on it: the script's text never
 * goes through a command line. Exit code as it is; a timeout, a signal or a missing interpreter is a probe error.
 */
export async function runDetectionScript(
  run: Runner,
  interpreter: ScriptInterpreter,
  invocation: ScriptInvocation | undefined,
  script: string,
  timeoutSeconds: number,
  tempRoot = tmpdir(),
): Promise<{ exitCode: number }> {
  if (!invocation) throw new ProbeError(`${interpreter} scripts do not run on this platform`);
  const dir = await mkdtemp(join(tempRoot, 'oc-detect-'));
  try {
    const path = join(dir, invocation.fileName);
    await writeFile(path, script, { mode: 0o700 });
    const { file, args } = invocation.command(path);
    let r;
    try {
      r = await run(file, args, { timeoutMs: timeoutSeconds * 1000, cwd: dir, maxOutputBytes: 64 * 1024 });
    } catch (e) {
      if (isMissingProgram(e)) throw new ProbeError(`${file} is not installed`);
      throw e;
    }
    if (r.timedOut) throw new ProbeError(`the script timed out after ${timeoutSeconds}s`);
    if (r.exitCode === null)
      throw new ProbeError(`the script was killed by ${r.signal ?? 'a signal'}${r.stderr ? `: ${firstLine(r.stderr)}` : ''}`);
    return { exitCode: r.exitCode };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
