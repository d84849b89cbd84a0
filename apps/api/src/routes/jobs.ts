/** The job library (packages/jobs): jobs, their immutable versions, diffs, and export/import as code. */
import { createRoute, z } from '@hono/zod-openapi';
import { uuid } from '@opsconductor/contracts/api';
import { jobDefinition } from '@opsconductor/contracts/jobs';
import {
  jobDiff,
  jobDiffQuery,
  jobDto,
  jobList,
  jobListQuery,
  jobVersionDto,
  jobVersionList,
  jobVersionNumber,
  savedJob,
  saveJobBody,
} from '@opsconductor/contracts/jobs-api';
import {
  JOB_DEFINITION_SCHEMA_ID,
  YAML_MEDIA_TYPES,
  jobDefinitionFileName,
  jobDefinitionJsonSchema,
  renderJobDefinitionYaml,
  type Job,
  type JobSummary,
  type JobVersion,
} from '@opsconductor/jobs';
import { body, createRouter, json } from '../lib/router.ts';
import { yamlBody } from '../lib/yaml-body.ts';
import { authenticate, requireRole } from '../lib/auth.ts';
import { requestOrigin } from '../lib/audit.ts';
import { documentedProblem, problemResponses } from '../lib/problem.ts';

const security = [{ bearerAuth: [] }];
const read = [authenticate];
const operate = [authenticate, requireRole('operator')];
const idParam = z.object({ id: uuid.describe("The job's ID") });
const tags = ['jobs'];
const definitionNote =
  'The definition is checked as a whole: 400 `validation_failed` lists every problem with its path (`definition.steps.1.command`), ' +
  'e.g. a `{{ name }}` that is not a parameter, one inside sh single quotes, or a default that does not fit its parameter.';

/**
 * YAML bodies and files hold the same document as JSON ones (YAML 1.2 core schema: one document, no tags or
 * directives, no duplicate keys), so their OpenAPI schema is the definition's: a client reading the YAML gets the
 * object the JSON schema describes.
 */
const definitionAsYaml = { schema: jobDefinition };
const yamlContent = Object.fromEntries(YAML_MEDIA_TYPES.map((type) => [type, definitionAsYaml]));
const exportFormat = z
  .enum(['json', 'yaml'])
  .default('json')
  .describe(
    'The file format: `json` (the default) or `yaml` (`application/yaml`, scripts as block literals, a `$schema` comment for editors)',
  );

const archiveRoute = (archived: boolean) =>
  createRoute({
    method: 'post',
    path: archived ? '/jobs/{id}/archive' : '/jobs/{id}/unarchive',
    operationId: archived ? 'archiveJob' : 'unarchiveJob',
    tags,
    summary: archived
      ? 'Archive a job (operator): out of the default list, no new runs, schedules or chained runs; its versions and runs stay'
      : 'Take a job out of the archive (operator)',
    ...(archived ? { description: 'A job that schedules start cannot be archived (409 `job_has_schedules`): delete them first.' } : {}),
    security,
    middleware: operate,
    request: { params: idParam },
    responses: {
      200: json(jobDto, archived ? 'Archived (or already was)' : 'Not archived (or never was)'),
      ...(archived ? { 409: documentedProblem('Schedules start it (`job_has_schedules`)') } : {}),
      ...problemResponses,
    },
  });
const archive = archiveRoute(true);
const unarchive = archiveRoute(false);
const remove = createRoute({
  method: 'delete',
  path: '/jobs/{id}',
  operationId: 'deleteJob',
  tags,
  summary: 'Delete a job that never ran, with its versions (operator)',
  description:
    'A job with runs in the history can only be archived (409 `job_has_runs`); one that schedules start, not at all (409 `job_has_schedules`).',
  security,
  middleware: operate,
  request: { params: idParam },
  responses: { 204: { description: 'Deleted' }, 409: documentedProblem('It ran, or schedules start it'), ...problemResponses },
});
const list = createRoute({
  method: 'get',
  path: '/jobs',
  operationId: 'listJobs',
  tags,
  summary: 'The job library, by name',
  security,
  middleware: read,
  request: { query: jobListQuery },
  responses: { 200: json(jobList, 'Jobs'), ...problemResponses },
});
const schema = createRoute({
  method: 'get',
  path: '/jobs/schema',
  operationId: 'getJobDefinitionSchema',
  tags,
  summary: 'The JSON Schema of a job definition (jobs as code)',
  description: 'The same document as docs/schemas/job-definition.schema.json: point an editor or a CI check at it.',
  security,
  middleware: read,
  responses: {
    200: json(z.record(z.string(), z.unknown()).meta({ id: 'JobDefinitionJsonSchema' }), 'JSON Schema (draft 2020-12)'),
    ...problemResponses,
  },
});
const get = createRoute({
  method: 'get',
  path: '/jobs/{id}',
  operationId: 'getJob',
  tags,
  summary: 'A job with its current definition',
  security,
  middleware: read,
  request: { params: idParam },
  responses: { 200: json(jobDto, 'Job'), ...problemResponses },
});
const create = createRoute({
  method: 'post',
  path: '/jobs',
  operationId: 'createJob',
  tags,
  summary: 'Create a job at version 1 (operator)',
  description: definitionNote,
  security,
  middleware: operate,
  request: body(jobDefinition),
  responses: { 201: json(jobDto, 'Created'), 409: documentedProblem('A job with this name exists (`name_taken`)'), ...problemResponses },
});
const save = createRoute({
  method: 'put',
  path: '/jobs/{id}',
  operationId: 'saveJob',
  tags,
  summary: 'Save a definition as the next version (operator)',
  description: `${definitionNote} A definition equal to the current version saves nothing (\`versionCreated: false\`). With \`expectedVersion\`, a save over a newer version is 409 \`conflict\`.`,
  security,
  middleware: operate,
  request: { params: idParam, ...body(saveJobBody) },
  responses: { 200: json(savedJob, 'Saved'), 409: documentedProblem('Name taken, or the job has a newer version'), ...problemResponses },
});
const importJob = createRoute({
  method: 'post',
  path: '/jobs/import',
  operationId: 'importJob',
  tags,
  summary: 'Import a definition (jobs as code): the job of its name is created or saved (operator)',
  description:
    `${definitionNote} Importing an unchanged definition creates no version, whichever format it comes in. ` +
    'The body is JSON, or YAML (`application/yaml`, `application/x-yaml` or `text/yaml`, UTF-8, at most 1 MiB): ' +
    'one YAML 1.2 document of the core schema, without tags, directives, duplicate keys or more aliases and nesting than a definition needs. ' +
    'YAML that cannot be read is 400 `malformed_yaml`, naming the line and column; what it says is then checked exactly as JSON is. ' +
    `Both forms follow the JSON Schema ${JOB_DEFINITION_SCHEMA_ID}.`,
  security,
  middleware: [...operate, yamlBody],
  request: { body: { content: { 'application/json': { schema: jobDefinition }, ...yamlContent }, required: true } },
  responses: { 200: json(savedJob, 'Imported'), 409: documentedProblem('Another job took the name meanwhile'), ...problemResponses },
});
const exportJob = createRoute({
  method: 'get',
  path: '/jobs/{id}/export',
  operationId: 'exportJob',
  tags,
  summary: 'A version of the definition as a file to keep in git (the current one unless `version` is given)',
  security,
  middleware: read,
  request: {
    params: idParam,
    query: z.object({
      version: jobVersionNumber.optional().describe('The version to export (default: the current one)'),
      format: exportFormat,
    }),
  },
  responses: {
    200: {
      description: 'The definition, with every default filled in, as a file to save (`Content-Disposition: attachment`)',
      headers: z.object({
        'Content-Disposition': z.string().describe('`attachment; filename="<job name>.job.json"` (or `.job.yaml`)'),
      }),
      content: { 'application/json': { schema: jobDefinition }, 'application/yaml': definitionAsYaml },
    },
    ...problemResponses,
  },
});
const versions = createRoute({
  method: 'get',
  path: '/jobs/{id}/versions',
  operationId: 'listJobVersions',
  tags,
  summary: "A job's versions, newest first, with who saved each",
  security,
  middleware: read,
  request: { params: idParam },
  responses: { 200: json(jobVersionList, 'Versions'), ...problemResponses },
});
const version = createRoute({
  method: 'get',
  path: '/jobs/{id}/versions/{version}',
  operationId: 'getJobVersion',
  tags,
  summary: 'One version of a job',
  security,
  middleware: read,
  request: { params: idParam.extend({ version: jobVersionNumber.describe('The version number, from 1') }) },
  responses: { 200: json(jobVersionDto, 'Version'), ...problemResponses },
});
const diff = createRoute({
  method: 'get',
  path: '/jobs/{id}/diff',
  operationId: 'diffJobVersions',
  tags,
  summary: 'What changed between two versions, field by field',
  security,
  middleware: read,
  request: { params: idParam, query: jobDiffQuery },
  responses: { 200: json(jobDiff, 'Changes'), ...problemResponses },
});

const summaryDto = (j: JobSummary) => ({
  id: j.id,
  name: j.name,
  description: j.description,
  currentVersion: j.currentVersion,
  steps: j.steps,
  createdAt: j.createdAt.toISOString(),
  updatedAt: j.updatedAt.toISOString(),
  updatedBy: j.updatedBy,
  archivedAt: j.archivedAt?.toISOString() ?? null,
});
const toDto = (j: Job) => ({ ...summaryDto(j), definition: j.definition });
const versionDto = (v: Omit<JobVersion, 'definition'>) => ({
  version: v.version,
  digest: v.digest,
  createdAt: v.createdAt.toISOString(),
  createdBy: v.createdBy,
});

export const jobRoutes = createRouter()
  .openapi(list, async (c) => {
    const { items, total } = await c.var.deps.services.jobs.list(c.req.valid('query'));
    return c.json({ items: items.map(summaryDto), total }, 200);
  })
  .openapi(schema, (c) => c.json(jobDefinitionJsonSchema(), 200))
  .openapi(importJob, async (c) => {
    const { job, versionCreated } = await c.var.deps.services.jobs.import(requestOrigin(c), c.req.valid('json'));
    return c.json({ job: toDto(job), versionCreated }, 200);
  })
  .openapi(get, async (c) => c.json(toDto(await c.var.deps.services.jobs.get(c.req.valid('param').id)), 200))
  .openapi(create, async (c) => c.json(toDto(await c.var.deps.services.jobs.create(requestOrigin(c), c.req.valid('json'))), 201))
  .openapi(save, async (c) => {
    const { definition, expectedVersion } = c.req.valid('json');
    const { job, versionCreated } = await c.var.deps.services.jobs.save(
      requestOrigin(c),
      c.req.valid('param').id,
      definition,
      expectedVersion,
    );
    return c.json({ job: toDto(job), versionCreated }, 200);
  })
  .openapi(exportJob, async (c) => {
    const jobs = c.var.deps.services.jobs;
    const { id } = c.req.valid('param');
    const job = await jobs.get(id);
    const { version: wanted, format } = c.req.valid('query');
    const n = wanted ?? job.currentVersion;
    const { definition } = n === job.currentVersion ? job : await jobs.version(id, n);
    c.header('Content-Disposition', `attachment; filename="${jobDefinitionFileName(job.name, format)}"`);
    if (format === 'yaml') return c.body(renderJobDefinitionYaml(definition), 200, { 'Content-Type': 'application/yaml; charset=utf-8' });
    return c.json(definition, 200);
  })
  .openapi(versions, async (c) =>
    c.json({ items: (await c.var.deps.services.jobs.versions(c.req.valid('param').id)).map(versionDto) }, 200),
  )
  .openapi(version, async (c) => {
    const { id, version: n } = c.req.valid('param');
    const v = await c.var.deps.services.jobs.version(id, n);
    return c.json({ ...versionDto(v), definition: v.definition }, 200);
  })
  .openapi(diff, async (c) => {
    const { from, to } = c.req.valid('query');
    return c.json({ from, to, changes: await c.var.deps.services.jobs.diff(c.req.valid('param').id, from, to) }, 200);
  })
  .openapi(archive, async (c) =>
    c.json(toDto(await c.var.deps.services.jobs.setArchived(requestOrigin(c), c.req.valid('param').id, true)), 200),
  )
  .openapi(unarchive, async (c) =>
    c.json(toDto(await c.var.deps.services.jobs.setArchived(requestOrigin(c), c.req.valid('param').id, false)), 200),
  )
  .openapi(remove, async (c) => {
    await c.var.deps.services.jobs.delete(requestOrigin(c), c.req.valid('param').id);
    return c.body(null, 204);
  });
