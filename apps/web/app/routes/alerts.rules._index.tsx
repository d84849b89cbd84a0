/** /alerts/rules — the alert rules: what each watches, its scope, severity, where it notifies, its open alerts. */
import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { Link, useLoaderData } from '@remix-run/react';
import { requireApi } from '~/lib/api.server';
import { conditionText, ruleTypeLabel } from '~/lib/alerts';
import { pluralize } from '~/lib/format';
import { isAdmin, useOptionalUser } from '~/lib/user';
import { SeverityBadge } from '~/components/alerts';
import { Badge, Card, EmptyState, PageHeader, Table, Td, Th, buttonClass } from '~/components/ui';

export const meta: MetaFunction = () => [{ title: 'Alert rules · OpsConductor' }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const api = await requireApi(request, context);
  const [rules, groups, policies] = await Promise.all([api.get('/alert-rules'), api.get('/groups'), api.get('/escalation-policies')]);
  return {
    items: rules.items,
    groups: Object.fromEntries(groups.items.map((g) => [g.id, g.name])),
    policies: Object.fromEntries(policies.items.map((p) => [p.id, p.name])),
  };
}

export default function Rules() {
  const { items, groups, policies } = useLoaderData<typeof loader>();
  const admin = isAdmin(useOptionalUser()?.role);
  return (
    <>
      <PageHeader
        title="Alert rules"
        description={`${pluralize(items.length, 'rule')}: what opens an alert, for which devices, and who hears of it.`}
        actions={
          admin ? (
            <Link to="/alerts/rules/new" className={buttonClass('primary')}>
              New rule
            </Link>
          ) : null
        }
      />
      <Card>
        {items.length === 0 ? (
          <EmptyState title="No alert rules yet" />
        ) : (
          <Table>
            <thead>
              <tr>
                <Th>Rule</Th>
                <Th>Type</Th>
                <Th>Scope</Th>
                <Th>Severity</Th>
                <Th>Notifies</Th>
                <Th className="text-right">Open alerts</Th>
                <Th>Enabled</Th>
              </tr>
            </thead>
            <tbody>
              {items.map((r) => (
                <tr key={r.id} data-testid="alert-rule-row" data-rule-id={r.id} className="align-top hover:bg-zinc-50">
                  <Td>
                    <Link to={`/alerts/rules/${r.id}`} className="font-medium text-zinc-900 hover:underline">
                      {r.name}
                    </Link>
                    <p className="text-xs text-zinc-500">{conditionText(r.condition)}</p>
                  </Td>
                  <Td className="text-zinc-600">{ruleTypeLabel[String(r.condition.type)] ?? String(r.condition.type)}</Td>
                  <Td className="text-zinc-600">
                    {r.groupIds.length === 0 ? 'Every device' : r.groupIds.map((g) => groups[g] ?? g).join(', ')}
                  </Td>
                  <Td>
                    <SeverityBadge severity={r.severity} />
                  </Td>
                  <Td className="text-zinc-600">
                    {r.escalationPolicyId
                      ? `Policy: ${policies[r.escalationPolicyId] ?? r.escalationPolicyId}`
                      : r.channelIds.length
                        ? pluralize(r.channelIds.length, 'channel')
                        : 'nobody'}
                  </Td>
                  <Td className="text-right tabular-nums">
                    {r.openAlerts ? (
                      <Link to={`/alerts?ruleId=${r.id}&active=true`} className="hover:underline">
                        {r.openAlerts}
                      </Link>
                    ) : (
                      0
                    )}
                  </Td>
                  <Td>{r.enabled ? <Badge tone="green">Enabled</Badge> : <Badge tone="gray">Disabled</Badge>}</Td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </Card>
    </>
  );
}
