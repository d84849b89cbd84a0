/**
 * Scheduled runs of jobs (ADR 20): each schedule is a Temporal Schedule `job-schedule/<id>` that starts the
 * `scheduledJobRun` workflow; this table keeps what each of its runs gets (job version, targets, values, limits). Its
 * spec (cron and/or intervals, time zone, start and end, jitter), overlap policy and pause state are the Temporal
 * Schedule's; the row mirrors them for lists. Secret values go to the secret store (owner `job_schedule`).
 */
import { randomUUID } from 'node:crypto';
import {
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type ScheduleDescription,
  type ScheduleOptions,
  type ScheduleUpdateOptions,
} from '@temporalio/client';
import type { JobRunTargetSelection } from '@opsconductor/contracts/api';
import type { JobDefinition } from '@opsconductor/contracts/jobs';
import {
  type JobScheduleBody,
  type JobScheduleSpec,
  type JobScheduleUpdateBody,
  type scheduleOverlapPolicies,
} from '@opsconductor/contracts/jobs-api';
import type { JobSchedule } from '@opsconductor/db';
import { JOB_SCHEDULE_SECRET_OWNER, jobRunSecretPurpose, resolveRunValues } from '@opsconductor/jobs';
import { SecretsUnavailableError } from '@opsconductor/secrets';
import { withUnitOfWork, type Origin } from '@opsconductor/unit-of-work';
import type { ApiDeps, AuthUser } from '../context.ts';
import { ApiError } from '../lib/problem.ts';
import { withTemporalDeadline } from '../lib/temporal.ts';
import { normalizeSelection, previewTargets } from './job-run-targets.ts';
import { refuseArchived } from './runs-of-jobs.ts';

export const jobScheduleId = (id: string) => `job-schedule/${id}`;

const OVERLAP: Record<(typeof scheduleOverlapPolicies)[number], ScheduleOverlapPolicy> = {
  skip: ScheduleOverlapPolicy.SKIP,
  buffer_one: ScheduleOverlapPolicy.BUFFER_ONE,
  buffer_all: ScheduleOverlapPolicy.BUFFER_ALL,
  cancel_other: ScheduleOverlapPolicy.CANCEL_OTHER,
  terminate_other: ScheduleOverlapPolicy.TERMINATE_OTHER,
  allow_all: ScheduleOverlapPolicy.ALLOW_ALL,
};

/** The Temporal Schedule's spec, policies and action for a schedule. */
function temporalSchedule(deps: ApiDeps, id: string, body: Pick<JobScheduleBody, 'spec' | 'overlap'>) {
  const spec: JobScheduleSpec = body.spec;
  return {
    spec: {
      cronExpressions: spec.cron,
      intervals: spec.intervals.map((i) => ({ every: i.everySeconds * 1000, offset: i.offsetSeconds * 1000 })),
      timezone: spec.timeZone,
      ...(spec.startAt ? { startAt: new Date(spec.startAt) } : {}),
      ...(spec.endAt ? { endAt: new Date(spec.endAt) } : {}),
      ...(spec.jitterSeconds ? { jitter: spec.jitterSeconds * 1000 } : {}),
    },
    policies: { overlap: OVERLAP[body.overlap] },
    action: {
      type: 'startWorkflow' as const,
      workflowType: 'scheduledJobRun',
      taskQueue: deps.config.temporalTaskQueue,
      workflowId: jobScheduleId(id),
      args: [{ scheduleId: id }],
    },
  };
}

/**
 * Checks the body against the job version its runs will use; returns the values split into plain and secret. A
 * secret parameter the body leaves out takes the value `kept` has for it (a change keeps the stored one).
 */
async function checkBody(
  deps: ApiDeps,
  jobId: string,
  body: Pick<JobScheduleBody, 'version' | 'parameters'> & JobRunTargetSelection,
  kept: (name: string) => Promise<string | null> = async () => null,
) {
  const job = await deps.services.jobs.get(jobId);
  refuseArchived(job);
  const version = await deps.services.jobs.version(jobId, body.version ?? job.currentVersion);
  const def: JobDefinition = version.definition;
  const given: Record<string, unknown> = { ...body.parameters };
  for (const p of def.parameters) {
    if (p.type !== 'secret' || Object.hasOwn(given, p.name)) continue;
    const value = await kept(p.name);
    if (value !== null) given[p.name] = value;
  }
  const resolved = resolveRunValues(def, given);
  if (!resolved.ok) throw new ApiError(400, 'validation_failed', 'The parameter values are not valid.', resolved.issues);
  const secretNames = new Set(def.parameters.filter((p) => p.type === 'secret').map((p) => p.name));
  const values: Record<string, string | number | boolean> = {};
  const secrets = new Map<string, string>();
  for (const [name, value] of resolved.values) {
    if (secretNames.has(name)) secrets.set(name, String(value));
    else values[name] = value;
  }
  if (secrets.size > 0 && !deps.secrets.configured)
    throw new SecretsUnavailableError('Secret parameters need the secret store (SECRETS_MASTER_KEYS).');
  // The selection must name known devices and groups now (its devices are resolved at each run).
  await previewTargets(deps, normalizeSelection(body), 0);
  return { job, values, secrets };
}

/**
 * A Temporal refusal of the spec (a cron expression it cannot read) is the caller's mistake: Temporal answers
 * INVALID_ARGUMENT, which its schedule client rethrows as a TypeError.
 */
function invalidSpec(err: unknown): ApiError | undefined {
  if (!(err instanceof TypeError) && (err as { code?: unknown })?.code !== 3) return undefined;
  return new ApiError(400, 'validation_failed', 'Temporal refused the schedule.', [
    { path: 'spec', message: String((err as Error).message).slice(0, 500) },
  ]);
}

/** Writes the schedule's row: inserted on creation, replaced (but its job and creator) on a change. */
async function saveRow(
  uow: Parameters<Parameters<typeof withUnitOfWork>[2]>[0],
  row: { id: string; jobId: string; createdById: string | null },
  body: JobScheduleBody,
  values: Record<string, string | number | boolean>,
  secrets: Map<string, string>,
): Promise<void> {
  await uow.sql.query(
    `INSERT INTO job_schedules (id, job_id, created_by_id, name, description, job_version, spec, overlap, target_selection, parameters,
                                secret_parameters, max_concurrency, failure_threshold_count, failure_threshold_percent, deadline_seconds, paused)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
     ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, description = EXCLUDED.description, job_version = EXCLUDED.job_version,
       spec = EXCLUDED.spec, overlap = EXCLUDED.overlap, target_selection = EXCLUDED.target_selection, parameters = EXCLUDED.parameters,
       secret_parameters = EXCLUDED.secret_parameters, max_concurrency = EXCLUDED.max_concurrency,
       failure_threshold_count = EXCLUDED.failure_threshold_count, failure_threshold_percent = EXCLUDED.failure_threshold_percent,
       deadline_seconds = EXCLUDED.deadline_seconds, paused = EXCLUDED.paused, updated_at = now()`,
    [
      row.id,
      row.jobId,
      row.createdById,
      body.name,
      body.description,
      body.version ?? null,
      JSON.stringify(body.spec),
      body.overlap,
      JSON.stringify(normalizeSelection(body)),
      JSON.stringify(values),
      [...secrets.keys()],
      body.maxConcurrency ?? null,
      body.failureThreshold?.count ?? null,
      body.failureThreshold?.percent ?? null,
      body.deadlineSeconds,
      body.paused,
    ],
  );
  await uow.sql.query('DELETE FROM secrets WHERE owner_type = $1 AND owner_id = $2', [JOB_SCHEDULE_SECRET_OWNER, row.id]);
}

async function putSecrets(
  deps: ApiDeps,
  id: string,
  secrets: Map<string, string>,
  uow: Parameters<Parameters<typeof withUnitOfWork>[2]>[0],
) {
  for (const [name, value] of secrets) {
    await deps.secrets.put({ ownerType: JOB_SCHEDULE_SECRET_OWNER, ownerId: id, purpose: jobRunSecretPurpose(name) }, value, uow);
  }
}

export async function createJobSchedule(
  deps: ApiDeps,
  user: AuthUser,
  origin: Origin,
  jobId: string,
  body: JobScheduleBody,
): Promise<string> {
  const { values, secrets } = await checkBody(deps, jobId, body);
  if (await deps.db.prisma.jobSchedule.findUnique({ where: { name: body.name } }))
    throw new ApiError(409, 'name_taken', 'A schedule with this name exists.', [{ path: 'name', message: 'is taken' }]);
  const id = randomUUID();
  await withUnitOfWork(deps.db, origin, async (uow) => {
    await saveRow(uow, { id, jobId, createdById: user.id }, body, values, secrets);
    await putSecrets(deps, id, secrets, uow);
    await uow.audit({
      action: 'job_schedule.create',
      targetType: 'job_schedule',
      targetId: id,
      details: { jobId, name: body.name, spec: body.spec },
    });
  });
  try {
    const options: ScheduleOptions = {
      scheduleId: jobScheduleId(id),
      ...temporalSchedule(deps, id, body),
      state: { paused: body.paused, note: body.paused ? 'Created paused' : undefined },
    };
    await withTemporalDeadline(deps.temporal, () => deps.temporal.schedule.create(options));
  } catch (err) {
    deps.logger.warn({ err, scheduleId: id }, 'creating the Temporal Schedule failed');
    await deps.db.prisma.jobSchedule.delete({ where: { id } }).catch(() => {});
    await deps.db.pool
      .query('DELETE FROM secrets WHERE owner_type = $1 AND owner_id = $2', [JOB_SCHEDULE_SECRET_OWNER, id])
      .catch(() => {});
    throw invalidSpec(err) ?? new ApiError(503, 'temporal_unavailable');
  }
  return id;
}

export async function updateJobSchedule(deps: ApiDeps, origin: Origin, id: string, update: JobScheduleUpdateBody): Promise<void> {
  const row = await mustFind(deps, id);
  const { values, secrets } = await checkBody(deps, row.jobId, update, (name) =>
    deps.secrets.revealText({ ownerType: JOB_SCHEDULE_SECRET_OWNER, ownerId: id, purpose: jobRunSecretPurpose(name) }),
  );
  const other = await deps.db.prisma.jobSchedule.findUnique({ where: { name: update.name } });
  if (other && other.id !== id)
    throw new ApiError(409, 'name_taken', 'A schedule with this name exists.', [{ path: 'name', message: 'is taken' }]);
  const schedule = temporalSchedule(deps, id, update);
  // Left out, `paused` stays as Temporal has it now (someone may have paused the schedule in the Temporal UI).
  let paused = update.paused ?? row.paused;
  try {
    await withTemporalDeadline(deps.temporal, () =>
      deps.temporal.schedule.getHandle(jobScheduleId(id)).update((previous): ScheduleUpdateOptions => {
        paused = update.paused ?? previous.state.paused;
        return {
          ...previous,
          spec: schedule.spec,
          policies: { ...previous.policies, overlap: schedule.policies.overlap },
          action: { ...schedule.action },
          state: { ...previous.state, paused },
        };
      }),
    );
  } catch (err) {
    if (err instanceof ScheduleNotFoundError)
      throw new ApiError(404, 'not_found', 'The Temporal Schedule is gone; delete this schedule and create it again.');
    throw invalidSpec(err) ?? new ApiError(503, 'temporal_unavailable');
  }
  const body: JobScheduleBody = { ...update, paused };
  await withUnitOfWork(deps.db, origin, async (uow) => {
    await saveRow(uow, { id, jobId: row.jobId, createdById: row.createdById }, body, values, secrets);
    await putSecrets(deps, id, secrets, uow);
    await uow.audit({
      action: 'job_schedule.update',
      targetType: 'job_schedule',
      targetId: id,
      details: { name: body.name, spec: body.spec },
    });
  });
}

async function mustFind(deps: ApiDeps, id: string): Promise<JobSchedule> {
  const row = await deps.db.prisma.jobSchedule.findUnique({ where: { id } });
  if (!row) throw new ApiError(404, 'not_found');
  return row;
}

/** Pause, unpause, trigger now (the overlap policy applies) or delete, in Temporal first, then recorded. */
export async function actOnJobSchedule(
  deps: ApiDeps,
  origin: Origin,
  id: string,
  action: 'pause' | 'unpause' | 'trigger' | 'delete',
  note?: string,
) {
  await mustFind(deps, id);
  const handle = deps.temporal.schedule.getHandle(jobScheduleId(id));
  try {
    await withTemporalDeadline(deps.temporal, async () => {
      if (action === 'pause') await handle.pause(note ?? 'Paused from OpsConductor');
      else if (action === 'unpause') await handle.unpause(note ?? 'Unpaused from OpsConductor');
      else if (action === 'trigger') await handle.trigger();
      else await handle.delete();
    });
  } catch (err) {
    // Deleting a schedule whose Temporal Schedule is already gone just removes the row.
    if (!(action === 'delete' && err instanceof ScheduleNotFoundError)) {
      if (err instanceof ScheduleNotFoundError)
        throw new ApiError(404, 'not_found', 'The Temporal Schedule is gone; delete this schedule and create it again.');
      throw new ApiError(503, 'temporal_unavailable');
    }
  }
  await withUnitOfWork(deps.db, origin, async (uow) => {
    if (action === 'delete') {
      await uow.sql.query('DELETE FROM secrets WHERE owner_type = $1 AND owner_id = $2', [JOB_SCHEDULE_SECRET_OWNER, id]);
      await uow.sql.query('DELETE FROM job_schedules WHERE id = $1', [id]);
    } else if (action !== 'trigger') {
      await uow.sql.query('UPDATE job_schedules SET paused = $2, updated_at = now() WHERE id = $1', [id, action === 'pause']);
    }
    await uow.audit({ action: `job_schedule.${action}`, targetType: 'job_schedule', targetId: id, details: note ? { note } : undefined });
  });
}

type Row = JobSchedule & { job: { id: string; name: string }; createdBy: { email: string } | null };

function toDto(deps: ApiDeps, r: Row) {
  return {
    id: r.id,
    scheduleId: jobScheduleId(r.id),
    temporalUrl: deps.config.temporalUiUrl
      ? `${deps.config.temporalUiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(deps.config.temporalNamespace)}/schedules/${encodeURIComponent(jobScheduleId(r.id))}`
      : null,
    name: r.name,
    description: r.description,
    job: r.job,
    version: r.jobVersion,
    spec: r.spec as JobScheduleSpec,
    overlap: r.overlap as (typeof scheduleOverlapPolicies)[number],
    targetSelection: r.targetSelection as JobRunTargetSelection,
    parameters: r.parameters as Record<string, string | number | boolean>,
    secretParameters: r.secretParameters,
    maxConcurrency: r.maxConcurrency,
    failureThreshold:
      r.failureThresholdCount === null && r.failureThresholdPercent === null
        ? null
        : { count: r.failureThresholdCount, percent: r.failureThresholdPercent },
    deadlineSeconds: r.deadlineSeconds,
    paused: r.paused,
    lastError: r.lastError,
    createdBy: r.createdBy?.email ?? null,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}

const include = { job: { select: { id: true, name: true } }, createdBy: { select: { email: true } } } as const;

export async function listJobSchedules(deps: ApiDeps, q: { jobId?: string; page: number; pageSize: number }) {
  const where = q.jobId ? { jobId: q.jobId } : {};
  const [rows, total] = await Promise.all([
    deps.db.prisma.jobSchedule.findMany({ where, include, orderBy: [{ name: 'asc' }], skip: (q.page - 1) * q.pageSize, take: q.pageSize }),
    deps.db.prisma.jobSchedule.count({ where }),
  ]);
  return { items: rows.map((r) => toDto(deps, r)), total };
}

/** A schedule with what Temporal says of it (next times, recent actions, pause note) and its newest runs. */
export async function getJobSchedule(deps: ApiDeps, id: string) {
  const row = await deps.db.prisma.jobSchedule.findUnique({ where: { id }, include });
  if (!row) throw new ApiError(404, 'not_found');
  const [description, runs] = await Promise.all([
    withTemporalDeadline(deps.temporal, () => deps.temporal.schedule.getHandle(jobScheduleId(id)).describe()).catch(
      (err: unknown): ScheduleDescription | null => {
        deps.logger.warn({ err, scheduleId: id }, 'describing the Temporal Schedule failed');
        return null;
      },
    ),
    deps.db.prisma.jobRun.findMany({ where: { scheduleId: id }, orderBy: [{ createdAt: 'desc' }], take: 10 }),
  ]);
  return {
    ...toDto(deps, row),
    temporal: description && {
      paused: description.state.paused,
      note: description.state.note ?? null,
      upcoming: description.info.nextActionTimes.map((d) => d.toISOString()),
      recentActions: description.info.recentActions.map((a) => ({
        scheduledAt: a.scheduledAt.toISOString(),
        takenAt: a.takenAt.toISOString(),
        workflowId: a.action.type === 'startWorkflow' ? a.action.workflow.workflowId : '',
      })),
    },
    recentRuns: runs.map((r) => ({
      id: r.id,
      status: r.status,
      createdAt: r.createdAt.toISOString(),
      finishedAt: r.finishedAt?.toISOString() ?? null,
      workflowId: r.workflowId,
    })),
  };
}
