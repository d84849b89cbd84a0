/** Job runs: created here, executed by the `jobRun` workflow, read back for the console and API. */
import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import { deviceRunStatus, uuid, type CreateJobRunRequest, type JobRun, type JobRunListFilters, type JobRunSummary, type JobRunTarget, type JobRunTargetSelection, type OutputChunk, type OutputEncodingParam } from '@opsconductor/contracts/api';
import type { CommandPayload } from '@opsconductor/contracts/commands';
import { lockOpenCommands, requestCancellation, storePayload } from '@opsconductor/commands';
import { withTransaction, type Prisma } from '@opsconductor/db';
import type { JobRunInput } from '@opsconductor/workflows';
import { OpsDeviceIds, OpsJobRunId, deviceIdsForSearch } from '@opsconductor/workflows/search-attributes';
import { channels } from '@opsconductor/db/notify';
import type { ApiDeps, AuthUser } from '../context.ts';
import type { CsvValue } from '../lib/csv.ts';
import { likeLiteral } from '../lib/like.ts';
import { ApiError } from '../lib/problem.ts';
import { normalizeSelection, resolveTargets } from './job-run-targets.ts';
import { withTemporalDeadline } from '../lib/temporal.ts';

export const jobRunWorkflowId = (id: string) => `job-run/${id}`;

export function temporalUrl(deps: ApiDeps, workflowId: string): string | null {
  const base = deps.config.temporalUiUrl;
  return base ? `${base.replace(/\/$/, '')}/namespaces/${encodeURIComponent(deps.config.temporalNamespace)}/workflows/${encodeURIComponent(workflowId)}` : null;
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
      if (!file) throw new ApiError(400, 'unknown_file', undefined, [{ path: 'action.sha256', message: 'no stored file has this SHA-256' }]);
      return { ...action, size: Number(file.size), timeoutSeconds };
    }
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
      return { command: `fetch ${payload.sha256} to ${payload.path}${payload.mode ? ` mode ${payload.mode}` : ''}${payload.owner ? ` owner ${payload.owner}` : ''}`, shell: 'default' };
    case 'reboot':
      return { command: 'reboot', shell: 'default' };
    case 'inventory.refresh':
      return { command: 'inventory refresh', shell: 'default' };
  }
}

/**
 * Resolves the targets (services/job-run-targets.ts), records the run and starts its workflow. The
 * command is stored once (command_payloads) and the workflow gets its hash: however many devices run
 * it, the workflow history never holds the body (and a script may be large).
 */
export async function createJobRun(deps: ApiDeps, user: AuthUser, req: CreateJobRunRequest): Promise<{ id: string; deviceCount: number }> {
  const { prisma } = deps.db;
  const targetSelection = normalizeSelection(req);
  const targets = await resolveTargets(deps, targetSelection);
  if (req.expectedDeviceCount !== undefined && req.expectedDeviceCount !== targets.length) {
    throw new ApiError(409, 'target_count_changed', `The selection now matches ${targets.length.toLocaleString('en-US')} devices, not the ${req.expectedDeviceCount.toLocaleString('en-US')} confirmed.`);
  }
  const payload = await payloadOf(deps, req);
  // Content-addressed: stored before the run, a payload of a run that then fails to start is harmless.
  const payloadSha256 = await storePayload(deps.db.pool, payload);
  const deviceIds = targets.map((d) => d.id);
  const id = randomUUID();
  const workflowId = jobRunWorkflowId(id);
  const deadlineAt = new Date(Date.now() + req.deadlineSeconds * 1000);
  await prisma.$transaction([
    prisma.jobRun.create({ data: { id, workflowId, kind: payload.kind, payloadSha256, ...describePayload(payload), timeoutSeconds: req.timeoutSeconds, deadlineAt, createdById: user.id, targetSelection } }),
    prisma.jobRunDevice.createMany({ data: targets.map((d) => ({ jobRunId: id, deviceId: d.id, hostname: d.hostname })) }),
  ]);
  const input: JobRunInput = {
    jobRunId: id,
    deviceIds,
    command: { kind: payload.kind, payloadSha256, timeoutSeconds: payload.timeoutSeconds },
    deadlineAt: deadlineAt.toISOString(),
  };
  try {
    await withTemporalDeadline(deps.temporal, () => deps.temporal.workflow.start('jobRun', {
      taskQueue: deps.config.temporalTaskQueue,
      workflowId,
      args: [input],
      typedSearchAttributes: [
        { key: OpsJobRunId, value: id },
        { key: OpsDeviceIds, value: deviceIdsForSearch(deviceIds) },
      ],
    }));
  } catch (err) {
    // The start may have reached Temporal even though we saw an error; only undo when it did not.
    const started = await withTemporalDeadline(deps.temporal, () => deps.temporal.workflow.getHandle(workflowId).describe(), 1000).then(() => true, () => false);
    if (!started) {
      await prisma.jobRun.delete({ where: { id } }).catch(() => {});
      deps.logger.error({ err, jobRunId: id }, 'starting the jobRun workflow failed');
      throw new ApiError(503, 'temporal_unavailable');
    }
  }
  return { id, deviceCount: deviceIds.length };
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
function loadRun(deps: ApiDeps, id: string) {
  return deps.db.prisma.jobRun.findUnique({ where: { id }, include: { createdBy: { select: { email: true } } } });
}

async function countsFor(deps: ApiDeps, ids: string[]): Promise<Map<string, Record<string, number>>> {
  const groups = await deps.db.prisma.jobRunDevice.groupBy({ by: ['jobRunId', 'status'], where: { jobRunId: { in: ids } }, _count: { _all: true } });
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
    id: run.id, workflowId: run.workflowId, temporalUrl: temporalUrl(deps, run.workflowId), kind: run.kind, command: run.command, shell: run.shell,
    timeoutSeconds: run.timeoutSeconds, deadlineAt: run.deadlineAt.toISOString(), status: run.status, cancelRequested: run.cancelRequested,
    createdBy: run.createdBy?.email ?? null, createdAt: run.createdAt.toISOString(), startedAt: run.startedAt?.toISOString() ?? null,
    finishedAt: run.finishedAt?.toISOString() ?? null, counts,
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
  if (f.createdBy) and.push(uuid.safeParse(f.createdBy).success ? { createdById: f.createdBy } : { createdBy: { email: f.createdBy.toLowerCase() } });
  if (f.status) and.push({ status: f.status });
  if (f.deviceId) and.push({ targets: { some: { deviceId: f.deviceId } } });
  if (f.hostname) and.push({ targets: { some: { hostname: { equals: likeLiteral(f.hostname), mode: 'insensitive' } } } });
  if (f.from || f.to) and.push({ createdAt: { ...(f.from ? { gte: f.from } : {}), ...(f.to ? { lt: f.to } : {}) } });
  return { AND: and };
}

const newestFirst: Prisma.JobRunOrderByWithRelationInput[] = [{ createdAt: 'desc' }, { id: 'desc' }];

export async function listJobRuns(deps: ApiDeps, q: JobRunListFilters & { page: number; pageSize: number }) {
  const where = jobRunWhere(q);
  const [runs, total] = await Promise.all([
    deps.db.prisma.jobRun.findMany({ where, orderBy: newestFirst, skip: (q.page - 1) * q.pageSize, take: q.pageSize, include: { createdBy: { select: { email: true } } } }),
    deps.db.prisma.jobRun.count({ where }),
  ]);
  const counts = await countsFor(deps, runs.map((r) => r.id));
  return { items: runs.map((r) => toSummary(deps, r, counts.get(r.id) ?? {})), total };
}

export const jobRunCsvHeader = [
  'id', 'created_at', 'created_by', 'status', 'command', 'shell', 'timeout_seconds', 'deadline_at', 'started_at', 'finished_at', 'cancel_requested',
  'devices', ...deviceRunStatus.options,
];

/** Pages of CSV rows over the filtered runs, newest first (cursor on the last run seen). */
export function jobRunCsvPages(deps: ApiDeps, f: JobRunListFilters, pageSize = 500): () => Promise<CsvValue[][]> {
  const where = jobRunWhere(f);
  let after: string | undefined;
  let done = false;
  return async () => {
    if (done) return [];
    const runs = await deps.db.prisma.jobRun.findMany({
      where, orderBy: newestFirst, take: pageSize, ...(after ? { cursor: { id: after }, skip: 1 } : {}),
      include: { createdBy: { select: { email: true } } },
    });
    done = runs.length < pageSize;
    after = runs.at(-1)?.id;
    const counts = await countsFor(deps, runs.map((r) => r.id));
    return runs.map((r) => {
      const c = counts.get(r.id) ?? {};
      return [
        r.id, r.createdAt, r.createdBy?.email ?? null, r.status, r.command, r.shell, r.timeoutSeconds, r.deadlineAt, r.startedAt, r.finishedAt, r.cancelRequested,
        Object.values(c).reduce((a, b) => a + b, 0), ...deviceRunStatus.options.map((status) => c[status] ?? 0),
      ];
    });
  };
}

export async function getJobRunTargets(deps: ApiDeps, id: string, changedSince?: Date): Promise<JobRunTarget[]> {
  const rows = await deps.db.prisma.jobRunDevice.findMany({
    where: { jobRunId: id, ...(changedSince ? { updatedAt: { gt: changedSince } } : {}) },
    orderBy: [{ hostname: 'asc' }, { deviceId: 'asc' }],
    // The target's output is its commands' (one per attempt).
    include: { commands: { select: { stdoutTruncated: true, stderrTruncated: true } } },
  });
  // Targets written without a hostname (rows older than the column, or made by hand) borrow the device's.
  const unnamed = rows.filter((t) => !t.hostname).map((t) => t.deviceId);
  const live = unnamed.length
    ? new Map((await deps.db.prisma.device.findMany({ where: { id: { in: unnamed } }, select: { id: true, hostname: true } })).map((d) => [d.id, d.hostname]))
    : new Map<string, string>();
  return rows.map((t) => ({
    deviceId: t.deviceId, hostname: t.hostname || (live.get(t.deviceId) ?? ''), status: t.status, exitCode: t.exitCode === null ? null : Number(t.exitCode), errorMessage: t.errorMessage,
    startedAt: t.startedAt?.toISOString() ?? null, finishedAt: t.finishedAt?.toISOString() ?? null, durationMs: t.durationMs,
    stdoutTruncated: t.commands.some((c) => c.stdoutTruncated), stderrTruncated: t.commands.some((c) => c.stderrTruncated),
  }));
}

export async function getJobRun(deps: ApiDeps, id: string): Promise<JobRun | null> {
  const run = await loadRun(deps, id);
  if (!run) return null;
  const [counts, targets] = await Promise.all([countsFor(deps, [id]), getJobRunTargets(deps, id)]);
  return { ...toSummary(deps, run, counts.get(id) ?? {}), targets, targetSelection: (run.targetSelection as JobRunTargetSelection | null) ?? null };
}

/** Output chunks after a cursor, as text (invalid UTF-8 shown as U+FFFD) or as base64 of the stored bytes. */
export async function readOutput(deps: ApiDeps, runId: string, q: { after?: string; deviceId?: string; limit: number; encoding?: OutputEncodingParam }): Promise<OutputChunk[]> {
  const { rows } = await deps.db.pool.query<{ id: string; device_id: string; stream: 'stdout' | 'stderr'; data: Buffer }>(
    `SELECT oc.id::text AS id, jrd.device_id, oc.stream, oc.data
       FROM output_chunks oc JOIN agent_commands ac ON ac.id = oc.command_id JOIN job_run_devices jrd ON jrd.id = ac.job_run_device_id
      WHERE jrd.job_run_id = $1 AND oc.id > $2 AND ($3::uuid IS NULL OR jrd.device_id = $3)
      ORDER BY oc.id LIMIT $4`,
    [runId, q.after ?? '0', q.deviceId ?? null, q.limit],
  );
  const encoding = q.encoding ?? 'text';
  return rows.map((r) => ({
    id: r.id, deviceId: r.device_id, stream: r.stream, encoding,
    data: encoding === 'base64' ? r.data.toString('base64') : r.data.toString('utf8'),
  }));
}
