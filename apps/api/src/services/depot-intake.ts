/**
 * Artifacts that do not arrive as an upload (ADR 23): imported from a URL the server fetches itself (into the
 * built-in depot, exactly as an upload is stored), or registered where they already are on a share the server has
 * mounted (hashed in place, not copied: the share is then their only location).
 *
 * An import fetches from the server's own network, wherever an operator points it (intranet hosts included): that is
 * why only operators may, why every import is audited with its URL, and why the URL may not carry credentials.
 */
import { createHash, randomUUID } from 'node:crypto';
import { open, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import {
  artifactFileName,
  type DepotArtifact,
  type ImportDepotArtifactBody,
  type RegisterDepotArtifactBody,
} from '@opsconductor/contracts/api';
import { readPackageMetadata } from '@opsconductor/package-metadata';
import { withUnitOfWork, type Origin } from '@opsconductor/unit-of-work';
import type { ApiDeps } from '../context.ts';
import { ApiError } from '../lib/problem.ts';
import { lockContent, selectArtifact, storeArtifact } from './depot.ts';

/** Redirects an import follows (each to http or https only). */
const MAX_REDIRECTS = 5;
/** How long the URL's server may take to answer with headers, and to send the next bytes of the body. */
export const IMPORT_TIMEOUTS = { headersMs: 30_000, idleMs: 60_000 };

const importFailed = (detail: string) => new ApiError(422, 'import_failed', detail);

/** Why a fetch failed, without the URL's query string (it may carry a token). */
function fetchFailure(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'AbortError' || e.name === 'TimeoutError') return 'timed out';
  return e.cause?.code ?? e.cause?.message ?? e.message ?? 'error';
}

const shown = (u: URL) => `${u.origin}${u.pathname}`;

/** GETs `url`, following at most MAX_REDIRECTS redirects to http(s) URLs without credentials. */
async function fetchFollowing(url: string, signal: AbortSignal): Promise<{ response: Response; url: URL }> {
  let current = new URL(url);
  for (let hop = 0; ; hop++) {
    let response: Response;
    try {
      response = await fetch(current, { redirect: 'manual', signal, headers: { accept: '*/*' } });
    } catch (err) {
      throw importFailed(`${shown(current)}: ${fetchFailure(err)}`);
    }
    const location = response.headers.get('location');
    if (![301, 302, 303, 307, 308].includes(response.status) || location === null) return { response, url: current };
    await response.body?.cancel().catch(() => {});
    if (hop === MAX_REDIRECTS) throw importFailed(`${shown(current)}: more than ${MAX_REDIRECTS} redirects`);
    let next: URL;
    try {
      next = new URL(location, current);
    } catch {
      throw importFailed(`${shown(current)} redirects to an invalid URL`);
    }
    if (next.protocol !== 'http:' && next.protocol !== 'https:') {
      throw importFailed(`${shown(current)} redirects to a ${next.protocol} URL: only http and https are followed`);
    }
    if (next.username !== '' || next.password !== '') throw importFailed(`${shown(current)} redirects to a URL with credentials`);
    current = next;
  }
}

/** The last path segment of a URL as a file name, when it is one. */
function fileNameOf(url: URL): string | undefined {
  let last: string;
  try {
    last = decodeURIComponent(url.pathname.split('/').pop() ?? '');
  } catch {
    return undefined;
  }
  const parsed = artifactFileName.safeParse(last);
  return parsed.success ? parsed.data : undefined;
}

/**
 * Fetches `body.url` into the built-in depot, as an upload is stored: streamed, hashed, bounded by
 * DEPOT_UPLOAD_MAX_BYTES (422 `import_failed`, nothing kept), refused when `sha256` is given and differs (422
 * `hash_mismatch`). Anything the URL's server does wrong (no answer, a 404, a stall) is 422 `import_failed`.
 */
export async function importArtifact(
  deps: ApiDeps,
  origin: Origin,
  body: ImportDepotArtifactBody,
  userId: string,
  requestSignal?: AbortSignal,
): Promise<{ artifact: DepotArtifact; created: boolean }> {
  const abort = new AbortController();
  const onRequestAbort = () => abort.abort(requestSignal?.reason);
  requestSignal?.addEventListener('abort', onRequestAbort, { once: true });
  let timer = setTimeout(() => abort.abort(), IMPORT_TIMEOUTS.headersMs);
  const max = deps.config.depotUploadMaxBytes;
  let sourceFailed: unknown;
  try {
    const { response, url } = await fetchFollowing(body.url, abort.signal);
    if (response.status !== 200 || !response.body) {
      await response.body?.cancel().catch(() => {});
      throw importFailed(`${shown(url)} answered ${response.status}`);
    }
    const declared = Number(response.headers.get('content-length'));
    if (declared > max) {
      await response.body.cancel().catch(() => {});
      throw importFailed(`${shown(url)} has ${declared} bytes: more than DEPOT_UPLOAD_MAX_BYTES (${max})`);
    }
    const fileName = body.fileName ?? fileNameOf(url);
    if (fileName === undefined) {
      await response.body.cancel().catch(() => {});
      throw new ApiError(400, 'validation_failed', 'The URL does not end in a file name: give `fileName`.', [
        { path: 'fileName', message: 'required when the URL does not end in a file name' },
      ]);
    }
    // The body's reader: each chunk restarts the stall timer, and a failure of the URL's server is told apart from
    // one of ours (a full disk stays a 500).
    const reader = response.body.getReader();
    clearTimeout(timer);
    timer = setTimeout(() => abort.abort(), IMPORT_TIMEOUTS.idleMs);
    const fetched = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) {
            // All there: reading its metadata afterwards may take longer than a stall is allowed to.
            clearTimeout(timer);
            controller.close();
          } else {
            timer.refresh();
            controller.enqueue(value);
          }
        } catch (err) {
          sourceFailed = err;
          controller.error(err);
        }
      },
      cancel: (reason) => reader.cancel(reason),
    });
    return await storeArtifact(
      deps,
      origin,
      fetched as WebReadableStream<Uint8Array>,
      { fileName, userId, origin: 'url', originUrl: url.href, ...(body.sha256 === undefined ? {} : { expectedSha256: body.sha256 }) },
      abort.signal,
    );
  } catch (err) {
    if (err instanceof ApiError && err.status === 413) {
      throw importFailed(`The file at the URL is larger than DEPOT_UPLOAD_MAX_BYTES (${max} bytes); nothing was kept.`);
    }
    if (sourceFailed !== undefined || (abort.signal.aborted && !requestSignal?.aborted && !(err instanceof ApiError))) {
      throw importFailed(`Fetching ${shown(new URL(body.url))} failed: ${fetchFailure(sourceFailed ?? err)}`);
    }
    throw err;
  } finally {
    clearTimeout(timer);
    requestSignal?.removeEventListener('abort', onRequestAbort);
  }
}

interface ShareRow {
  kind: string;
  settings: { mountPath?: string };
}

/**
 * Records a file already on a share as an artifact, where it is: the server (which has the share mounted at
 * `mountPath`) hashes it in place and reads its metadata; nothing is copied into the built-in depot, so the share's
 * location, with the file's path, is the artifact's only one (agents download it there). The same content again is
 * the artifact it already is, now also at this path on the share.
 */
export async function registerShareArtifact(
  deps: ApiDeps,
  origin: Origin,
  body: RegisterDepotArtifactBody,
  userId: string,
): Promise<{ artifact: DepotArtifact; created: boolean }> {
  const { rows } = await deps.db.pool.query<ShareRow>('SELECT kind, settings FROM depot_sources WHERE id = $1', [body.sourceId]);
  const source = rows[0];
  if (!source) throw new ApiError(404, 'not_found', 'No such source.');
  const mountPath = source.kind === 'share' ? source.settings.mountPath : undefined;
  if (mountPath === undefined) {
    throw new ApiError(409, 'conflict', 'Only a share with a mountPath (where the server has it mounted) can register its files.');
  }
  let root: string;
  let file: string;
  try {
    root = await realpath(mountPath);
  } catch (err) {
    throw new ApiError(409, 'conflict', `The share is not readable at ${mountPath}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    file = await realpath(path.join(root, ...body.path.split('/')));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new ApiError(404, 'not_found', `No file at ${body.path} on the share.`);
    throw new ApiError(409, 'conflict', `${body.path} cannot be read on the share: ${code ?? 'error'}`);
  }
  // A symbolic link may lead anywhere on the server: only what is below the share's root is on the share.
  if (!file.startsWith(root.endsWith(path.sep) ? root : root + path.sep)) {
    throw new ApiError(400, 'validation_failed', `${body.path} leads outside the share (a symbolic link).`, [
      { path: 'path', message: 'leads outside the share' },
    ]);
  }
  const fileName = body.fileName ?? artifactFileName.safeParse(path.posix.basename(body.path)).data;
  if (fileName === undefined) {
    throw new ApiError(400, 'validation_failed', 'The path does not end in a file name agents can use: give `fileName`.');
  }
  const { sha256, size } = await hashFile(file, deps.config.depotUploadMaxBytes);
  const metadata = await readPackageMetadata(file, fileName).catch((err: unknown) => ({
    format: 'unknown',
    warnings: [`the file could not be read: ${(err as Error).message}`],
  }));
  return withUnitOfWork(deps.db, origin, async (uow) => {
    await lockContent(uow.sql, sha256);
    const existing = await selectArtifact(uow.sql, 'sha256', sha256);
    const id = existing?.id ?? randomUUID();
    if (!existing) {
      await uow.sql.query(
        `INSERT INTO artifacts (id, sha256, size, file_name, origin, metadata, created_by_id) VALUES ($1, $2, $3, $4, 'share', $5, $6)`,
        [id, sha256, size, fileName, JSON.stringify(metadata), userId],
      );
    }
    await uow.sql.query(
      `INSERT INTO artifact_locations (artifact_id, source_id, path) VALUES ($1, $2, $3)
       ON CONFLICT (artifact_id, source_id) DO UPDATE SET path = EXCLUDED.path, verified_at = now()`,
      [id, body.sourceId, body.path],
    );
    await uow.audit({
      action: 'depot_artifact.register',
      targetType: 'depot_artifact',
      targetId: id,
      details: { sourceId: body.sourceId, path: body.path, fileName, size, sha256 },
    });
    return { artifact: (await selectArtifact(uow.sql, 'id', id))!, created: !existing };
  });
}

/** Streams a regular file through SHA-256 (never whole in memory); refused past `max` bytes. */
async function hashFile(file: string, max: number): Promise<{ sha256: string; size: number }> {
  // Judged before opening: opening a named pipe would wait for a writer.
  const before = await stat(file);
  if (!before.isFile()) throw new ApiError(400, 'validation_failed', 'The path is not a file.', [{ path: 'path', message: 'not a file' }]);
  const handle = await open(file, 'r').catch((err: unknown) => {
    throw new ApiError(409, 'conflict', `The file cannot be read on the share: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  });
  try {
    const { size: length } = await handle.stat();
    if (length > max) {
      throw new ApiError(400, 'validation_failed', `The file has ${length} bytes: more than DEPOT_UPLOAD_MAX_BYTES (${max}).`);
    }
    const hash = createHash('sha256');
    let size = 0;
    await pipeline(handle.createReadStream({ autoClose: false }), async (chunks: AsyncIterable<Buffer>) => {
      for await (const chunk of chunks) {
        size += chunk.length;
        hash.update(chunk);
      }
    });
    return { sha256: hash.digest('hex'), size };
  } finally {
    await handle.close();
  }
}
