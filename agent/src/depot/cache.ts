/**
 * The agent's artifact cache: complete, verified artifacts named by their SHA-256, least recently used
 * evicted first once the cache is over its size cap, partial downloads under `partial/`.
 *
 * Layout of the cache directory:
 * - `<sha256>`: a complete artifact (mode 0444), its bytes hashed to exactly that name when it was stored;
 * - `<sha256>.ok`: its marker, written only after that check: size and mtime of the artifact then. The
 *   marker's own mtime is the artifact's last use (touched on every hit), which survives restarts.
 *   An artifact whose size or mtime no longer matches its marker (someone wrote to it) is hashed again
 *   before use, and so is one without a marker (a crash between storing and marking): re-hashing a
 *   multi-GB file on every use would cost more than the download.
 * - `partial/<sha256>.part`: an unfinished download, resumed by the next fetch; removed after a day.
 *
 * Pins are in memory: they protect artifacts that a running command of this agent process uses; a new
 * process has no running commands.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rename, rm, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import type { Logger } from '../log.ts';
import { fsyncDir, writeFileAtomic } from '../state.ts';

export const DEFAULT_DEPOT_CACHE_MB = 2048;
/** Partials nobody resumed for this long are given up (their command is long over). */
export const PARTIAL_MAX_AGE_MS = 24 * 3600 * 1000;
const MARKER_SUFFIX = '.ok';
const SHA256 = /^[0-9a-f]{64}$/;

const markerSchema = z.object({ v: z.literal(1), sha256: z.string().regex(SHA256), size: z.number().int().min(0), mtimeMs: z.number() });

export interface ArtifactCacheOptions {
  dir: string;
  /** The size cap in bytes; an artifact larger than it is still stored, used, and evicted after its last use. */
  maxBytes: number;
  log?: Logger;
}

export interface CacheEntry {
  sha256: string;
  size: number;
  lastUsedMs: number;
  pinned: boolean;
}

/** Holds an artifact in the cache while a command uses it; `release` lets it be evicted again. */
export interface ArtifactPin {
  readonly sha256: string;
  /** Idempotent. Evicts what is now over the cap (the released artifact too, if it alone exceeds it). */
  release(): Promise<void>;
}

function assertSha256(sha256: string): void {
  // Names in this directory are built from it: a path separator must never get in.
  if (!SHA256.test(sha256)) throw new Error(`not a SHA-256: ${sha256}`);
}

/** The SHA-256 (hex) and size of a file, read as a stream. */
export async function hashFile(file: string, signal?: AbortSignal): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  await pipeline(createReadStream(file, { highWaterMark: 1024 * 1024, signal }), async function* (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) {
      size += chunk.length;
      hash.update(chunk);
    }
    yield* [];
  });
  return { sha256: hash.digest('hex'), size };
}

export class ArtifactCache {
  readonly dir: string;
  readonly partialDir: string;
  readonly maxBytes: number;
  private readonly log: Logger | undefined;
  private readonly pins = new Map<string, number>();
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Evictions run one at a time, so two of them never count the same free space. */
  private evicting: Promise<unknown> = Promise.resolve();

  constructor(options: ArtifactCacheOptions) {
    this.dir = options.dir;
    this.partialDir = path.join(options.dir, 'partial');
    this.maxBytes = Math.max(0, options.maxBytes);
    this.log = options.log;
  }

  filePath(sha256: string): string {
    assertSha256(sha256);
    return path.join(this.dir, sha256);
  }

  partialPath(sha256: string): string {
    assertSha256(sha256);
    return path.join(this.partialDir, `${sha256}.part`);
  }

  private markerPath(sha256: string): string {
    return this.filePath(sha256) + MARKER_SUFFIX;
  }

  async ensureDirs(): Promise<void> {
    await mkdir(this.partialDir, { recursive: true, mode: 0o700 });
  }

  /**
   * Runs `work` while no other `exclusive` call for the same artifact runs in this process: two commands
   * that need one artifact download it once (the second finds it in the cache), and never into one partial.
   */
  async exclusive<T>(sha256: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(sha256) ?? Promise.resolve();
    const run = previous.then(work, work);
    const settled = run.catch(() => {});
    this.locks.set(sha256, settled);
    try {
      return await run;
    } finally {
      if (this.locks.get(sha256) === settled) this.locks.delete(sha256);
    }
  }

  pin(sha256: string): ArtifactPin {
    assertSha256(sha256);
    this.pins.set(sha256, (this.pins.get(sha256) ?? 0) + 1);
    let released = false;
    return {
      sha256,
      release: async () => {
        if (released) return;
        released = true;
        const count = (this.pins.get(sha256) ?? 1) - 1;
        if (count > 0) this.pins.set(sha256, count);
        else this.pins.delete(sha256);
        await this.makeRoom(0);
      },
    };
  }

  isPinned(sha256: string): boolean {
    return (this.pins.get(sha256) ?? 0) > 0;
  }

  /**
   * The path of the complete artifact `sha256` of `size` bytes, if the cache has it; touches its last use.
   * A file whose marker does not vouch for it is hashed; a file that fails that check is removed.
   */
  async lookup(sha256: string, size: number, signal?: AbortSignal): Promise<string | undefined> {
    const file = this.filePath(sha256);
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) return undefined;
    const marker = await this.readMarker(sha256);
    const vouched = marker !== undefined && marker.size === size && info.size === size && marker.mtimeMs === info.mtimeMs;
    if (!vouched) {
      const actual = info.size === size ? await hashFile(file, signal) : undefined;
      if (actual?.sha256 !== sha256 || actual.size !== size) {
        this.log?.warn('a cached artifact no longer matches its hash; removing it', { sha256 });
        await this.remove(sha256);
        return undefined;
      }
      await this.writeMarker(sha256, file);
    }
    await this.touch(sha256);
    return file;
  }

  /** Moves a verified download into the cache and marks it (in this order: a crash in between costs a re-hash). */
  async store(sha256: string, verifiedFile: string): Promise<string> {
    const file = this.filePath(sha256);
    await rm(this.markerPath(sha256), { force: true });
    await chmod(verifiedFile, 0o444).catch(() => {}); // a hint against writing to it through a staged link
    await rm(file, { force: true }); // Windows renames onto no read-only file (a copy that failed its check)
    await rename(verifiedFile, file);
    fsyncDir(this.dir);
    await this.writeMarker(sha256, file);
    return file;
  }

  async remove(sha256: string): Promise<void> {
    await rm(this.markerPath(sha256), { force: true });
    await rm(this.filePath(sha256), { force: true });
  }

  /** Complete artifacts in the cache, least recently used first. */
  async entries(): Promise<CacheEntry[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const entries: CacheEntry[] = [];
    for (const name of names) {
      if (!SHA256.test(name)) continue;
      const info = await stat(path.join(this.dir, name)).catch(() => undefined);
      if (!info?.isFile()) continue;
      // Without a marker (crash before marking) the file's own mtime stands in for its last use.
      const markerInfo = await stat(this.markerPath(name)).catch(() => undefined);
      entries.push({ sha256: name, size: info.size, lastUsedMs: markerInfo?.mtimeMs ?? info.mtimeMs, pinned: this.isPinned(name) });
    }
    return entries.sort((a, b) => a.lastUsedMs - b.lastUsedMs || a.sha256.localeCompare(b.sha256));
  }

  /**
   * Evicts unpinned artifacts, least recently used first, until `incomingBytes` more fit under the cap (or
   * nothing evictable is left: pinned artifacts stay, and an artifact larger than the cap is let in anyway).
   * `keep` is never evicted (the artifact about to be fetched, when it is already there).
   */
  makeRoom(incomingBytes: number, keep?: string): Promise<string[]> {
    const run = this.evicting.then(() => this.evict(incomingBytes, keep));
    this.evicting = run.catch(() => {});
    return run;
  }

  private async evict(incomingBytes: number, keep: string | undefined): Promise<string[]> {
    const entries = await this.entries();
    let used = entries.reduce((sum, entry) => sum + entry.size, 0);
    const evicted: string[] = [];
    for (const entry of entries) {
      if (used + incomingBytes <= this.maxBytes) break;
      if (this.isPinned(entry.sha256) || entry.sha256 === keep) continue;
      try {
        await this.remove(entry.sha256);
      } catch (err) {
        // Windows refuses to delete a file something still has open: it stays until a later eviction.
        this.log?.warn('could not evict a cached artifact', { sha256: entry.sha256, err });
        continue;
      }
      used -= entry.size;
      evicted.push(entry.sha256);
    }
    if (evicted.length > 0) this.log?.info('evicted artifacts from the cache', { evicted, usedBytes: used, maxBytes: this.maxBytes });
    return evicted;
  }

  /** Removes partial downloads not written to for `maxAgeMs`; returns their names. */
  async cleanPartials(maxAgeMs = PARTIAL_MAX_AGE_MS, now = Date.now()): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.partialDir);
    } catch {
      return [];
    }
    const removed: string[] = [];
    for (const name of names) {
      const file = path.join(this.partialDir, name);
      const info = await stat(file).catch(() => undefined);
      if (!info || now - info.mtimeMs <= maxAgeMs) continue;
      await rm(file, { force: true, recursive: true });
      removed.push(name);
    }
    return removed;
  }

  private async readMarker(sha256: string): Promise<z.infer<typeof markerSchema> | undefined> {
    try {
      const marker = markerSchema.parse(JSON.parse(await readFile(this.markerPath(sha256), 'utf8')));
      return marker.sha256 === sha256 ? marker : undefined;
    } catch {
      return undefined;
    }
  }

  private async writeMarker(sha256: string, file: string): Promise<void> {
    const info = await stat(file);
    writeFileAtomic(this.markerPath(sha256), JSON.stringify({ v: 1, sha256, size: info.size, mtimeMs: info.mtimeMs }) + '\n', 0o600);
  }

  private async touch(sha256: string): Promise<void> {
    const now = new Date();
    await utimes(this.markerPath(sha256), now, now).catch(() => {});
  }
}
