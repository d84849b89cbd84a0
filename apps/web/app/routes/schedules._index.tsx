/** /schedules — every schedule by name (`?jobId=`: one job's), with when in words, paused, and the last error. */
import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { Link, useLoaderData, useSearchParams } from '@remix-run/react';
import { z } from 'zod';
import { uuid } from '@opsconductor/contracts/api';
import { requireApi } from '~/lib/api.server';
import { pluralize } from '~/lib/format';
import { cronInWords, specText } from '~/lib/schedule';
import { canRunCommands, useOptionalUser } from '~/lib/user';
import { SchedulePausedBadge } from '~/components/schedules';
import { Alert, Card, EmptyState, PageHeader, Pagination, RelativeTime, Table, Td, Th, buttonClass } from '~/components/ui';

export const meta: MetaFunction = () => [{ title: 'Schedules · OpsConductor' }];

const PAGE_SIZE = 50;
const pageParam = z.coerce.number().int().min(1).max(100_000).catch(1);

export async function loader({ request, context }: LoaderFunctionArgs) {
  const api = await requireApi(request, context);
  const sp = new URL(request.url).searchParams;
  const page = pageParam.parse(sp.get('page') ?? 1);
  const jobId = uuid.safeParse(sp.get('jobId') ?? undefined).data ?? null;
  const [{ items, total }, job] = await Promise.all([
    api.get('/job-schedules', { params: { query: { page, pageSize: PAGE_SIZE, ...(jobId ? { jobId } : {}) } } }),
    jobId ? api.get('/jobs/{id}', { params: { path: { id: jobId } } }).then((j) => ({ id: j.id, name: j.name })) : Promise.resolve(null),
  ]);
  return { items, total, page, job };
}

export default function Schedules() {
  const { items, total, page, job } = useLoaderData<typeof loader>();
  const user = useOptionalUser();
  const canManage = canRunCommands(user?.role);
  const [sp] = useSearchParams();
  const deleted = sp.get('deleted');
  return (
    <>
      <PageHeader
        title="Schedules"
        description={
          job ? (
            <>
              {pluralize(total, 'schedule')} of{' '}
              <Link to={`/jobs/${job.id}`} className="font-medium text-zinc-700 hover:underline" data-testid="schedules-job-filter">
                {job.name}
              </Link>{' '}
              ·{' '}
              <Link to="/schedules" className="hover:underline">
                Show all
              </Link>
            </>
          ) : (
            `${pluralize(total, 'schedule')} · runs of jobs at set times, kept by Temporal`
          )
        }
        actions={
          job && canManage ? (
            <Link to={`/jobs/${job.id}/schedule`} className={buttonClass('primary')}>
              New schedule
            </Link>
          ) : null
        }
      />
      {deleted !== null ? (
        <div className="mb-4">
          <Alert tone="success">Deleted the schedule{deleted ? ` “${deleted}”` : ''}; the runs it started stay.</Alert>
        </div>
      ) : null}
      <Card>
        {total === 0 ? (
          <EmptyState title="No schedules">
            {canManage
              ? 'Schedule a job from its page (“Schedule”, next to “Run”).'
              : 'Operators and admins schedule jobs from their pages.'}
          </EmptyState>
        ) : (
          <>
            <Table>
              <thead>
                <tr>
                  <Th>Name</Th>
                  <Th>Job</Th>
                  <Th>When</Th>
                  <Th>State</Th>
                  <Th>Last error</Th>
                  <Th>Updated</Th>
                </tr>
              </thead>
              <tbody>
                {items.map((s) => {
                  const words = (s.spec.cron ?? []).map(cronInWords).filter(Boolean).join('; ');
                  return (
                    <tr key={s.id} data-testid="schedule-row" data-schedule-id={s.id} className="hover:bg-zinc-50">
                      <Td>
                        <Link to={`/schedules/${s.id}`} className="font-medium text-zinc-900 hover:underline" prefetch="intent">
                          {s.name}
                        </Link>
                        {s.description ? <p className="max-w-xs truncate text-xs text-zinc-500">{s.description}</p> : null}
                      </Td>
                      <Td>
                        <Link to={`/jobs/${s.job.id}`} className="text-zinc-700 hover:underline" data-testid="schedule-job">
                          {s.job.name}
                        </Link>
                        {s.version !== null ? <span className="ml-1 text-xs text-zinc-500">v{s.version}</span> : null}
                      </Td>
                      <Td className="max-w-md">
                        <span className="font-mono text-xs" data-testid="schedule-spec">
                          {specText(s.spec)}
                        </span>
                        {words ? <p className="text-xs text-zinc-500">{words}</p> : null}
                      </Td>
                      <Td>
                        <SchedulePausedBadge paused={s.paused} />
                      </Td>
                      <Td className="max-w-xs">
                        {s.lastError ? (
                          <span className="block truncate text-xs text-red-700" title={s.lastError} data-testid="schedule-last-error">
                            {s.lastError}
                          </span>
                        ) : (
                          <span className="text-zinc-300">—</span>
                        )}
                      </Td>
                      <Td className="text-zinc-500">
                        <RelativeTime iso={s.updatedAt} />
                      </Td>
                    </tr>
                  );
                })}
              </tbody>
            </Table>
            <Pagination page={page} pageSize={PAGE_SIZE} total={total} noun="schedule" />
          </>
        )}
      </Card>
    </>
  );
}
