/** Scheduled runs of jobs (services/job-schedules.ts): Temporal Schedules with the settings of the runs they start. */
import { createRoute, z } from '@hono/zod-openapi';
import { uuid } from '@opsconductor/contracts/api';
import {
  jobScheduleBody,
  jobScheduleUpdateBody,
  jobScheduleDetail,
  jobScheduleList,
  jobScheduleListQuery,
  scheduleNoteBody,
} from '@opsconductor/contracts/jobs-api';
import { createRouter, json } from '../lib/router.ts';
import { authenticate, requireRole } from '../lib/auth.ts';
import { requestOrigin } from '../lib/audit.ts';
import { documentedProblem, problemResponses } from '../lib/problem.ts';
import { actOnJobSchedule, createJobSchedule, getJobSchedule, listJobSchedules, updateJobSchedule } from '../services/job-schedules.ts';

const security = [{ bearerAuth: [] }];
const read = [authenticate];
const operate = [authenticate, requireRole('operator')];
const tags = ['job schedules'];
const idParam = z.object({ id: uuid.describe("The schedule's ID") });
const bodyOf = { content: { 'application/json': { schema: jobScheduleBody } }, required: true };
const specNote =
  'Each schedule is a Temporal Schedule `job-schedule/<id>` (in the Temporal UI under Schedules) starting the workflow `scheduledJobRun`, which records a run with these settings — the targets resolved when it fires — and runs it as its child `job-run/<run id>`. ' +
  '`spec`: cron expressions (`0 3 * * 1-5`) and/or intervals (`everySeconds`, `offsetSeconds`) in an IANA `timeZone`, optional `startAt`/`endAt`, `jitterSeconds`. ' +
  '`overlap` says what happens when a run is still going at the next time (`skip` by default). Values are checked against the job version the runs will use; secret ones go to the secret store. A firing that cannot record a run (no device matches, a value no longer fits the job) records nothing and sets `lastError`.';

const create = createRoute({
  method: 'post',
  path: '/jobs/{id}/schedules',
  operationId: 'createJobSchedule',
  tags,
  summary: 'Schedule runs of a job (operator)',
  description: specNote,
  security,
  middleware: operate,
  request: { params: z.object({ id: uuid.describe("The job's ID") }), body: bodyOf },
  responses: { 201: json(jobScheduleDetail, 'Created'), 409: documentedProblem('The name is taken (`name_taken`)'), ...problemResponses },
});
const list = createRoute({
  method: 'get',
  path: '/job-schedules',
  operationId: 'listJobSchedules',
  tags,
  summary: 'Schedules, by name',
  security,
  middleware: read,
  request: { query: jobScheduleListQuery },
  responses: { 200: json(jobScheduleList, 'Schedules'), ...problemResponses },
});
const get = createRoute({
  method: 'get',
  path: '/job-schedules/{id}',
  operationId: 'getJobSchedule',
  tags,
  summary: 'A schedule, its next run times, its recent firings and runs',
  description:
    '`temporal` is what the Temporal Schedule says now (null when Temporal could not be asked); `recentRuns` are the newest runs it started.',
  security,
  middleware: read,
  request: { params: idParam },
  responses: { 200: json(jobScheduleDetail, 'The schedule'), ...problemResponses },
});
const update = createRoute({
  method: 'put',
  path: '/job-schedules/{id}',
  operationId: 'updateJobSchedule',
  tags,
  summary: 'Change a schedule (operator)',
  description: `The whole schedule, as on creation, except: \`paused\` left out keeps the schedule paused or running as it is, and a secret parameter left out keeps its stored value (secret values are never shown, so a form cannot send them back). ${specNote}`,
  security,
  middleware: operate,
  request: { params: idParam, body: { content: { 'application/json': { schema: jobScheduleUpdateBody } }, required: true } },
  responses: { 200: json(jobScheduleDetail, 'Changed'), 409: documentedProblem('The name is taken (`name_taken`)'), ...problemResponses },
});
const action = (name: 'pause' | 'unpause' | 'trigger', summary: string, description: string) =>
  createRoute({
    method: 'post',
    path: `/job-schedules/{id}/${name}`,
    operationId: `${name}JobSchedule`,
    tags,
    summary,
    description,
    security,
    middleware: operate,
    request: { params: idParam, body: { content: { 'application/json': { schema: scheduleNoteBody } }, required: false } },
    responses: { 200: json(jobScheduleDetail, 'The schedule'), ...problemResponses },
  });
const pause = action(
  'pause',
  'Pause a schedule (operator)',
  'No runs start until it is unpaused; `note` is kept on the Temporal Schedule.',
);
const unpause = action('unpause', 'Unpause a schedule (operator)', 'Runs start again at their times.');
const trigger = action('trigger', 'Start a run now (operator)', 'One firing now, as if its time had come (the overlap policy applies).');
const remove = createRoute({
  method: 'delete',
  path: '/job-schedules/{id}',
  operationId: 'deleteJobSchedule',
  tags,
  summary: 'Delete a schedule (operator)',
  description: 'The Temporal Schedule and its secrets go; runs it started stay (without their schedule).',
  security,
  middleware: operate,
  request: { params: idParam },
  responses: { 204: { description: 'Deleted' }, ...problemResponses },
});

async function noteOf(c: { req: { json(): Promise<unknown>; header(name: string): string | undefined } }): Promise<string | undefined> {
  if (!c.req.header('content-type')?.includes('application/json')) return undefined;
  const parsed = scheduleNoteBody.safeParse(await c.req.json().catch(() => ({})));
  return parsed.success ? parsed.data.note : undefined;
}

export const jobScheduleRoutes = createRouter()
  .openapi(create, async (c) => {
    const id = await createJobSchedule(c.var.deps, c.var.user, requestOrigin(c), c.req.valid('param').id, c.req.valid('json'));
    return c.json(await getJobSchedule(c.var.deps, id), 201);
  })
  .openapi(list, async (c) => c.json(await listJobSchedules(c.var.deps, c.req.valid('query')), 200))
  .openapi(get, async (c) => c.json(await getJobSchedule(c.var.deps, c.req.valid('param').id), 200))
  .openapi(update, async (c) => {
    const { id } = c.req.valid('param');
    await updateJobSchedule(c.var.deps, requestOrigin(c), id, c.req.valid('json'));
    return c.json(await getJobSchedule(c.var.deps, id), 200);
  })
  .openapi(pause, async (c) => {
    const { id } = c.req.valid('param');
    await actOnJobSchedule(c.var.deps, requestOrigin(c), id, 'pause', await noteOf(c));
    return c.json(await getJobSchedule(c.var.deps, id), 200);
  })
  .openapi(unpause, async (c) => {
    const { id } = c.req.valid('param');
    await actOnJobSchedule(c.var.deps, requestOrigin(c), id, 'unpause', await noteOf(c));
    return c.json(await getJobSchedule(c.var.deps, id), 200);
  })
  .openapi(trigger, async (c) => {
    const { id } = c.req.valid('param');
    await actOnJobSchedule(c.var.deps, requestOrigin(c), id, 'trigger');
    return c.json(await getJobSchedule(c.var.deps, id), 200);
  })
  .openapi(remove, async (c) => {
    await actOnJobSchedule(c.var.deps, requestOrigin(c), c.req.valid('param').id, 'delete');
    return c.body(null, 204);
  });
