import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { useLoaderData } from '@remix-run/react';
import { z } from 'zod';
import { requireApi, type Schema } from '~/lib/api.server';
import { AUDIT_FILTERS, activeFilters, filterErrorMessage, filtersFrom } from '~/lib/list-filters.server';
import { pluralize } from '~/lib/format';
import { DateRangeFields, FilterBar, FilterField, queryOf } from '~/components/list-filters';
import { AbsoluteTime, Card, EmptyState, Input, PageHeader, Pagination, RelativeTime, Table, Td, Th } from '~/components/ui';

export const meta: MetaFunction = () => [{ title: 'Audit log · OpsConductor' }];

const PAGE_SIZE = 100;
const DETAILS_PREVIEW = 160;
const LABELS: Record<string, string> = {
  actor: 'Actor',
  action: 'Action',
  targetType: 'Target type',
  targetId: 'Target ID',
  from: 'From',
  to: 'To',
};

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
  const filters = filtersFrom(url, AUDIT_FILTERS);
  let list: Schema<'AuditLogList'> = { items: [], total: 0 };
  let filterError: string | null = null;
  try {
    list = await api.get('/audit-logs', { params: { query: { page, pageSize: PAGE_SIZE, ...activeFilters(filters) } } });
  } catch (error) {
    filterError = filterErrorMessage(error, LABELS);
  }
  return {
    total: list.total,
    page,
    pageSize: PAGE_SIZE,
    filters,
    filterError,
    // Details are arbitrary JSON: pre-render them as text here (React escapes it on output).
    items: list.items.map(({ details, ...entry }) => ({
      ...entry,
      details: details === null || details === undefined ? null : JSON.stringify(details, null, 2),
    })),
  };
}

function Details({ json }: { json: string | null }) {
  if (!json) return <span className="text-zinc-400">—</span>;
  const compact = json.replace(/\s*\n\s*/g, ' ');
  if (compact.length <= DETAILS_PREVIEW) return <code className="font-mono text-[11px] break-all text-zinc-600">{compact}</code>;
  return (
    <details>
      <summary className="cursor-pointer font-mono text-[11px] text-zinc-600">{compact.slice(0, DETAILS_PREVIEW)}…</summary>
      <pre className="mt-1 max-h-64 overflow-auto rounded bg-zinc-50 p-2 font-mono text-[11px] whitespace-pre-wrap text-zinc-700">
        {json}
      </pre>
    </details>
  );
}

function AuditFilters({ filters, error }: { filters: Record<(typeof AUDIT_FILTERS)[number], string>; error: string | null }) {
  const text = (name: keyof typeof filters, label: string, placeholder: string, width: string) => (
    <FilterField label={label}>
      <Input
        name={name}
        type="search"
        defaultValue={filters[name]}
        key={`${name}:${filters[name]}`}
        placeholder={placeholder}
        className={width}
      />
    </FilterField>
  );
  return (
    <FilterBar
      label="Filter the audit log"
      filtered={Object.values(filters).some(Boolean)}
      exportHref={`/audit.csv${queryOf(filters)}`}
      error={error}
    >
      {text('actor', 'Actor', 'email or hostname', 'w-52')}
      {text('action', 'Action', 'user.create or job_run.*', 'w-48')}
      {text('targetType', 'Target type', 'user, job_run…', 'w-32')}
      {text('targetId', 'Target ID', 'id', 'w-48')}
      <DateRangeFields from={filters.from} to={filters.to} />
    </FilterBar>
  );
}

export default function Audit() {
  const { items, total, page, pageSize, filters, filterError } = useLoaderData<typeof loader>();
  const filtered = Object.values(filters).some(Boolean);
  return (
    <>
      <PageHeader title="Audit log" description={`${pluralize(total, 'event')} ${filtered ? 'match the filter' : 'recorded'}`} />
      <AuditFilters filters={filters} error={filterError} />
      <Card>
        {total === 0 ? (
          <EmptyState title={filtered ? 'No events match' : 'No audit events yet'} />
        ) : (
          <>
            <Table>
              <thead>
                <tr>
                  <Th>Time</Th>
                  <Th>Actor</Th>
                  <Th>Action</Th>
                  <Th>Target</Th>
                  <Th>IP address</Th>
                  <Th>Details</Th>
                </tr>
              </thead>
              <tbody>
                {items.map((e) => (
                  <tr key={e.id} data-testid="audit-row" className="align-top hover:bg-zinc-50">
                    <Td className="text-zinc-600">
                      <span className="flex flex-col leading-tight">
                        <AbsoluteTime iso={e.createdAt} />
                        <RelativeTime iso={e.createdAt} className="text-[11px] text-zinc-400" />
                      </span>
                    </Td>
                    <Td>
                      <span className="text-zinc-900">{e.actorName ?? e.actorId ?? '—'}</span>
                      <span className="ml-1.5 text-[11px] text-zinc-400">{e.actorType}</span>
                    </Td>
                    <Td>
                      <code className="rounded bg-zinc-100 px-1.5 py-0.5 font-mono text-[11px] text-zinc-800">{e.action}</code>
                    </Td>
                    <Td className="text-xs text-zinc-600">
                      {e.targetType ? (
                        <>
                          {e.targetType}
                          {e.targetId ? <span className="ml-1 font-mono text-[11px] text-zinc-400">{e.targetId}</span> : null}
                        </>
                      ) : (
                        '—'
                      )}
                    </Td>
                    <Td className="font-mono text-xs text-zinc-600">{e.ipAddress ?? '—'}</Td>
                    <Td className="max-w-md">
                      <Details json={e.details} />
                    </Td>
                  </tr>
                ))}
              </tbody>
            </Table>
            <Pagination page={page} pageSize={pageSize} total={total} noun="event" />
          </>
        )}
      </Card>
    </>
  );
}
