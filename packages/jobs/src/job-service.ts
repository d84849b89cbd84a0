/**
 * The job library: jobs and their immutable versions. Saving a definition that differs from the current version
 * adds the next version, with who saved it and the audit row in the same transaction; saving (or importing) an
 * unchanged one adds nothing. Older versions stay readable, and any two can be compared.
 */
import type pg from 'pg';
import type { Database } from '@opsconductor/db';
import type { JobDefinition } from '@opsconductor/contracts/jobs';
import {
  NameTakenError,
  conflict,
  invalid,
  isUniqueViolation,
  likeLiteral,
  notFound,
  withUnitOfWork,
  type Actor,
  type Origin,
  type UnitOfWork,
} from '@opsconductor/unit-of-work';
import { diffJobDefinitions, jobDefinitionDigest, parseJobDefinition, type DefinitionChange } from './definition.ts';

export interface JobSummary {
  id: string;
  name: string;
  description: string;
  currentVersion: number;
  steps: number;
  createdAt: Date;
  updatedAt: Date;
  updatedBy: Actor;
  /** Set while the job is archived. */
  archivedAt: Date | null;
}
export interface JobVersion {
  version: number;
  digest: string;
  definition: JobDefinition;
  createdAt: Date;
  createdBy: Actor;
}
export interface Job extends JobSummary {
  definition: JobDefinition;
}
export interface SavedJob {
  job: Job;
  /** False when the definition equals the current version: nothing was written. */
  versionCreated: boolean;
}

interface Row {
  id: string;
  name: string;
  current_version: number;
  created_at: Date;
  updated_at: Date;
  archived_at: Date | null;
  definition: JobDefinition;
  actor_type: Actor['type'];
  actor_id: string | null;
  actor_name: string | null;
}
const JOB_COLUMNS = `j.id, j.name, j.current_version, j.created_at, j.updated_at, j.archived_at, v.definition, v.actor_type, v.actor_id, v.actor_name`;
const CURRENT = `jobs j JOIN job_versions v ON v.job_id = j.id AND v.version = j.current_version`;

const actorOf = (r: Pick<Row, 'actor_type' | 'actor_id' | 'actor_name'>): Actor => ({
  type: r.actor_type,
  id: r.actor_id,
  name: r.actor_name,
});
const toJob = (r: Row): Job => ({
  id: r.id,
  name: r.name,
  description: r.definition.description,
  currentVersion: r.current_version,
  steps: r.definition.steps.length,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  updatedBy: actorOf(r),
  archivedAt: r.archived_at,
  definition: r.definition,
});

const taken = () => new NameTakenError('name', 'A job with this name exists.');

export class JobService {
  constructor(private readonly deps: { db: Database }) {}

  /** The definition checked, or a 400 with every problem's path. */
  private definition(input: unknown): JobDefinition {
    const parsed = parseJobDefinition(input);
    if (!parsed.ok)
      throw invalid(
        'validation_failed',
        'The job definition is not valid.',
        parsed.issues.map((i) => ({ ...i, path: `definition.${i.path}`.replace(/\.$/, '') })),
      );
    return parsed.definition;
  }

  /** A new job at version 1. */
  async create(origin: Origin, input: unknown): Promise<Job> {
    const definition = this.definition(input);
    return withUnitOfWork(this.deps.db, origin, async (uow) => {
      const { rows } = await uow.sql
        .query<{ id: string }>(`INSERT INTO jobs (id, name, current_version) VALUES (gen_random_uuid(), $1, 1) RETURNING id`, [
          definition.name,
        ])
        .catch((err: unknown) => {
          if (isUniqueViolation(err, 'jobs_name_key')) throw taken();
          throw err;
        });
      const id = rows[0]!.id;
      await this.addVersion(uow, id, 1, definition);
      await uow.audit({ action: 'job.create', targetType: 'job', targetId: id, details: { name: definition.name, version: 1 } });
      return this.read(uow.sql, id);
    });
  }

  /**
   * Saves a definition as the job's next version, unless it equals the current one. `expectedVersion`: the version
   * the editor started from; a save over someone else's newer version is refused with 409.
   */
  async save(origin: Origin, id: string, input: unknown, expectedVersion?: number): Promise<SavedJob> {
    const definition = this.definition(input);
    return withUnitOfWork(this.deps.db, origin, (uow) => this.saveLocked(uow, id, definition, expectedVersion));
  }

  /** Jobs as code: a definition for the job of its name, created or saved (an unchanged one creates no version). */
  async import(origin: Origin, input: unknown): Promise<SavedJob> {
    const definition = this.definition(input);
    const existing = await this.deps.db.pool.query<{ id: string }>('SELECT id FROM jobs WHERE name = $1', [definition.name]);
    if (!existing.rows[0]) {
      try {
        return { job: await this.create(origin, definition), versionCreated: true };
      } catch (err) {
        if (!(err instanceof NameTakenError)) throw err; // created meanwhile: save over it below
      }
    }
    return withUnitOfWork(this.deps.db, origin, async (uow) => {
      const { rows } = await uow.sql.query<{ id: string }>('SELECT id FROM jobs WHERE name = $1', [definition.name]);
      if (!rows[0]) throw conflict('conflict', 'The job was renamed or deleted while it was imported; import again.');
      return this.saveLocked(uow, rows[0].id, definition, undefined, 'import');
    });
  }

  private async saveLocked(
    uow: UnitOfWork,
    id: string,
    definition: JobDefinition,
    expectedVersion?: number,
    how = 'save',
  ): Promise<SavedJob> {
    const { rows } = await uow.sql.query<{ current_version: number; digest: string }>(
      `SELECT j.current_version, v.digest FROM ${CURRENT} WHERE j.id = $1 FOR UPDATE OF j`,
      [id],
    );
    const current = rows[0];
    if (!current) throw notFound();
    if (expectedVersion !== undefined && expectedVersion !== current.current_version) {
      throw conflict('conflict', `The job is at version ${current.current_version} now, not ${expectedVersion}: reload it and save again.`);
    }
    if (jobDefinitionDigest(definition) === current.digest) return { job: await this.read(uow.sql, id), versionCreated: false };
    const version = current.current_version + 1;
    await uow.sql
      .query('UPDATE jobs SET name = $2, current_version = $3, updated_at = now() WHERE id = $1', [id, definition.name, version])
      .catch((err: unknown) => {
        if (isUniqueViolation(err, 'jobs_name_key')) throw taken();
        throw err;
      });
    await this.addVersion(uow, id, version, definition);
    await uow.audit({ action: `job.${how}`, targetType: 'job', targetId: id, details: { name: definition.name, version } });
    return { job: await this.read(uow.sql, id), versionCreated: true };
  }

  private async addVersion(uow: UnitOfWork, id: string, version: number, definition: JobDefinition): Promise<void> {
    const { actor } = uow.origin;
    await uow.sql.query(
      `INSERT INTO job_versions (job_id, version, definition, digest, actor_type, actor_id, actor_name) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [id, version, JSON.stringify(definition), jobDefinitionDigest(definition), actor.type, actor.id, actor.name],
    );
  }

  /** The job with its current definition, read through `sql` (the pool, or a unit of work's transaction). */
  private async read(sql: Pick<pg.Pool, 'query'>, id: string): Promise<Job> {
    const { rows } = await sql.query<Row>(`SELECT ${JOB_COLUMNS} FROM ${CURRENT} WHERE j.id = $1`, [id]);
    if (!rows[0]) throw notFound();
    return toJob(rows[0]);
  }

  get(id: string): Promise<Job> {
    return this.read(this.deps.db.pool, id);
  }

  /**
   * Jobs by name; `search` matches the name literally (no wildcards), case-insensitively. Archived jobs are left out,
   * unless `archived` is `include` (all) or `only`.
   */
  async list(o: {
    search?: string | undefined;
    archived?: 'exclude' | 'include' | 'only' | undefined;
    page: number;
    pageSize: number;
  }): Promise<{ items: JobSummary[]; total: number }> {
    const pattern = o.search ? `%${likeLiteral(o.search)}%` : '%';
    const archived = { exclude: 'j.archived_at IS NULL', include: 'true', only: 'j.archived_at IS NOT NULL' }[o.archived ?? 'exclude'];
    const [{ rows }, count] = await Promise.all([
      this.deps.db.pool.query<Row>(
        `SELECT ${JOB_COLUMNS} FROM ${CURRENT} WHERE j.name ILIKE $1 AND ${archived} ORDER BY j.name LIMIT $2 OFFSET $3`,
        [pattern, o.pageSize, (o.page - 1) * o.pageSize],
      ),
      this.deps.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM jobs j WHERE j.name ILIKE $1 AND ${archived}`, [pattern]),
    ]);
    return { items: rows.map(toSummary), total: count.rows[0]!.n };
  }

  /**
   * Archives the job (or takes it out of the archive). An archived job keeps its versions and runs but gets no new
   * runs, schedules or chained runs; it cannot be archived while schedules start it (409 `job_has_schedules`).
   */
  async setArchived(origin: Origin, id: string, archived: boolean): Promise<Job> {
    return withUnitOfWork(this.deps.db, origin, async (uow) => {
      const job = await this.read(uow.sql, id);
      if (archived === (job.archivedAt !== null)) return job;
      if (archived) {
        const { rows } = await uow.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM job_schedules WHERE job_id = $1', [id]);
        if (rows[0]!.n > 0)
          throw conflict('job_has_schedules', `${rows[0]!.n} schedule(s) start this job: delete them before archiving it.`);
      }
      await uow.sql.query(`UPDATE jobs SET archived_at = ${archived ? 'now()' : 'NULL'} WHERE id = $1`, [id]);
      await uow.audit({ action: archived ? 'job.archive' : 'job.unarchive', targetType: 'job', targetId: id, details: { name: job.name } });
      return this.read(uow.sql, id);
    });
  }

  /** Deletes a job that never ran (its versions with it); one with runs can only be archived (409 `job_has_runs`). */
  async delete(origin: Origin, id: string): Promise<void> {
    await withUnitOfWork(this.deps.db, origin, async (uow) => {
      const job = await this.read(uow.sql, id);
      const { rows } = await uow.sql.query<{ runs: number; schedules: number }>(
        `SELECT (SELECT count(*)::int FROM job_runs WHERE job_id = $1) AS runs, (SELECT count(*)::int FROM job_schedules WHERE job_id = $1) AS schedules`,
        [id],
      );
      const { runs, schedules } = rows[0]!;
      if (runs > 0) throw conflict('job_has_runs', `The job has ${runs} run(s) in the history: archive it instead.`);
      if (schedules > 0) throw conflict('job_has_schedules', `${schedules} schedule(s) start this job: delete them first.`);
      await uow.sql.query('DELETE FROM jobs WHERE id = $1', [id]);
      await uow.audit({ action: 'job.delete', targetType: 'job', targetId: id, details: { name: job.name, versions: job.currentVersion } });
    });
  }

  /** Every version, newest first, with who saved it. */
  async versions(id: string): Promise<Omit<JobVersion, 'definition'>[]> {
    const { rows } = await this.deps.db.pool.query<
      { version: number; digest: string; created_at: Date } & Pick<Row, 'actor_type' | 'actor_id' | 'actor_name'>
    >(`SELECT version, digest, created_at, actor_type, actor_id, actor_name FROM job_versions WHERE job_id = $1 ORDER BY version DESC`, [
      id,
    ]);
    if (rows.length === 0) throw notFound();
    return rows.map((r) => ({ version: r.version, digest: r.digest, createdAt: r.created_at, createdBy: actorOf(r) }));
  }

  async version(id: string, version: number): Promise<JobVersion> {
    const { rows } = await this.deps.db.pool.query<
      { version: number; digest: string; definition: JobDefinition; created_at: Date } & Pick<Row, 'actor_type' | 'actor_id' | 'actor_name'>
    >(
      `SELECT version, digest, definition, created_at, actor_type, actor_id, actor_name FROM job_versions WHERE job_id = $1 AND version = $2`,
      [id, version],
    );
    const r = rows[0];
    if (!r) throw notFound('The job has no such version.');
    return { version: r.version, digest: r.digest, definition: r.definition, createdAt: r.created_at, createdBy: actorOf(r) };
  }

  /** What changed from version `from` to version `to`. */
  async diff(id: string, from: number, to: number): Promise<DefinitionChange[]> {
    const [a, b] = await Promise.all([this.version(id, from), this.version(id, to)]);
    return diffJobDefinitions(a.definition, b.definition);
  }
}

function toSummary(r: Row): JobSummary {
  const { definition: _definition, ...summary } = toJob(r);
  return summary;
}
