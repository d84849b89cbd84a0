/**
 * /deployments — every deployment, newest first: filter by status, package and name; status, progress (succeeded,
 * failed, pending) and who started it; each links to its dashboard. Operators start a new one from here.
 */
import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { Form, Link, useLoaderData } from '@remix-run/react';
import { z } from 'zod';
import { requireApi, type Query } from '~/lib/api.server';
import { filterErrorMessage, filtersFrom } from '~/lib/list-filters.server';
import { pluralize } from '~/lib/format';
import { deploymentStatusLabel, deploymentStatusOrder } from '~/lib/deployments';
import { canRunCommands, useOptionalUser } from '~/lib/user';
import { FilterField } from '~/components/list-filters';
import { DeploymentStatusBadge, ProgressBar, ProgressCounts } from '~/components/deployments';
import {
  AbsoluteTime,
  Alert,
  Button,
  Card,
  EmptyState,
  Input,
  PageHeader,
  Pagination,
  RelativeTime,
  Select,
  Table,
  Td,
  Th,
  buttonClass,
} from '~/components/ui';

export const meta: MetaFunction = () => [{ title: 'Deployments · OpsConductor' }];

const PAGE_SIZE = 50;
const FILTERS = ['active', 'status', 'packageId', 'search'] as const;
const LABELS: Record<string, string> = { active: 'Show', status: 'Status', packageId: 'Package', search: 'Name' };
/** Packages offered by the package filter (the API's largest page), by name. */
const PACKAGE_CHOICES = 200;

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
  const filters = filtersFrom(url, FILTERS);
  const packages = (await api.get('/software/packages', { params: { query: { page: 1, pageSize: PACKAGE_CHOICES } } })).items.map((p) => ({
    id: p.id,
    name: p.name,
  }));
  const base = { page, pageSize: PAGE_SIZE, filters, packages, filterError: null as string | null };
  // The filters go as the URL has them: the API refuses a status or package ID it does not know (shown as a filter error).
  const query = Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== '')) as Query<'/deployments'>;
  try {
    return { ...base, ...(await api.get('/deployments', { params: { query: { ...query, page, pageSize: PAGE_SIZE } } })) };
  } catch (error) {
    return { ...base, items: [], total: 0, filterError: filterErrorMessage(error, LABELS) };
  }
}

export default function Deployments() {
  const { items, total, page, pageSize, filters, packages, filterError } = useLoaderData<typeof loader>();
  const filtered = Object.values(filters).some(Boolean);
  const canDeploy = canRunCommands(useOptionalUser()?.role);
  return (
    <>
      <PageHeader
        title="Deployments"
        description={`${pluralize(total, 'deployment')}${filtered ? (total === 1 ? ' matches the filter' : ' match the filter') : ''}`}
        actions={
          canDeploy ? (
            <Link to="/deployments/new" className={buttonClass('primary')}>
              New deployment
            </Link>
          ) : null
        }
      />
      <div className="mb-3 space-y-2">
        <Form method="get" role="search" aria-label="Filter deployments" className="flex flex-wrap items-end gap-2">
          <FilterField label="Show">
            <Select name="active" defaultValue={filters.active} key={`active:${filters.active}`} className="w-36">
              <option value="">All</option>
              <option value="true">Not finished</option>
              <option value="false">Finished</option>
            </Select>
          </FilterField>
          <FilterField label="Status">
            <Select name="status" defaultValue={filters.status} key={`status:${filters.status}`} className="w-44">
              <option value="">Any status</option>
              {deploymentStatusOrder.map((s) => (
                <option key={s} value={s}>
                  {deploymentStatusLabel(s)}
                </option>
              ))}
            </Select>
          </FilterField>
          <FilterField label="Package">
            <Select name="packageId" defaultValue={filters.packageId} key={`pkg:${filters.packageId}`} className="w-52">
              <option value="">Any package</option>
              {packages.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </Select>
          </FilterField>
          <FilterField label="Name">
            <Input
              name="search"
              type="search"
              defaultValue={filters.search}
              key={`q:${filters.search}`}
              placeholder="contains…"
              className="w-56"
            />
          </FilterField>
          <Button type="submit">Filter</Button>
          {filtered ? (
            <Link to="?" className={buttonClass('ghost')}>
              Clear
            </Link>
          ) : null}
        </Form>
        {filterError ? (
          <div data-testid="filter-error">
            <Alert title="Check the filters">{filterError}</Alert>
          </div>
        ) : null}
      </div>
      <Card>
        {total === 0 ? (
          <EmptyState title={filtered ? 'No deployments match' : 'No deployments yet'}>
            {filtered ? (
              'Try other filters.'
            ) : canDeploy ? (
              <>
                Start one with{' '}
                <Link to="/deployments/new" className="font-medium text-zinc-900 underline">
                  New deployment
                </Link>{' '}
                or from a version on a{' '}
                <Link to="/software" className="font-medium text-zinc-900 underline">
                  package
                </Link>
                .
              </>
            ) : null}
          </EmptyState>
        ) : (
          <>
            <Table>
              <thead>
                <tr>
                  <Th>Deployment</Th>
                  <Th>Package</Th>
                  <Th>Status</Th>
                  <Th className="w-72">Progress</Th>
                  <Th>Created by</Th>
                  <Th>Created</Th>
                </tr>
              </thead>
              <tbody>
                {items.map((d) => (
                  <tr key={d.id} data-testid="deployment-row" data-deployment-id={d.id} className="hover:bg-zinc-50">
                    <Td className="max-w-[24rem]">
                      <Link
                        to={`/deployments/${d.id}`}
                        prefetch="intent"
                        className="block truncate font-medium text-zinc-900 hover:underline"
                      >
                        {d.name}
                      </Link>
                      {d.pausedReason && d.status === 'paused' ? (
                        <p className="truncate text-xs text-amber-800" title={d.pausedReason}>
                          {d.pausedReason}
                        </p>
                      ) : null}
                    </Td>
                    <Td className="text-zinc-600">
                      <Link to={`/software/${d.package.id}`} className="hover:underline">
                        {d.package.name}
                      </Link>{' '}
                      <span className="text-xs text-zinc-500">{d.version.version}</span>
                      {d.action === 'uninstall' ? <span className="ml-1 text-xs text-zinc-500">(uninstall)</span> : null}
                    </Td>
                    <Td>
                      <DeploymentStatusBadge status={d.status} testId="deployment-status" />
                    </Td>
                    <Td>
                      <div className="space-y-1">
                        <ProgressBar counts={d.counts} size={d.total} />
                        <ProgressCounts counts={d.counts} />
                      </div>
                    </Td>
                    <Td className="text-zinc-600">{d.createdBy ?? '—'}</Td>
                    <Td className="text-zinc-500">
                      <span className="flex flex-col leading-tight">
                        <RelativeTime iso={d.createdAt} />
                        <AbsoluteTime iso={d.createdAt} className="text-[11px] text-zinc-400" />
                      </span>
                    </Td>
                  </tr>
                ))}
              </tbody>
            </Table>
            <Pagination page={page} pageSize={pageSize} total={total} noun="deployment" />
          </>
        )}
      </Card>
    </>
  );
}
