/** /alerts/policies — the escalation policies: their levels and how many rules use them. Admins add and edit them. */
import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { Link, useLoaderData } from '@remix-run/react';
import { requireApi } from '~/lib/api.server';
import { pluralize } from '~/lib/format';
import { isAdmin, useOptionalUser } from '~/lib/user';
import { Card, EmptyState, PageHeader, Table, Td, Th, buttonClass } from '~/components/ui';

export const meta: MetaFunction = () => [{ title: 'Escalation policies · OpsConductor' }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const api = await requireApi(request, context);
  return { items: (await api.get('/escalation-policies')).items };
}

export default function Policies() {
  const { items } = useLoaderData<typeof loader>();
  const admin = isAdmin(useOptionalUser()?.role);
  return (
    <>
      <PageHeader
        title="Escalation policies"
        description="Who hears of an alert first, and who next when nobody acknowledges it in time."
        actions={
          admin ? (
            <Link to="/alerts/policies/new" className={buttonClass('primary')}>
              New policy
            </Link>
          ) : null
        }
      />
      <Card>
        {items.length === 0 ? (
          <EmptyState title="No escalation policies yet" />
        ) : (
          <Table>
            <thead>
              <tr>
                <Th>Policy</Th>
                <Th>Levels</Th>
                <Th className="text-right">Rules</Th>
              </tr>
            </thead>
            <tbody>
              {items.map((p) => (
                <tr key={p.id} data-testid="policy-row" className="hover:bg-zinc-50">
                  <Td>
                    <Link to={`/alerts/policies/${p.id}`} className="font-medium text-zinc-900 hover:underline">
                      {p.name}
                    </Link>
                  </Td>
                  <Td className="text-zinc-600">
                    {p.levels.map((l, i) => `${i + 1}: ${pluralize(l.channelIds.length, 'channel')}, ${l.delayMinutes} min`).join(' → ')}
                  </Td>
                  <Td className="text-right tabular-nums">{p.ruleCount}</Td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </Card>
    </>
  );
}
