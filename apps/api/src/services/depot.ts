/**
 * The software depot's artifacts (ADR 23): installers and the files they need, content-addressed by SHA-256 in the
 * built-in depot (DEPOT_DIR, `<aa>/<sha256>`), one row per content however often it is uploaded. An upload is
 * streamed (never held in memory), bounded by DEPOT_UPLOAD_MAX_BYTES and hashed as it arrives; the same content
 * again is the same artifact. What packages/package-metadata reads from it (MSI properties, a .deb's control
 * file, …) is kept as its `metadata`, to prefill a package version. An artifact a package version uses cannot be deleted (the foreign key restricts it),
 * so a deployment or rollback always finds its installer.
 */
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { DepotArtifact } from '@opsconductor/contracts/api';
import { withTransaction } from '@opsconductor/db';
import { readPackageMetadata } from '@opsconductor/package-metadata';
import { likeLiteral, withUnitOfWork, type Origin } from '@opsconductor/unit-of-work';
import type { ApiDeps } from '../context.ts';
import type { ByteRange } from './files.ts';
import { ApiError } from '../lib/problem.ts';

/** The built-in depot's source row (seeded by the depot migration). */
export const BUILT_IN_DEPOT_SOURCE_ID = '00000000-0000-4000-8000-000000000001';

interface ArtifactRow {
  id: string;
  sha256: string;
  size: string;
  file_name: string;
  origin: DepotArtifact['origin'];
  origin_url: string | null;
  metadata: Record<string, unknown>;
  versions: number;
  created_at: Date;
}

const ARTIFACT_COLUMNS = `a.id, a.sha256, a.size::text, a.file_name, a.origin, a.origin_url, a.metadata, a.created_at,
  (SELECT count(DISTINCT pva.version_id)::int FROM package_version_artifacts pva WHERE pva.artifact_id = a.id) AS versions`;

function toArtifact(r: ArtifactRow): DepotArtifact {
  return {
    id: r.id,
    sha256: r.sha256,
    size: Number(r.size),
    fileName: r.file_name,
    origin: r.origin,
    originUrl: r.origin_url,
    metadata: r.metadata,
    versions: r.versions,
    createdAt: r.created_at.toISOString(),
  };
}

/** Serialises writers of one content: the upload that records it and the delete that removes its bytes. */
export async function lockContent(sql: pg.PoolClient, sha256: string): Promise<void> {
  await sql.query(`SELECT pg_advisory_xact_lock(hashtextextended('depot-artifact:' || $1, 0))`, [sha256]);
}

export async function selectArtifact(sql: pg.Pool | pg.PoolClient, where: 'id' | 'sha256', value: string): Promise<DepotArtifact | null> {
  const { rows } = await sql.query<ArtifactRow>(`SELECT ${ARTIFACT_COLUMNS} FROM artifacts a WHERE a.${where} = $1`, [value]);
  return rows[0] ? toArtifact(rows[0]) : null;
}

/** Where an artifact's bytes came from, as recorded with it and audited. */
export interface ArtifactProvenance {
  fileName: string;
  userId: string;
  origin: 'upload' | 'url';
  /** The URL an import fetched (after redirects: where the bytes came from). */
  originUrl?: string;
  /** Refuse (422 `hash_mismatch`, nothing kept) unless the bytes have this SHA-256. */
  expectedSha256?: string;
}

/**
 * Streams an upload into the built-in depot and records it. The same content uploaded again returns the artifact it
 * already is (`created: false`, keeping its first file name).
 */
export function uploadArtifact(
  deps: ApiDeps,
  origin: Origin,
  body: WebReadableStream<Uint8Array>,
  meta: { fileName: string; userId: string },
  signal?: AbortSignal,
): Promise<{ artifact: DepotArtifact; created: boolean }> {
  return storeArtifact(deps, origin, body, { ...meta, origin: 'upload' }, signal);
}

/**
 * Streams bytes (an upload's body, an imported URL's) into the built-in depot, bounded by DEPOT_UPLOAD_MAX_BYTES, and
 * records the artifact with its built-in location. The same content again is the artifact it already is; its bytes are
 * in the built-in depot again if they were only elsewhere (a share), and its location recorded.
 */
export async function storeArtifact(
  deps: ApiDeps,
  origin: Origin,
  body: WebReadableStream<Uint8Array>,
  meta: ArtifactProvenance,
  signal?: AbortSignal,
): Promise<{ artifact: DepotArtifact; created: boolean }> {
  const staged = await deps.depot.stage(body, signal);
  try {
    if (meta.expectedSha256 !== undefined && meta.expectedSha256 !== staged.sha256) {
      throw new ApiError(422, 'hash_mismatch', `The file's SHA-256 is ${staged.sha256}, not ${meta.expectedSha256}; nothing was kept.`);
    }
    // Read before the transaction: parsing a large installer must not hold a connection.
    const metadata = await readPackageMetadata(staged.path, meta.fileName).catch((err: unknown) => ({
      format: 'unknown',
      warnings: [`the file could not be read: ${(err as Error).message}`],
    }));
    return await withUnitOfWork(deps.db, origin, async (uow) => {
      await lockContent(uow.sql, staged.sha256);
      await staged.commit();
      const existing = await selectArtifact(uow.sql, 'sha256', staged.sha256);
      if (existing) {
        await recordBuiltInLocation(uow.sql, existing.id);
        return { artifact: existing, created: false };
      }
      const id = randomUUID();
      await uow.sql.query(
        `INSERT INTO artifacts (id, sha256, size, file_name, origin, origin_url, metadata, created_by_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [id, staged.sha256, staged.size, meta.fileName, meta.origin, meta.originUrl ?? null, JSON.stringify(metadata), meta.userId],
      );
      await recordBuiltInLocation(uow.sql, id);
      await uow.audit({
        action: meta.origin === 'url' ? 'depot_artifact.import' : 'depot_artifact.upload',
        targetType: 'depot_artifact',
        targetId: id,
        details: {
          fileName: meta.fileName,
          size: staged.size,
          sha256: staged.sha256,
          ...(meta.originUrl === undefined ? {} : { url: meta.originUrl }),
        },
      });
      return { artifact: (await selectArtifact(uow.sql, 'id', id))!, created: true };
    });
  } finally {
    await staged.discard();
  }
}

/** The built-in depot holds the artifact's bytes (committed in the same transaction, under the content lock). */
async function recordBuiltInLocation(sql: pg.PoolClient, artifactId: string): Promise<void> {
  await sql.query(
    `INSERT INTO artifact_locations (artifact_id, source_id) VALUES ($1, $2)
     ON CONFLICT (artifact_id, source_id) DO UPDATE SET path = NULL, verified_at = now()`,
    [artifactId, BUILT_IN_DEPOT_SOURCE_ID],
  );
}

export async function listArtifacts(
  deps: ApiDeps,
  query: { q?: string; page: number; pageSize: number },
): Promise<{ items: DepotArtifact[]; total: number }> {
  const params: unknown[] = [];
  let where = '';
  if (query.q) {
    params.push(likeLiteral(query.q));
    where = `WHERE a.file_name ILIKE '%' || $1 || '%' OR a.sha256 LIKE lower($1) || '%'`;
  }
  const [{ rows }, count] = await Promise.all([
    deps.db.pool.query<ArtifactRow>(
      `SELECT ${ARTIFACT_COLUMNS} FROM artifacts a ${where} ORDER BY a.created_at DESC, a.id LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
      [...params, query.pageSize, (query.page - 1) * query.pageSize],
    ),
    deps.db.pool.query<{ total: number }>(`SELECT count(*)::int AS total FROM artifacts a ${where}`, params),
  ]);
  return { items: rows.map(toArtifact), total: count.rows[0]!.total };
}

export async function getArtifact(deps: ApiDeps, id: string): Promise<DepotArtifact> {
  const artifact = await selectArtifact(deps.db.pool, 'id', id);
  if (!artifact) throw new ApiError(404, 'not_found');
  return artifact;
}

/** Deletes an artifact no package version uses, and then its bytes in the built-in depot. */
export async function deleteArtifact(deps: ApiDeps, origin: Origin, id: string): Promise<void> {
  const artifact = await withUnitOfWork(deps.db, origin, async (uow) => {
    const found = await selectArtifact(uow.sql, 'id', id);
    if (!found) throw new ApiError(404, 'not_found');
    if (found.versions > 0) {
      throw new ApiError(409, 'artifact_in_use', `${found.versions} package version(s) use this artifact; remove it from them first.`);
    }
    // A version that takes it up meanwhile makes this fail on the foreign key (23503), answered 409 below.
    await uow.sql.query('DELETE FROM artifacts WHERE id = $1', [id]);
    await uow.audit({
      action: 'depot_artifact.delete',
      targetType: 'depot_artifact',
      targetId: id,
      details: { fileName: found.fileName, sha256: found.sha256 },
    });
    return found;
  }).catch((err: unknown) => {
    if ((err as { code?: string }).code === '23503') throw new ApiError(409, 'artifact_in_use', 'A package version uses this artifact.');
    throw err;
  });
  // After the commit, under the content lock, and only if no upload has recorded the same bytes again meanwhile.
  await withTransaction(deps.db.pool, async (sql) => {
    await lockContent(sql, artifact.sha256);
    if (!(await selectArtifact(sql, 'sha256', artifact.sha256))) await deps.depot.remove(artifact.sha256);
  });
}

/**
 * An artifact's bytes for a device, from `range` on: only while one of the device's own open commands names the
 * artifact (a software command's or one of its dependencies' `artifactIds`); anything else is indistinguishable from an artifact that does not
 * exist, and so is an artifact the built-in depot does not hold (one registered on a share: agents fetch it there). The
 * size is the recorded one, so a range is judged before the file is opened.
 */
export async function artifactForDevice(
  deps: ApiDeps,
  deviceId: string,
  sha256: string,
): Promise<{ size: number; open(range?: ByteRange): Promise<ReadableStream<Uint8Array>> }> {
  const { rows } = await deps.agentPool.query<{ size: string }>(
    `SELECT a.size::text FROM artifacts a
     WHERE a.sha256 = $2
     AND EXISTS (SELECT 1 FROM artifact_locations l WHERE l.artifact_id = a.id AND l.source_id = '${BUILT_IN_DEPOT_SOURCE_ID}')
     AND EXISTS (
       SELECT 1 FROM agent_commands c JOIN command_payloads p ON p.sha256 = c.payload_sha256
       WHERE c.device_id = $1 AND c.state IN ('delivered', 'running')
         AND (p.payload->'artifactIds' ? a.id::text
           OR EXISTS (SELECT 1 FROM jsonb_array_elements(coalesce(p.payload->'dependencies', '[]')) d WHERE d->'artifactIds' ? a.id::text)))`,
    [deviceId, sha256],
  );
  if (!rows[0]) throw new ApiError(404, 'not_found', 'No such artifact for this device.');
  return {
    size: Number(rows[0].size),
    async open(range) {
      const opened = await deps.depot.open(sha256, range);
      if (!opened) throw new ApiError(404, 'not_found', 'No such artifact for this device.');
      return opened.body;
    },
  };
}
