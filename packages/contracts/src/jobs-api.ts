/** The job library's API shapes (apps/api/src/routes/jobs.ts): jobs, their versions and the changes between them. */
import { z } from 'zod';
import { pagination, searchText } from './api.ts';
import { jobDefinition } from './jobs.ts';

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
  })
  .meta({ id: 'JobSummary' });
export const jobDto = jobSummary.extend({ definition: jobDefinition }).meta({ id: 'Job' });
export const jobList = z.object({ items: z.array(jobSummary), total: z.number().int() }).meta({ id: 'JobList' });
export const jobListQuery = pagination.extend({ search: searchText.optional().describe('Part of the name (literal, any case)') });
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
