/**
 * Depot sources (ADR 23): the built-in depot and the HTTP(S) mirrors and SMB shares agents may download artifacts
 * from, each with a priority and the subnets it serves, and their health as the server sees it: whether it
 * answers, and the free space where the server can see it (the built-in depot's volume, a share mounted on the
 * server, an S3 bucket's HeadBucket). An S3 source's secret access key is kept in the secret store (services/depot-s3.ts):
 * its settings are answered with `hasSecret` instead.
 */
import { statfs } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import {
  httpSourceSettings,
  s3SourceSettingsUpdate,
  shareSourceSettings,
  type CreateDepotSourceBody,
  type DepotSource,
  type UpdateDepotSourceBody,
} from '@opsconductor/contracts/api';
import { SecretsUnavailableError } from '@opsconductor/secrets';
import { withUnitOfWork, type Origin } from '@opsconductor/unit-of-work';
import type { ApiDeps } from '../context.ts';
import { ApiError } from '../lib/problem.ts';
import { BUILT_IN_DEPOT_SOURCE_ID } from './depot.ts';
import { DEPOT_SOURCE_SECRET_OWNER, forgetS3Source, s3Health, s3SecretRef } from './depot-s3.ts';

/** How long a mirror may take to answer a health check. */
const HEALTH_TIMEOUT_MS = 5000;

interface SourceRow {
  id: string;
  name: string;
  kind: DepotSource['kind'];
  priority: number;
  enabled: boolean;
  settings: Record<string, unknown>;
  subnets: string[] | null;
  health_checked_at: Date | null;
  reachable: boolean | null;
  free_bytes: string | null;
  health_error: string | null;
  artifacts: number;
  has_secret: boolean;
}

const SOURCE_COLUMNS = `s.id, s.name, s.kind, s.priority, s.enabled, s.settings, s.subnets, s.health_checked_at, s.reachable,
  s.free_bytes::text, s.health_error, (SELECT count(*)::int FROM artifact_locations l WHERE l.source_id = s.id) AS artifacts,
  EXISTS (SELECT 1 FROM secrets k WHERE k.owner_type = '${DEPOT_SOURCE_SECRET_OWNER}' AND k.owner_id = s.id::text) AS has_secret`;

function toSource(r: SourceRow): DepotSource {
  return {
    id: r.id,
    name: r.name,
    kind: r.kind,
    priority: r.priority,
    enabled: r.enabled,
    settings: r.kind === 's3' ? { ...r.settings, hasSecret: r.has_secret } : r.settings,
    subnets: r.subnets ?? [],
    health: {
      checkedAt: r.health_checked_at?.toISOString() ?? null,
      reachable: r.reachable,
      freeBytes: r.free_bytes === null ? null : Number(r.free_bytes),
      error: r.health_error,
    },
    artifacts: r.artifacts,
  };
}

async function selectSource(sql: pg.Pool | pg.PoolClient, id: string): Promise<DepotSource> {
  const { rows } = await sql.query<SourceRow>(`SELECT ${SOURCE_COLUMNS} FROM depot_sources s WHERE s.id = $1`, [id]);
  if (!rows[0]) throw new ApiError(404, 'not_found');
  return toSource(rows[0]);
}

export async function listSources(deps: ApiDeps): Promise<DepotSource[]> {
  const { rows } = await deps.db.pool.query<SourceRow>(
    `SELECT ${SOURCE_COLUMNS} FROM depot_sources s ORDER BY s.priority, lower(s.name), s.id`,
  );
  return rows.map(toSource);
}

const nameTaken = (err: unknown) => {
  if ((err as { code?: string }).code === '23505') throw new ApiError(409, 'name_taken', 'A source of this name exists.');
  throw err;
};

/** Settings as stored: an S3 source's secret access key apart (it goes to the secret store). */
function withoutSecret(settings: Record<string, unknown>): { stored: Record<string, unknown>; secret: string | undefined } {
  // `hasSecret` is what answers say, not a setting: settings sent back as answered are taken.
  const { secretAccessKey, hasSecret: _answered, ...stored } = settings as { secretAccessKey?: string; hasSecret?: boolean };
  return { stored, secret: secretAccessKey };
}

export async function createSource(deps: ApiDeps, origin: Origin, body: CreateDepotSourceBody): Promise<DepotSource> {
  const id = randomUUID();
  const { stored, secret } = withoutSecret(body.settings);
  if (body.kind === 's3' && !deps.secrets.configured) {
    throw new SecretsUnavailableError('S3 sources keep their secret access key in the secret store (SECRETS_MASTER_KEYS).');
  }
  return withUnitOfWork(deps.db, origin, async (uow) => {
    await uow.sql.query(
      `INSERT INTO depot_sources (id, name, kind, priority, enabled, settings, subnets) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [id, body.name, body.kind, body.priority, body.enabled, JSON.stringify(stored), body.subnets],
    );
    if (secret !== undefined) await deps.secrets.put(s3SecretRef(id), secret, uow);
    await uow.audit({
      action: 'depot_source.create',
      targetType: 'depot_source',
      targetId: id,
      details: { name: body.name, kind: body.kind },
    });
    return selectSource(uow.sql, id);
  }).catch(nameTaken);
}

/** The settings of a kind, checked with its schema (400 naming the field otherwise). */
function checkedSettings(kind: DepotSource['kind'], settings: Record<string, unknown>): Record<string, unknown> {
  if (kind === 'depot') throw new ApiError(400, 'validation_failed', 'The built-in depot has no settings (its directory is DEPOT_DIR).');
  const schema = kind === 'http' ? httpSourceSettings : kind === 's3' ? s3SourceSettingsUpdate : shareSourceSettings;
  const parsed = schema.safeParse(settings);
  if (!parsed.success) {
    const errors = parsed.error.issues.map((i) => ({ path: ['settings', ...i.path].join('.'), message: i.message }));
    throw new ApiError(400, 'validation_failed', errors[0]!.message, errors);
  }
  return parsed.data;
}

export async function updateSource(deps: ApiDeps, origin: Origin, id: string, body: UpdateDepotSourceBody): Promise<DepotSource> {
  return withUnitOfWork(deps.db, origin, async (uow) => {
    const current = await selectSource(uow.sql, id);
    const changed = body.settings === undefined ? undefined : withoutSecret(checkedSettings(current.kind, body.settings));
    const settings = changed === undefined ? null : JSON.stringify(changed.stored);
    if (current.kind === 'depot' && body.enabled === false) throw new ApiError(409, 'conflict', 'The built-in depot cannot be disabled.');
    if (changed?.secret !== undefined) await deps.secrets.put(s3SecretRef(id), changed.secret, uow);
    await uow.sql.query(
      `UPDATE depot_sources SET name = coalesce($2, name), priority = coalesce($3, priority), enabled = coalesce($4, enabled),
         settings = coalesce($5::jsonb, settings), subnets = coalesce($6, subnets), updated_at = now() WHERE id = $1`,
      [id, body.name ?? null, body.priority ?? null, body.enabled ?? null, settings, body.subnets ?? null],
    );
    const details =
      changed === undefined
        ? body
        : { ...body, settings: { ...changed.stored, ...(changed.secret === undefined ? {} : { secretAccessKey: '(changed)' }) } };
    await uow.audit({ action: 'depot_source.update', targetType: 'depot_source', targetId: id, details });
    return selectSource(uow.sql, id);
  })
    .catch(nameTaken)
    .finally(() => forgetS3Source(deps, id));
}

export async function deleteSource(deps: ApiDeps, origin: Origin, id: string): Promise<void> {
  if (id === BUILT_IN_DEPOT_SOURCE_ID) throw new ApiError(409, 'conflict', 'The built-in depot cannot be removed.');
  await withUnitOfWork(deps.db, origin, async (uow) => {
    const source = await selectSource(uow.sql, id);
    await uow.sql.query('DELETE FROM depot_sources WHERE id = $1', [id]);
    if (source.kind === 's3') await deps.secrets.delete(s3SecretRef(id), uow);
    await uow.audit({ action: 'depot_source.delete', targetType: 'depot_source', targetId: id, details: { name: source.name } });
  });
  forgetS3Source(deps, id);
}

interface Health {
  reachable: boolean | null;
  freeBytes: number | null;
  error: string | null;
}

async function freeSpace(dir: string): Promise<Health> {
  try {
    const s = await statfs(dir);
    return { reachable: true, freeBytes: Number(s.bavail) * Number(s.bsize), error: null };
  } catch (err) {
    return { reachable: false, freeBytes: null, error: `${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
}

async function probe(deps: ApiDeps, source: DepotSource): Promise<Health> {
  if (source.kind === 'depot') return freeSpace(deps.config.depotDir);
  if (source.kind === 'share') {
    const { mountPath } = source.settings as { mountPath?: string };
    if (mountPath) return freeSpace(mountPath);
    return { reachable: null, freeBytes: null, error: 'Only a UNC path: Windows agents read it directly; the server cannot check it.' };
  }
  if (source.kind === 'http') {
    const { baseUrl } = source.settings as { baseUrl: string };
    try {
      const res = await fetch(baseUrl, { method: 'HEAD', redirect: 'manual', signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS) });
      await res.body?.cancel();
      return res.status < 500
        ? { reachable: true, freeBytes: null, error: null }
        : { reachable: false, freeBytes: null, error: `${baseUrl} answered ${res.status}` };
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      return { reachable: false, freeBytes: null, error: `${baseUrl}: ${cause}` };
    }
  }
  return s3Health(deps, source);
}

/** Checks a source now and records the result. */
export async function checkSource(deps: ApiDeps, id: string): Promise<DepotSource> {
  const health = await probe(deps, await selectSource(deps.db.pool, id));
  await deps.db.pool.query(
    `UPDATE depot_sources SET health_checked_at = now(), reachable = $2, free_bytes = $3, health_error = $4 WHERE id = $1`,
    [id, health.reachable, health.freeBytes, health.error?.slice(0, 500) ?? null],
  );
  return selectSource(deps.db.pool, id);
}
