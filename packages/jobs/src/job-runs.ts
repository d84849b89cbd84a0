/**
 * Recording a run of a saved job (ADR 20): the API does it when an operator starts one (or re-runs its failed
 * devices), the worker when a job's chain starts the next job. The run records the job version, the parameter
 * values (secret parameters by name only: their values go to the secret store, owner `job_run`), its concurrency
 * limit and failure threshold, and its targets; the `jobRun` workflow then runs the steps on them.
 */
import type { JobDefinition } from '@opsconductor/contracts/jobs';
import type { Sql } from '@opsconductor/domain-events';
import { longestDeviceRunMs } from './step-machine.ts';
import type { ParameterValue } from './run-values.ts';

/** The secret store's owner type of a run's secret parameter values; the purpose is `parameter:<name>`. */
export const JOB_RUN_SECRET_OWNER = 'job_run';
export const jobRunSecretPurpose = (name: string) => `parameter:${name}`;
/** A schedule's secret parameter values (same purposes): the runs it starts refer to them (`secretsFrom`). */
export const JOB_SCHEDULE_SECRET_OWNER = 'job_schedule';

/** Where a run's secret values are: its own (owner `job_run`), or its schedule's. */
export interface SecretOwner {
  ownerType: string;
  ownerId: string;
}

/** The owner of a run's secrets, from its recorded parameters. */
export function secretOwnerOf(jobRunId: string, parameters: unknown): SecretOwner {
  const from = (parameters as { secretsFrom?: SecretOwner } | null)?.secretsFrom;
  return from ?? { ownerType: JOB_RUN_SECRET_OWNER, ownerId: jobRunId };
}
/** Time past a step's pickup window and timeout that a batch waits for its result (activities' STEP_RESULT_GRACE_MS). */
export const STEP_RESULT_GRACE_MS = 60_000;

export interface NewJobRun {
  id: string;
  job: { id: string; version: number; definition: JobDefinition };
  /** Non-secret values, defaults filled in. */
  values: ReadonlyMap<string, ParameterValue>;
  /** Secret parameters the run has a value for (stored by the caller in the secret store, in the same transaction). */
  secretNames: readonly string[];
  targets: readonly { id: string; hostname: string }[];
  /** How long devices may take to pick a step up, and until when new devices start. */
  deadlineSeconds: number;
  maxConcurrency: number | null;
  failureThreshold: { count?: number | undefined; percent?: number | undefined } | null;
  createdById: string | null;
  /** What was asked for (device IDs, groups, tags, a filter), as the run records it. */
  targetSelection: unknown;
  rerunOfId?: string;
  chainedFromId?: string;
  /** The secrets are another owner's (a schedule's), not the run's own. */
  secretsFrom?: SecretOwner;
  /** The schedule that started it, and the scheduled workflow (one run per firing). */
  schedule?: { id: string; workflowId: string };
}

/** What the `jobRun` workflow of a job's run takes (JobRunInput with `job`). */
export interface JobRunStart {
  jobRunId: string;
  deviceIds: string[];
  deadlineAt: string;
  maxConcurrency?: number;
  job: { giveUpAt: string };
  /** The job needs approval: the run waits for a decision until `expiresAt`; `requestedBy` (the creator) may not decide. */
  approval?: { expiresAt: string; requestedBy: string | null };
}

export const jobRunWorkflowId = (jobRunId: string) => `job-run/${jobRunId}`;

/** The workflow input of a recorded job run. */
export function jobRunStart(
  def: JobDefinition,
  run: {
    id: string;
    createdAt: Date;
    deadlineAt: Date;
    maxConcurrency: number | null;
    approvalExpiresAt: Date | null;
    createdById: string | null;
  },
  deviceIds: string[],
): JobRunStart {
  return {
    jobRunId: run.id,
    deviceIds,
    deadlineAt: run.deadlineAt.toISOString(),
    ...(run.maxConcurrency ? { maxConcurrency: run.maxConcurrency } : {}),
    job: { giveUpAt: jobRunGiveUpAt(def, run.createdAt, run.deadlineAt).toISOString() },
    ...(run.approvalExpiresAt ? { approval: { expiresAt: run.approvalExpiresAt.toISOString(), requestedBy: run.createdById } } : {}),
  };
}

/** The latest a job's run can still be going: its deadline plus the longest a device can take with every step. */
export function jobRunGiveUpAt(def: JobDefinition, createdAt: Date, deadlineAt: Date): Date {
  const pickupMs = deadlineAt.getTime() - createdAt.getTime();
  return new Date(deadlineAt.getTime() + longestDeviceRunMs(def.steps, pickupMs, STEP_RESULT_GRACE_MS));
}

/**
 * Writes the run and its targets (in the caller's transaction); returns the workflow's input. A job that needs
 * approval starts `awaiting_approval`, until its approval expires; its deadline starts again when it is approved.
 */
export async function recordJobRun(sql: Sql, run: NewJobRun): Promise<JobRunStart> {
  const def = run.job.definition;
  const { rows } = await sql.query<{ created_at: Date; deadline_at: Date; approval_expires_at: Date | null }>(
    `INSERT INTO job_runs (id, workflow_id, kind, command, shell, timeout_seconds, deadline_at, created_by_id, target_selection,
                           job_id, job_version, parameters, max_concurrency, failure_threshold_count, failure_threshold_percent,
                           rerun_of_id, chained_from_id, status, approval_expires_at, schedule_id, schedule_workflow_id)
     VALUES ($1, $2, 'job', $3, 'default', $4, now() + make_interval(secs => $5), $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
             CASE WHEN $16::int IS NULL THEN 'queued' ELSE 'awaiting_approval' END::"JobRunStatus",
             now() + make_interval(secs => $16::int), $17, $18)
     RETURNING created_at, deadline_at, approval_expires_at`,
    [
      run.id,
      jobRunWorkflowId(run.id),
      `${def.name} (version ${run.job.version})`,
      Math.max(...def.steps.map((s) => s.timeoutSeconds)),
      run.deadlineSeconds,
      run.createdById,
      JSON.stringify(run.targetSelection),
      run.job.id,
      run.job.version,
      JSON.stringify({
        values: Object.fromEntries(run.values),
        secrets: [...run.secretNames],
        ...(run.secretsFrom ? { secretsFrom: run.secretsFrom } : {}),
      }),
      run.maxConcurrency,
      run.failureThreshold?.count ?? null,
      run.failureThreshold?.percent ?? null,
      run.rerunOfId ?? null,
      run.chainedFromId ?? null,
      def.approval?.expiresAfterSeconds ?? null,
      run.schedule?.id ?? null,
      run.schedule?.workflowId ?? null,
    ],
  );
  await sql.query(
    `INSERT INTO job_run_devices (id, job_run_id, device_id, hostname)
     SELECT gen_random_uuid(), $1::uuid, t.device_id, t.hostname FROM unnest($2::uuid[], $3::text[]) AS t(device_id, hostname)`,
    [run.id, run.targets.map((t) => t.id), run.targets.map((t) => t.hostname)],
  );
  const row = rows[0]!;
  return jobRunStart(
    def,
    {
      id: run.id,
      createdAt: row.created_at,
      deadlineAt: row.deadline_at,
      maxConcurrency: run.maxConcurrency,
      approvalExpiresAt: row.approval_expires_at,
      createdById: run.createdById,
    },
    run.targets.map((t) => t.id),
  );
}
