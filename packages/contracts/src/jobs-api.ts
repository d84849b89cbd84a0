/** The job library's API shapes (apps/api/src/routes/jobs.ts): jobs, their versions and the changes between them. */
import { z } from 'zod';
import { exitCode } from './agent-protocol.ts';
import { MAX_DEVICES_PER_RUN, jobRunTargetSelection, pagination, searchText } from './api.ts';
import { jobDefinition, MAX_JOB_PARAMETERS, stepConditions } from './jobs.ts';

export const actorDto = z
  .object({
    type: z.enum(['user', 'api_key', 'device', 'system']),
    id: z.string().nullable(),
    name: z.string().nullable(),
  })
  .meta({ id: 'Actor' });

export const jobSummary = z
  .object({
    id: z.string().uuid(),
    name: z.string(),
    description: z.string(),
    currentVersion: z.number().int(),
    steps: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
    updatedBy: actorDto.describe('Who saved the current version'),
    archivedAt: z.string().nullable().describe('Set while the job is archived: no new runs, schedules or chained runs'),
  })
  .meta({ id: 'JobSummary' });
export const jobDto = jobSummary.extend({ definition: jobDefinition }).meta({ id: 'Job' });
export const jobList = z.object({ items: z.array(jobSummary), total: z.number().int() }).meta({ id: 'JobList' });
export const jobListQuery = pagination.extend({
  search: searchText.optional().describe('Part of the name (literal, any case)'),
  archived: z
    .enum(['exclude', 'include', 'only'])
    .default('exclude')
    .describe('Archived jobs: left out (the default), listed with the others, or listed alone'),
});
export const savedJob = z
  .object({ job: jobDto, versionCreated: z.boolean().describe('False when the definition equals the current version: nothing was saved') })
  .meta({ id: 'SavedJob' });
export const saveJobBody = z
  .strictObject({
    definition: jobDefinition,
    expectedVersion: z
      .number()
      .int()
      .min(1)
      .max(2_147_483_647)
      .optional()
      .describe('The version the edit started from (409 if the job has moved on)'),
  })
  .meta({ id: 'SaveJobBody' });
export const jobVersionSummary = z
  .object({ version: z.number().int(), digest: z.string(), createdAt: z.string(), createdBy: actorDto })
  .meta({ id: 'JobVersionSummary' });
export const jobVersionList = z.object({ items: z.array(jobVersionSummary) }).meta({ id: 'JobVersionList' });
export const jobVersionDto = jobVersionSummary.extend({ definition: jobDefinition }).meta({ id: 'JobVersion' });
export const jobVersionNumber = z.coerce.number().int().min(1).max(2_147_483_647);
export const jobDiffQuery = z.object({
  from: jobVersionNumber.describe('The older version'),
  to: jobVersionNumber.describe('The newer version'),
});
export const jobDefinitionChange = z
  .object({
    path: z.string().describe('The field, e.g. `steps.1.command`'),
    kind: z.enum(['added', 'removed', 'changed']),
    before: z.unknown().optional(),
    after: z.unknown().optional(),
  })
  .meta({ id: 'JobDefinitionChange' });
export const jobDiff = z
  .object({ from: z.number().int(), to: z.number().int(), changes: z.array(jobDefinitionChange) })
  .meta({ id: 'JobDiff' });

// ---- runs of a job (ADR 20) ------------------------------------------------------------------------

/** A parameter's value as the run request gives it (checked against the job's parameter on the server). */
const parameterValue = z.union([z.string().max(4096), z.number().finite(), z.boolean()]);

export const createJobRunOfJobRequest = jobRunTargetSelection
  .extend({
    /** The job version to run (default: the current one). */
    version: jobVersionNumber.optional(),
    /** Values by parameter name; secrets too (they go to the secret store and are never shown again). */
    parameters: z
      .record(z.string().max(64), parameterValue)
      .refine((p) => Object.keys(p).length <= MAX_JOB_PARAMETERS, `at most ${MAX_JOB_PARAMETERS} parameters`)
      .default({}),
    /** The device count the operator confirmed (from a preview): 409 `target_count_changed` when it differs now. */
    expectedDeviceCount: z.number().int().min(0).max(MAX_DEVICES_PER_RUN).optional(),
    /** At most this many devices run the job at the same time (default: no limit beyond the workflow's batches). */
    maxConcurrency: z.number().int().min(1).max(MAX_DEVICES_PER_RUN).optional(),
    /** Stop starting new devices once this many devices failed, or this percentage of the targets. */
    failureThreshold: z
      .strictObject({
        count: z.number().int().min(1).max(MAX_DEVICES_PER_RUN).optional(),
        percent: z.number().int().min(1).max(100).optional(),
      })
      .refine((t) => t.count !== undefined || t.percent !== undefined, { message: 'give count, percent or both' })
      .optional(),
    /** How long new devices may start, and how long a device may take to pick up a step. */
    deadlineSeconds: z
      .number()
      .int()
      .min(10)
      .max(7 * 24 * 3600)
      .default(3600),
  })
  .meta({ id: 'CreateJobRunOfJobRequest' });
export type CreateJobRunOfJobRequest = z.infer<typeof createJobRunOfJobRequest>;

export const rerunJobRunRequest = z
  .strictObject({
    /** The run's secret parameters again (secrets are kept only while a run may use them). */
    secrets: z.record(z.string().max(64), z.string().max(4096)).default({}),
  })
  .meta({ id: 'RerunJobRunRequest' });

export const approvalDecisionRequest = z
  .strictObject({ comment: z.string().max(2000).optional().describe('Why (kept with the decision and in the audit log)') })
  .meta({ id: 'ApprovalDecisionRequest' });

export const createdJobRun = z.object({ id: z.string().uuid(), deviceCount: z.number().int() }).meta({ id: 'CreatedJobRun' });

/** A step's state on one device: `not_reached` until the device gets to it. */
export const jobRunStepStatuses = [
  'not_reached',
  'pending',
  'running',
  'succeeded',
  'failed',
  'timed_out',
  'cancelled',
  'offline',
  'skipped',
] as const;
export const jobRunStep = z
  .object({
    index: z.number().int(),
    name: z.string(),
    kind: z.string(),
    condition: z.enum(stepConditions),
    continueOnError: z.boolean(),
    status: z.enum(jobRunStepStatuses),
    /** Attempts started (a retry is the next one). */
    attempts: z.number().int(),
    exitCode: exitCode.nullable(),
    errorMessage: z.string().nullable(),
    durationMs: z.number().int().nullable(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    /** When a pending retry is due, or a wait step ends. */
    nextAt: z.string().nullable(),
  })
  .meta({ id: 'JobRunStep' });
export const jobRunDeviceSteps = z
  .object({ deviceId: z.string().uuid(), hostname: z.string(), status: z.string(), steps: z.array(jobRunStep) })
  .meta({ id: 'JobRunDeviceSteps' });

// ---- schedules (ADR 20) -------------------------------------------------------------------------------

/** What a schedule does when its last run is still going when it fires (Temporal's overlap policies). */
export const scheduleOverlapPolicies = ['skip', 'buffer_one', 'buffer_all', 'cancel_other', 'terminate_other', 'allow_all'] as const;

const timeZoneName = z
  .string()
  .min(1)
  .max(64)
  .refine((tz) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  }, 'must be an IANA time zone such as Europe/Berlin');
/** A cron expression as Temporal reads it: 5 fields (minute hour day-of-month month day-of-week), or a @-macro. */
export const cronExpression = z
  .string()
  .min(1)
  .max(200)
  .regex(/^(@[a-z]+|[0-9A-Za-z*/,?#LW-]+( [0-9A-Za-z*/,?#LW-]+){4,6})$/, 'must be a cron expression such as "0 3 * * 1-5"');

export const jobScheduleSpec = z
  .strictObject({
    cron: z.array(cronExpression).max(10).default([]),
    intervals: z
      .array(
        z.strictObject({
          everySeconds: z
            .number()
            .int()
            .min(1)
            .max(366 * 24 * 3600),
          offsetSeconds: z
            .number()
            .int()
            .min(0)
            .max(366 * 24 * 3600)
            .default(0),
        }),
      )
      .max(10)
      .default([]),
    timeZone: timeZoneName.default('UTC'),
    startAt: z.iso.datetime({ offset: true }).optional(),
    endAt: z.iso.datetime({ offset: true }).optional(),
    /** Each run starts up to this much later than its time, at random. */
    jitterSeconds: z
      .number()
      .int()
      .min(0)
      .max(24 * 3600)
      .default(0),
  })
  .refine((s) => s.cron.length + s.intervals.length > 0, { message: 'give at least one cron expression or interval', path: ['cron'] })
  .refine((s) => !s.startAt || !s.endAt || Date.parse(s.startAt) < Date.parse(s.endAt), {
    message: 'must be after startAt',
    path: ['endAt'],
  })
  .meta({ id: 'JobScheduleSpec' });
export type JobScheduleSpec = z.infer<typeof jobScheduleSpec>;

export const jobScheduleBody = jobRunTargetSelection
  .extend({
    name: z.string().max(200).trim().min(1),
    description: z.string().max(2000).default(''),
    /** The job version every run uses; without it, each run uses the job's current version when it fires. */
    version: jobVersionNumber.optional(),
    spec: jobScheduleSpec,
    overlap: z.enum(scheduleOverlapPolicies).default('skip'),
    /** Values by parameter name; secret ones go to the secret store. */
    parameters: createJobRunOfJobRequest.shape.parameters,
    maxConcurrency: createJobRunOfJobRequest.shape.maxConcurrency,
    failureThreshold: createJobRunOfJobRequest.shape.failureThreshold,
    deadlineSeconds: createJobRunOfJobRequest.shape.deadlineSeconds,
    /** Created paused (no runs until unpaused). */
    paused: z.boolean().default(false),
  })
  .meta({ id: 'JobScheduleBody' });
export type JobScheduleBody = z.infer<typeof jobScheduleBody>;
/**
 * A change (PUT): the whole schedule, as on creation, except that `paused` left out keeps the schedule as it is, and
 * a secret parameter left out keeps the value stored for it.
 */
export const jobScheduleUpdateBody = jobScheduleBody.extend({ paused: z.boolean().optional() }).meta({ id: 'JobScheduleUpdateBody' });
export type JobScheduleUpdateBody = z.infer<typeof jobScheduleUpdateBody>;

export const jobScheduleDto = z
  .object({
    id: z.string().uuid(),
    /** The Temporal Schedule's ID (visible in the Temporal UI's Schedules). */
    scheduleId: z.string(),
    temporalUrl: z.string().nullable(),
    name: z.string(),
    description: z.string(),
    job: z.object({ id: z.string().uuid(), name: z.string() }),
    version: z.number().int().nullable(),
    spec: jobScheduleSpec,
    overlap: z.enum(scheduleOverlapPolicies),
    targetSelection: jobRunTargetSelection,
    parameters: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
    secretParameters: z.array(z.string()),
    maxConcurrency: z.number().int().nullable(),
    failureThreshold: z.object({ count: z.number().int().nullable(), percent: z.number().int().nullable() }).nullable(),
    deadlineSeconds: z.number().int(),
    paused: z.boolean(),
    lastError: z.string().nullable(),
    createdBy: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'JobSchedule' });
export const jobScheduleDetail = jobScheduleDto
  .extend({
    /** From Temporal (null when it could not be asked): its next run times, the pause note, and the runs it started. */
    temporal: z
      .object({
        paused: z.boolean(),
        note: z.string().nullable(),
        upcoming: z.array(z.string()),
        recentActions: z.array(z.object({ scheduledAt: z.string(), takenAt: z.string(), workflowId: z.string() })),
      })
      .nullable(),
    /** The newest runs it started (the database's). */
    recentRuns: z.array(
      z.object({
        id: z.string().uuid(),
        status: z.string(),
        createdAt: z.string(),
        finishedAt: z.string().nullable(),
        workflowId: z.string(),
      }),
    ),
  })
  .meta({ id: 'JobScheduleDetail' });
export const jobScheduleList = z.object({ items: z.array(jobScheduleDto), total: z.number().int() }).meta({ id: 'JobScheduleList' });
export const jobScheduleListQuery = pagination.extend({ jobId: z.string().uuid().optional().describe("This job's schedules only") });
export const scheduleNoteBody = z.strictObject({ note: z.string().max(500).optional() }).meta({ id: 'ScheduleNoteBody' });
