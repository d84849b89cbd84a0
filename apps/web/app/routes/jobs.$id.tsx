/**
 * A job: its current definition, Edit, Run, Schedule and Export, Archive (or Delete, for one that never ran), its
 * versions, its schedules, and the diff between any two versions (`?from=1&to=2`).
 */
import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Form, Link, useActionData, useLoaderData, useSearchParams } from '@remix-run/react';
import { ApiError, requireApi } from '~/lib/api.server';
import { jobIdParam, versionParam } from '~/lib/job-pages.server';
import { pluralize } from '~/lib/format';
import { canRunCommands, useOptionalUser } from '~/lib/user';
import { JobDefinitionView, JobDiffView, actorLabel } from '~/components/jobs';
import { ScheduleList } from '~/components/schedules';
import { AbsoluteTime, Alert, Breadcrumb, Button, Card, PageHeader, RelativeTime, buttonClass, cx } from '~/components/ui';

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.job.name ?? 'Job'} · OpsConductor` }];

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const id = jobIdParam(params);
  const api = await requireApi(request, context);
  const sp = new URL(request.url).searchParams;
  const [job, { items: versions }, schedules] = await Promise.all([
    api.get('/jobs/{id}', { params: { path: { id } } }),
    api.get('/jobs/{id}/versions', { params: { path: { id } } }),
    // The panel of the job's schedules is never a reason for the page to fail.
    api.get('/job-schedules', { params: { query: { jobId: id, pageSize: SCHEDULES_SHOWN } } }).catch(() => null),
  ]);
  const from = versionParam(sp.get('from'));
  const to = versionParam(sp.get('to'));
  let diff = null;
  let diffError: string | null = null;
  if (from !== null && to !== null) {
    try {
      diff = await api.get('/jobs/{id}/diff', { params: { path: { id }, query: { from, to } } });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      diffError = error.detail ?? error.title;
    }
  }
  return { job, versions, diff, diffError, schedules };
}

const SCHEDULES_SHOWN = 10;

/** Archive, unarchive or delete; the API's refusal (schedules start it, it ran) is shown on the page. */
export async function action({ request, context, params }: ActionFunctionArgs) {
  const id = jobIdParam(params);
  const api = await requireApi(request, context);
  const intent = (await request.formData()).get('intent');
  const path = { params: { path: { id } } };
  try {
    if (intent === 'archive') await api.post('/jobs/{id}/archive', path);
    else if (intent === 'unarchive') await api.post('/jobs/{id}/unarchive', path);
    else if (intent === 'delete') {
      await api.delete('/jobs/{id}', path);
      return redirect('/jobs?deleted=1');
    } else return data({ formError: 'Unknown action' }, { status: 400 });
    return redirect(`/jobs/${id}`);
  } catch (error) {
    if (error instanceof ApiError) return data({ formError: error.detail ?? error.title }, { status: error.status });
    throw error;
  }
}

function Flash() {
  const [sp] = useSearchParams();
  const saved = /^\d{1,10}$/.test(sp.get('saved') ?? '') ? sp.get('saved') : null;
  if (sp.has('created')) return <Alert tone="success">Created the job at version 1.</Alert>;
  if (saved) return <Alert tone="success">Saved version {saved}.</Alert>;
  if (sp.has('unchanged')) return <Alert tone="info">Nothing changed, so no new version was saved.</Alert>;
  return null;
}

export default function JobPage() {
  const { job, versions, diff, diffError, schedules } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const user = useOptionalUser();
  const canEdit = canRunCommands(user?.role);
  const [sp] = useSearchParams();
  const compareFrom = diff?.from ?? Math.max(1, job.currentVersion - 1);
  const compareTo = diff?.to ?? job.currentVersion;
  const flash = sp.has('created') || sp.has('saved') || sp.has('unchanged');

  return (
    <>
      <Breadcrumb trail={[{ to: '/jobs', label: 'Jobs' }]} current={job.name} />
      <PageHeader
        title={<span data-testid="job-name">{job.name}</span>}
        description={
          <>
            <span data-testid="job-current-version">Version {job.currentVersion}</span> · {pluralize(job.steps, 'step')}
            {job.description ? <> · {job.description}</> : null}
            {job.archivedAt ? (
              <>
                {' '}
                · <span data-testid="job-archived">Archived</span> <RelativeTime iso={job.archivedAt} />: no new runs or schedules
              </>
            ) : null}
          </>
        }
        actions={
          <>
            <a href={`/jobs/${job.id}/export?format=yaml`} className={buttonClass('secondary')} download>
              Export YAML
            </a>
            <a href={`/jobs/${job.id}/export`} className={buttonClass('secondary')} download>
              Export JSON
            </a>
            {canEdit ? (
              <>
                <Link to={`/jobs/${job.id}/edit`} className={buttonClass('secondary')}>
                  Edit
                </Link>
                <Form method="post" className="contents">
                  {job.archivedAt ? (
                    <>
                      <Button type="submit" name="intent" value="unarchive">
                        Unarchive
                      </Button>
                      <Button
                        type="submit"
                        name="intent"
                        value="delete"
                        onClick={(e) => {
                          if (!window.confirm(`Delete "${job.name}" and its versions? Only a job that never ran can be deleted.`))
                            e.preventDefault();
                        }}
                      >
                        Delete
                      </Button>
                    </>
                  ) : (
                    <Button type="submit" name="intent" value="archive">
                      Archive
                    </Button>
                  )}
                </Form>
                {job.archivedAt ? null : (
                  <>
                    <Link to={`/jobs/${job.id}/schedule`} className={buttonClass('secondary')}>
                      Schedule
                    </Link>
                    <Link to={`/jobs/${job.id}/run`} className={buttonClass('primary')}>
                      Run
                    </Link>
                  </>
                )}
              </>
            ) : null}
          </>
        }
      />
      {result?.formError ? (
        <div className="mb-4">
          <Alert title="Not done">{result.formError}</Alert>
        </div>
      ) : null}
      {flash ? (
        <div className="mb-4">
          <Flash />
        </div>
      ) : null}

      <div className="grid items-start gap-4 xl:grid-cols-[minmax(0,1fr)_400px]">
        <div className="space-y-4">
          {diff || diffError ? (
            <Card
              title={diff ? `Changes from version ${diff.from} to ${diff.to}` : 'Changes'}
              actions={
                <Link to={`/jobs/${job.id}`} className={buttonClass('ghost', 'sm')} preventScrollReset>
                  Close
                </Link>
              }
            >
              {diffError ? (
                <div className="p-4">
                  <Alert>{diffError}</Alert>
                </div>
              ) : diff ? (
                <JobDiffView diff={diff} />
              ) : null}
            </Card>
          ) : null}
          <JobDefinitionView definition={job.definition} />
        </div>

        <div className="space-y-4">
          <Card title={`Versions (${versions.length})`}>
            <Form method="get" preventScrollReset>
              <table className="w-full text-left text-[13px]" data-testid="job-versions">
                <thead>
                  <tr className="text-xs text-zinc-500">
                    <th scope="col" className="border-b border-zinc-200 px-3 py-1.5 font-medium">
                      Version
                    </th>
                    <th scope="col" className="border-b border-zinc-200 px-3 py-1.5 font-medium">
                      Saved
                    </th>
                    <th scope="col" className="w-0 border-b border-zinc-200 px-1.5 py-1.5 text-center font-medium" title="Compare from">
                      From
                    </th>
                    <th scope="col" className="w-0 border-b border-zinc-200 px-1.5 py-1.5 text-center font-medium" title="Compare to">
                      To
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {versions.map((v) => {
                    const current = v.version === job.currentVersion;
                    return (
                      <tr key={v.version} data-testid="job-version-row" data-version={v.version} className={cx(current && 'bg-zinc-50')}>
                        <td className="border-b border-zinc-100 px-3 py-1.5 align-top">
                          <Link
                            to={current ? `/jobs/${job.id}` : `/jobs/${job.id}/versions/${v.version}`}
                            className="font-medium text-zinc-900 hover:underline"
                          >
                            v{v.version}
                          </Link>
                          {current ? <span className="ml-1.5 text-[11px] text-zinc-500">current</span> : null}
                        </td>
                        <td className="border-b border-zinc-100 px-3 py-1.5 align-top">
                          <p className="truncate text-zinc-700" data-testid="job-version-author">
                            {actorLabel(v.createdBy)}
                          </p>
                          <p className="text-[11px] text-zinc-500">
                            <RelativeTime iso={v.createdAt} /> · <AbsoluteTime iso={v.createdAt} />
                          </p>
                        </td>
                        <td className="border-b border-zinc-100 px-1.5 py-1.5 text-center align-top">
                          <input
                            type="radio"
                            name="from"
                            value={v.version}
                            defaultChecked={v.version === compareFrom}
                            aria-label={`Compare from version ${v.version}`}
                            className="accent-zinc-900"
                          />
                        </td>
                        <td className="border-b border-zinc-100 px-1.5 py-1.5 text-center align-top">
                          <input
                            type="radio"
                            name="to"
                            value={v.version}
                            defaultChecked={v.version === compareTo}
                            aria-label={`Compare to version ${v.version}`}
                            className="accent-zinc-900"
                          />
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
              <div className="flex items-center justify-between gap-2 px-3 py-2">
                <p className="text-xs text-zinc-500">Pick two versions to see what changed.</p>
                <Button type="submit" size="sm" disabled={versions.length < 2}>
                  Compare
                </Button>
              </div>
            </Form>
          </Card>

          <Card
            title={schedules ? `Schedules (${schedules.total})` : 'Schedules'}
            actions={
              schedules?.total ? (
                <Link to={`/schedules?jobId=${job.id}`} className={buttonClass('ghost', 'sm')}>
                  All
                </Link>
              ) : null
            }
          >
            {!schedules ? (
              <p className="px-4 py-3 text-[13px] text-zinc-500">The schedules could not be read.</p>
            ) : schedules.items.length ? (
              <ScheduleList items={schedules.items} />
            ) : (
              <p className="px-4 py-3 text-[13px] text-zinc-500" data-testid="job-schedules-empty">
                No schedules.{' '}
                {canEdit ? (
                  <Link to={`/jobs/${job.id}/schedule`} className="font-medium text-zinc-700 underline">
                    Schedule runs
                  </Link>
                ) : null}
              </p>
            )}
          </Card>

          <Card title="Details">
            <dl className="divide-y divide-zinc-100 py-1 text-[13px]">
              <div className="grid grid-cols-[100px_minmax(0,1fr)] gap-2 px-4 py-1.5">
                <dt className="text-zinc-500">Created</dt>
                <dd>
                  <AbsoluteTime iso={job.createdAt} />
                </dd>
              </div>
              <div className="grid grid-cols-[100px_minmax(0,1fr)] gap-2 px-4 py-1.5">
                <dt className="text-zinc-500">Updated</dt>
                <dd>
                  <AbsoluteTime iso={job.updatedAt} /> by {actorLabel(job.updatedBy)}
                </dd>
              </div>
              <div className="grid grid-cols-[100px_minmax(0,1fr)] gap-2 px-4 py-1.5">
                <dt className="text-zinc-500">Job ID</dt>
                <dd className="font-mono text-xs text-zinc-600">{job.id}</dd>
              </div>
            </dl>
          </Card>
        </div>
      </div>
    </>
  );
}
