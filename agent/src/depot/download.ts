/**
 * Fetching an artifact a verified manifest names (ADR 23): from the cache when it is there, else from its
 * sources in the manifest's order — the depot (the server, with the device's credentials), HTTP(S) mirrors
 * and presigned S3 URLs (no credentials), file shares. Whatever a source serves is hostile until proven
 * otherwise: it is accepted only when its size and SHA-256 equal the signed manifest's, so a compromised
 * mirror or share can make a download fail but never put other bytes on the device.
 *
 * Downloads go to `partial/<sha256>.part` and resume with a Range request after an interruption; the bytes
 * already there are hashed first, so the hash covers the whole file. A source is retried with backoff on
 * network errors; a wrong size or hash ends it at once (and deletes the partial), and the next source is
 * tried. The result says what happened at each source, so the server can tell which one was tampered with.
 * With a throttle (throttle.ts) the bytes are read no faster than its rate.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rm, stat, writeFile } from 'node:fs/promises';
import type { ArtifactManifest, ArtifactSource } from '@opsconductor/contracts/software';
import { Backoff, sleep } from '../backoff.ts';
import { AgentApiError, TransportError, type AgentHttpClient, type FetchLike } from '../http.ts';
import type { Logger } from '../log.ts';
import { AGENT_VERSION } from '../version.ts';
import type { ArtifactCache, ArtifactPin } from './cache.ts';
import type { DownloadThrottle } from './throttle.ts';

/** Why a source did not deliver: `hash_mismatch` and `size_mismatch` mean it served other bytes than the signed ones. */
export type SourceFailure = 'hash_mismatch' | 'size_mismatch' | 'not_found' | 'refused' | 'unavailable' | 'network';

export interface SourceAttempt {
  sourceId: string;
  kind: ArtifactSource['kind'];
  /** Requests (or reads) made at this source. */
  tries: number;
  /** Bytes received from this source. */
  bytes: number;
  /** Absent when this source delivered the artifact. */
  failure?: SourceFailure;
  error?: string;
}

export interface DownloadProgress {
  sha256: string;
  sourceId: string;
  kind: ArtifactSource['kind'];
  /** Bytes of the artifact on disk so far (a resumed download starts above 0). */
  receivedBytes: number;
  totalBytes: number;
}

export interface DownloadRetryPolicy {
  /** Tries per source on network errors (default 3). */
  attempts: number;
  initialMs: number;
  maxMs: number;
}

export interface FetchArtifactOptions {
  cache: ArtifactCache;
  /** For `depot` sources: the agent's client (the device's credentials go to the server only). */
  client: AgentHttpClient;
  /** Which path of a `share` source to read: `uncPath` on win32, `mountPath` elsewhere (default: this platform). */
  platform?: NodeJS.Platform;
  signal?: AbortSignal;
  /** Called at most every 250 ms while bytes arrive, and once when a source has delivered all of them. */
  onProgress?: (progress: DownloadProgress) => void;
  /** For `http` / `s3` sources (default: the global fetch). Never given credentials. */
  fetch?: FetchLike;
  retry?: DownloadRetryPolicy;
  /** A rate cap (`network.maxBytesPerSecond`): share one throttle between a command's downloads. */
  throttle?: DownloadThrottle;
  /** Until the response headers (or the share's file) are there (default 30 s). */
  connectTimeoutMs?: number;
  /** Longest wait for the next bytes (default 60 s). */
  idleTimeoutMs?: number;
  log?: Logger;
}

export type FetchArtifactResult = FetchedArtifact | FetchArtifactFailure;

export interface FetchedArtifact {
  ok: true;
  manifest: ArtifactManifest;
  /** The artifact in the cache (read-only; stage it with stageArtifacts rather than using it in place). */
  path: string;
  /** The source it came from; null when it came from the cache. */
  sourceId: string | null;
  fromCache: boolean;
  /** Bytes received over the network or read from shares for this fetch, retries included. */
  bytesDownloaded: number;
  attempts: SourceAttempt[];
  /** Keeps the artifact in the cache; release it when the command is done with it. */
  pin: ArtifactPin;
}

export interface FetchArtifactFailure {
  ok: false;
  /** `hash_mismatch`: at least one source served bytes other than the signed ones (see `attempts`). */
  reason: 'hash_mismatch' | 'download_failed';
  detail: string;
  bytesDownloaded: number;
  attempts: SourceAttempt[];
}

const DEFAULT_RETRY: DownloadRetryPolicy = { attempts: 3, initialMs: 1000, maxMs: 30_000 };
const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;
const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
const MAX_REDIRECTS = 5;
/** Restarts from byte 0 per source (416, an unusable Content-Range, a partial from elsewhere that fails the hash). */
const MAX_RESTARTS = 2;
const PROGRESS_INTERVAL_MS = 250;

type SourceErrorKind = SourceFailure | 'restart';

class SourceError extends Error {
  constructor(
    readonly kind: SourceErrorKind,
    message: string,
    readonly retryAfterMs = 0,
  ) {
    super(message);
  }
}

/** The device's own disk failed (full, read-only): no source is to blame, and no other source would do better. */
export class ArtifactCacheWriteError extends Error {
  override name = 'ArtifactCacheWriteError';
}

async function local<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw new ArtifactCacheWriteError(`${what}: ${describe(err)}`, { cause: err });
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message;
  return String(err);
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('the download was aborted');
}

interface Opened {
  /** The body starts at byte 0 although a range was asked for (a 200 to a Range request). */
  restart: boolean;
  body: AsyncIterable<Uint8Array>;
  cancel(): void;
}

type Opener = (offset: number, signal: AbortSignal) => Promise<Opened>;

const CONTENT_RANGE = /^bytes (\d{1,16})-(\d{1,16})\/(\d{1,16}|\*)$/;

/** `bytes <start>-<end>/<total|*>` (RFC 9110 §14.4), strictly; undefined for anything else. */
export function parseContentRange(header: string | null): { start: number; end: number; total: number | undefined } | undefined {
  const match = header === null ? null : CONTENT_RANGE.exec(header);
  if (!match) return undefined;
  const start = Number(match[1]);
  const end = Number(match[2]);
  const total = match[3] === '*' ? undefined : Number(match[3]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start > end) return undefined;
  if (total !== undefined && (!Number.isSafeInteger(total) || end >= total)) return undefined;
  return { start, end, total };
}

function bodyOf(res: Response): Opened['body'] {
  return (res.body ?? (async function* () {})()) as AsyncIterable<Uint8Array>;
}

function cancelBody(res: Response): void {
  res.body?.cancel().catch(() => {});
}

/** What a 200/206/416 answer to `GET … Range: bytes=<offset>-` means for the download. */
function openedFromResponse(res: Response, offset: number, size: number, what: string): Opened {
  const cancel = () => cancelBody(res);
  try {
    if (res.status === 416) throw new SourceError('restart', `${what} answered 416 to bytes=${offset}-`);
    const lengthHeader = res.headers.get('content-length');
    // Only a sanity check: the bytes are counted as they come, never allocated by what a server announces.
    const length = lengthHeader === null ? undefined : /^\d{1,16}$/.test(lengthHeader) ? Number(lengthHeader) : NaN;
    if (Number.isNaN(length)) throw new SourceError('refused', `${what} sent an invalid Content-Length`);
    if (res.status === 200) {
      if (length !== undefined && length !== size) {
        throw new SourceError('size_mismatch', `${what} announces ${length} bytes; the manifest says ${size}`);
      }
      return { restart: offset > 0, body: bodyOf(res), cancel };
    }
    if (res.status === 206) {
      const range = parseContentRange(res.headers.get('content-range'));
      if (!range) throw new SourceError('restart', `${what} answered 206 without a valid Content-Range`);
      if ((range.total !== undefined && range.total !== size) || range.end >= size) {
        throw new SourceError('size_mismatch', `${what} serves a file of another size than the manifest's ${size} bytes`);
      }
      if (range.start !== offset) throw new SourceError('restart', `${what} answered with bytes from ${range.start}, not ${offset}`);
      if (length !== undefined && length !== range.end - range.start + 1) {
        throw new SourceError('restart', `${what} sent a Content-Length that does not match its Content-Range`);
      }
      return { restart: false, body: bodyOf(res), cancel };
    }
    throw new SourceError('refused', `${what} answered ${res.status}`);
  } catch (err) {
    cancel();
    throw err;
  }
}

function retryAfter(res: Response): number {
  const header = res.headers.get('retry-after');
  const seconds = header !== null && /^\d{1,6}$/.test(header) ? Number(header) : 0;
  return seconds * 1000;
}

/** A mirror or presigned URL: no credentials, no cookies, redirects followed only within the same scheme. */
function httpOpener(url: string, size: number, fetchImpl: FetchLike): Opener {
  return async (offset, signal) => {
    let current = new URL(url);
    for (let hop = 0; ; hop++) {
      const what = `${current.protocol}//${current.host}`;
      const headers: Record<string, string> = { 'user-agent': `opsconductor-agent/${AGENT_VERSION}`, 'accept-encoding': 'identity' };
      if (offset > 0) headers.range = `bytes=${offset}-`;
      let res: Response;
      try {
        res = await fetchImpl(current, { headers, signal, redirect: 'manual', credentials: 'omit' });
      } catch (err) {
        if (signal.aborted) throw err;
        throw new SourceError('network', `${what} failed: ${describe(err)}`);
      }
      if ([301, 302, 303, 307, 308].includes(res.status)) {
        cancelBody(res);
        const location = res.headers.get('location');
        let next: URL | undefined;
        try {
          next = location ? new URL(location, current) : undefined;
        } catch {
          next = undefined;
        }
        if (!next || hop >= MAX_REDIRECTS)
          throw new SourceError('refused', `${what} redirected ${hop >= MAX_REDIRECTS ? 'too often' : 'nowhere usable'}`);
        if (next.protocol !== current.protocol) throw new SourceError('refused', `${what} redirected to another scheme (${next.protocol})`);
        if (next.username || next.password) throw new SourceError('refused', `${what} redirected to a URL with credentials`);
        current = next;
        continue;
      }
      if (res.status === 404 || res.status === 410) {
        cancelBody(res);
        throw new SourceError('not_found', `${what} answered ${res.status}`);
      }
      if (res.status === 408 || res.status === 429 || res.status >= 500) {
        cancelBody(res);
        throw new SourceError('network', `${what} answered ${res.status}`, retryAfter(res));
      }
      return openedFromResponse(res, offset, size, what);
    }
  };
}

/** The server's depot, through the agent's client (its credentials, its origin, no redirects). */
function depotOpener(client: AgentHttpClient, sha256: string, size: number): Opener {
  return async (offset, signal) => {
    let res: Response;
    try {
      res = await client.openArtifact(sha256, offset, signal);
    } catch (err) {
      if (signal.aborted) throw err;
      if (err instanceof AgentApiError) {
        if (err.status === 404 || err.status === 410) throw new SourceError('not_found', err.message);
        throw new SourceError(err.retryable ? 'network' : 'refused', err.message, err.retryAfterMs ?? 0);
      }
      if (err instanceof TransportError) throw new SourceError('network', err.message);
      throw err;
    }
    return openedFromResponse(res, offset, size, 'the depot');
  };
}

/** A file share: read where the platform sees it; a path that is not there sends the download on to the next source. */
function shareOpener(source: Extract<ArtifactSource, { kind: 'share' }>, size: number, platform: NodeJS.Platform): Opener {
  const file = platform === 'win32' ? source.uncPath : source.mountPath;
  return async (offset, signal) => {
    if (!file) throw new SourceError('unavailable', `the share has no ${platform === 'win32' ? 'uncPath' : 'mountPath'} for this platform`);
    let info;
    try {
      info = await stat(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new SourceError('not_found', `${file} does not exist`);
      if (code === 'EACCES' || code === 'EPERM') throw new SourceError('unavailable', `${file} cannot be read: ${code}`);
      throw new SourceError('network', `${file}: ${describe(err)}`);
    }
    if (!info.isFile()) throw new SourceError('refused', `${file} is not a file`);
    if (info.size !== size) throw new SourceError('size_mismatch', `${file} has ${info.size} bytes; the manifest says ${size}`);
    const stream = createReadStream(file, { start: offset, highWaterMark: 1024 * 1024, signal });
    return { restart: false, body: stream, cancel: () => stream.destroy() };
  };
}

function openerFor(source: ArtifactSource, manifest: ArtifactManifest, options: FetchArtifactOptions): Opener {
  switch (source.kind) {
    case 'depot':
      return depotOpener(options.client, manifest.sha256, manifest.size);
    case 'http':
    case 's3':
      return httpOpener(source.url, manifest.size, options.fetch ?? ((input, init) => globalThis.fetch(input, init)));
    case 'share':
      return shareOpener(source, manifest.size, options.platform ?? process.platform);
  }
}

/** The partial download: how many bytes, their running hash, and who wrote them. */
interface PartialDownload {
  file: string;
  have: number;
  hash: Hash;
  /** Sources that wrote its bytes in this fetch. */
  writers: Set<string>;
  /** Bytes left by an earlier fetch or process, of unknown origin. */
  inherited: boolean;
}

async function loadPartial(file: string, size: number, signal: AbortSignal | undefined): Promise<PartialDownload> {
  const partial: PartialDownload = { file, have: 0, hash: createHash('sha256'), writers: new Set(), inherited: false };
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile() || info.size === 0 || info.size > size) {
    if (info) await rm(file, { force: true, recursive: true });
    return partial;
  }
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024, signal }) as AsyncIterable<Buffer>) {
    partial.hash.update(chunk);
    partial.have += chunk.length;
  }
  partial.inherited = partial.have > 0;
  return partial;
}

async function resetPartial(partial: PartialDownload): Promise<void> {
  await rm(partial.file, { force: true });
  partial.have = 0;
  partial.hash = createHash('sha256');
  partial.writers.clear();
  partial.inherited = false;
}

/**
 * One try at one source: appends to the partial from where it ends, then checks the whole file's hash.
 * Throws a SourceError when it did not end with the artifact complete and verified.
 */
async function transferOnce(
  source: ArtifactSource,
  opener: Opener,
  partial: PartialDownload,
  attempt: SourceAttempt,
  manifest: ArtifactManifest,
  options: FetchArtifactOptions,
  counters: { bytes: number },
): Promise<void> {
  const { size, sha256 } = manifest;
  if (partial.have < size) {
    const outer = options.signal;
    const controller = new AbortController();
    let timedOut: string | undefined;
    let timer: NodeJS.Timeout | undefined;
    const arm = (ms: number, what: string) => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        timedOut = `${what} for ${ms} ms`;
        controller.abort(new Error(timedOut));
      }, ms);
    };
    const onAbort = () => controller.abort(outer?.reason);
    if (outer?.aborted) onAbort();
    else outer?.addEventListener('abort', onAbort, { once: true });
    const idleMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    let opened: Opened | undefined;
    let lastProgress = 0;
    try {
      arm(options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, 'no answer');
      opened = await opener(partial.have, controller.signal);
      if (opened.restart) await resetPartial(partial);
      arm(idleMs, 'no data');
      const handle = await local('cannot open the partial download', () => open(partial.file, 'a', 0o600));
      try {
        // A write that failed half-way may have left bytes the hash has not seen: cut them off.
        await local('cannot truncate the partial download', () => handle.truncate(partial.have));
        for await (const chunk of opened.body) {
          arm(idleMs, 'no data');
          if (partial.have + chunk.byteLength > size) {
            throw new SourceError('size_mismatch', `the source sent more than the manifest's ${size} bytes`);
          }
          await local('cannot write the partial download', () => handle.write(chunk));
          partial.hash.update(chunk);
          partial.have += chunk.byteLength;
          partial.writers.add(source.sourceId);
          attempt.bytes += chunk.byteLength;
          counters.bytes += chunk.byteLength;
          if (options.onProgress && Date.now() - lastProgress >= PROGRESS_INTERVAL_MS) {
            lastProgress = Date.now();
            options.onProgress({ sha256, sourceId: source.sourceId, kind: source.kind, receivedBytes: partial.have, totalBytes: size });
          }
          if (options.throttle) {
            // Waiting for the rate cap is not the source's silence: the idle timer stops meanwhile.
            clearTimeout(timer);
            await options.throttle.take(chunk.byteLength, controller.signal);
            arm(idleMs, 'no data');
          }
        }
        await local('cannot sync the partial download', () => handle.sync());
      } finally {
        await handle.close();
      }
    } catch (err) {
      opened?.cancel();
      if (outer?.aborted) throw abortError(outer);
      if (err instanceof SourceError || err instanceof ArtifactCacheWriteError) throw err;
      if (timedOut) throw new SourceError('network', timedOut);
      throw new SourceError('network', describe(err));
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onAbort);
    }
    if (partial.have < size) throw new SourceError('network', `the transfer ended after ${partial.have} of ${size} bytes`);
  }
  const digest = partial.hash.copy().digest('hex');
  if (digest !== sha256) {
    // Bytes another source (or an earlier run) wrote may be the bad ones: this source gets a clean try first.
    if (partial.inherited || [...partial.writers].some((writer) => writer !== source.sourceId)) {
      throw new SourceError('restart', 'the resumed file does not match its hash');
    }
    throw new SourceError('hash_mismatch', `the source's bytes hash to ${digest}, not the manifest's ${sha256}`);
  }
  options.onProgress?.({ sha256, sourceId: source.sourceId, kind: source.kind, receivedBytes: size, totalBytes: size });
}

async function trySource(
  source: ArtifactSource,
  partial: PartialDownload,
  manifest: ArtifactManifest,
  options: FetchArtifactOptions,
  counters: { bytes: number },
): Promise<SourceAttempt> {
  const attempt: SourceAttempt = { sourceId: source.sourceId, kind: source.kind, tries: 0, bytes: 0 };
  const policy = options.retry ?? DEFAULT_RETRY;
  const backoff = new Backoff({ initialMs: policy.initialMs, maxMs: policy.maxMs });
  const opener = openerFor(source, manifest, options);
  let networkTries = 0;
  let restarts = 0;
  for (;;) {
    attempt.tries++;
    try {
      await transferOnce(source, opener, partial, attempt, manifest, options, counters);
      return attempt;
    } catch (err) {
      if (options.signal?.aborted) throw abortError(options.signal);
      if (!(err instanceof SourceError)) throw err;
      if (err.kind === 'restart' && restarts < MAX_RESTARTS) {
        restarts++;
        options.log?.warn('artifact download starts over from byte 0', { sourceId: source.sourceId, reason: err.message });
        await resetPartial(partial);
        continue;
      }
      if (err.kind === 'network' && ++networkTries < policy.attempts) {
        const delayMs = backoff.next(err.retryAfterMs);
        options.log?.warn('artifact download failed; retrying', { sourceId: source.sourceId, error: err.message, retryInMs: delayMs });
        await sleep(delayMs, options.signal);
        if (options.signal?.aborted) throw abortError(options.signal);
        continue;
      }
      if (err.kind === 'hash_mismatch' || err.kind === 'size_mismatch' || err.kind === 'restart') await resetPartial(partial);
      attempt.failure = err.kind === 'restart' ? 'refused' : err.kind;
      attempt.error = err.message;
      options.log?.warn('artifact source failed', {
        sourceId: source.sourceId,
        kind: source.kind,
        failure: attempt.failure,
        error: err.message,
      });
      return attempt;
    }
  }
}

async function fetchLocked(
  manifest: ArtifactManifest,
  options: FetchArtifactOptions,
): Promise<Omit<FetchedArtifact, 'pin'> | FetchArtifactFailure> {
  const { cache, signal } = options;
  const cached = await cache.lookup(manifest.sha256, manifest.size, signal);
  if (cached) return { ok: true, manifest, path: cached, sourceId: null, fromCache: true, bytesDownloaded: 0, attempts: [] };

  await cache.ensureDirs();
  await cache.makeRoom(manifest.size, manifest.sha256);
  const partial = await loadPartial(cache.partialPath(manifest.sha256), manifest.size, signal);
  // An empty artifact needs no bytes from anyone, only a file to store (its hash is still checked).
  if (manifest.size === 0) await writeFile(partial.file, '', { flag: 'a' });
  const counters = { bytes: 0 };
  const attempts: SourceAttempt[] = [];
  for (const source of manifest.sources) {
    const attempt = await trySource(source, partial, manifest, options, counters);
    attempts.push(attempt);
    if (attempt.failure === undefined) {
      const path = await cache.store(manifest.sha256, partial.file);
      return { ok: true, manifest, path, sourceId: source.sourceId, fromCache: false, bytesDownloaded: counters.bytes, attempts };
    }
  }
  const tampered = attempts.filter((a) => a.failure === 'hash_mismatch' || a.failure === 'size_mismatch');
  const detail =
    tampered.length > 0
      ? `${tampered.length} of ${attempts.length} sources served bytes other than the signed ones (${tampered.map((a) => a.sourceId).join(', ')})`
      : `no source delivered the artifact: ${attempts.map((a) => `${a.kind} ${a.sourceId}: ${a.error ?? a.failure}`).join('; ')}`;
  return {
    ok: false,
    reason: tampered.length > 0 ? 'hash_mismatch' : 'download_failed',
    detail,
    bytesDownloaded: counters.bytes,
    attempts,
  };
}

/**
 * The artifact of a verified manifest, in the cache and pinned there (release `pin` when done), or why not.
 * Throws only when `signal` aborts or the cache directory cannot be used (ArtifactCacheWriteError and other
 * file-system errors: the disk is full, say). Pass only manifests that
 * verifyManifest accepted: the sources come from them.
 */
export async function fetchArtifact(manifest: ArtifactManifest, options: FetchArtifactOptions): Promise<FetchArtifactResult> {
  const pin = options.cache.pin(manifest.sha256);
  try {
    const result = await options.cache.exclusive(manifest.sha256, () => fetchLocked(manifest, options));
    if (result.ok) return { ...result, pin };
    await pin.release();
    return result;
  } catch (err) {
    await pin.release();
    throw err;
  }
}
