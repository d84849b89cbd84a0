import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { Link, useLoaderData } from '@remix-run/react';
import { z } from 'zod';
import { requireApi } from '~/lib/api.server';
import { oneLine, pluralize } from '~/lib/format';
import { RunStatusBadge } from '~/components/status';
import { RunCounts } from '~/components/run-counts';
import { AbsoluteTime, Card, EmptyState, PageHeader, Pagination, RelativeTime, Table, Td, Th } from '~/components/ui';

export const meta: MetaFunction = () => [{ title: 'Runs · OpsConductor' }];

const PAGE_SIZE = 50;

export async function loader({ request, context }: LoaderFunctionArgs) {
  const api = await requireApi(request, context);
  const page = z.coerce.number().int().min(1).max(100_000).catch(1).parse(new URL(request.url).searchParams.get('page') ?? 1);
  const list = await api.listJobRuns({ page, pageSize: PAGE_SIZE });
  return { ...list, page, pageSize: PAGE_SIZE };
}

export default function Runs() {
  const { items, total, page, pageSize } = useLoaderData<typeof loader>();
  return (
    <>
      <PageHeader title="Runs" description={`${pluralize(total, 'command run')}`} />
      <Card>
        {total === 0 ? (
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
                  <Th>Command</Th>
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
                      <Link
                        to={`/runs/${run.id}`}
                        prefetch="intent"
                        className="block truncate font-mono text-xs text-zinc-900 hover:underline"
                        title={run.command}
                      >
                        {oneLine(run.command)}
                      </Link>
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
