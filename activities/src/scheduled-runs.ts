/**
 * `recordScheduledRun`: the run a job's schedule starts when it fires (ADR 20), recorded with the schedule's settings:
 * the job version it names (or the job's current one), its values (secret ones stay with the schedule in the secret
 * store: the run refers to them), its targets resolved now (packages/devices, as the API resolves them), concurrency,
 * threshold and deadline. One run per firing: the scheduled workflow's ID is unique on the run.
 */
import { randomUUID } from 'node:crypto';
import { jobDefinition } from '@opsconductor/contracts/jobs';
import type { JobRunTargetSelection } from '@opsconductor/contracts/api';
import type { Database } from '@opsconductor/db';
import { resolveTargets } from '@opsconductor/devices';
import { JOB_SCHEDULE_SECRET_OWNER, jobRunStart, recordJobRun, resolveRunValues, type ParameterValue } from '@opsconductor/jobs';
import { DEFAULT_PRESENCE, type PresenceThresholds } from '@opsconductor/rules';
import { ServiceError, systemActor, withUnitOfWork } from '@opsconductor/unit-of-work';
import type { Logger } from 'pino';
import type { ChainedRun } from './types.ts';

export function createScheduledRunActivities({ db, logger, presence }: { db: Database; logger: Logger; presence?: PresenceThresholds }) {
  const targetDeps = { db, presence: presence ?? DEFAULT_PRESENCE };
  return {
    /** Records the firing's run and returns its workflow input, or why none was recorded (also kept as the schedule's lastError). */
    async recordScheduledRun({ scheduleId, workflowId }: { scheduleId: string; workflowId: string }): Promise<ChainedRun> {
      const log = logger.child({ activity: 'recordScheduledRun', scheduleId, workflowId });
      const earlier = await db.pool.query<{
        id: string;
        created_at: Date;
        deadline_at: Date;
        max_concurrency: number | null;
        approval_expires_at: Date | null;
        created_by_id: string | null;
        definition: unknown;
      }>(
        `SELECT jr.id, jr.created_at, jr.deadline_at, jr.max_concurrency, jr.approval_expires_at, jr.created_by_id, jv.definition
           FROM job_runs jr JOIN job_versions jv ON jv.job_id = jr.job_id AND jv.version = jr.job_version WHERE jr.schedule_workflow_id = $1`,
        [workflowId],
      );
      const done = earlier.rows[0];
      if (done) {
        // A retried attempt: the run is recorded already.
        const def = jobDefinition.parse(done.definition);
        const targets = await db.pool.query<{ device_id: string }>('SELECT device_id FROM job_run_devices WHERE job_run_id = $1', [
          done.id,
        ]);
        const run = jobRunStart(
          def,
          {
            id: done.id,
            createdAt: done.created_at,
            deadlineAt: done.deadline_at,
            maxConcurrency: done.max_concurrency,
            approvalExpiresAt: done.approval_expires_at,
            createdById: done.created_by_id,
          },
          targets.rows.map((t) => t.device_id),
        );
        return { note: null, run };
      }
      const { rows } = await db.pool.query<{
        job_id: string;
        job_version: number | null;
        current_version: number;
        target_selection: JobRunTargetSelection;
        parameters: Record<string, ParameterValue>;
        secret_parameters: string[];
        max_concurrency: number | null;
        failure_threshold_count: number | null;
        failure_threshold_percent: number | null;
        deadline_seconds: number;
        created_by_id: string | null;
      }>(
        `SELECT s.job_id, s.job_version, j.current_version, s.target_selection, s.parameters, s.secret_parameters, s.max_concurrency,
                s.failure_threshold_count, s.failure_threshold_percent, s.deadline_seconds, s.created_by_id
           FROM job_schedules s JOIN jobs j ON j.id = s.job_id WHERE s.id = $1`,
        [scheduleId],
      );
      const schedule = rows[0];
      if (!schedule) return { note: `The schedule ${scheduleId} no longer exists.` };
      const notStarted = async (why: string): Promise<ChainedRun> => {
        await db.pool.query('UPDATE job_schedules SET last_error = $2 WHERE id = $1', [scheduleId, why]);
        log.warn({ why }, 'the scheduled run was not started');
        return { note: why };
      };
      const version = schedule.job_version ?? schedule.current_version;
      const found = await db.pool.query<{ definition: unknown }>('SELECT definition FROM job_versions WHERE job_id = $1 AND version = $2', [
        schedule.job_id,
        version,
      ]);
      const def = jobDefinition.safeParse(found.rows[0]?.definition);
      if (!def.success) return notStarted(`The job has no version ${version}.`);
      // The schedule's secrets stand in for values here; the run refers to them in the secret store.
      const given = { ...schedule.parameters, ...Object.fromEntries(schedule.secret_parameters.map((name) => [name, ''])) };
      const values = resolveRunValues(def.data, given);
      if (!values.ok) return notStarted(`Not started: ${values.issues.map((i) => `${i.path} ${i.message}`).join('; ')}.`);
      let targets: { id: string; hostname: string }[];
      try {
        targets = await resolveTargets(targetDeps, schedule.target_selection);
      } catch (err) {
        if (err instanceof ServiceError) return notStarted(`Not started: ${err.detail ?? err.code}`);
        throw err;
      }
      const secretNames = schedule.secret_parameters.filter((name) =>
        def.data.parameters.some((p) => p.name === name && p.type === 'secret'),
      );
      const plain = new Map([...values.values].filter(([name]) => !secretNames.includes(name)));
      const id = randomUUID();
      const run = await withUnitOfWork(db, { actor: systemActor(`schedule ${scheduleId}`) }, async ({ sql, audit }) => {
        const start = await recordJobRun(sql, {
          id,
          job: { id: schedule.job_id, version, definition: def.data },
          values: plain,
          secretNames,
          secretsFrom: { ownerType: JOB_SCHEDULE_SECRET_OWNER, ownerId: scheduleId },
          targets,
          deadlineSeconds: schedule.deadline_seconds,
          maxConcurrency: schedule.max_concurrency,
          failureThreshold:
            schedule.failure_threshold_count === null && schedule.failure_threshold_percent === null
              ? null
              : { count: schedule.failure_threshold_count ?? undefined, percent: schedule.failure_threshold_percent ?? undefined },
          createdById: schedule.created_by_id,
          targetSelection: schedule.target_selection,
          schedule: { id: scheduleId, workflowId },
        });
        await sql.query('UPDATE job_schedules SET last_error = NULL WHERE id = $1', [scheduleId]);
        await audit({
          action: 'job_run.create',
          targetType: 'job_run',
          targetId: id,
          details: { kind: 'job', jobId: schedule.job_id, jobVersion: version, scheduleId, deviceCount: targets.length },
        });
        return start;
      });
      log.info({ jobRunId: id, devices: targets.length }, 'scheduled run recorded');
      return { note: null, run };
    },
  };
}
