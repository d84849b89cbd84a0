/**
 * Replicating the built-in depot to another source (ADR 23): every artifact the built-in depot holds and the source
 * lacks is written there — an S3 bucket (streamed PutObject), a share the server has mounted (a `.partial` file,
 * hashed as it is written, renamed into place only when its SHA-256 is right) — and its location recorded. HTTP
 * mirrors are someone else's to fill: they are verified instead (HEAD of `<baseUrl>/<aa>/<sha256>`, 200 with the
 * artifact's size), and locations they no longer answer for are removed.
 *
 * Synchronous, a few artifacts at a time, each failure recorded and the rest carried on; running it again picks up
 * what is still missing (a source already holding an artifact of the right size is only recorded, not written again).
 */
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { DepotArtifactReplication, DepotReplicationSummary } from '@opsconductor/contracts/api';
import { withUnitOfWork, type Origin } from '@opsconductor/unit-of-work';
import type { ApiDeps } from '../context.ts';
import { ApiError } from '../lib/problem.ts';
import { BUILT_IN_DEPOT_SOURCE_ID } from './depot.ts';
import { defaultObjectPath, s3Bucket, s3Failure, s3ObjectSize, s3Put, type S3Bucket } from './depot-s3.ts';

/** Artifacts copied or checked at once. */
const REPLICATION_CONCURRENCY = 3;
/** How long a mirror may take to answer one HEAD. */
const MIRROR_HEAD_TIMEOUT_MS = 10_000;

interface SourceRow {
  id: string;
  name: string;
  kind: 'depot' | 's3' | 'http' | 'share';
  settings: Record<string, unknown>;
}

interface ArtifactRef {
  id: string;
  sha256: string;
  size: number;
}

type Outcome = 'copied' | 'verified' | 'missing' | 'removed';

/** What replicating does for one kind of source, artifact by artifact. */
interface Replicator {
  /** Which artifacts to look at: those the built-in depot holds and the source lacks, or (a mirror) all. */
  scope: 'missing' | 'all';
  replicate(artifact: ArtifactRef): Promise<Outcome>;
  close(): void;
}

async function runLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

async function recordLocation(deps: ApiDeps, artifactId: string, sourceId: string): Promise<void> {
  await deps.db.pool.query(
    `INSERT INTO artifact_locations (artifact_id, source_id) VALUES ($1, $2)
     ON CONFLICT (artifact_id, source_id) DO UPDATE SET path = NULL, verified_at = now()`,
    [artifactId, sourceId],
  );
}

async function builtInBytes(deps: ApiDeps, artifact: ArtifactRef): Promise<ReadableStream<Uint8Array>> {
  const opened = await deps.depot.open(artifact.sha256);
  if (!opened) throw new Error('the built-in depot does not hold its bytes');
  if (opened.size !== artifact.size) {
    await opened.body.cancel();
    throw new Error(`the built-in depot holds ${opened.size} bytes of it, not ${artifact.size}`);
  }
  return opened.body;
}

function s3Replicator(deps: ApiDeps, source: SourceRow, bucket: S3Bucket): Replicator {
  return {
    scope: 'missing',
    async replicate(artifact) {
      const objectPath = defaultObjectPath(artifact.sha256);
      try {
        if ((await s3ObjectSize(bucket, objectPath)) === artifact.size) {
          await recordLocation(deps, artifact.id, source.id);
          return 'verified';
        }
        await s3Put(bucket, objectPath, await builtInBytes(deps, artifact), artifact.size);
      } catch (err) {
        throw new Error(s3Failure(err));
      }
      await recordLocation(deps, artifact.id, source.id);
      return 'copied';
    },
    close: () => bucket.client.destroy(),
  };
}

function shareReplicator(deps: ApiDeps, source: SourceRow, mountPath: string): Replicator {
  return {
    scope: 'missing',
    async replicate(artifact) {
      const target = path.join(mountPath, artifact.sha256.slice(0, 2), artifact.sha256);
      const existing = await stat(target).catch(() => null);
      if (existing?.isFile() && existing.size === artifact.size) {
        await recordLocation(deps, artifact.id, source.id);
        return 'verified';
      }
      await mkdir(path.dirname(target), { recursive: true });
      const partial = `${target}.${randomUUID().slice(0, 8)}.partial`;
      const hash = createHash('sha256');
      const hashing = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          hash.update(chunk);
          done(null, chunk);
        },
      });
      try {
        const body = await builtInBytes(deps, artifact);
        await pipeline(Readable.fromWeb(body as WebReadableStream<Uint8Array>), hashing, createWriteStream(partial, { mode: 0o644 }));
        const written = hash.digest('hex');
        if (written !== artifact.sha256) throw new Error(`the copy's SHA-256 is ${written}: the built-in depot's bytes changed`);
        await rename(partial, target);
      } finally {
        await rm(partial, { force: true });
      }
      await recordLocation(deps, artifact.id, source.id);
      return 'copied';
    },
    close: () => {},
  };
}

function mirrorReplicator(deps: ApiDeps, source: SourceRow, baseUrl: string): Replicator {
  const base = baseUrl.replace(/\/+$/, '');
  return {
    scope: 'all',
    async replicate(artifact) {
      const url = `${base}/${defaultObjectPath(artifact.sha256)}`;
      let res: Response;
      try {
        res = await fetch(url, { method: 'HEAD', redirect: 'follow', signal: AbortSignal.timeout(MIRROR_HEAD_TIMEOUT_MS) });
        await res.body?.cancel();
      } catch (err) {
        const e = err as { name?: string; cause?: { code?: string } };
        throw new Error(`${url}: ${e.name === 'TimeoutError' ? 'timed out' : (e.cause?.code ?? e.name ?? 'error')}`);
      }
      const forget = async (): Promise<Outcome> => {
        const { rowCount } = await deps.db.pool.query('DELETE FROM artifact_locations WHERE artifact_id = $1 AND source_id = $2', [
          artifact.id,
          source.id,
        ]);
        return rowCount ? 'removed' : 'missing';
      };
      if (res.status === 404 || res.status === 410) return forget();
      if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
      const length = Number(res.headers.get('content-length'));
      if (length !== artifact.size) {
        await forget();
        throw new Error(`${url} has ${res.headers.get('content-length') ?? 'an unknown number of'} bytes, not ${artifact.size}`);
      }
      await recordLocation(deps, artifact.id, source.id);
      return 'verified';
    },
    close: () => {},
  };
}

async function replicatorFor(deps: ApiDeps, source: SourceRow): Promise<Replicator> {
  if (source.kind === 'depot') throw new ApiError(409, 'conflict', 'The built-in depot is what other sources are replicated from.');
  if (source.kind === 'http') return mirrorReplicator(deps, source, (source.settings as { baseUrl: string }).baseUrl);
  if (source.kind === 'share') {
    const { mountPath } = source.settings as { mountPath?: string };
    if (mountPath === undefined) {
      throw new ApiError(409, 'conflict', 'The share has no mountPath: the server cannot write to it (copy <aa>/<sha256> there yourself).');
    }
    const mounted = await stat(mountPath).catch(() => null);
    if (!mounted?.isDirectory()) throw new ApiError(409, 'conflict', `The share is not mounted at ${mountPath}.`);
    return shareReplicator(deps, source, mountPath);
  }
  let bucket: S3Bucket;
  try {
    bucket = await s3Bucket(deps, source);
  } catch (err) {
    throw new ApiError(409, 'conflict', `The S3 source cannot be used: ${(err as Error).message}`);
  }
  return s3Replicator(deps, source, bucket);
}

/**
 * Replicates one artifact to every enabled source but the built-in depot: copied to buckets and mounted shares that
 * lack it, checked on HTTP mirrors; sources the server cannot reach the files of are skipped. Audited.
 */
export async function replicateArtifact(deps: ApiDeps, origin: Origin, artifactId: string): Promise<DepotArtifactReplication> {
  const { rows } = await deps.db.pool.query<{ id: string; sha256: string; size: string; built_in: boolean }>(
    `SELECT a.id, a.sha256, a.size::text,
       EXISTS (SELECT 1 FROM artifact_locations b WHERE b.artifact_id = a.id AND b.source_id = '${BUILT_IN_DEPOT_SOURCE_ID}') AS built_in
     FROM artifacts a WHERE a.id = $1`,
    [artifactId],
  );
  const row = rows[0];
  if (!row) throw new ApiError(404, 'not_found');
  const artifact = { id: row.id, sha256: row.sha256, size: Number(row.size) };
  const { rows: sources } = await deps.db.pool.query<SourceRow & { located: boolean }>(
    `SELECT s.id, s.name, s.kind, s.settings,
       EXISTS (SELECT 1 FROM artifact_locations l WHERE l.artifact_id = $1 AND l.source_id = s.id) AS located
     FROM depot_sources s WHERE s.kind <> 'depot' AND s.enabled ORDER BY s.priority, s.id`,
    [artifactId],
  );
  const result: DepotArtifactReplication = { sources: [] };
  for (const source of sources) {
    const answer = (outcome: DepotArtifactReplication['sources'][number]['outcome'], error: string | null = null) =>
      result.sources.push({ sourceId: source.id, name: source.name, outcome, error: error?.slice(0, 500) ?? null });
    if (source.kind === 'share' && (source.settings as { mountPath?: string }).mountPath === undefined) {
      answer('skipped');
      continue;
    }
    let replicator: Replicator;
    try {
      replicator = await replicatorFor(deps, source);
    } catch (err) {
      answer('failed', err instanceof ApiError ? (err.detail ?? err.message) : (err as Error).message);
      continue;
    }
    try {
      if (replicator.scope === 'missing' && source.located) answer('present');
      else if (replicator.scope === 'missing' && !row.built_in) answer('failed', 'the built-in depot does not hold it');
      else answer(await replicator.replicate(artifact));
    } catch (err) {
      answer('failed', (err as Error).message || 'error');
    } finally {
      replicator.close();
    }
  }
  const count = (outcome: string) => result.sources.filter((s) => s.outcome === outcome).length;
  await withUnitOfWork(deps.db, origin, (uow) =>
    uow.audit({
      action: 'depot_artifact.replicate',
      targetType: 'depot_artifact',
      targetId: artifactId,
      details: { sha256: artifact.sha256, copied: count('copied'), verified: count('verified'), failed: count('failed') },
    }),
  );
  return result;
}

/** Copies the built-in depot's artifacts the source lacks to it (a mirror: checks which it has), and audits it. */
export async function replicateSource(deps: ApiDeps, origin: Origin, sourceId: string): Promise<DepotReplicationSummary> {
  const { rows } = await deps.db.pool.query<SourceRow>('SELECT id, name, kind, settings FROM depot_sources WHERE id = $1', [sourceId]);
  const source = rows[0];
  if (!source) throw new ApiError(404, 'not_found');
  const replicator = await replicatorFor(deps, source);
  const summary: DepotReplicationSummary = { copied: 0, verified: 0, missing: 0, removed: 0, failed: [] };
  try {
    const { rows: artifacts } = await deps.db.pool.query<{ id: string; sha256: string; size: string }>(
      `SELECT a.id, a.sha256, a.size::text FROM artifacts a
       WHERE $2 = 'all' OR (
         EXISTS (SELECT 1 FROM artifact_locations b WHERE b.artifact_id = a.id AND b.source_id = '${BUILT_IN_DEPOT_SOURCE_ID}')
         AND NOT EXISTS (SELECT 1 FROM artifact_locations t WHERE t.artifact_id = a.id AND t.source_id = $1))
       ORDER BY a.created_at, a.id`,
      [sourceId, replicator.scope],
    );
    await runLimited(artifacts, REPLICATION_CONCURRENCY, async (a) => {
      const artifact = { id: a.id, sha256: a.sha256, size: Number(a.size) };
      try {
        summary[await replicator.replicate(artifact)]++;
      } catch (err) {
        summary.failed.push({ artifactId: a.id, sha256: a.sha256, error: ((err as Error).message || 'error').slice(0, 500) });
      }
    });
  } finally {
    replicator.close();
  }
  await withUnitOfWork(deps.db, origin, (uow) =>
    uow.audit({
      action: 'depot_source.replicate',
      targetType: 'depot_source',
      targetId: sourceId,
      details: { name: source.name, ...summary, failed: summary.failed.length },
    }),
  );
  return summary;
}
