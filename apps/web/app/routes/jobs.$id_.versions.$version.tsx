/** /jobs/:id/versions/:version — one version of a job, read-only. */
import { data, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Link, useLoaderData } from '@remix-run/react';
import { requireApi, type RouteErrorData } from '~/lib/api.server';
import { jobIdParam, versionParam } from '~/lib/job-pages.server';
import { canRunCommands, useOptionalUser } from '~/lib/user';
import { JobDefinitionView, actorLabel } from '~/components/jobs';
import { AbsoluteTime, Alert, Breadcrumb, PageHeader, buttonClass } from '~/components/ui';

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: `${data?.job.name ?? 'Job'} version ${data?.version.version ?? ''} · OpsConductor` },
];

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const id = jobIdParam(params);
  const n = versionParam(params.version);
  if (n === null) throw data<RouteErrorData>({ title: 'Version not found' }, { status: 404 });
  const api = await requireApi(request, context);
  const [job, version] = await Promise.all([
    api.get('/jobs/{id}', { params: { path: { id } } }),
    api.get('/jobs/{id}/versions/{version}', { params: { path: { id, version: n } } }),
  ]);
  return { job, version };
}

export default function JobVersionPage() {
  const { job, version } = useLoaderData<typeof loader>();
  const user = useOptionalUser();
  const current = version.version === job.currentVersion;
  return (
    <>
      <Breadcrumb
        trail={[
          { to: '/jobs', label: 'Jobs' },
          { to: `/jobs/${job.id}`, label: job.name },
        ]}
        current={`Version ${version.version}`}
      />
      <PageHeader
        title={
          <>
            {version.definition.name} <span className="text-zinc-400">· version {version.version}</span>
          </>
        }
        description={
          <>
            Saved by {actorLabel(version.createdBy)} at <AbsoluteTime iso={version.createdAt} />
            {version.definition.description ? <> · {version.definition.description}</> : null}
          </>
        }
        actions={
          <>
            <a href={`/jobs/${job.id}/export?version=${version.version}&format=yaml`} className={buttonClass('secondary')} download>
              Export this version (YAML)
            </a>
            <a href={`/jobs/${job.id}/export?version=${version.version}`} className={buttonClass('secondary')} download>
              Export this version (JSON)
            </a>
            {!current ? (
              <Link to={`/jobs/${job.id}?from=${version.version}&to=${job.currentVersion}`} className={buttonClass('secondary')}>
                Compare with current
              </Link>
            ) : null}
            {!current && canRunCommands(user?.role) ? (
              <Link to={`/jobs/${job.id}/edit?from=${version.version}`} className={buttonClass('secondary')}>
                Edit from this version
              </Link>
            ) : null}
            {canRunCommands(user?.role) ? (
              <Link to={`/jobs/${job.id}/run?version=${version.version}`} className={buttonClass('primary')}>
                Run this version
              </Link>
            ) : null}
          </>
        }
      />
      <div className="mb-4" data-testid="job-version-banner">
        <Alert tone={current ? 'info' : 'warning'}>
          {current ? (
            'This is the current version.'
          ) : (
            <>
              An old version, read-only. The job is at version {job.currentVersion} now:{' '}
              <Link to={`/jobs/${job.id}`} className="font-medium underline">
                see the current version
              </Link>
              .
            </>
          )}
        </Alert>
      </div>
      <JobDefinitionView definition={version.definition} />
    </>
  );
}
