/** /groups/:id/edit — a sibling of the group page (the `_` keeps it out of that page's layout). */
import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { useActionData, useLoaderData } from '@remix-run/react';
import { uuid } from '@opsconductor/contracts/api';
import { requireApi, type RouteErrorData } from '~/lib/api.server';
import { groupFormFailure, parseGroupForm } from '~/lib/group-form.server';
import { loadRuleCatalog } from '~/lib/rule-catalog.server';
import { requireRole } from '~/lib/roles.server';
import { GroupForm, GroupKindBadge, type GroupFormData } from '~/components/groups';
import { Breadcrumb, PageHeader } from '~/components/ui';

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `Edit ${data?.group.name ?? 'group'} · OpsConductor` }];

function groupId(params: LoaderFunctionArgs['params']): string {
  const parsed = uuid.safeParse(params.id);
  if (!parsed.success) throw data<RouteErrorData>({ title: 'Group not found' }, { status: 404 });
  return parsed.data;
}

function refuseBuiltIn(group: { builtIn: boolean }) {
  if (group.builtIn) {
    throw data<RouteErrorData>(
      { title: 'Built-in groups cannot be edited', detail: 'OpsConductor maintains this group itself.', code: 'group_built_in' },
      { status: 409 },
    );
  }
}

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const id = groupId(params);
  const api = await requireApi(request, context);
  await requireRole(api, 'operator');
  const group = await api.get('/groups/{id}', { params: { path: { id } } });
  refuseBuiltIn(group);
  const catalog = group.kind === 'dynamic' ? await loadRuleCatalog(api, { excludeGroupId: id }) : null;
  return { group, catalog };
}

export async function action({ request, context, params }: ActionFunctionArgs) {
  const id = groupId(params);
  const api = await requireApi(request, context);
  const group = await api.get('/groups/{id}', { params: { path: { id } } });
  refuseBuiltIn(group);
  const parsed = parseGroupForm(await request.formData(), group.kind);
  if (!parsed.ok) return data<GroupFormData>(parsed.result, { status: 400 });
  try {
    await api.patch('/groups/{id}', {
      params: { path: { id } },
      body: {
        name: parsed.name,
        description: parsed.description,
        ...(group.kind === 'dynamic' && parsed.rule ? { rule: parsed.rule } : {}),
      },
    });
    return redirect(`/groups/${id}`);
  } catch (error) {
    return groupFormFailure(error, parsed.ruleText);
  }
}

export default function EditGroup() {
  const { group, catalog } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  return (
    <>
      <Breadcrumb
        trail={[
          { to: '/groups', label: 'Groups' },
          { to: `/groups/${group.id}`, label: group.name },
        ]}
        current="Edit"
      />
      <PageHeader
        title={
          <span className="flex items-center gap-2.5">
            Edit {group.name} <GroupKindBadge kind={group.kind} />
          </span>
        }
      />
      <GroupForm
        kind={group.kind}
        catalog={catalog}
        defaults={{ name: group.name, description: group.description, rule: group.rule }}
        result={result}
        submitLabel="Save group"
        cancelTo={`/groups/${group.id}`}
      />
    </>
  );
}
