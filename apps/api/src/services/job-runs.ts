/** Job runs: created here, executed by the `jobRun` workflow, read back for the console and API. */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import {
  MAX_EMBEDDED_TARGETS,
  deviceRunStatus,
  uuid,
  type CreateJobRunRequest,
  type JobRun,
  type JobRunListFilters,
  type JobRunSummary,
  type JobRunTarget,
  type JobRunTargetPage,
  type JobRunTargetSelection,
  type JobRunTargetsMode,
  type JobRunTargetsQuery,
  type OutputChunk,
  type OutputEncodingParam,
} from '@opsconductor/contracts/api';
import type { CommandKind, CommandPayload } from '@opsconductor/contracts/commands';
import { lockOpenCommands, requestCancellation, storePayload } from '@opsconductor/commands';
import { Prisma, withTransaction } from '@opsconductor/db';
import type { AuditRow } from '@opsconductor/unit-of-work';
import type { JobRunInput } from '@opsconductor/workflows';
import { jobRunWorkflowId } from '@opsconductor/jobs';
import { OpsDeviceIds, OpsJobRunId, deviceIdsForSearch } from '@opsconductor/workflows/search-attributes';
import { channels } from '@opsconductor/db/notify';
import type { ApiDeps, AuthUser } from '../context.ts';
import type { CsvValue } from '../lib/csv.ts';
import { likeLiteral } from '@opsconductor/unit-of-work';
import { ApiError } from '../lib/problem.ts';
import { softwareCommandPayload } from './software-packages.ts';
import type { SoftwareCommandReport } from '@opsconductor/contracts/software';
import { normalizeSelection, resolveTargets } from './job-run-targets.ts';
import { withTemporalDeadline } from '../lib/temporal.ts';
import { isKeyTaken, keyedRun, keyRetentionCutoff, pruneIdempotencyKeys, requestHash, type IdempotencyKey } from './run-idempotency.ts';

export { jobRunWorkflowId };

export function temporalUrl(deps: ApiDeps, workflowId: string): string | null {
  const base = deps.config.temporalUiUrl;
  return base
    ? `${base.replace(/\/$/, '')}/namespaces/${encodeURIComponent(deps.config.temporalNamespace)}/workflows/${encodeURIComponent(workflowId)}`
    : null;
}

/** The command a run sends, from its request: a shell `command`, or an `action` of any kind. */
async function payloadOf(deps: ApiDeps, req: CreateJobRunRequest): Promise<CommandPayload> {
  const { timeoutSeconds } = req;
  const action = req.action ?? { kind: 'shell' as const, command: req.command!, shell: req.shell };
  switch (action.kind) {
    case 'shell':
    case 'script':
    case 'reboot':
    case 'inventory.refresh':
      return { ...action, timeoutSeconds };
    case 'file.fetch': {
      const file = await deps.db.prisma.storedFile.findUnique({ where: { sha256: action.sha256 } });
      if (!file)
        throw new ApiError(400, 'unknown_file', undefined, [{ path: 'action.sha256', message: 'no stored file has this SHA-256' }]);
      return { ...action, size: Number(file.size), timeoutSeconds };
    }
    case 'software.install':
    case 'software.uninstall':
      return softwareCommandPayload(deps, action.kind, action.versionId);
  }
}

/** What a run shows as its command: the command line or the script itself, else what it does. */
function describePayload(payload: CommandPayload): { command: string; shell: string } {
  switch (payload.kind) {
    case 'shell':
      return { command: payload.command, shell: payload.shell };
    case 'script':
      return { command: payload.script, shell: payload.interpreter };
    case 'file.fetch':
      return {
        command: `fetch ${payload.sha256} to ${payload.path}${payload.mode ? ` mode ${payload.mode}` : ''}${payload.owner ? ` owner ${payload.owner}` : ''}`,
        shell: 'default',
      };
    case 'reboot':
      return { command: 'reboot', shell: 'default' };
    case 'inventory.refresh':
      return { command: 'inventory refresh', shell: 'default' };
    case 'software.install':
    case 'software.uninstall':
      return {
        command: `${payload.kind === 'software.install' ? 'install' : 'uninstall'} ${payload.package.name} ${payload.package.version}`,
        shell: 'default',
      };
  }
}

export interface CreatedJobRun {
  id: string;
  deviceCount: number;
  /** The run an earlier request with the same Idempotency-Key created (nothing new was created). */
  replayed: boolean;
}

export interface CreateJobRunOptions {
  /** The request's Idempotency-Key (see below). */
  idempotencyKey?: string;
  /** The audit row of the creation, written with the run (before its workflow starts, so it is never missing). */
  audit?: (run: { id: string; deviceCount: number }) => AuditRow;
}

/**
 * Resolves the targets (services/job-run-targets.ts), records the run and starts its workflow. The
 * command is stored once (command_payloads) and the workflow gets its hash: however many devices run
 * it, the workflow history never holds the body (and a script may be large).
 *
 * With an idempotency key, the run, its targets and the key are committed together before the workflow starts, and
 * the workflow ID is derived from the run (`job-run/<id>`): a request retried after any failure (a timeout, an
 * answer lost after the workflow started, the API dying in between) finds the key and gets that same run, and a
 * workflow the first attempt never started is started then. The same key with a different body is refused (422).
 */
export async function createJobRun(
  deps: ApiDeps,
  user: AuthUser,
  req: CreateJobRunRequest,
  opts: CreateJobRunOptions = {},
): Promise<CreatedJobRun> {
  const { prisma } = deps.db;
  const { idempotencyKey } = opts;
  const key = idempotencyKey === undefined ? undefined : { key: idempotencyKey, requestHash: requestHash(req) };
  if (key) {
    const earlier = await earlierRun(deps, user, key);
    if (earlier) return earlier;
  }
  const targetSelection = normalizeSelection(req);
  const targets = await resolveTargets(deps, targetSelection);
  if (req.expectedDeviceCount !== undefined && req.expectedDeviceCount !== targets.length) {
    throw new ApiError(
      409,
      'target_count_changed',
      `The selection now matches ${targets.length.toLocaleString('en-US')} devices, not the ${req.expectedDeviceCount.toLocaleString('en-US')} confirmed.`,
    );
  }
  const payload = await payloadOf(deps, req);
  // Content-addressed: stored before the run, a payload of a run that then fails to start is harmless.
  const payloadSha256 = await storePayload(deps.db.pool, payload);
  const deviceIds = targets.map((d) => d.id);
  const id = randomUUID();
  const workflowId = jobRunWorkflowId(id);
  const deadlineAt = new Date(Date.now() + req.deadlineSeconds * 1000);
  try {
    await prisma.$transaction([
      prisma.jobRun.create({
        data: {
          id,
          workflowId,
          kind: payload.kind,
          payloadSha256,
          ...describePayload(payload),
          // The payload's: a software action's is its version's (and its dependencies'), not the request's.
          timeoutSeconds: payload.timeoutSeconds,
          deadlineAt,
          createdById: user.id,
          targetSelection,
        },
      }),
      // One statement with two array parameters: createMany of 10,000 rows keeps the event loop busy for seconds.
      prisma.$executeRaw`INSERT INTO job_run_devices (id, job_run_id, device_id, hostname)
        SELECT gen_random_uuid(), ${id}::uuid, t.device_id, t.hostname
          FROM unnest(${deviceIds}::uuid[], ${targets.map((d) => d.hostname)}::text[]) AS t(device_id, hostname)`,
      ...(key === undefined
        ? []
        : [
            // A key older than the retention period is free again.
            prisma.jobRunIdempotencyKey.deleteMany({
              where: { userId: user.id, key: key.key, createdAt: { lt: keyRetentionCutoff() } },
            }),
            prisma.jobRunIdempotencyKey.create({ data: { userId: user.id, key: key.key, requestHash: key.requestHash, jobRunId: id } }),
          ]),
      ...(opts.audit ? [prisma.auditLog.create({ data: auditLogData(opts.audit({ id, deviceCount: deviceIds.length })) })] : []),
    ]);
  } catch (err) {
    // A concurrent request with the same key got there first: the unique key made this one wait for its commit.
    if (key && isKeyTaken(err)) {
      const earlier = await earlierRun(deps, user, key);
      if (earlier) return earlier;
    }
    throw err;
  }
  await startJobRunWorkflow(
    deps,
    {
      jobRunId: id,
      deviceIds,
      command: { kind: payload.kind, payloadSha256, timeoutSeconds: payload.timeoutSeconds },
      deadlineAt: deadlineAt.toISOString(),
    },
    key !== undefined,
  );
  if (key) pruneIdempotencyKeys(deps);
  return { id, deviceCount: deviceIds.length, replayed: false };
}

export interface SystemJobRun {
  /** The run's ID; a run by this ID that exists already is not created again (an event handled twice). */
  id?: string;
  deviceIds: string[];
  payload: CommandPayload;
  deadlineSeconds: number;
  /** The software assignment that starts it. */
  assignmentId?: string;
  /** Devices start only inside one of their groups' maintenance windows. */
  maintenanceWindows?: boolean;
  /** Why, for people (after the command on the run's page). */
  reason: string;
}

/**
 * A run the platform starts by itself (an assignment applied to new group members, its periodic enforcement), with no
 * user as creator. Returns its ID, or null when there is no device to run on or a run by its ID exists.
 */
export async function startSystemJobRun(deps: ApiDeps, run: SystemJobRun): Promise<string | null> {
  if (run.deviceIds.length === 0) return null;
  const payloadSha256 = await storePayload(deps.db.pool, run.payload);
  const id = run.id ?? randomUUID();
  const deadlineAt = new Date(Date.now() + run.deadlineSeconds * 1000);
  const described = describePayload(run.payload);
  const created = await withTransaction(deps.db.pool, async (client) => {
    const inserted = await client.query(
      `INSERT INTO job_runs (id, workflow_id, kind, payload_sha256, command, shell, timeout_seconds, deadline_at, assignment_id,
                             maintenance_windows, target_selection)
       VALUES ($1::uuid, $2, $3, $4, left($5, 4000), $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING`,
      [
        id,
        jobRunWorkflowId(id),
        run.payload.kind,
        payloadSha256,
        `${described.command} (${run.reason})`,
        described.shell,
        run.payload.timeoutSeconds,
        deadlineAt,
        run.assignmentId ?? null,
        run.maintenanceWindows ?? false,
        JSON.stringify({ deviceIds: run.deviceIds.length <= 100 ? run.deviceIds : undefined }),
      ],
    );
    if (!inserted.rowCount) return false;
    await client.query(
      `INSERT INTO job_run_devices (id, job_run_id, device_id, hostname)
       SELECT gen_random_uuid(), $1, d.id, d.hostname FROM devices d WHERE d.id = ANY($2::uuid[]) AND d.retired_at IS NULL`,
      [id, run.deviceIds],
    );
    return true;
  });
  if (!created) return null;
  await startJobRunWorkflow(
    deps,
    {
      jobRunId: id,
      deviceIds: run.deviceIds,
      command: { kind: run.payload.kind, payloadSha256, timeoutSeconds: run.payload.timeoutSeconds },
      deadlineAt: deadlineAt.toISOString(),
    },
    false,
  );
  return id;
}

const auditLogData = (row: AuditRow): Prisma.AuditLogCreateManyInput => ({
  ...row,
  details: row.details as Prisma.InputJsonValue | undefined,
});

/** The run an earlier request with this key created, if the key is still kept; refuses a different body. */
async function earlierRun(deps: ApiDeps, user: AuthUser, key: IdempotencyKey): Promise<CreatedJobRun | undefined> {
  const { prisma } = deps.db;
  const run = await keyedRun(deps, user.id, key);
  if (!run) return undefined;
  // The first request may have stopped between its commit and the workflow start (the API died, Temporal was slow):
  // start it now. A run its workflow picked up is no longer queued; one still queued may be started: a no-op then.
  if (run.status !== 'queued' || run.finishedAt) {
    return { id: run.id, deviceCount: await prisma.jobRunDevice.count({ where: { jobRunId: run.id } }), replayed: true };
  }
  const targets = await prisma.jobRunDevice.findMany({ where: { jobRunId: run.id }, select: { deviceId: true } });
  await startJobRunWorkflow(
    deps,
    {
      jobRunId: run.id,
      deviceIds: targets.map((t) => t.deviceId),
      ...(run.payloadSha256
        ? { command: { kind: run.kind as CommandKind, payloadSha256: run.payloadSha256, timeoutSeconds: run.timeoutSeconds } }
        : {
            payload: {
              kind: 'shell' as const,
              command: run.command,
              shell: run.shell as CreateJobRunRequest['shell'],
              timeoutSeconds: run.timeoutSeconds,
            },
          }),
      deadlineAt: run.deadlineAt.toISOString(),
    },
    true,
  );
  return { id: run.id, deviceCount: targets.length, replayed: true };
}

/**
 * Starts the run's workflow, idempotently: its ID is the run's, and a workflow by that ID that exists (running or
 * closed: REJECT_DUPLICATE) means an earlier attempt started it. When the start fails, Temporal is asked whether the
 * workflow exists. If it does not, the run is removed (with its key) and the caller gets 503: a retry creates it
 * afresh. If nobody can tell (Temporal unreachable: the start may have gone through and only its answer was lost), a
 * run with an idempotency key is kept, so the retry with that key gets it and starts its workflow if need be.
 */
export async function startJobRunWorkflow(deps: ApiDeps, input: JobRunInput, keepIfUncertain: boolean): Promise<void> {
  const workflowId = jobRunWorkflowId(input.jobRunId);
  try {
    await withTemporalDeadline(deps.temporal, () =>
      deps.temporal.workflow.start('jobRun', {
        taskQueue: deps.config.temporalTaskQueue,
        workflowId,
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        args: [input],
        typedSearchAttributes: [
          { key: OpsJobRunId, value: input.jobRunId },
          { key: OpsDeviceIds, value: deviceIdsForSearch(input.deviceIds) },
        ],
      }),
    );
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return;
    const exists = await withTemporalDeadline(deps.temporal, () => deps.temporal.workflow.getHandle(workflowId).describe(), 1000).then(
      () => true,
      (describeErr: unknown) => (describeErr instanceof WorkflowNotFoundError ? false : undefined),
    );
    if (exists) return;
    deps.logger.error(
      { err, jobRunId: input.jobRunId, workflowStarted: exists === false ? 'no' : 'unknown' },
      'starting the jobRun workflow failed',
    );
    if (exists === undefined && keepIfUncertain) {
      throw new ApiError(
        503,
        'temporal_unavailable',
        'The run was recorded, but whether its workflow started is unknown: send the request again with the same Idempotency-Key to get this run.',
      );
    }
    await deps.db.prisma.jobRun.delete({ where: { id: input.jobRunId } }).catch(() => {});
    throw new ApiError(503, 'temporal_unavailable');
  }
}

export async function cancelJobRun(deps: ApiDeps, id: string): Promise<void> {
  const { prisma } = deps.db;
  const run = await prisma.jobRun.findUnique({ where: { id } });
  if (!run) throw new ApiError(404, 'not_found');
  if (run.finishedAt) throw new ApiError(409, 'run_finished');
  // Commands nobody picked up end cancelled; running ones are flagged so the agent kills them at once.
  const { flaggedDevices } = await withTransaction(deps.db.pool, async (client) => {
    await client.query('UPDATE job_runs SET cancel_requested = true WHERE id = $1', [id]);
    return requestCancellation(client, await lockOpenCommands(client, { jobRunId: id }), 'The job run was cancelled.');
  });
  for (const deviceId of flaggedDevices) deps.events.publish(channels.agentCommands, deviceId);
  try {
    await withTemporalDeadline(deps.temporal, () => deps.temporal.workflow.getHandle(run.workflowId).cancel());
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw new ApiError(503, 'temporal_unavailable');
  }
  deps.events.publish(channels.jobRunEvents, id);
}

type RunRow = NonNullable<Awaited<ReturnType<typeof loadRun>>>;
const runIncludes = {
  createdBy: { select: { email: true } },
  approvalDecidedBy: { select: { email: true } },
  job: { select: { version: true, job: { select: { id: true, name: true } } } },
} as const;
function loadRun(deps: ApiDeps, id: string) {
  return deps.db.prisma.jobRun.findUnique({ where: { id }, include: runIncludes });
}

async function countsFor(deps: ApiDeps, ids: string[]): Promise<Map<string, Record<string, number>>> {
  const groups = await deps.db.prisma.jobRunDevice.groupBy({
    by: ['jobRunId', 'status'],
    where: { jobRunId: { in: ids } },
    _count: { _all: true },
  });
  const m = new Map<string, Record<string, number>>();
  for (const g of groups) {
    const counts = m.get(g.jobRunId) ?? {};
    counts[g.status] = g._count._all;
    m.set(g.jobRunId, counts);
  }
  return m;
}

function toSummary(deps: ApiDeps, run: RunRow, counts: Record<string, number>): JobRunSummary {
  return {
    id: run.id,
    workflowId: run.workflowId,
    temporalUrl: temporalUrl(deps, run.workflowId),
    kind: run.kind,
    command: run.command,
    shell: run.shell,
    timeoutSeconds: run.timeoutSeconds,
    deadlineAt: run.deadlineAt.toISOString(),
    status: run.status,
    cancelRequested: run.cancelRequested,
    createdBy: run.createdBy?.email ?? null,
    createdAt: run.createdAt.toISOString(),
    startedAt: run.startedAt?.toISOString() ?? null,
    finishedAt: run.finishedAt?.toISOString() ?? null,
    counts,
    ...jobOfRun(run),
  };
}

/** A saved job's run: the job, its values (never a secret's), its limits and where it came from. */
type JobRunOfJobFields =
  | 'job'
  | 'parameters'
  | 'secretParameters'
  | 'maxConcurrency'
  | 'failureThreshold'
  | 'thresholdReachedAt'
  | 'rerunOfId'
  | 'chainedFromId'
  | 'scheduleId'
  | 'chainNote'
  | 'approval';
function jobOfRun(run: RunRow): Pick<JobRunSummary, JobRunOfJobFields> {
  const parameters = run.parameters as { values?: Record<string, string | number | boolean>; secrets?: string[] } | null;
  const threshold = run.failureThresholdCount !== null || run.failureThresholdPercent !== null;
  return {
    job: run.job ? { id: run.job.job.id, name: run.job.job.name, version: run.job.version } : null,
    parameters: parameters ? (parameters.values ?? {}) : null,
    secretParameters: parameters?.secrets ?? [],
    maxConcurrency: run.maxConcurrency,
    failureThreshold: threshold ? { count: run.failureThresholdCount, percent: run.failureThresholdPercent } : null,
    thresholdReachedAt: run.thresholdReachedAt?.toISOString() ?? null,
    rerunOfId: run.rerunOfId,
    chainedFromId: run.chainedFromId,
    scheduleId: run.scheduleId,
    chainNote: run.chainNote,
    approval: run.approvalExpiresAt
      ? {
          expiresAt: run.approvalExpiresAt.toISOString(),
          decision: run.approvalDecision as 'approved' | 'rejected' | null,
          decidedBy: run.approvalDecidedBy?.email ?? null,
          decidedAt: run.approvalDecidedAt?.toISOString() ?? null,
          comment: run.approvalComment,
        }
      : null,
  };
}

export async function getJobRunSummary(deps: ApiDeps, id: string): Promise<JobRunSummary | null> {
  const run = await loadRun(deps, id);
  if (!run) return null;
  return toSummary(deps, run, (await countsFor(deps, [id])).get(id) ?? {});
}

export function jobRunWhere(f: JobRunListFilters): Prisma.JobRunWhereInput {
  const and: Prisma.JobRunWhereInput[] = [];
  // Emails are stored lowercase; an unknown user simply matches nothing.
  if (f.createdBy)
    and.push(uuid.safeParse(f.createdBy).success ? { createdById: f.createdBy } : { createdBy: { email: f.createdBy.toLowerCase() } });
  if (f.status) and.push({ status: f.status });
  if (f.jobId) and.push({ jobId: f.jobId });
  if (f.deviceId) and.push({ targets: { some: { deviceId: f.deviceId } } });
  if (f.hostname) and.push({ targets: { some: { hostname: { equals: likeLiteral(f.hostname), mode: 'insensitive' } } } });
  if (f.from || f.to) and.push({ createdAt: { ...(f.from ? { gte: f.from } : {}), ...(f.to ? { lt: f.to } : {}) } });
  return { AND: and };
}

const newestFirst: Prisma.JobRunOrderByWithRelationInput[] = [{ createdAt: 'desc' }, { id: 'desc' }];

export async function listJobRuns(deps: ApiDeps, q: JobRunListFilters & { page: number; pageSize: number }) {
  const where = jobRunWhere(q);
  const [runs, total] = await Promise.all([
    deps.db.prisma.jobRun.findMany({
      where,
      orderBy: newestFirst,
      skip: (q.page - 1) * q.pageSize,
      take: q.pageSize,
      include: runIncludes,
    }),
    deps.db.prisma.jobRun.count({ where }),
  ]);
  const counts = await countsFor(
    deps,
    runs.map((r) => r.id),
  );
  return { items: runs.map((r) => toSummary(deps, r, counts.get(r.id) ?? {})), total };
}

export const jobRunCsvHeader = [
  'id',
  'created_at',
  'created_by',
  'status',
  'command',
  'shell',
  'timeout_seconds',
  'deadline_at',
  'started_at',
  'finished_at',
  'cancel_requested',
  'devices',
  ...deviceRunStatus.options,
];

/** Pages of CSV rows over the filtered runs, newest first (cursor on the last run seen). */
export function jobRunCsvPages(deps: ApiDeps, f: JobRunListFilters, pageSize = 500): () => Promise<CsvValue[][]> {
  const where = jobRunWhere(f);
  let after: string | undefined;
  let done = false;
  return async () => {
    if (done) return [];
    const runs = await deps.db.prisma.jobRun.findMany({
      where,
      orderBy: newestFirst,
      take: pageSize,
      ...(after ? { cursor: { id: after }, skip: 1 } : {}),
      include: { createdBy: { select: { email: true } } },
    });
    done = runs.length < pageSize;
    after = runs.at(-1)?.id;
    const counts = await countsFor(
      deps,
      runs.map((r) => r.id),
    );
    return runs.map((r) => {
      const c = counts.get(r.id) ?? {};
      return [
        r.id,
        r.createdAt,
        r.createdBy?.email ?? null,
        r.status,
        r.command,
        r.shell,
        r.timeoutSeconds,
        r.deadlineAt,
        r.startedAt,
        r.finishedAt,
        r.cancelRequested,
        Object.values(c).reduce((a, b) => a + b, 0),
        ...deviceRunStatus.options.map((status) => c[status] ?? 0),
      ];
    });
  };
}

const targetOrder: Prisma.JobRunDeviceOrderByWithRelationInput[] = [{ hostname: 'asc' }, { deviceId: 'asc' }];
// The target's output is its commands' (one per attempt).
const targetIncludes = {
  commands: { select: { stdoutTruncated: true, stderrTruncated: true, attempt: true, result: true }, orderBy: { attempt: 'asc' } },
} as const;
/** The software report of the target's last attempt that has one. */
function softwareReport(commands: TargetRow['commands']): SoftwareCommandReport | null {
  for (const c of commands.toReversed()) {
    const report = (c.result as { software?: SoftwareCommandReport } | null)?.software;
    if (report) return report;
  }
  return null;
}
type TargetRow = Prisma.JobRunDeviceGetPayload<{ include: typeof targetIncludes }>;

async function toTargets(deps: ApiDeps, rows: TargetRow[]): Promise<JobRunTarget[]> {
  // Targets written without a hostname (rows older than the column, or made by hand) borrow the device's.
  const unnamed = rows.filter((t) => !t.hostname).map((t) => t.deviceId);
  const live = unnamed.length
    ? new Map(
        (await deps.db.prisma.device.findMany({ where: { id: { in: unnamed } }, select: { id: true, hostname: true } })).map((d) => [
          d.id,
          d.hostname,
        ]),
      )
    : new Map<string, string>();
  return rows.map((t) => ({
    deviceId: t.deviceId,
    hostname: t.hostname || (live.get(t.deviceId) ?? ''),
    status: t.status,
    exitCode: t.exitCode === null ? null : Number(t.exitCode),
    errorMessage: t.errorMessage,
    startedAt: t.startedAt?.toISOString() ?? null,
    finishedAt: t.finishedAt?.toISOString() ?? null,
    durationMs: t.durationMs,
    stdoutTruncated: t.commands.some((c) => c.stdoutTruncated),
    stderrTruncated: t.commands.some((c) => c.stderrTruncated),
    currentStep: t.currentStep,
    software: softwareReport(t.commands),
  }));
}

/** The run's targets by hostname (those changed since a time: what the live stream sends), at most `take`. */
export async function getJobRunTargets(deps: ApiDeps, id: string, changedSince?: Date, take?: number): Promise<JobRunTarget[]> {
  const rows = await deps.db.prisma.jobRunDevice.findMany({
    where: { jobRunId: id, ...(changedSince ? { updatedAt: { gt: changedSince } } : {}) },
    orderBy: targetOrder,
    include: targetIncludes,
    ...(take === undefined ? {} : { take }),
  });
  return toTargets(deps, rows);
}

/**
 * A page cursor is the last target's sort key, (hostname, device ID): neither ever changes, so paging stays exact
 * while statuses change between pages. Opaque to clients: base64url of `[hostname, deviceId]`.
 */
type TargetsCursor = { hostname: string; deviceId: string };
const cursorKey = z.tuple([
  z
    .string()
    .max(255)
    .refine((h) => !h.includes('\u0000')),
  uuid,
]);
export function encodeTargetsCursor(c: TargetsCursor): string {
  return Buffer.from(JSON.stringify([c.hostname, c.deviceId]), 'utf8').toString('base64url');
}
export function decodeTargetsCursor(raw: string): TargetsCursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const key = cursorKey.safeParse(parsed);
  if (!key.success) {
    throw new ApiError(400, 'validation_failed', 'The cursor is not one this API gave out.', [
      { path: 'after', message: 'must be the `next` of an earlier page' },
    ]);
  }
  return { hostname: key.data[0], deviceId: key.data[1] };
}

/**
 * One page of a run's targets, filtered, by (hostname, device ID); with the filtered total and the run's counts per
 * status. Served by the index on (job_run_id, hostname, device_id): the cursor seeks into it, so every page costs
 * the same however deep it is.
 */
export async function getJobRunTargetPage(deps: ApiDeps, id: string, q: JobRunTargetsQuery): Promise<JobRunTargetPage | null> {
  const { prisma } = deps.db;
  const after = q.after === undefined ? undefined : decodeTargetsCursor(q.after);
  const filters: Prisma.JobRunDeviceWhereInput[] = [{ jobRunId: id }];
  if (q.status) filters.push({ status: q.status });
  if (q.deviceId) filters.push({ deviceId: q.deviceId });
  if (q.search) filters.push({ hostname: { contains: likeLiteral(q.search), mode: 'insensitive' } });
  // (hostname, device_id) > (h, d), spelled so the planner seeks on `hostname >= h` in the index.
  const keyset: Prisma.JobRunDeviceWhereInput[] = after
    ? [{ hostname: { gte: after.hostname } }, { OR: [{ hostname: { gt: after.hostname } }, { deviceId: { gt: after.deviceId } }] }]
    : [];
  const [exists, rows, total, counts] = await Promise.all([
    prisma.jobRun.count({ where: { id } }),
    prisma.jobRunDevice.findMany({
      where: { AND: [...filters, ...keyset] },
      orderBy: targetOrder,
      include: targetIncludes,
      take: q.limit + 1,
    }),
    prisma.jobRunDevice.count({ where: { AND: filters } }),
    countsFor(deps, [id]),
  ]);
  if (!exists) return null;
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  return {
    items: await toTargets(deps, page),
    next: rows.length > q.limit && last ? encodeTargetsCursor(last) : null,
    total,
    counts: counts.get(id) ?? {},
  };
}

export async function getJobRun(deps: ApiDeps, id: string, targetsMode: JobRunTargetsMode = 'first'): Promise<JobRun | null> {
  const run = await loadRun(deps, id);
  if (!run) return null;
  const [counts, targets] = await Promise.all([
    countsFor(deps, [id]),
    targetsMode === 'none' ? [] : getJobRunTargets(deps, id, undefined, MAX_EMBEDDED_TARGETS),
  ]);
  const runCounts = counts.get(id) ?? {};
  const targetsTotal = Object.values(runCounts).reduce((a, b) => a + b, 0);
  return {
    ...toSummary(deps, run, runCounts),
    targets,
    targetsTotal,
    targetsTruncated: targets.length < targetsTotal,
    targetSelection: (run.targetSelection as JobRunTargetSelection | null) ?? null,
  };
}

/** Output chunks after a cursor, as text (invalid UTF-8 shown as U+FFFD) or as base64 of the stored bytes. */
export async function readOutput(
  deps: ApiDeps,
  runId: string,
  q: { after?: string; deviceId?: string; step?: number; limit: number; encoding?: OutputEncodingParam },
): Promise<OutputChunk[]> {
  const { rows } = await deps.db.pool.query<{
    id: string;
    device_id: string;
    step: number | null;
    stream: 'stdout' | 'stderr';
    data: Buffer;
  }>(
    `SELECT oc.id::text AS id, jrd.device_id, s.step_index AS step, oc.stream, oc.data
       FROM output_chunks oc JOIN agent_commands ac ON ac.id = oc.command_id JOIN job_run_devices jrd ON jrd.id = ac.job_run_device_id
       LEFT JOIN job_run_steps s ON s.id = ac.job_run_step_id
      WHERE jrd.job_run_id = $1 AND oc.id > $2 AND ($3::uuid IS NULL OR jrd.device_id = $3) AND ($5::int IS NULL OR s.step_index = $5)
      ORDER BY oc.id LIMIT $4`,
    [runId, q.after ?? '0', q.deviceId ?? null, q.limit, q.step ?? null],
  );
  const encoding = q.encoding ?? 'text';
  return rows.map((r) => ({
    id: r.id,
    deviceId: r.device_id,
    step: r.step,
    stream: r.stream,
    encoding,
    data: encoding === 'base64' ? r.data.toString('base64') : r.data.toString('utf8'),
  }));
}
