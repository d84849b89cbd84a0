/**
 * `file.fetch`: downloads a file the server holds into a temporary file next to its destination,
 * checks its size and SHA-256 against the command, sets its mode and owner, and renames it into place
 * (atomic: the destination is either the old file or the complete new one, never a part). The
 * destination's directory must exist. Nothing is written when the check fails.
 */
import { execFile } from 'node:child_process';
import { chmod, chown, open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { commandKindVersions, type FileFetchCommandPayload } from '@opsconductor/contracts/commands';
import { Backoff, sleep } from '../backoff.ts';
import { isRetryable, retryAfterMs } from '../http.ts';
import { runInProcess, type CommandHandler, type HandlerContext } from './types.ts';

const run = promisify(execFile);
const DOWNLOAD_ATTEMPTS = 4;

class FetchError extends Error {}

/** `user` or `user:group` (names or numbers) as the IDs chown takes; -1 leaves one as it is. */
export async function resolveOwner(owner: string): Promise<{ uid: number; gid: number }> {
  const [user, group] = owner.split(':') as [string, string | undefined];
  const id = async (args: string[]) => {
    try {
      return Number((await run('id', args, { timeout: 10_000 })).stdout.trim());
    } catch {
      throw new FetchError(`no such user: ${user}`);
    }
  };
  const uid = /^\d+$/.test(user) ? Number(user) : await id(['-u', user]);
  let gid = -1;
  if (group !== undefined) {
    if (/^\d+$/.test(group)) gid = Number(group);
    else {
      const entry = await run('getent', ['group', group], { timeout: 10_000 }).then(
        (r) => r.stdout,
        () => '',
      );
      const field = entry.split(':')[2];
      if (!field || !/^\d+$/.test(field)) throw new FetchError(`no such group: ${group}`);
      gid = Number(field);
    }
  } else if (!/^\d+$/.test(user)) {
    gid = await id(['-g', user]);
  }
  return { uid, gid };
}

async function fetchFile(payload: FileFetchCommandPayload, ctx: HandlerContext, signal: AbortSignal): Promise<string> {
  const target = payload.path;
  if (!path.isAbsolute(target)) throw new FetchError(`${target} is not an absolute path on this device`);
  if (process.platform === 'win32' && payload.owner) throw new FetchError('owner is not supported on Windows');
  const dir = path.dirname(target);
  const dirStat = await stat(dir).catch(() => undefined);
  if (!dirStat?.isDirectory()) throw new FetchError(`the directory ${dir} does not exist`);
  const owner = payload.owner ? await resolveOwner(payload.owner) : undefined;

  const tmp = path.join(dir, `.${path.basename(target)}.opsconductor-${ctx.commandId}.part`);
  const backoff = new Backoff({ initialMs: 1000, maxMs: 30_000 });
  try {
    for (let attempt = 1; ; attempt++) {
      await rm(tmp, { force: true });
      try {
        const got = await ctx.client.download(payload.sha256, tmp, payload.size, signal);
        if (got.size !== payload.size) throw new FetchError(`received ${got.size} bytes, expected ${payload.size}`);
        if (got.sha256 !== payload.sha256)
          throw new FetchError(`the SHA-256 of the received file is ${got.sha256}, expected ${payload.sha256}; nothing was written`);
        break;
      } catch (err) {
        if (err instanceof FetchError || signal.aborted || !isRetryable(err) || attempt >= DOWNLOAD_ATTEMPTS) throw err;
        ctx.log.warn('file download failed; retrying', { err, attempt });
        await sleep(backoff.next(retryAfterMs(err)), signal);
      }
    }
    if (process.platform !== 'win32') await chmod(tmp, Number.parseInt(payload.mode ?? '0644', 8));
    if (owner) await chown(tmp, owner.uid, owner.gid);
    await rename(tmp, target);
  } finally {
    await rm(tmp, { force: true });
  }
  // The rename itself must survive a power cut.
  if (process.platform !== 'win32') {
    const handle = await open(dir, 'r');
    await handle.sync().finally(() => handle.close());
  }
  return `wrote ${payload.size} bytes (sha256 ${payload.sha256}) to ${target}\n`;
}

export const fileFetchHandler: CommandHandler<'file.fetch'> = {
  kind: 'file.fetch',
  version: commandKindVersions['file.fetch'],
  start(payload, ctx) {
    return runInProcess(ctx, payload.timeoutSeconds, 'file.fetch', async (signal) => ({
      ok: true,
      output: await fetchFile(payload, ctx, signal),
    }));
  },
};
