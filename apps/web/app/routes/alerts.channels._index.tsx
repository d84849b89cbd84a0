/** /alerts/channels — the notification channels (admins): type, where they send to, enabled, the last delivery. */
import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { Link, useLoaderData } from '@remix-run/react';
import { requireApi } from '~/lib/api.server';
import { requireRole } from '~/lib/roles.server';
import { channelTypeLabel } from '~/lib/alerts';
import { pluralize } from '~/lib/format';
import { DeliveryStatusBadge } from '~/components/alerts';
import { Badge, Card, EmptyState, PageHeader, RelativeTime, Table, Td, Th, buttonClass } from '~/components/ui';

export const meta: MetaFunction = () => [{ title: 'Notification channels · OpsConductor' }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const api = await requireApi(request, context);
  await requireRole(api, 'admin');
  return { items: (await api.get('/notification-channels')).items };
}

export default function Channels() {
  const { items } = useLoaderData<typeof loader>();
  return (
    <>
      <PageHeader
        title="Notification channels"
        description={`${pluralize(items.length, 'channel')}: where alerts are sent (Slack, Teams, Discord, webhooks, email).`}
        actions={
          <Link to="/alerts/channels/new" className={buttonClass('primary')}>
            New channel
          </Link>
        }
      />
      <Card>
        {items.length === 0 ? (
          <EmptyState title="No channels yet">Add one, then name it in an alert rule or an escalation policy.</EmptyState>
        ) : (
          <Table>
            <thead>
              <tr>
                <Th>Channel</Th>
                <Th>Type</Th>
                <Th>Target</Th>
                <Th>Enabled</Th>
                <Th>Last delivery</Th>
              </tr>
            </thead>
            <tbody>
              {items.map((c) => (
                <tr key={c.id} data-testid="channel-row" data-channel-id={c.id} className="hover:bg-zinc-50">
                  <Td>
                    <Link to={`/alerts/channels/${c.id}`} className="font-medium text-zinc-900 hover:underline">
                      {c.name}
                    </Link>
                  </Td>
                  <Td className="text-zinc-600">{channelTypeLabel[c.type] ?? c.type}</Td>
                  <Td className="font-mono text-xs text-zinc-600">{c.target}</Td>
                  <Td>{c.enabled ? <Badge tone="green">Enabled</Badge> : <Badge tone="gray">Disabled</Badge>}</Td>
                  <Td>
                    {c.lastDelivery ? (
                      <span className="flex items-center gap-2">
                        <DeliveryStatusBadge status={c.lastDelivery.status} />
                        <RelativeTime iso={c.lastDelivery.occurredAt} className="text-xs text-zinc-500" />
                      </span>
                    ) : (
                      <span className="text-zinc-400">never</span>
                    )}
                  </Td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </Card>
    </>
  );
}
