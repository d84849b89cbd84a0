/** /alerts/policies/new — a new escalation policy (admins). */
import { redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { useActionData, useLoaderData } from '@remix-run/react';
import { requireApi } from '~/lib/api.server';
import { requireRole } from '~/lib/roles.server';
import { invalid, readPolicyForm, refusal } from '~/lib/alert-forms.server';
import { PolicyForm } from '~/components/policy-form';
import { Breadcrumb, PageHeader } from '~/components/ui';

export const meta: MetaFunction = () => [{ title: 'New escalation policy · OpsConductor' }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const api = await requireApi(request, context);
  await requireRole(api, 'admin');
  return { channels: (await api.get('/notification-channels')).items.map((c) => ({ id: c.id, name: c.name })) };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const api = await requireApi(request, context);
  const parsed = readPolicyForm(await request.formData());
  if (!parsed.ok) return invalid('save', parsed.issues);
  try {
    const policy = await api.post('/escalation-policies', { body: parsed.body });
    return redirect(`/alerts/policies/${policy.id}?saved`);
  } catch (error) {
    return refusal(error, 'save');
  }
}

export default function NewPolicy() {
  const { channels } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  return (
    <>
      <Breadcrumb trail={[{ to: '/alerts/policies', label: 'Escalation policies' }]} current="New" />
      <PageHeader title="New escalation policy" />
      <PolicyForm defaults={{ name: '', levels: [] }} channels={channels} result={result} submitLabel="Create policy" />
    </>
  );
}
