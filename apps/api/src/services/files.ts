/**
 * Files the server holds for `file.fetch` commands: content-addressed on local disk
 * (`<FILE_STORE_DIR>/<first two hex digits>/<sha256>`), one copy per content however often it is
 * uploaded or sent. An upload is streamed to a temporary file while it is hashed and counted, refused
 * past the size limit, and renamed into place only once complete, so a reader never sees a partial
 * file. The depot will generalise this; until then it is small but real: a row in `stored_files` per
 * file and the bytes on disk.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { StoredFile } from '@opsconductor/contracts/api';
import type { ApiDeps } from '../context.ts';
import { ApiError } from '../lib/problem.ts';

/** How much of a stored file one read of a download takes. */
const READ_CHUNK_BYTES = 64 * 1024;

const SHA256 = /^[0-9a-f]{64}$/;

/** Bytes `start` to `end` of a file, both included (as HTTP ranges count). */
export interface ByteRange {
  start: number;
  end: number;
}

export class FileStore {
  constructor(
    readonly dir: string,
    readonly maxBytes: number,
  ) {}

  pathOf(sha256: string): string {
    if (!SHA256.test(sha256)) throw new Error('not a SHA-256');
    return path.join(this.dir, sha256.slice(0, 2), sha256);
  }

  /** Streams `body` into the store. Throws 413 past maxBytes (nothing is kept then). */
  async put(body: WebReadableStream<Uint8Array>, signal?: AbortSignal): Promise<{ sha256: string; size: number }> {
    const staged = await this.stage(body, signal);
    try {
      await staged.commit();
    } finally {
      await staged.discard();
    }
    return staged;
  }

  /**
   * Streams `body` into a temporary file, hashed and counted (413 past maxBytes); `commit` moves it into place under
   * its SHA-256, `discard` removes what is left of it. Callers that record the file in the database commit under the
   * same lock as their row, so a concurrent delete of the same content cannot remove the bytes a new row needs.
   */
  async stage(
    body: WebReadableStream<Uint8Array>,
    signal?: AbortSignal,
  ): Promise<{ sha256: string; size: number; path: string; commit(): Promise<void>; discard(): Promise<void> }> {
    const tmpDir = path.join(this.dir, 'tmp');
    await mkdir(tmpDir, { recursive: true, mode: 0o700 });
    const tmp = path.join(tmpDir, `${randomUUID()}.part`);
    const discard = () => rm(tmp, { force: true });
    const hash = createHash('sha256');
    let size = 0;
    const max = this.maxBytes;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        size += chunk.length;
        // Connection: close — the rest of the body is never read, so the connection cannot carry another request.
        if (size > max)
          return done(new ApiError(413, 'payload_too_large', `A file may hold at most ${max} bytes.`, undefined, { connection: 'close' }));
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(Readable.fromWeb(body), meter, createWriteStream(tmp, { mode: 0o600 }), { signal });
      const handle = await open(tmp, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    } catch (err) {
      await discard();
      throw err;
    }
    const sha256 = hash.digest('hex');
    const target = this.pathOf(sha256);
    return {
      sha256,
      size,
      path: tmp,
      // Same name, same bytes: replacing an existing copy changes nothing a reader could see.
      commit: async () => {
        await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
        await rename(tmp, target);
      },
      discard,
    };
  }

  /** Removes the stored bytes (nothing when there are none). */
  async remove(sha256: string): Promise<void> {
    await rm(this.pathOf(sha256), { force: true });
  }

  /**
   * The stored bytes (all, or `range` of them) as a response body, or undefined when the store does not hold them. Read as the client
   * takes them: a pull only when the response wants more (high-water mark 0, nothing read ahead), so a download holds
   * one READ_CHUNK_BYTES chunk however slow the device, and many at once cost little more than a few (bench:depot).
   * From a file handle closed at the end or when the client goes away. Not `Readable.toWeb(fs stream)`: on Node versions without nodejs/node#54206
   * its late close can error a finished stream (@hono/node-server's serveStatic avoids it for that reason).
   * `size` is the whole file's.
   */
  async open(sha256: string, range?: ByteRange): Promise<{ body: ReadableStream<Uint8Array>; size: number } | undefined> {
    let handle: FileHandle;
    try {
      handle = await open(this.pathOf(sha256), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const close = () => handle.close().catch(() => {});
    const { size } = await handle.stat().catch(async (err: unknown) => {
      await close();
      throw err;
    });
    let position = range?.start ?? 0;
    const end = range ? Math.min(range.end + 1, size) : size;
    const body = new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          try {
            const want = Math.min(READ_CHUNK_BYTES, end - position);
            const { bytesRead, buffer } =
              want > 0 ? await handle.read(Buffer.allocUnsafe(want), 0, want, position) : { bytesRead: 0, buffer: null };
            if (bytesRead === 0 || !buffer) {
              await close();
              controller.close();
              return;
            }
            position += bytesRead;
            controller.enqueue(buffer.subarray(0, bytesRead));
          } catch (err) {
            await close();
            controller.error(err);
          }
        },
        cancel: close,
      },
      { highWaterMark: 0 },
    );
    return { body, size };
  }
}

interface FileRow {
  sha256: string;
  size: string;
  name: string | null;
  created_at: Date;
}

function toStoredFile(r: FileRow): StoredFile {
  return { sha256: r.sha256, size: Number(r.size), name: r.name, createdAt: r.created_at.toISOString() };
}

/** Stores an upload and records it; uploading the same content again returns the same file (and keeps its first name). */
export async function uploadFile(
  deps: ApiDeps,
  body: WebReadableStream<Uint8Array>,
  meta: { name: string | null; userId: string },
  signal?: AbortSignal,
): Promise<{ file: StoredFile; created: boolean }> {
  const { sha256, size } = await deps.files.put(body, signal);
  const { rows } = await deps.db.pool.query<FileRow & { inserted: boolean }>(
    `INSERT INTO stored_files (sha256, size, name, created_by_id) VALUES ($1, $2, $3, $4)
     ON CONFLICT (sha256) DO UPDATE SET size = EXCLUDED.size
     RETURNING sha256, size::text, name, created_at, (xmax = 0) AS inserted`,
    [sha256, size, meta.name, meta.userId],
  );
  return { file: toStoredFile(rows[0]!), created: rows[0]!.inserted };
}

export async function getStoredFile(deps: ApiDeps, sha256: string): Promise<StoredFile | null> {
  const { rows } = await deps.db.pool.query<FileRow>('SELECT sha256, size::text, name, created_at FROM stored_files WHERE sha256 = $1', [
    sha256,
  ]);
  return rows[0] ? toStoredFile(rows[0]) : null;
}

/**
 * A device may download a stored file only while one of its own open commands names it; anything else
 * is indistinguishable from a file that does not exist.
 */
export async function openFileForDevice(deps: ApiDeps, deviceId: string, sha256: string) {
  const { rowCount } = await deps.agentPool.query(
    `SELECT 1 FROM agent_commands WHERE device_id = $1 AND file_sha256 = $2 AND state IN ('delivered', 'running') LIMIT 1`,
    [deviceId, sha256],
  );
  const opened = rowCount ? await deps.files.open(sha256) : undefined;
  if (!opened) throw new ApiError(404, 'not_found', 'No such file for this device.');
  return opened;
}
