import { createRoute, z } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import {
  IDEMPOTENCY_KEY_MAX_LENGTH,
  IDEMPOTENCY_KEY_TTL_HOURS,
  MAX_DEVICES_PER_RUN,
  createJobRunRequest,
  idempotencyKey,
  jobRun,
  jobRunExportQuery,
  jobRunList,
  jobRunListQuery,
  jobRunQuery,
  jobRunTargetPage,
  jobRunTargetPreview,
  jobRunTargetPreviewRequest,
  jobRunTargetsQuery,
  MAX_EMBEDDED_TARGETS,
  MAX_TARGETS_PAGE,
  outputCursor,
  outputPage,
  outputQuery,
  uuid,
} from '@opsconductor/contracts/api';
import { approvalDecisionRequest, createJobRunOfJobRequest, jobRunDeviceSteps, rerunJobRunRequest } from '@opsconductor/contracts/jobs-api';
import { channels } from '@opsconductor/db/notify';
import { createRouter, json } from '../lib/router.ts';
import { authenticate, requireRole } from '../lib/auth.ts';
import { auditRow } from '@opsconductor/unit-of-work';
import { audit, requestOrigin } from '../lib/audit.ts';
import { armWake } from '@opsconductor/db/event-hub';
import { ApiError, documentedProblem, problemResponses } from '../lib/problem.ts';
import { streamCsv } from '../lib/csv.ts';
import { previewTargets } from '../services/job-run-targets.ts';
import {
  cancelJobRun,
  createJobRun,
  getJobRun,
  getJobRunSummary,
  getJobRunTargetPage,
  getJobRunTargets,
  jobRunCsvHeader,
  jobRunCsvPages,
  listJobRuns,
  readOutput,
} from '../services/job-runs.ts';
import { cancelRunDevice, decideApproval, deviceSteps, rerunFailedDevices, runJob } from '../services/runs-of-jobs.ts';

const security = [{ bearerAuth: [] }];
const read = [authenticate];
const operate = [authenticate, requireRole('operator')];
const idParam = z.object({ id: uuid.describe("The run's ID") });

const targetsDescription = `Targets are the union of \`deviceIds\`, the members of \`groupIds\`, the devices with any of \`tags\` and the devices matching \`filter\` (the device list's filters: \`search\`, \`status\`, \`osFamily\`, \`groupId\`, \`tag\`, \`customField\`; \`{}\` is every device), resolved when the run is created. A run targets at most ${MAX_DEVICES_PER_RUN.toLocaleString('en-US')} devices (400 \`too_many_devices\`); a selection that matches none is refused (400 \`no_target_devices\`), unknown device or group IDs too (400 \`unknown_devices\` / \`unknown_groups\`).`;
const idempotencyKeyHeader = idempotencyKey
  .optional()
  .describe(
    `Makes the request safe to retry (IETF draft-ietf-httpapi-idempotency-key-header): a new random value (a UUID) per run you mean to create, the same value when you send that request again. A request with a key this user sent in the last ${IDEMPOTENCY_KEY_TTL_HOURS} hours gets the run the first one created (201 with \`Idempotent-Replayed: true\`), however the first one ended; with a different body it is refused (422 \`idempotency_key_reused\`). 1 to ${IDEMPOTENCY_KEY_MAX_LENGTH} printable ASCII characters, as a structured-field string ("…") or bare.`,
  );
const keyHeaders = z.object({ 'idempotency-key': idempotencyKeyHeader });
const started = {
  ...json(jobRun, 'Started (or, with `Idempotent-Replayed: true`, the run an earlier request with this Idempotency-Key created)'),
  headers: {
    'Idempotent-Replayed': {
      description: 'Present (`true`) when the run was created by an earlier request with the same Idempotency-Key',
      schema: { type: 'string' as const, enum: ['true'] },
    },
  },
};
const keyReused = documentedProblem('The Idempotency-Key was used for a different request (`idempotency_key_reused`)');
const create = createRoute({
  method: 'post',
  path: '/job-runs',
  operationId: 'createJobRun',
  tags: ['job runs'],
  summary: 'Run a command on devices (operator)',
  description: `Starts a \`jobRun\` Temporal workflow (ID \`job-run/<id>\`). Offline devices get the command when they come back before the deadline.\n\nThe command is a shell \`command\`, or an \`action\` of any kind: \`shell\`, \`script\` (stored once, with its interpreter), \`file.fetch\` (a file uploaded with POST /api/v1/files, by SHA-256; 400 \`unknown_file\` otherwise), \`reboot\`, \`inventory.refresh\`. A device whose agent cannot run the kind fails with a message saying so.\n\n${targetsDescription} With \`expectedDeviceCount\` (the count a preview showed), a selection that now resolves to another number of devices is refused with 409 \`target_count_changed\`. The run records the selection as \`targetSelection\`.\n\nSend an \`Idempotency-Key\` header to retry safely: without one, a request that failed or timed out after the run was created (a lost answer) creates a second run when sent again.`,
  security,
  middleware: operate,
  request: {
    headers: keyHeaders,
    body: { content: { 'application/json': { schema: createJobRunRequest } }, required: true },
  },
  responses: {
    201: started,
    409: documentedProblem('The selection changed since it was confirmed (`target_count_changed`)'),
    422: keyReused,
    ...problemResponses,
  },
});
const runJobRoute = createRoute({
  method: 'post',
  path: '/jobs/{id}/runs',
  operationId: 'runJob',
  tags: ['job runs'],
  summary: 'Run a saved job on devices (operator)',
  description: `Starts a \`jobRun\` workflow (ID \`job-run/<id>\`) that takes each device through the job's steps in order (ADR 20): conditions, retries with backoff, continue-on-error, waits and reboots. The run records the job version (\`version\`, default the current one) and the parameter values, checked against the job's parameters (400 \`validation_failed\` lists each problem by path). A secret parameter's value goes to the secret store (503 \`secrets_unavailable\` without master keys) and is never shown again: the run lists its name in \`secretParameters\`, the agent gets it in the step's environment and redacts it from the output, and it is deleted when the run ends.\n\n${targetsDescription} \`maxConcurrency\` limits how many devices run the job at once; \`failureThreshold\` (\`count\` and/or \`percent\` of the targets) stops new devices from starting once reached (those end \`cancelled\`). New devices start until \`deadlineSeconds\` have passed (the rest end \`timed_out\`); each step's command may wait that long for its device. A job's file-copy steps need their files stored (400 \`unknown_file\`).\n\nSend an \`Idempotency-Key\` header to retry safely (secret values are not part of what the key stands for).`,
  security,
  middleware: operate,
  request: {
    params: z.object({ id: uuid.describe("The job's ID") }),
    headers: keyHeaders,
    body: { content: { 'application/json': { schema: createJobRunOfJobRequest } }, required: true },
  },
  responses: {
    201: started,
    409: documentedProblem('The selection changed since it was confirmed (`target_count_changed`)'),
    422: keyReused,
    ...problemResponses,
  },
});
const rerun = createRoute({
  method: 'post',
  path: '/job-runs/{id}/rerun',
  operationId: 'rerunJobRun',
  tags: ['job runs'],
  summary: 'Run a finished job run again on the devices that did not succeed (operator)',
  description:
    'A new run (`rerunOfId`) of the same job version with the same values, deadline, concurrency and threshold, on every device of the run whose status is not `succeeded` (retired devices left out). Secret values are kept only while a run may use them: give them again in `secrets`. 409 `run_not_finished`, `not_a_job_run` (a one-command run) or `nothing_to_rerun`.',
  security,
  middleware: operate,
  request: {
    params: idParam,
    headers: keyHeaders,
    body: { content: { 'application/json': { schema: rerunJobRunRequest } }, required: true },
  },
  responses: {
    201: started,
    409: documentedProblem('The run cannot be run again (see the description)'),
    422: keyReused,
    ...problemResponses,
  },
});
const approvalRoute = (decision: 'approve' | 'reject') =>
  createRoute({
    method: 'post',
    path: `/job-runs/{id}/${decision}`,
    operationId: decision === 'approve' ? 'approveJobRun' : 'rejectJobRun',
    tags: ['job runs'],
    summary:
      decision === 'approve'
        ? 'Approve a run that waits for approval (operator, not its creator)'
        : 'Reject a run that waits for approval (operator, not its creator)',
    description:
      'Four-eyes: a run of a job with `approval` starts `awaiting_approval` and waits (a durable wait of its workflow, with a timer until `approval.expiresAt`). ' +
      (decision === 'approve'
        ? 'Approving starts it: its deadline counts from now. '
        : 'Rejecting ends it `rejected`: no device runs anything. ') +
      'Nobody decides a run they started (403 `own_run_approval`); a run decided already or not waiting is 409 `approval_decided`, an expired one 409 `approval_expired`. ' +
      'The runs waiting for approval: GET /job-runs?status=awaiting_approval.',
    security,
    middleware: operate,
    request: { params: idParam, body: { content: { 'application/json': { schema: approvalDecisionRequest } }, required: true } },
    responses: {
      200: json(jobRun, 'The run'),
      ...problemResponses,
      403: documentedProblem('The run is your own (`own_run_approval`), or you are not an operator'),
      409: documentedProblem('The run does not wait for a decision (see the description)'),
    },
  });
const approve = approvalRoute('approve');
const reject = approvalRoute('reject');
const deviceParams = z.object({ id: uuid.describe("The run's ID"), deviceId: uuid.describe("The device's ID") });
const cancelDevice = createRoute({
  method: 'post',
  path: '/job-runs/{id}/devices/{deviceId}/cancel',
  operationId: 'cancelJobRunDevice',
  tags: ['job runs'],
  summary: 'Cancel one device of a run; the rest go on (operator)',
  description:
    'The device ends `cancelled` with its step under way; a command its agent is running is stopped. 409 `device_run_finished` when the device has already ended.',
  security,
  middleware: operate,
  request: { params: deviceParams },
  responses: {
    200: json(jobRun, 'The run'),
    409: documentedProblem('The device has already ended (`device_run_finished`)'),
    ...problemResponses,
  },
});
const steps = createRoute({
  method: 'get',
  path: '/job-runs/{id}/devices/{deviceId}/steps',
  operationId: 'getJobRunDeviceSteps',
  tags: ['job runs'],
  summary: "A job's run on one device, step by step",
  description:
    "Every step of the run's job version with its state on the device (`not_reached` until the device gets there), attempts, exit code, duration and error. The step's output: GET /job-runs/{id}/output?deviceId=…&step=N. 409 `not_a_job_run` for a one-command run.",
  security,
  middleware: read,
  request: { params: deviceParams },
  responses: { 200: json(jobRunDeviceSteps, 'The steps'), ...problemResponses },
});
const preview = createRoute({
  method: 'post',
  path: '/job-runs/preview',
  operationId: 'previewJobRunTargets',
  tags: ['job runs'],
  summary: 'How many (and which) devices a target selection resolves to now (operator)',
  description: `${targetsDescription} Returns the count and the first \`sampleSize\` devices by hostname; \`total\` may exceed \`maxDevices\`, which a run would refuse.`,
  security,
  middleware: operate,
  request: { body: { content: { 'application/json': { schema: jobRunTargetPreviewRequest } }, required: true } },
  responses: { 200: json(jobRunTargetPreview, 'Preview'), ...problemResponses },
});
const filtersDescription =
  'Filters (all optional, combined with AND): `createdBy` (a user ID or email), `status`, `deviceId`, `hostname` (runs that targeted a device of that name, case-insensitive), `from` (inclusive) and `to` (exclusive) on the creation time, as a date (YYYY-MM-DD, UTC; a date as `to` includes that day) or an ISO 8601 date-time with offset.';
const list = createRoute({
  method: 'get',
  path: '/job-runs',
  operationId: 'listJobRuns',
  tags: ['job runs'],
  summary: 'List job runs, newest first',
  description: filtersDescription,
  security,
  middleware: read,
  request: { query: jobRunListQuery },
  responses: { 200: json(jobRunList, 'Runs'), ...problemResponses },
});
const exportCsv = createRoute({
  method: 'get',
  path: '/job-runs.csv',
  operationId: 'exportJobRuns',
  tags: ['job runs'],
  summary: 'The filtered runs as CSV, newest first',
  description: `${filtersDescription}\n\nOne row per run with its device counts per status. Streamed, UTF-8 with a byte-order mark, RFC 4180 quoting; text cells starting with = + - @, tab or CR are prefixed with \`'\`.`,
  security,
  middleware: read,
  request: { query: jobRunExportQuery },
  responses: { 200: { description: 'CSV', content: { 'text/csv': { schema: z.string() } } }, ...problemResponses },
});
const get = createRoute({
  method: 'get',
  path: '/job-runs/{id}',
  operationId: 'getJobRun',
  tags: ['job runs'],
  summary: 'A job run with per-device results',
  description: `The run, its counts per status, and its first ${MAX_EMBEDDED_TARGETS.toLocaleString('en-US')} targets by hostname (\`targets=none\`: none). \`targetsTotal\` counts every target; \`targetsTruncated\` is true when \`targets\` leaves some out: page through them all, filtered by status or hostname, with GET /job-runs/{id}/targets.`,
  security,
  middleware: read,
  request: { params: idParam, query: jobRunQuery },
  responses: { 200: json(jobRun, 'Run'), ...problemResponses },
});
const targets = createRoute({
  method: 'get',
  path: '/job-runs/{id}/targets',
  operationId: 'listJobRunTargets',
  tags: ['job runs'],
  summary: "A page of a run's targets, filtered by status or hostname",
  description: `By hostname, then device ID, at most \`limit\` (1–${MAX_TARGETS_PAGE}) per page. The next page: the same request with \`after\` set to \`next\` (null on the last page). The order never changes while a run goes on (a device's hostname is recorded when the run is created), so paging the whole run misses and repeats no device however statuses change; with a \`status\` filter a device that changes status between pages may come up on none or on two. \`total\` counts the targets matching the filters, \`counts\` the run's targets per status.`,
  security,
  middleware: read,
  request: { params: idParam, query: jobRunTargetsQuery },
  responses: { 200: json(jobRunTargetPage, 'Targets'), ...problemResponses },
});
const cancel = createRoute({
  method: 'post',
  path: '/job-runs/{id}/cancel',
  operationId: 'cancelJobRun',
  tags: ['job runs'],
  summary: 'Cancel a run; agents kill running processes (operator)',
  security,
  middleware: operate,
  request: { params: idParam },
  responses: { 200: json(jobRun, 'Cancellation requested'), 409: documentedProblem('Already finished'), ...problemResponses },
});
const output = createRoute({
  method: 'get',
  path: '/job-runs/{id}/output',
  operationId: 'getJobRunOutput',
  tags: ['job runs'],
  summary: 'Output chunks after a cursor (the newest 1 MiB per stream and device is kept)',
  description:
    'Output is stored as the bytes the process wrote. `encoding=text` (default) decodes each chunk as UTF-8: bytes that are not UTF-8 become U+FFFD, NUL and other control characters are kept (JSON escapes them). `encoding=base64` returns the stored bytes exactly.',
  security,
  middleware: read,
  request: { params: idParam, query: outputQuery },
  responses: { 200: json(outputPage, 'Output'), ...problemResponses },
});
const events = createRoute({
  method: 'get',
  path: '/job-runs/{id}/events',
  operationId: 'streamJobRunEvents',
  tags: ['job runs'],
  summary: 'Live run events (Server-Sent Events)',
  description:
    'Events: `output` (OutputChunk as text, see the output route; continue from `after`), `target` (JobRunTarget: every target first, unless `targetsSince`, then each one that changes), `run` (JobRunSummary), `end` (run finished, all output sent).',
  security,
  middleware: read,
  request: {
    params: idParam,
    query: z.object({
      after: outputCursor.optional().describe('Continue after this output chunk ID (the `id` of the last `output` event received)'),
      targetsSince: z.iso
        .datetime({ offset: true })
        // PostgreSQL has no year 0: an earlier time would fail in the database, not here.
        .refine((v) => Date.parse(v) >= Date.UTC(1900, 0, 1), 'must be 1900-01-01 or later')
        .optional()
        .describe(
          'Send `target` events only for targets changed after this time (ISO 8601), e.g. when the run and its targets were read just before: without it, the first events are every target of the run',
        ),
    }),
  },
  responses: { 200: { description: 'text/event-stream', content: { 'text/event-stream': { schema: z.string() } } }, ...problemResponses },
});

async function mustGet(deps: Parameters<typeof getJobRun>[0], id: string, targetsMode?: Parameters<typeof getJobRun>[2]) {
  const run = await getJobRun(deps, id, targetsMode);
  if (!run) throw new ApiError(404, 'not_found');
  return run;
}

export const jobRunRoutes = createRouter()
  .openapi(create, async (c) => {
    const body = c.req.valid('json');
    // The selection as asked, with explicit devices as a count (the run's targets list them all).
    const targets = {
      ...(body.deviceIds?.length ? { deviceIds: body.deviceIds.length } : {}),
      ...(body.groupIds?.length ? { groupIds: body.groupIds } : {}),
      ...(body.tags?.length ? { tags: body.tags } : {}),
      ...(body.filter ? { filter: body.filter } : {}),
    };
    const command =
      body.command ??
      (body.action?.kind === 'shell' ? body.action.command : body.action?.kind === 'script' ? body.action.script : undefined);
    const { id, replayed } = await createJobRun(c.var.deps, c.var.user, body, {
      idempotencyKey: c.req.valid('header')['idempotency-key'],
      audit: (run) =>
        auditRow(requestOrigin(c), {
          action: 'job_run.create',
          targetType: 'job_run',
          targetId: run.id,
          details: {
            kind: body.action?.kind ?? 'shell',
            ...(command ? { command: command.slice(0, 2000) } : {}),
            ...(body.action?.kind === 'file.fetch' ? { file: body.action } : {}),
            deviceCount: run.deviceCount,
            targets,
            timeoutSeconds: body.timeoutSeconds,
          },
        }),
    });
    if (replayed) c.header('Idempotent-Replayed', 'true');
    return c.json(await mustGet(c.var.deps, id), 201);
  })
  .openapi(runJobRoute, async (c) => {
    const key = c.req.valid('header')['idempotency-key'];
    const { id, replayed } = await runJob(c.var.deps, c.var.user, requestOrigin(c), c.req.valid('param').id, c.req.valid('json'), key);
    if (replayed) c.header('Idempotent-Replayed', 'true');
    return c.json(await mustGet(c.var.deps, id), 201);
  })
  .openapi(rerun, async (c) => {
    const body = c.req.valid('json');
    const key = c.req.valid('header')['idempotency-key'];
    const { id, replayed } = await rerunFailedDevices(c.var.deps, c.var.user, requestOrigin(c), c.req.valid('param').id, body.secrets, key);
    if (replayed) c.header('Idempotent-Replayed', 'true');
    return c.json(await mustGet(c.var.deps, id), 201);
  })
  .openapi(approve, async (c) => {
    const { id } = c.req.valid('param');
    await decideApproval(c.var.deps, c.var.user, requestOrigin(c), id, 'approved', c.req.valid('json').comment);
    return c.json(await mustGet(c.var.deps, id), 200);
  })
  .openapi(reject, async (c) => {
    const { id } = c.req.valid('param');
    await decideApproval(c.var.deps, c.var.user, requestOrigin(c), id, 'rejected', c.req.valid('json').comment);
    return c.json(await mustGet(c.var.deps, id), 200);
  })
  .openapi(cancelDevice, async (c) => {
    const { id, deviceId } = c.req.valid('param');
    await cancelRunDevice(c.var.deps, id, deviceId);
    await audit(c, { action: 'job_run.cancel_device', targetType: 'job_run', targetId: id, details: { deviceId } });
    return c.json(await mustGet(c.var.deps, id), 200);
  })
  .openapi(steps, async (c) => {
    const { id, deviceId } = c.req.valid('param');
    return c.json(await deviceSteps(c.var.deps, id, deviceId), 200);
  })
  .openapi(preview, async (c) => {
    const { sampleSize, ...selection } = c.req.valid('json');
    return c.json(await previewTargets(c.var.deps, selection, sampleSize), 200);
  })
  .openapi(list, async (c) => c.json(await listJobRuns(c.var.deps, c.req.valid('query')), 200))
  .openapi(exportCsv, (c) => {
    const deps = c.var.deps;
    const filename = `job-runs-${new Date().toISOString().slice(0, 10)}.csv`;
    return streamCsv(c, filename, jobRunCsvHeader, jobRunCsvPages(deps, c.req.valid('query')), (err) =>
      deps.logger.error({ err }, 'job run export failed'),
    );
  })
  .openapi(get, async (c) => c.json(await mustGet(c.var.deps, c.req.valid('param').id, c.req.valid('query').targets), 200))
  .openapi(targets, async (c) => {
    const page = await getJobRunTargetPage(c.var.deps, c.req.valid('param').id, c.req.valid('query'));
    if (!page) throw new ApiError(404, 'not_found');
    return c.json(page, 200);
  })
  .openapi(cancel, async (c) => {
    const { id } = c.req.valid('param');
    await cancelJobRun(c.var.deps, id);
    await audit(c, { action: 'job_run.cancel', targetType: 'job_run', targetId: id });
    return c.json(await mustGet(c.var.deps, id), 200);
  })
  .openapi(output, async (c) => {
    const { id } = c.req.valid('param');
    if (!(await getJobRunSummary(c.var.deps, id))) throw new ApiError(404, 'not_found');
    const q = c.req.valid('query');
    const items = await readOutput(c.var.deps, id, q);
    return c.json({ items, nextCursor: items.length === q.limit ? items[items.length - 1]!.id : null }, 200);
  })
  .openapi(events, async (c) => {
    const { id } = c.req.valid('param');
    const deps = c.var.deps;
    if (!(await getJobRunSummary(deps, id))) throw new ApiError(404, 'not_found');
    const query = c.req.valid('query');
    let cursor = query.after ?? '0';
    const signal = c.req.raw.signal;
    deps.metrics.sseStreams.inc();
    return streamSSE(c, async (stream) => {
      let targetsSince = query.targetsSince === undefined ? undefined : new Date(query.targetsSince);
      let lastRun = '';
      try {
        while (!signal.aborted && !stream.aborted) {
          const wake = armWake(deps.events, channels.jobRunEvents, id);
          try {
            const readAt = new Date(Date.now() - 1000); // overlap: rows updated while we read are re-sent, not lost
            const [targets, summary] = await Promise.all([getJobRunTargets(deps, id, targetsSince), getJobRunSummary(deps, id)]);
            for (const t of targets) await stream.writeSSE({ event: 'target', data: JSON.stringify(t) });
            targetsSince = readAt;
            for (;;) {
              const chunks = await readOutput(deps, id, { after: cursor, limit: 500 });
              for (const ch of chunks) await stream.writeSSE({ event: 'output', id: ch.id, data: JSON.stringify(ch) });
              if (chunks.length) cursor = chunks[chunks.length - 1]!.id;
              if (chunks.length < 500) break;
            }
            if (!summary) break;
            const runJson = JSON.stringify(summary);
            if (runJson !== lastRun) await stream.writeSSE({ event: 'run', data: runJson });
            lastRun = runJson;
            if (summary.finishedAt) {
              await stream.writeSSE({ event: 'end', data: JSON.stringify({ status: summary.status }) });
              break;
            }
            // Woken by changes; the timeout doubles as a keep-alive and a fallback if a NOTIFY was lost.
            if (!(await wake.wait(15_000, signal))) await stream.write(': keep-alive\n\n');
          } finally {
            wake.dispose();
          }
        }
      } finally {
        deps.metrics.sseStreams.dec();
      }
    });
  });
