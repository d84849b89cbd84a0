/** Job runs: created here, executed by the `jobRun` workflow, read back for the console and API. */
import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { CreateJobRunRequest, JobRun, JobRunSummary, JobRunTarget, OutputChunk, OutputEncodingParam } from '@opsconductor/contracts/api';
import type { JobRunInput } from '@opsconductor/workflows';
import { OpsDeviceIds, OpsJobRunId, deviceIdsForSearch } from '@opsconductor/workflows/search-attributes';
import { channels } from '@opsconductor/db/notify';
import type { ApiDeps, AuthUser } from '../context.ts';
import { ApiError } from '../lib/problem.ts';

export const jobRunWorkflowId = (id: string) => `job-run/${id}`;

export function temporalUrl(deps: ApiDeps, workflowId: string): string | null {
  const base = deps.config.temporalUiUrl;
  return base ? `${base.replace(/\/$/, '')}/namespaces/${encodeURIComponent(deps.config.temporalNamespace)}/workflows/${encodeURIComponent(workflowId)}` : null;
}

export async function createJobRun(deps: ApiDeps, user: AuthUser, req: CreateJobRunRequest): Promise<string> {
  const { prisma } = deps.db;
  const deviceIds = [...new Set(req.deviceIds)];
  const found = await prisma.device.findMany({ where: { id: { in: deviceIds } }, select: { id: true } });
  if (found.length !== deviceIds.length) {
    const known = new Set(found.map((d) => d.id));
    const missing = deviceIds.filter((id) => !known.has(id));
    throw new ApiError(400, 'unknown_devices', `${missing.length} device(s) do not exist.`, missing.slice(0, 20).map((id) => ({ path: 'deviceIds', message: `unknown device ${id}` })));
  }
  const id = randomUUID();
  const workflowId = jobRunWorkflowId(id);
  const deadlineAt = new Date(Date.now() + req.deadlineSeconds * 1000);
  await prisma.$transaction([
    prisma.jobRun.create({ data: { id, workflowId, command: req.command, shell: req.shell, timeoutSeconds: req.timeoutSeconds, deadlineAt, createdById: user.id } }),
    prisma.jobRunDevice.createMany({ data: deviceIds.map((deviceId) => ({ jobRunId: id, deviceId })) }),
  ]);
  const input: JobRunInput = {
    jobRunId: id,
    deviceIds,
    payload: { kind: 'shell', command: req.command, shell: req.shell, timeoutSeconds: req.timeoutSeconds },
    deadlineAt: deadlineAt.toISOString(),
  };
  try {
    await deps.temporal.workflow.start('jobRun', {
      taskQueue: deps.config.temporalTaskQueue,
      workflowId,
      args: [input],
      typedSearchAttributes: [
        { key: OpsJobRunId, value: id },
        { key: OpsDeviceIds, value: deviceIdsForSearch(deviceIds) },
      ],
    });
  } catch (err) {
    // The start may have reached Temporal even though we saw an error; only undo when it did not.
    const started = await deps.temporal.workflow.getHandle(workflowId).describe().then(() => true, () => false);
    if (!started) {
      await prisma.jobRun.delete({ where: { id } }).catch(() => {});
      deps.logger.error({ err, jobRunId: id }, 'starting the jobRun workflow failed');
      throw new ApiError(503, 'temporal_unavailable');
    }
  }
  return id;
}

export async function cancelJobRun(deps: ApiDeps, id: string): Promise<void> {
  const { prisma, pool } = deps.db;
  const run = await prisma.jobRun.findUnique({ where: { id } });
  if (!run) throw new ApiError(404, 'not_found');
  if (run.finishedAt) throw new ApiError(409, 'run_finished');
  await prisma.jobRun.update({ where: { id }, data: { cancelRequested: true } });
  // Commands nobody picked up are withdrawn; running ones are flagged so the agent kills them at once.
  const { rows } = await pool.query<{ device_id: string }>(
    `UPDATE agent_commands ac
        SET cancel_requested = true,
            status = CASE WHEN ac.status = 'pending' THEN 'expired'::"AgentCommandStatus" ELSE ac.status END
       FROM job_run_devices jrd
      WHERE ac.job_run_device_id = jrd.id AND jrd.job_run_id = $1 AND ac.status IN ('pending', 'delivered', 'running')
  RETURNING ac.device_id`,
    [id],
  );
  for (const deviceId of new Set(rows.map((r) => r.device_id))) deps.events.publish(channels.agentCommands, deviceId);
  try {
    await deps.temporal.workflow.getHandle(run.workflowId).cancel();
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
    id: run.id, workflowId: run.workflowId, temporalUrl: temporalUrl(deps, run.workflowId), command: run.command, shell: run.shell,
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

export async function listJobRuns(deps: ApiDeps, q: { page: number; pageSize: number; deviceId?: string }) {
  const where = q.deviceId ? { targets: { some: { deviceId: q.deviceId } } } : {};
  const [runs, total] = await Promise.all([
    deps.db.prisma.jobRun.findMany({ where, orderBy: { createdAt: 'desc' }, skip: (q.page - 1) * q.pageSize, take: q.pageSize, include: { createdBy: { select: { email: true } } } }),
    deps.db.prisma.jobRun.count({ where }),
  ]);
  const counts = await countsFor(deps, runs.map((r) => r.id));
  return { items: runs.map((r) => toSummary(deps, r, counts.get(r.id) ?? {})), total };
}

export async function getJobRunTargets(deps: ApiDeps, id: string, changedSince?: Date): Promise<JobRunTarget[]> {
  const rows = await deps.db.prisma.jobRunDevice.findMany({
    where: { jobRunId: id, ...(changedSince ? { updatedAt: { gt: changedSince } } : {}) },
    include: { device: { select: { hostname: true } } },
    orderBy: { device: { hostname: 'asc' } },
  });
  return rows.map((t) => ({
    deviceId: t.deviceId, hostname: t.device.hostname, status: t.status, exitCode: t.exitCode === null ? null : Number(t.exitCode), errorMessage: t.errorMessage,
    startedAt: t.startedAt?.toISOString() ?? null, finishedAt: t.finishedAt?.toISOString() ?? null, durationMs: t.durationMs,
    stdoutTruncated: t.stdoutTruncated, stderrTruncated: t.stderrTruncated,
  }));
}

export async function getJobRun(deps: ApiDeps, id: string): Promise<JobRun | null> {
  const summary = await getJobRunSummary(deps, id);
  return summary && { ...summary, targets: await getJobRunTargets(deps, id) };
}

/** Output chunks after a cursor, as text (invalid UTF-8 shown as U+FFFD) or as base64 of the stored bytes. */
export async function readOutput(deps: ApiDeps, runId: string, q: { after?: string; deviceId?: string; limit: number; encoding?: OutputEncodingParam }): Promise<OutputChunk[]> {
  const { rows } = await deps.db.pool.query<{ id: string; device_id: string; stream: 'stdout' | 'stderr'; data: Buffer }>(
    `SELECT oc.id::text AS id, jrd.device_id, oc.stream, oc.data
       FROM output_chunks oc JOIN job_run_devices jrd ON jrd.id = oc.job_run_device_id
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
