/** /alerts/rules/:id — one alert rule: admins edit or delete it; everyone else reads it. */
import { redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Link, useActionData, useLoaderData, useSearchParams } from '@remix-run/react';
import { ApiError, requireApi } from '~/lib/api.server';
import { idParam, refusal } from '~/lib/alert-forms.server';
import { ruleFormChoices, saveRule } from '~/lib/alert-rule-form.server';
import { conditionText } from '~/lib/alerts';
import { isAdmin, useOptionalUser } from '~/lib/user';
import { ConfirmAction } from '~/components/agentless';
import { AlertRuleForm } from '~/components/alert-rule-form';
import { SeverityBadge } from '~/components/alerts';
import { Alert, Breadcrumb, Card, PageHeader } from '~/components/ui';

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.rule.name ?? 'Alert rule'} · OpsConductor` }];

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const id = idParam(params, 'Alert rule');
  const api = await requireApi(request, context);
  const [rule, me] = await Promise.all([api.get('/alert-rules/{id}', { params: { path: { id } } }), api.get('/auth/me')]);
  return { rule, choices: await ruleFormChoices(api, me.role === 'admin') };
}

export async function action({ request, context, params }: ActionFunctionArgs) {
  const id = idParam(params, 'Alert rule');
  const api = await requireApi(request, context);
  const form = await request.formData();
  if (form.get('intent') === 'delete') {
    try {
      await api.delete('/alert-rules/{id}', { params: { path: { id } } });
      return redirect('/alerts/rules');
    } catch (error) {
      if (error instanceof ApiError) return refusal(error, 'delete');
      throw error;
    }
  }
  return saveRule(api, form, id);
}

export default function RulePage() {
  const { rule: r, choices } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const admin = isAdmin(useOptionalUser()?.role);
  const [sp] = useSearchParams();
  return (
    <>
      <Breadcrumb trail={[{ to: '/alerts/rules', label: 'Rules' }]} current={r.name} />
      <PageHeader
        title={
          <span className="flex items-center gap-2.5">
            {r.name} <SeverityBadge severity={r.severity} />
          </span>
        }
        description={
          <>
            {conditionText(r.condition)} ·{' '}
            <Link to={`/alerts?ruleId=${r.id}&active=true`} className="hover:underline">
              {r.openAlerts} open
            </Link>
            {r.enabled ? '' : ' · disabled'}
          </>
        }
      />
      {sp.has('saved') ? (
        <div className="mb-4 max-w-3xl" data-testid="rule-flash">
          <Alert tone="success">Saved the rule.</Alert>
        </div>
      ) : null}
      {admin ? (
        <div className="space-y-4">
          <AlertRuleForm
            key={r.updatedAt}
            defaults={r}
            choices={choices}
            result={result?.intent === 'save' ? result : undefined}
            submitLabel="Save rule"
            cancelTo="/alerts/rules"
          />
          <Card title="Delete" className="max-w-3xl">
            <div className="space-y-3 p-4">
              {result?.intent === 'delete' && result.formError ? <Alert title="Could not delete the rule">{result.formError}</Alert> : null}
              <div className="flex flex-wrap items-center justify-between gap-3">
                <p className="text-xs text-zinc-600">Deletes the rule; its alerts stay in the history.</p>
                <ConfirmAction intent="delete" label="Delete rule" confirmLabel="Confirm delete" question={`Delete “${r.name}”?`} />
              </div>
            </div>
          </Card>
        </div>
      ) : (
        <Card title="Rule" className="max-w-3xl">
          <pre className="overflow-auto p-4 font-mono text-xs text-zinc-700" data-testid="rule-json">
            {JSON.stringify(
              {
                condition: r.condition,
                groups: r.groupIds.map((g) => choices.groups.find((x) => x.id === g)?.name ?? g),
                cooldownMinutes: r.cooldownMinutes,
                escalationPolicy: choices.policies.find((p) => p.id === r.escalationPolicyId)?.name ?? null,
                channels: r.channelIds.length,
              },
              null,
              2,
            )}
          </pre>
        </Card>
      )}
    </>
  );
}
