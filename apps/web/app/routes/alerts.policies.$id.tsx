/** /alerts/policies/:id — one escalation policy: admins edit or delete it (refused while rules use it); others read. */
import { redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { useActionData, useLoaderData, useSearchParams } from '@remix-run/react';
import { ApiError, requireApi } from '~/lib/api.server';
import { idParam, invalid, readPolicyForm, refusal } from '~/lib/alert-forms.server';
import { pluralize } from '~/lib/format';
import { isAdmin, useOptionalUser } from '~/lib/user';
import { ConfirmAction } from '~/components/agentless';
import { PolicyForm } from '~/components/policy-form';
import { Alert, Breadcrumb, Card, PageHeader } from '~/components/ui';

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.policy.name ?? 'Escalation policy'} · OpsConductor` }];

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const id = idParam(params, 'Escalation policy');
  const api = await requireApi(request, context);
  const [policy, me] = await Promise.all([api.get('/escalation-policies/{id}', { params: { path: { id } } }), api.get('/auth/me')]);
  const channels = me.role === 'admin' ? (await api.get('/notification-channels')).items.map((c) => ({ id: c.id, name: c.name })) : [];
  return { policy, channels };
}

export async function action({ request, context, params }: ActionFunctionArgs) {
  const id = idParam(params, 'Escalation policy');
  const api = await requireApi(request, context);
  const form = await request.formData();
  try {
    if (form.get('intent') === 'delete') {
      await api.delete('/escalation-policies/{id}', { params: { path: { id } } });
      return redirect('/alerts/policies');
    }
    const parsed = readPolicyForm(form);
    if (!parsed.ok) return invalid('save', parsed.issues);
    await api.put('/escalation-policies/{id}', { params: { path: { id } }, body: parsed.body });
    return redirect(`/alerts/policies/${id}?saved`);
  } catch (error) {
    if (error instanceof ApiError) return refusal(error, String(form.get('intent') ?? 'save'));
    throw error;
  }
}

export default function PolicyPage() {
  const { policy: p, channels } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const admin = isAdmin(useOptionalUser()?.role);
  const [sp] = useSearchParams();
  return (
    <>
      <Breadcrumb trail={[{ to: '/alerts/policies', label: 'Escalation policies' }]} current={p.name} />
      <PageHeader title={p.name} description={`${pluralize(p.levels.length, 'level')} · used by ${pluralize(p.ruleCount, 'rule')}`} />
      {sp.has('saved') ? (
        <div className="mb-4 max-w-3xl" data-testid="policy-flash">
          <Alert tone="success">Saved the policy.</Alert>
        </div>
      ) : null}
      {admin ? (
        <div className="space-y-4">
          <PolicyForm
            key={p.updatedAt}
            defaults={p}
            channels={channels}
            result={result?.intent === 'save' ? result : undefined}
            submitLabel="Save policy"
          />
          <Card title="Delete" className="max-w-3xl">
            <div className="space-y-3 p-4">
              {result?.intent === 'delete' && result.formError ? (
                <div data-testid="policy-delete-error" data-code={result.code}>
                  <Alert title="Could not delete the policy">{result.formError}</Alert>
                </div>
              ) : null}
              <div className="flex flex-wrap items-center justify-between gap-3">
                <p className="text-xs text-zinc-600">
                  {p.ruleCount ? `${pluralize(p.ruleCount, 'rule')} use it: give them another policy first.` : 'Deletes the policy.'}
                </p>
                <ConfirmAction intent="delete" label="Delete policy" confirmLabel="Confirm delete" question={`Delete “${p.name}”?`} />
              </div>
            </div>
          </Card>
        </div>
      ) : (
        <Card title="Levels" className="max-w-3xl">
          <ol className="divide-y divide-zinc-100 text-[13px]">
            {p.levels.map((l, i) => (
              <li key={i} className="px-4 py-2">
                Level {i + 1}: {pluralize(l.channelIds.length, 'channel')}, then {l.delayMinutes} min
              </li>
            ))}
          </ol>
        </Card>
      )}
    </>
  );
}
