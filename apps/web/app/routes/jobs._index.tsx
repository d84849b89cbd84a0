import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { Form, Link, useLoaderData } from '@remix-run/react';
import { z } from 'zod';
import { requireApi } from '~/lib/api.server';
import { pluralize } from '~/lib/format';
import { canRunCommands, useOptionalUser } from '~/lib/user';
import { actorLabel } from '~/components/jobs';
import {
  Alert,
  Badge,
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

export const meta: MetaFunction = () => [{ title: 'Jobs · OpsConductor' }];

const PAGE_SIZE = 50;
const pageParam = z.coerce.number().int().min(1).max(100_000).catch(1);
const searchParam = z.string().trim().max(200).catch('');
const archivedParam = z.enum(['exclude', 'include', 'only']).catch('exclude');

export async function loader({ request, context }: LoaderFunctionArgs) {
  const api = await requireApi(request, context);
  const sp = new URL(request.url).searchParams;
  const page = pageParam.parse(sp.get('page') ?? 1);
  const search = searchParam.parse(sp.get('search') ?? '');
  const archived = archivedParam.parse(sp.get('archived') ?? 'exclude');
  const { items, total } = await api.get('/jobs', {
    params: { query: { page, pageSize: PAGE_SIZE, search: search || undefined, archived } },
  });
  return { items, total, page, search, archived, deleted: sp.has('deleted') };
}

export default function Jobs() {
  const { items, total, page, search, archived, deleted } = useLoaderData<typeof loader>();
  const user = useOptionalUser();
  const canEdit = canRunCommands(user?.role);
  return (
    <>
      <PageHeader
        title="Jobs"
        description={`${pluralize(total, 'job')}${search ? ` named like “${search}”` : ''} · typed parameters and ordered steps, every save a version`}
        actions={
          canEdit ? (
            <>
              <Link to="/jobs/import" className={buttonClass('secondary')}>
                Import
              </Link>
              <Link to="/jobs/new" className={buttonClass('primary')}>
                New job
              </Link>
            </>
          ) : null
        }
      />
      {deleted ? (
        <div className="mb-4">
          <Alert tone="success">Deleted the job and its versions.</Alert>
        </div>
      ) : null}
      <Card
        title="Library"
        actions={
          <Form method="get" role="search" className="flex items-center gap-2">
            <Input
              type="search"
              name="search"
              defaultValue={search}
              key={`s:${search}`}
              placeholder="Search by name…"
              aria-label="Search jobs"
              className="h-7! w-64 text-xs!"
            />
            <Select name="archived" defaultValue={archived} key={`a:${archived}`} aria-label="Archived jobs" className="h-7! w-40 text-xs!">
              <option value="exclude">Without archived</option>
              <option value="include">With archived</option>
              <option value="only">Archived only</option>
            </Select>
            <Button type="submit" size="sm">
              Search
            </Button>
          </Form>
        }
      >
        {total === 0 ? (
          <EmptyState title={search ? 'No jobs match' : 'No jobs yet'}>
            {search
              ? 'Try another name.'
              : canEdit
                ? 'Create a job, or import a definition kept in git.'
                : 'Operators and admins can create jobs.'}
          </EmptyState>
        ) : (
          <>
            <Table>
              <thead>
                <tr>
                  <Th>Name</Th>
                  <Th>Description</Th>
                  <Th className="text-right">Version</Th>
                  <Th className="text-right">Steps</Th>
                  <Th>Updated</Th>
                  <Th>Changed by</Th>
                </tr>
              </thead>
              <tbody>
                {items.map((j) => (
                  <tr key={j.id} data-testid="job-row" data-job-id={j.id} className="hover:bg-zinc-50">
                    <Td>
                      <Link to={`/jobs/${j.id}`} className="font-medium text-zinc-900 hover:underline" prefetch="intent">
                        {j.name}
                      </Link>
                      {j.archivedAt ? (
                        <span className="ml-2">
                          <Badge tone="gray" data-testid="job-archived">
                            Archived
                          </Badge>
                        </span>
                      ) : null}
                    </Td>
                    <Td className="max-w-md truncate text-zinc-500">
                      <span title={j.description}>{j.description || <span className="text-zinc-300">—</span>}</span>
                    </Td>
                    <Td className="text-right tabular-nums">
                      <span data-testid="job-version">v{j.currentVersion}</span>
                    </Td>
                    <Td className="text-right tabular-nums">{j.steps}</Td>
                    <Td className="text-zinc-500">
                      <RelativeTime iso={j.updatedAt} />
                    </Td>
                    <Td className="text-zinc-600">{actorLabel(j.updatedBy)}</Td>
                  </tr>
                ))}
              </tbody>
            </Table>
            <Pagination page={page} pageSize={PAGE_SIZE} total={total} noun="job" />
          </>
        )}
      </Card>
    </>
  );
}
