import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { Link, useLoaderData } from '@remix-run/react';
import { useRef } from 'react';
import { requireApi } from '~/lib/api.server';
import { pluralize } from '~/lib/format';
import { canRunCommands, useOptionalUser } from '~/lib/user';
import { BuiltInBadge, GroupKindBadge } from '~/components/groups';
import { BulkAssignDialog } from '~/components/software-assignments';
import { Card, EmptyState, PageHeader, RelativeTime, Table, Td, Th, buttonClass } from '~/components/ui';

export const meta: MetaFunction = () => [{ title: 'Groups · OpsConductor' }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const api = await requireApi(request, context);
  const { items } = await api.get('/groups');
  // Built-in groups first, then by name.
  const groups = [...items].sort((a, b) => Number(b.builtIn) - Number(a.builtIn) || a.name.localeCompare(b.name));
  return { groups };
}

export default function Groups() {
  const { groups } = useLoaderData<typeof loader>();
  const user = useOptionalUser();
  const canEdit = canRunCommands(user?.role);
  const tableRef = useRef<HTMLDivElement>(null);
  const selected = () =>
    Array.from(tableRef.current?.querySelectorAll<HTMLInputElement>('input[name="groupIds"]:checked') ?? []).map((b) => b.value);
  return (
    <>
      <PageHeader
        title="Groups"
        description={`${pluralize(groups.length, 'group')} · static groups list their devices, dynamic groups follow a rule`}
        actions={
          canEdit ? (
            <>
              <Link to="/groups/new?kind=static" className={buttonClass('secondary')}>
                New static group
              </Link>
              <Link to="/groups/new?kind=dynamic" className={buttonClass('primary')}>
                New dynamic group
              </Link>
            </>
          ) : null
        }
      />
      <Card
        title={canEdit && groups.length > 0 ? 'All groups' : undefined}
        actions={canEdit && groups.length > 0 ? <BulkAssignDialog field="groupIds" selected={selected} /> : undefined}
      >
        <div ref={tableRef}>
          {groups.length === 0 ? (
            <EmptyState title="No groups yet">
              {canEdit
                ? 'Create a static group and add devices to it, or a dynamic group with a rule.'
                : 'Operators and admins can create groups.'}
            </EmptyState>
          ) : (
            <Table>
              <thead>
                <tr>
                  {canEdit ? <Th className="w-8 pr-0" /> : null}
                  <Th>Name</Th>
                  <Th>Kind</Th>
                  <Th className="text-right">Members</Th>
                  <Th>Description</Th>
                  <Th>Updated</Th>
                </tr>
              </thead>
              <tbody>
                {groups.map((g) => (
                  <tr key={g.id} data-testid="group-row" data-group-id={g.id} className="hover:bg-zinc-50">
                    {canEdit ? (
                      <Td className="w-8 pr-0">
                        <input
                          type="checkbox"
                          name="groupIds"
                          value={g.id}
                          aria-label={`Select ${g.name}`}
                          className="size-3.5 rounded border-zinc-300 accent-zinc-900"
                        />
                      </Td>
                    ) : null}
                    <Td>
                      <span className="flex items-center gap-2">
                        <Link to={`/groups/${g.id}`} className="font-medium text-zinc-900 hover:underline" prefetch="intent">
                          {g.name}
                        </Link>
                        {g.builtIn ? <BuiltInBadge /> : null}
                      </span>
                    </Td>
                    <Td>
                      <GroupKindBadge kind={g.kind} />
                    </Td>
                    <Td className="text-right tabular-nums">
                      <span data-testid="group-member-count">{g.memberCount.toLocaleString('en-US')}</span>
                    </Td>
                    <Td className="max-w-md truncate text-zinc-500">{g.description || <span className="text-zinc-300">—</span>}</Td>
                    <Td className="text-zinc-500">
                      <RelativeTime iso={g.updatedAt} />
                    </Td>
                  </tr>
                ))}
              </tbody>
            </Table>
          )}
        </div>
      </Card>
    </>
  );
}
