/** /alerts/rules/new — a new alert rule (admins). */
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { useActionData, useLoaderData } from '@remix-run/react';
import { requireApi } from '~/lib/api.server';
import { requireRole } from '~/lib/roles.server';
import { ruleFormChoices, saveRule } from '~/lib/alert-rule-form.server';
import { AlertRuleForm } from '~/components/alert-rule-form';
import { Breadcrumb, PageHeader } from '~/components/ui';

export const meta: MetaFunction = () => [{ title: 'New alert rule · OpsConductor' }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const api = await requireApi(request, context);
  await requireRole(api, 'admin');
  return ruleFormChoices(api, true);
}

export async function action({ request, context }: ActionFunctionArgs) {
  const api = await requireApi(request, context);
  return saveRule(api, await request.formData());
}

export default function NewRule() {
  const choices = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  return (
    <>
      <Breadcrumb trail={[{ to: '/alerts/rules', label: 'Rules' }]} current="New" />
      <PageHeader title="New alert rule" />
      <AlertRuleForm
        defaults={{
          name: '',
          condition: { type: 'device_offline', minutes: 15 },
          groupIds: [],
          severity: 'warning',
          cooldownMinutes: 0,
          channelIds: [],
          escalationPolicyId: null,
          enabled: true,
        }}
        choices={choices}
        result={result}
        submitLabel="Create rule"
        cancelTo="/alerts/rules"
      />
    </>
  );
}
