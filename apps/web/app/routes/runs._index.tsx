import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { Link, useLoaderData } from '@remix-run/react';
import { z } from 'zod';
import { jobRunStatuses } from '@opsconductor/contracts/constants';
import { requireApi } from '~/lib/api.server';
import { RUN_FILTERS, filterErrorMessage, filtersFrom, runListQuery } from '~/lib/list-filters.server';
import { oneLine, pluralize } from '~/lib/format';
import { RunStatusBadge, runStatusLabel } from '~/components/status';
import { RunCounts } from '~/components/run-counts';
import { DateRangeFields, FilterBar, FilterField, queryOf } from '~/components/list-filters';
import { AbsoluteTime, Badge, Card, EmptyState, Input, PageHeader, Pagination, RelativeTime, Select, Table, Td, Th } from '~/components/ui';

export const meta: MetaFunction = () => [{ title: 'Runs · OpsConductor' }];

const PAGE_SIZE = 50;
const LABELS: Record<string, string> = {
  status: 'Status',
  jobId: 'Job',
  createdBy: 'Created by',
  hostname: 'Device',
  from: 'From',
  to: 'To',
};
/** Jobs offered by the job filter (the API's largest page), by name. */
const JOB_CHOICES = 200;

export async function loader({ request, context }: LoaderFunctionArgs) {
  const api = await requireApi(request, context);
  const url = new URL(request.url);
  const page = z.coerce
    .number()
    .int()
    .min(1)
    .max(100_000)
    .catch(1)
    .parse(url.searchParams.get('page') ?? 1);
  const filters = filtersFrom(url, RUN_FILTERS);
  const jobs = (await api.get('/jobs', { params: { query: { page: 1, pageSize: JOB_CHOICES } } })).items
    .map((j) => ({ id: j.id, name: j.name }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const base = { page, pageSize: PAGE_SIZE, filters, statuses: jobRunStatuses, jobs, filterError: null as string | null };
  try {
    return { ...base, ...(await api.get('/job-runs', { params: { query: { page, pageSize: PAGE_SIZE, ...runListQuery(filters) } } })) };
  } catch (error) {
    return { ...base, items: [], total: 0, filterError: filterErrorMessage(error, LABELS) };
  }
}

function RunFilters({
  filters,
  statuses,
  jobs,
  error,
}: {
  filters: Record<(typeof RUN_FILTERS)[number], string>;
  statuses: readonly string[];
  jobs: ReadonlyArray<{ id: string; name: string }>;
  error: string | null;
}) {
  return (
    <FilterBar
      label="Filter runs"
      filtered={Object.values(filters).some(Boolean)}
      exportHref={`/runs.csv${queryOf(filters)}`}
      error={error}
    >
      <FilterField label="Status">
        <Select name="status" defaultValue={filters.status} key={`status:${filters.status}`} className="w-44">
          <option value="">Any status</option>
          {statuses.map((s) => (
            <option key={s} value={s}>
              {runStatusLabel(s)}
            </option>
          ))}
        </Select>
      </FilterField>
      <FilterField label="Job">
        <Select name="jobId" defaultValue={filters.jobId} key={`job:${filters.jobId}`} className="w-52">
          <option value="">Any job or command</option>
          {jobs.map((j) => (
            <option key={j.id} value={j.id}>
              {j.name}
            </option>
          ))}
        </Select>
      </FilterField>
      <FilterField label="Created by">
        <Input
          name="createdBy"
          type="search"
          defaultValue={filters.createdBy}
          key={`by:${filters.createdBy}`}
          placeholder="email"
          className="w-52"
        />
      </FilterField>
      <FilterField label="Device">
        <Input
          name="hostname"
          type="search"
          defaultValue={filters.hostname}
          key={`host:${filters.hostname}`}
          placeholder="hostname"
          className="w-44"
        />
      </FilterField>
      <DateRangeFields from={filters.from} to={filters.to} />
    </FilterBar>
  );
}

export default function Runs() {
  const { items, total, page, pageSize, filters, statuses, jobs, filterError } = useLoaderData<typeof loader>();
  const filtered = Object.values(filters).some(Boolean);
  return (
    <>
      <PageHeader title="Runs" description={`${pluralize(total, 'run')}${filtered ? ' match the filter' : ''}`} />
      <RunFilters filters={filters} statuses={statuses} jobs={jobs} error={filterError} />
      <Card>
        {total === 0 && filtered ? (
          <EmptyState title="No runs match">Try other filters.</EmptyState>
        ) : total === 0 ? (
          <EmptyState title="No runs yet">
            Select devices on the{' '}
            <Link to="/devices" className="font-medium text-zinc-900 underline">
              Devices
            </Link>{' '}
            page and run a command.
          </EmptyState>
        ) : (
          <>
            <Table>
              <thead>
                <tr>
                  <Th>Command or job</Th>
                  <Th>Status</Th>
                  <Th>Devices</Th>
                  <Th>Created by</Th>
                  <Th>Created</Th>
                </tr>
              </thead>
              <tbody>
                {items.map((run) => (
                  <tr key={run.id} data-testid="run-row" className="hover:bg-zinc-50">
                    <Td className="max-w-[32rem]">
                      {run.job ? (
                        <Link
                          to={`/runs/${run.id}`}
                          prefetch="intent"
                          className="flex min-w-0 items-center gap-2 text-[13px] text-zinc-900 hover:underline"
                          data-testid="run-job"
                        >
                          <Badge tone="neutral">Job</Badge>
                          <span className="truncate font-medium">{run.job.name}</span>
                          <span className="shrink-0 text-xs text-zinc-500">v{run.job.version}</span>
                          {run.rerunOfId ? <span className="shrink-0 text-[11px] text-zinc-500">re-run</span> : null}
                          {run.chainedFromId ? <span className="shrink-0 text-[11px] text-zinc-500">chained</span> : null}
                        </Link>
                      ) : (
                        <Link
                          to={`/runs/${run.id}`}
                          prefetch="intent"
                          className="block truncate font-mono text-xs text-zinc-900 hover:underline"
                          title={run.command}
                        >
                          {oneLine(run.command)}
                        </Link>
                      )}
                    </Td>
                    <Td>
                      <RunStatusBadge status={run.status} />
                    </Td>
                    <Td>
                      <RunCounts counts={run.counts} />
                    </Td>
                    <Td className="text-zinc-600">{run.createdBy ?? '—'}</Td>
                    <Td className="text-zinc-500">
                      <span className="flex flex-col leading-tight">
                        <RelativeTime iso={run.createdAt} />
                        <AbsoluteTime iso={run.createdAt} className="text-[11px] text-zinc-400" />
                      </span>
                    </Td>
                  </tr>
                ))}
              </tbody>
            </Table>
            <Pagination page={page} pageSize={pageSize} total={total} noun="run" />
          </>
        )}
      </Card>
    </>
  );
}
