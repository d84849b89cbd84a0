import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { useActionData, useLoaderData } from '@remix-run/react';
import { requireApi } from '~/lib/api.server';
import { jobSaveFailure, parseJobForm } from '~/lib/job-form.server';
import { chainableJobNames, editorTab } from '~/lib/job-pages.server';
import { requireRole } from '~/lib/roles.server';
import { JobEditor, type JobFormData } from '~/components/job-editor';
import { Breadcrumb, PageHeader } from '~/components/ui';

export const meta: MetaFunction = () => [{ title: 'New job · OpsConductor' }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const api = await requireApi(request, context);
  await requireRole(api, 'operator', 'change jobs');
  return { tab: editorTab(request), jobNames: await chainableJobNames(api) };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const api = await requireApi(request, context);
  const parsed = parseJobForm(await request.formData());
  if (!parsed.ok) return data<JobFormData>(parsed.result, { status: 400 });
  try {
    const job = await api.post('/jobs', { body: parsed.definition });
    return redirect(`/jobs/${job.id}?created`);
  } catch (error) {
    return jobSaveFailure(error, api, { text: parsed.text, mode: parsed.mode });
  }
}

export default function NewJob() {
  const { tab, jobNames } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  return (
    <>
      <Breadcrumb trail={[{ to: '/jobs', label: 'Jobs' }]} current="New" />
      <PageHeader title="New job" description="Parameters are typed; steps run in order on each target device." />
      <JobEditor definition={null} mode={tab} result={result} jobNames={jobNames} submitLabel="Create job" cancelTo="/jobs" />
    </>
  );
}
