/** /jobs/:id/edit — a sibling of the job page (the `_` keeps it out of that page's layout); `?from=3` starts from version 3. */
import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Link, useActionData, useLoaderData } from '@remix-run/react';
import { requireApi } from '~/lib/api.server';
import { jobSaveFailure, parseJobForm } from '~/lib/job-form.server';
import { chainableJobNames, editorTab, jobIdParam, versionParam } from '~/lib/job-pages.server';
import { requireRole } from '~/lib/roles.server';
import { JobEditor, type JobFormData } from '~/components/job-editor';
import { Alert, Breadcrumb, PageHeader } from '~/components/ui';

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `Edit ${data?.job.name ?? 'job'} · OpsConductor` }];

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const id = jobIdParam(params);
  const api = await requireApi(request, context);
  await requireRole(api, 'operator', 'change jobs');
  const job = await api.get('/jobs/{id}', { params: { path: { id } } });
  const from = versionParam(new URL(request.url).searchParams.get('from'));
  const start =
    from && from !== job.currentVersion
      ? await api.get('/jobs/{id}/versions/{version}', { params: { path: { id, version: from } } })
      : null;
  return {
    job,
    definition: start?.definition ?? job.definition,
    startedFrom: start?.version ?? null,
    tab: editorTab(request),
    jobNames: await chainableJobNames(api, job.name),
  };
}

export async function action({ request, context, params }: ActionFunctionArgs) {
  const id = jobIdParam(params);
  const api = await requireApi(request, context);
  const parsed = parseJobForm(await request.formData());
  if (!parsed.ok) return data<JobFormData>(parsed.result, { status: 400 });
  try {
    const { job, versionCreated } = await api.put('/jobs/{id}', {
      params: { path: { id } },
      body: { definition: parsed.definition, expectedVersion: parsed.expectedVersion },
    });
    return redirect(`/jobs/${id}?${versionCreated ? `saved=${job.currentVersion}` : 'unchanged'}`);
  } catch (error) {
    return jobSaveFailure(error, api, { text: parsed.text, mode: parsed.mode, jobId: id, expectedVersion: parsed.expectedVersion });
  }
}

export default function EditJob() {
  const { job, definition, startedFrom, tab, jobNames } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  return (
    <>
      <Breadcrumb
        trail={[
          { to: '/jobs', label: 'Jobs' },
          { to: `/jobs/${job.id}`, label: job.name },
        ]}
        current="Edit"
      />
      <PageHeader
        title={`Edit ${job.name}`}
        description="Every save that changes something is a new version; the old ones stay readable."
      />
      {startedFrom ? (
        <div className="mb-4">
          <Alert tone="info" title={`Starting from version ${startedFrom}`}>
            Saving makes it the current version again (as version {job.currentVersion + 1}).{' '}
            <Link to={`/jobs/${job.id}/edit`} className="font-medium underline" reloadDocument>
              Start from the current version {job.currentVersion}
            </Link>
          </Alert>
        </div>
      ) : null}
      <JobEditor
        key={startedFrom ?? 'current'}
        definition={definition}
        mode={tab}
        result={result}
        expectedVersion={job.currentVersion}
        jobNames={jobNames}
        submitLabel="Save job"
        cancelTo={`/jobs/${job.id}`}
      />
    </>
  );
}
