import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Link, useActionData, useLoaderData } from '@remix-run/react';
import { requireApi } from '~/lib/api.server';
import { groupFormFailure, parseGroupForm } from '~/lib/group-form.server';
import { loadRuleCatalog } from '~/lib/rule-catalog.server';
import { requireRole } from '~/lib/roles.server';
import { GroupForm, type GroupFormData } from '~/components/groups';
import { Breadcrumb, PageHeader, cx } from '~/components/ui';

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `New ${data?.kind ?? ''} group · OpsConductor` }];

const kindOf = (request: Request) => (new URL(request.url).searchParams.get('kind') === 'static' ? 'static' : 'dynamic');

export async function loader({ request, context }: LoaderFunctionArgs) {
  const api = await requireApi(request, context);
  await requireRole(api, 'operator');
  const kind = kindOf(request);
  const catalog = kind === 'dynamic' ? await loadRuleCatalog(api) : null;
  return { kind, catalog } as const;
}

export async function action({ request, context }: ActionFunctionArgs) {
  const api = await requireApi(request, context);
  const kind = kindOf(request);
  const parsed = parseGroupForm(await request.formData(), kind);
  if (!parsed.ok) return data<GroupFormData>(parsed.result, { status: 400 });
  try {
    const group =
      kind === 'dynamic' && parsed.rule
        ? await api.post('/groups', { body: { kind: 'dynamic', name: parsed.name, description: parsed.description, rule: parsed.rule } })
        : await api.post('/groups', { body: { kind: 'static', name: parsed.name, description: parsed.description, deviceIds: [] } });
    return redirect(`/groups/${group.id}`);
  } catch (error) {
    return groupFormFailure(error, parsed.ruleText);
  }
}

export default function NewGroup() {
  const { kind, catalog } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const tab = (k: 'static' | 'dynamic', label: string) => (
    <Link
      to={`?kind=${k}`}
      replace
      aria-current={kind === k ? 'page' : undefined}
      className={cx(
        'rounded-md px-2.5 py-1 text-xs font-medium',
        kind === k ? 'bg-zinc-900 text-white' : 'text-zinc-600 hover:bg-zinc-100',
      )}
    >
      {label}
    </Link>
  );
  return (
    <>
      <Breadcrumb trail={[{ to: '/groups', label: 'Groups' }]} current="New" />
      <PageHeader
        title={kind === 'dynamic' ? 'New dynamic group' : 'New static group'}
        description={
          kind === 'dynamic'
            ? 'Members are the devices that match the rule; membership follows inventory changes.'
            : 'Members are added and removed by hand (here, or from the device list).'
        }
        actions={
          <div className="flex gap-1 rounded-lg bg-white p-0.5 ring-1 ring-zinc-200">
            {tab('static', 'Static')}
            {tab('dynamic', 'Dynamic')}
          </div>
        }
      />
      <GroupForm
        key={kind}
        kind={kind}
        catalog={catalog}
        defaults={{ name: '', description: '', rule: null }}
        result={result}
        submitLabel="Create group"
        cancelTo="/groups"
      />
    </>
  );
}
