/** /schedules/:id/edit — change a schedule (operators); the whole schedule is saved again, its secrets given again. */
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { useActionData, useLoaderData } from '@remix-run/react';
import { requireApi } from '~/lib/api.server';
import { requireRole } from '~/lib/roles.server';
import { scheduleAction, scheduleFormLoader, scheduleIdParam } from '~/lib/schedule-form.server';
import { ScheduleForm } from '~/components/schedule-form';
import { Breadcrumb, PageHeader } from '~/components/ui';

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `Edit ${data?.schedule.name ?? 'schedule'} · OpsConductor` }];

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const id = scheduleIdParam(params);
  const api = await requireApi(request, context);
  await requireRole(api, 'operator', 'change schedules');
  const schedule = await api.get('/job-schedules/{id}', { params: { path: { id } } });
  return { schedule: { id: schedule.id, name: schedule.name }, ...(await scheduleFormLoader(api, request, schedule.job.id, schedule)) };
}

export async function action({ request, context, params }: ActionFunctionArgs) {
  const id = scheduleIdParam(params);
  const api = await requireApi(request, context);
  const schedule = await api.get('/job-schedules/{id}', { params: { path: { id } } });
  return scheduleAction(request, context, { jobId: schedule.job.id, scheduleId: id }, await request.formData());
}

export default function EditSchedule() {
  const d = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  return (
    <>
      <Breadcrumb
        trail={[
          { to: '/schedules', label: 'Schedules' },
          { to: `/schedules/${d.schedule.id}`, label: d.schedule.name },
        ]}
        current="Edit"
      />
      <PageHeader title={`Edit ${d.schedule.name}`} description={`A schedule of ${d.job.name}`} />
      <div className="max-w-4xl">
        <ScheduleForm
          mode="edit"
          job={d.job}
          versions={d.versions}
          version={d.version}
          parameters={d.parameters}
          picker={d.picker}
          timeZones={d.timeZones}
          initial={d.initial}
          partialTargets={d.partialTargets}
          secretNames={d.secretNames}
          cancelTo={`/schedules/${d.schedule.id}`}
          result={result}
        />
      </div>
    </>
  );
}
