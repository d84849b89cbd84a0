/**
 * Runs of saved jobs (ADR 20): start one (values checked against the job version, secrets into the secret store,
 * targets resolved and recorded, the `jobRun` workflow started), run a finished run again on the devices that did
 * not succeed, read a device's steps, approve or reject a run that waits for approval. Cancelling one device of any
 * run is here too.
 */
import { randomUUID } from 'node:crypto';
import { MAX_JOB_STEPS, type JobDefinition } from '@opsconductor/contracts/jobs';
import type { CreateJobRunOfJobRequest } from '@opsconductor/contracts/jobs-api';
import type { JobRunTargetSelection } from '@opsconductor/contracts/api';
import { closeStepsSql, lockOpenCommands, requestCancellation } from '@opsconductor/commands';
import { withTransaction } from '@opsconductor/db';
import { channels } from '@opsconductor/db/notify';
import {
  JOB_RUN_SECRET_OWNER,
  jobFiles,
  jobRunSecretPurpose,
  jobRunStart,
  recordJobRun,
  resolveRunValues,
  type ParameterValue,
} from '@opsconductor/jobs';
import { SecretsUnavailableError } from '@opsconductor/secrets';
import { withUnitOfWork, type Origin } from '@opsconductor/unit-of-work';
import type { ApiDeps, AuthUser } from '../context.ts';
import { ApiError } from '../lib/problem.ts';
import type { JobRun } from '@opsconductor/db';
import { normalizeSelection, resolveTargets } from './job-run-targets.ts';
import { isKeyTaken, keyedRun, keyRetentionCutoff, pruneIdempotencyKeys, requestHash, type IdempotencyKey } from './run-idempotency.ts';
import { startJobRunWorkflow } from './job-runs.ts';
import { withTemporalDeadline } from '../lib/temporal.ts';
import type { ApprovalDecided } from '@opsconductor/workflows';

export interface StartedJobRun {
  id: string;
  deviceCount: number;
  /** The run an earlier request with the same Idempotency-Key created. */
  replayed: boolean;
}

interface RunPlan {
  job: { id: string; version: number; definition: JobDefinition };
  given: Record<string, unknown>;
  targets: { id: string; hostname: string }[];
  targetSelection: unknown;
  deadlineSeconds: number;
  maxConcurrency: number | null;
  failureThreshold: { count?: number | undefined; percent?: number | undefined } | null;
  rerunOfId?: string;
  idempotency?: IdempotencyKey | undefined;
}

/**
 * Checks the values, records the run with its secrets, audit row and idempotency key in one transaction, then starts
 * its workflow. A key an earlier request kept gets that request's run (its workflow started now if it never was).
 */
async function startRun(deps: ApiDeps, user: AuthUser, origin: Origin, plan: RunPlan): Promise<StartedJobRun> {
  const key = plan.idempotency;
  if (key) {
    const earlier = await keyedRun(deps, user.id, key);
    if (earlier) return replay(deps, earlier);
  }
  const { definition } = plan.job;
  const resolved = resolveRunValues(definition, plan.given);
  if (!resolved.ok) throw new ApiError(400, 'validation_failed', 'The parameter values are not valid.', resolved.issues);
  const secretNames = new Set(definition.parameters.filter((p) => p.type === 'secret').map((p) => p.name));
  const values = new Map<string, ParameterValue>();
  const secrets = new Map<string, string>();
  for (const [name, value] of resolved.values) {
    if (secretNames.has(name)) secrets.set(name, String(value));
    else values.set(name, value);
  }
  if (secrets.size > 0 && !deps.secrets.configured)
    throw new SecretsUnavailableError('Secret parameters need the secret store (SECRETS_MASTER_KEYS).');
  const files = jobFiles(definition);
  if (files.length > 0) {
    const stored = new Set(
      (await deps.db.prisma.storedFile.findMany({ where: { sha256: { in: files } }, select: { sha256: true } })).map((f) => f.sha256),
    );
    const missing = files.filter((sha) => !stored.has(sha));
    if (missing.length > 0)
      throw new ApiError(
        400,
        'unknown_file',
        undefined,
        missing.map((sha) => ({ path: 'definition.steps', message: `no stored file has the SHA-256 ${sha}` })),
      );
  }
  const id = randomUUID();
  const record = withUnitOfWork(deps.db, origin, async (uow) => {
    const recorded = await recordJobRun(uow.sql, {
      id,
      job: plan.job,
      values,
      secretNames: [...secrets.keys()],
      targets: plan.targets,
      deadlineSeconds: plan.deadlineSeconds,
      maxConcurrency: plan.maxConcurrency,
      failureThreshold: plan.failureThreshold,
      createdById: user.id,
      targetSelection: plan.targetSelection,
      ...(plan.rerunOfId ? { rerunOfId: plan.rerunOfId } : {}),
    });
    for (const [name, value] of secrets) {
      await deps.secrets.put({ ownerType: JOB_RUN_SECRET_OWNER, ownerId: id, purpose: jobRunSecretPurpose(name) }, value, uow);
    }
    if (key) {
      // A key older than the retention period is free again.
      await uow.sql.query('DELETE FROM job_run_idempotency_keys WHERE user_id = $1 AND key = $2 AND created_at < $3', [
        user.id,
        key.key,
        keyRetentionCutoff(),
      ]);
      await uow.sql.query('INSERT INTO job_run_idempotency_keys (user_id, key, request_hash, job_run_id) VALUES ($1, $2, $3, $4)', [
        user.id,
        key.key,
        key.requestHash,
        id,
      ]);
    }
    await uow.audit({
      action: plan.rerunOfId ? 'job_run.rerun' : 'job_run.create',
      targetType: 'job_run',
      targetId: id,
      details: {
        kind: 'job',
        jobId: plan.job.id,
        jobVersion: plan.job.version,
        jobName: definition.name,
        deviceCount: plan.targets.length,
        parameters: Object.fromEntries(values),
        secretParameters: [...secrets.keys()],
        ...(plan.rerunOfId ? { rerunOf: plan.rerunOfId } : {}),
      },
    });
    return recorded;
  });
  let start: Awaited<typeof record>;
  try {
    start = await record;
  } catch (err) {
    // A concurrent request with the same key got there first: the unique key made this one wait for its commit.
    const earlier = key && isKeyTaken(err) ? await keyedRun(deps, user.id, key) : undefined;
    if (earlier) return replay(deps, earlier);
    throw err;
  }
  await startJobRunWorkflow(deps, start, key !== undefined);
  if (key) pruneIdempotencyKeys(deps);
  return { id, deviceCount: plan.targets.length, replayed: false };
}

/**
 * An earlier request's run. Its request may have stopped between its commit and the workflow start (the API died,
 * Temporal was slow): a run that has not begun (queued, or awaiting its approval) gets its workflow started now; a
 * no-op when it runs.
 */
async function replay(deps: ApiDeps, run: JobRun): Promise<StartedJobRun> {
  const { prisma } = deps.db;
  const notBegun = !run.finishedAt && (run.status === 'queued' || run.status === 'awaiting_approval');
  if (!notBegun || !run.jobId || run.jobVersion === null) {
    return { id: run.id, deviceCount: await prisma.jobRunDevice.count({ where: { jobRunId: run.id } }), replayed: true };
  }
  const [version, targets] = await Promise.all([
    deps.services.jobs.version(run.jobId, run.jobVersion),
    prisma.jobRunDevice.findMany({ where: { jobRunId: run.id }, select: { deviceId: true }, orderBy: { hostname: 'asc' } }),
  ]);
  const deviceIds = targets.map((t) => t.deviceId);
  await startJobRunWorkflow(deps, jobRunStart(version.definition, run, deviceIds), true);
  return { id: run.id, deviceCount: deviceIds.length, replayed: true };
}

/** What an idempotency key stands for: the request, secret values left out (their hash would be a way to test guesses). */
function keyOf(idempotencyKey: string | undefined, request: Record<string, unknown>, secretNames: ReadonlySet<string>) {
  if (idempotencyKey === undefined) return undefined;
  const parameters = request.parameters as Record<string, unknown> | undefined;
  const masked = parameters && Object.fromEntries(Object.entries(parameters).map(([n, v]) => [n, secretNames.has(n) ? 'secret' : v]));
  return { key: idempotencyKey, requestHash: requestHash({ ...request, ...(masked ? { parameters: masked } : {}) }) };
}

const secretNamesOf = (def: JobDefinition) => new Set(def.parameters.filter((p) => p.type === 'secret').map((p) => p.name));

/** An archived job gets no new runs (nor schedules, services/job-schedules.ts). */
export function refuseArchived(job: { name: string; archivedAt: Date | null }): void {
  if (job.archivedAt) throw new ApiError(409, 'job_archived', `"${job.name}" is archived: take it out of the archive to run it.`);
}

/** Starts a run of a job (its current version unless `version` is given) on the selected devices. */
export async function runJob(
  deps: ApiDeps,
  user: AuthUser,
  origin: Origin,
  jobId: string,
  req: CreateJobRunOfJobRequest,
  idempotencyKey?: string,
): Promise<StartedJobRun> {
  const job = await deps.services.jobs.get(jobId);
  refuseArchived(job);
  const version = await deps.services.jobs.version(jobId, req.version ?? job.currentVersion);
  const selection: JobRunTargetSelection = normalizeSelection(req);
  const targets = await resolveTargets(deps, selection);
  if (req.expectedDeviceCount !== undefined && req.expectedDeviceCount !== targets.length) {
    throw new ApiError(
      409,
      'target_count_changed',
      `The selection now matches ${targets.length.toLocaleString('en-US')} devices, not the ${req.expectedDeviceCount.toLocaleString('en-US')} confirmed.`,
    );
  }
  return startRun(deps, user, origin, {
    job: { id: jobId, version: version.version, definition: version.definition },
    given: req.parameters,
    targets,
    targetSelection: selection,
    deadlineSeconds: req.deadlineSeconds,
    maxConcurrency: req.maxConcurrency ?? null,
    failureThreshold: req.failureThreshold ?? null,
    idempotency: keyOf(idempotencyKey, { jobId, ...req }, secretNamesOf(version.definition)),
  });
}

/**
 * Runs a finished job run again, same version, values, deadline, concurrency and threshold, on its devices that did
 * not succeed (retired devices left out). Secret values are not kept past a run: they are given again.
 */
export async function rerunFailedDevices(
  deps: ApiDeps,
  user: AuthUser,
  origin: Origin,
  runId: string,
  secrets: Record<string, string>,
  idempotencyKey?: string,
): Promise<StartedJobRun> {
  const run = await deps.db.prisma.jobRun.findUnique({ where: { id: runId } });
  if (!run) throw new ApiError(404, 'not_found');
  if (!run.jobId || run.jobVersion === null) throw new ApiError(409, 'not_a_job_run');
  if (!run.finishedAt) throw new ApiError(409, 'run_not_finished');
  refuseArchived(await deps.services.jobs.get(run.jobId));
  const version = await deps.services.jobs.version(run.jobId, run.jobVersion);
  const { rows: targets } = await deps.db.pool.query<{ id: string; hostname: string }>(
    `SELECT jrd.device_id AS id, d.hostname FROM job_run_devices jrd JOIN devices d ON d.id = jrd.device_id AND d.retired_at IS NULL
      WHERE jrd.job_run_id = $1 AND jrd.status <> 'succeeded' ORDER BY d.hostname, d.id`,
    [runId],
  );
  if (targets.length === 0) throw new ApiError(409, 'nothing_to_rerun');
  const parameters = run.parameters as { values?: Record<string, ParameterValue> } | null;
  return startRun(deps, user, origin, {
    job: { id: run.jobId, version: run.jobVersion, definition: version.definition },
    given: { ...(parameters?.values ?? {}), ...secrets },
    targets,
    targetSelection: { rerunOf: runId, deviceIds: targets.map((t) => t.id) },
    deadlineSeconds: Math.max(10, Math.round((run.deadlineAt.getTime() - run.createdAt.getTime()) / 1000)),
    maxConcurrency: run.maxConcurrency,
    failureThreshold:
      run.failureThresholdCount === null && run.failureThresholdPercent === null
        ? null
        : { count: run.failureThresholdCount ?? undefined, percent: run.failureThresholdPercent ?? undefined },
    rerunOfId: runId,
    idempotency: keyOf(idempotencyKey, { rerunOf: runId, parameters: secrets }, new Set(Object.keys(secrets))),
  });
}

const CANCELLED_DEVICE = 'Cancelled for this device.';

/**
 * Cancels one device of a run: its commands nobody picked up end cancelled, running ones are flagged for the agent
 * to stop, and the device ends `cancelled` (with its step under way) unless it has already ended; the run's batch
 * and pages are woken. The rest of the run goes on.
 */
export async function cancelRunDevice(deps: ApiDeps, runId: string, deviceId: string): Promise<void> {
  const target = await deps.db.prisma.jobRunDevice.findUnique({ where: { jobRunId_deviceId: { jobRunId: runId, deviceId } } });
  if (!target) throw new ApiError(404, 'not_found');
  if (target.finishedAt) throw new ApiError(409, 'device_run_finished');
  const { flaggedDevices } = await withTransaction(deps.db.pool, async (client) => {
    // Commands before their target, the order in which results lock them.
    const open = await lockOpenCommands(client, { jobRunDeviceIds: [target.id] });
    const cancelled = await requestCancellation(client, open, CANCELLED_DEVICE);
    await client.query(
      `WITH closed AS (
         UPDATE job_run_devices SET status = 'cancelled', finished_at = now(), error_message = $2, updated_at = now()
          WHERE id = $1 AND finished_at IS NULL RETURNING id
       ), steps AS (${closeStepsSql('closed', "'cancelled'", '$2')})
       SELECT count(*) FROM closed`,
      [target.id, CANCELLED_DEVICE],
    );
    return cancelled;
  });
  for (const d of flaggedDevices) deps.events.publish(channels.agentCommands, d);
  deps.events.publish(channels.jobRunEvents, runId);
}

/** Every step of the job on one device of a run: its definition's name and kind with how far the device got. */
export async function deviceSteps(deps: ApiDeps, runId: string, deviceId: string) {
  const run = await deps.db.prisma.jobRun.findUnique({ where: { id: runId }, select: { jobId: true, jobVersion: true } });
  const target = await deps.db.prisma.jobRunDevice.findUnique({
    where: { jobRunId_deviceId: { jobRunId: runId, deviceId } },
    include: { steps: { orderBy: { stepIndex: 'asc' }, take: MAX_JOB_STEPS } },
  });
  if (!run || !target) throw new ApiError(404, 'not_found');
  if (!run.jobId || run.jobVersion === null) throw new ApiError(409, 'not_a_job_run');
  const { definition } = await deps.services.jobs.version(run.jobId, run.jobVersion);
  const byIndex = new Map(target.steps.map((s) => [s.stepIndex, s]));
  return {
    deviceId,
    hostname: target.hostname,
    status: target.status,
    steps: definition.steps.map((step, index) => {
      const row = byIndex.get(index);
      return {
        index,
        name: step.name,
        kind: step.kind,
        condition: step.condition,
        continueOnError: step.continueOnError,
        status: row?.status ?? ('not_reached' as const),
        attempts: row?.attempts ?? 0,
        exitCode: row?.exitCode === null || row?.exitCode === undefined ? null : Number(row.exitCode),
        errorMessage: row?.errorMessage ?? null,
        durationMs: row?.durationMs ?? null,
        startedAt: row?.startedAt?.toISOString() ?? null,
        finishedAt: row?.finishedAt?.toISOString() ?? null,
        nextAt: row?.nextAt?.toISOString() ?? null,
      };
    }),
  };
}

/**
 * Approves or rejects a run that waits for approval (four-eyes): recorded with its audit row only when the run still
 * waits, has not expired, and the decider is not the one who started it; then the workflow is signalled
 * (`approvalDecided`). The database holds the decision: when the signal cannot be sent (503), sending the same
 * decision again re-sends it, and the workflow finds the decision at its expiry anyway.
 */
export async function decideApproval(
  deps: ApiDeps,
  user: AuthUser,
  origin: Origin,
  runId: string,
  decision: 'approved' | 'rejected',
  comment: string | undefined,
): Promise<void> {
  const run = await deps.db.prisma.jobRun.findUnique({ where: { id: runId } });
  if (!run) throw new ApiError(404, 'not_found');
  if (!run.approvalExpiresAt) throw new ApiError(409, 'approval_not_needed');
  if (run.createdById === user.id) throw new ApiError(403, 'own_run_approval');
  const recorded = await withUnitOfWork(deps.db, origin, async (uow) => {
    const { rowCount } = await uow.sql.query(
      `UPDATE job_runs SET approval_decision = $2, approval_decided_by_id = $3, approval_decided_at = now(), approval_comment = $4
        WHERE id = $1 AND status = 'awaiting_approval' AND approval_decision IS NULL AND approval_expires_at > now()
          AND created_by_id IS DISTINCT FROM $3`,
      [runId, decision, user.id, comment ?? null],
    );
    if (rowCount) {
      await uow.audit({
        action: decision === 'approved' ? 'job_run.approve' : 'job_run.reject',
        targetType: 'job_run',
        targetId: runId,
        details: comment ? { comment } : undefined,
      });
    }
    return (rowCount ?? 0) > 0;
  });
  if (!recorded) {
    const now = await deps.db.prisma.jobRun.findUniqueOrThrow({ where: { id: runId } });
    // The same decision sent again by the same person while the run still waits: its signal may have been lost.
    const repeated = now.status === 'awaiting_approval' && now.approvalDecision === decision && now.approvalDecidedById === user.id;
    if (!repeated) {
      if (now.status === 'awaiting_approval' && !now.approvalDecision && now.approvalExpiresAt! <= new Date())
        throw new ApiError(409, 'approval_expired');
      throw new ApiError(409, 'approval_decided');
    }
  }
  try {
    await withTemporalDeadline(deps.temporal, () =>
      deps.temporal.workflow.getHandle(run.workflowId).signal<[ApprovalDecided]>('approvalDecided', { decision, by: user.id }),
    );
  } catch (err) {
    deps.logger.warn({ err, jobRunId: runId }, 'signalling the approval decision failed; it is recorded');
    throw new ApiError(
      503,
      'temporal_unavailable',
      'The decision is recorded; send it again to wake the run now (it is found at its expiry anyway).',
    );
  }
  deps.events.publish(channels.jobRunEvents, runId);
}
