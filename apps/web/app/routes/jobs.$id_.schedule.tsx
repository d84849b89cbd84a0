/** /jobs/:id/schedule — schedule runs of a job (operators): when, targets, the version and its parameters, each run's limits. */
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { useActionData, useLoaderData } from '@remix-run/react';
import { requireApi } from '~/lib/api.server';
import { jobIdParam } from '~/lib/job-pages.server';
import { requireRole } from '~/lib/roles.server';
import { scheduleAction, scheduleFormLoader } from '~/lib/schedule-form.server';
import { ScheduleForm } from '~/components/schedule-form';
import { Breadcrumb, PageHeader } from '~/components/ui';

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `Schedule ${data?.job.name ?? 'job'} · OpsConductor` }];

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const id = jobIdParam(params);
  const api = await requireApi(request, context);
  await requireRole(api, 'operator', 'schedule jobs');
  return scheduleFormLoader(api, request, id);
}

export async function action({ request, context, params }: ActionFunctionArgs) {
  return scheduleAction(request, context, { jobId: jobIdParam(params) }, await request.formData());
}

export default function ScheduleJob() {
  const d = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  return (
    <>
      <Breadcrumb
        trail={[
          { to: '/jobs', label: 'Jobs' },
          { to: `/jobs/${d.job.id}`, label: d.job.name },
        ]}
        current="Schedule"
      />
      <PageHeader
        title={`Schedule ${d.job.name}`}
        description="Runs of this job at set times: cron expressions and/or intervals in a time zone."
      />
      <div className="max-w-4xl">
        <ScheduleForm
          mode="create"
          job={d.job}
          versions={d.versions}
          version={d.version}
          parameters={d.parameters}
          picker={d.picker}
          timeZones={d.timeZones}
          initial={d.initial}
          partialTargets={d.partialTargets}
          secretNames={d.secretNames}
          cancelTo={`/jobs/${d.job.id}`}
          result={result}
        />
      </div>
    </>
  );
}
