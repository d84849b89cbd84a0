import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Form, Link, useActionData, useLoaderData, useNavigation } from '@remix-run/react';
import { useState } from 'react';
import { z } from 'zod';
import { uuid } from '@opsconductor/contracts/api';
import { ApiError, requireApi, type RouteErrorData } from '~/lib/api.server';
import { loadRuleCatalog } from '~/lib/rule-catalog.server';
import { newRunFormKey, runCommandAction, type RunCommandActionData } from '~/lib/run-command.server';
import { RunCommandFields } from '~/components/run-command-form';
import { osLabel, pluralize } from '~/lib/format';
import { canRunCommands, useOptionalUser } from '~/lib/user';
import { BuiltInBadge, GroupKindBadge, RuleView, TagChips } from '~/components/groups';
import { DeviceStatusBadge } from '~/components/status';
import { MaintenanceWindowsCard } from '~/components/maintenance-windows';
import { AssignmentsPanel } from '~/components/software-assignments';
import { DeploymentBadges } from '~/components/deployment-badges';
import {
  AbsoluteTime,
  Alert,
  Badge,
  Breadcrumb,
  Button,
  Card,
  EmptyState,
  Input,
  PageHeader,
  Pagination,
  RelativeTime,
  Table,
  Td,
  Th,
  buttonClass,
} from '~/components/ui';

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.group.name ?? 'Group'} · OpsConductor` }];

const MEMBERS_PAGE_SIZE = 50;
const EVENTS_PAGE_SIZE = 20;
const CANDIDATES = 20;

function groupId(params: LoaderFunctionArgs['params']): string {
  const parsed = uuid.safeParse(params.id);
  if (!parsed.success) throw data<RouteErrorData>({ title: 'Group not found' }, { status: 404 });
  return parsed.data;
}

const pageParam = z.coerce.number().int().min(1).max(100_000).catch(1);
const searchParam = z.string().trim().max(200).catch('');

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const id = groupId(params);
  const api = await requireApi(request, context);
  const sp = new URL(request.url).searchParams;
  const page = pageParam.parse(sp.get('page') ?? 1);
  const eventsPage = pageParam.parse(sp.get('eventsPage') ?? 1);
  const search = searchParam.parse(sp.get('search') ?? '');
  const addSearch = searchParam.parse(sp.get('add') ?? '');
  const group = await api.get('/groups/{id}', { params: { path: { id } } });
  const [members, events, catalog, candidates, windows] = await Promise.all([
    api.get('/groups/{id}/members', {
      params: { path: { id }, query: { page, pageSize: MEMBERS_PAGE_SIZE, search: search || undefined } },
    }),
    api.get('/groups/{id}/events', { params: { path: { id }, query: { page: eventsPage, pageSize: EVENTS_PAGE_SIZE } } }),
    group.kind === 'dynamic' && group.rule ? loadRuleCatalog(api) : null,
    group.kind === 'static' && addSearch ? api.get('/devices', { params: { query: { search: addSearch, pageSize: CANDIDATES } } }) : null,
    api.get('/groups/{id}/maintenance-windows', { params: { path: { id } } }),
  ]);
  return {
    group,
    members,
    events,
    catalog: catalog ? { fields: catalog.fields, groups: catalog.groups } : null,
    candidates,
    windows: windows.items,
    page,
    eventsPage,
    search,
    addSearch,
    runFormKey: newRunFormKey(),
  };
}

type ActionData = { ok: boolean; message?: string; formError?: string };

export async function action({ request, context, params }: ActionFunctionArgs) {
  const id = groupId(params);
  const api = await requireApi(request, context);
  const form = await request.formData();
  const remove = form.get('remove');
  // A member row's "Remove" button posts remove=<device id>.
  const intent = remove ? 'remove-members' : String(form.get('intent') ?? '');
  // Runs on the group's members as they are when it starts, after showing their count.
  if (intent === 'run' || intent === 'run-confirm') return runCommandAction(request, context, form, { groupIds: [id] });
  const ids = z
    .array(uuid)
    .max(10_000)
    .safeParse(remove ? [remove] : form.getAll('deviceIds'));
  try {
    if (intent === 'delete') {
      await api.delete('/groups/{id}', { params: { path: { id } } });
      return redirect('/groups');
    }
    if (intent === 'add-members' || intent === 'remove-members') {
      if (!ids.success || ids.data.length === 0) {
        return data<ActionData>({ ok: false, formError: 'Select at least one device.' }, { status: 400 });
      }
      await api.post('/groups/{id}/members', {
        params: { path: { id } },
        body: intent === 'add-members' ? { add: ids.data } : { remove: ids.data },
      });
      const n = pluralize(ids.data.length, 'device');
      return data<ActionData>({ ok: true, message: intent === 'add-members' ? `Added ${n}.` : `Removed ${n}.` });
    }
    return data<ActionData>({ ok: false, formError: 'Unknown action' }, { status: 400 });
  } catch (error) {
    if (error instanceof ApiError) {
      return data<ActionData>({ ok: false, formError: error.detail ?? error.title }, { status: error.status });
    }
    throw error;
  }
}

function DeleteGroup({ name }: { name: string }) {
  const [confirming, setConfirming] = useState(false);
  const navigation = useNavigation();
  const busy = navigation.state === 'submitting' && navigation.formData?.get('intent') === 'delete';
  if (!confirming) {
    return (
      <Button variant="danger" onClick={() => setConfirming(true)}>
        Delete group
      </Button>
    );
  }
  return (
    <Form method="post" className="flex items-center gap-2" role="alertdialog" aria-label={`Delete ${name}`}>
      <span className="text-xs text-zinc-600">Delete “{name}”?</span>
      <Button type="submit" name="intent" value="delete" variant="danger" disabled={busy}>
        Confirm delete
      </Button>
      <Button variant="ghost" onClick={() => setConfirming(false)}>
        Cancel
      </Button>
    </Form>
  );
}

export default function GroupPage() {
  const { group, members, events, catalog, candidates, windows, page, eventsPage, search, addSearch, runFormKey } =
    useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
  const result = actionData && 'ok' in actionData ? actionData : undefined;
  const runResult = actionData && !('ok' in actionData) ? (actionData as RunCommandActionData) : undefined;
  const user = useOptionalUser();
  const canEdit = canRunCommands(user?.role);
  const editable = canEdit && !group.builtIn;
  const manualMembers = canEdit && group.kind === 'static';
  const memberIds = new Set(members.items.map((m) => m.id));

  return (
    <>
      <Breadcrumb trail={[{ to: '/groups', label: 'Groups' }]} current={group.name} />
      <PageHeader
        title={
          <span className="flex items-center gap-2.5">
            <span data-testid="group-name">{group.name}</span>
            <GroupKindBadge kind={group.kind} />
            {group.builtIn ? <BuiltInBadge /> : null}
          </span>
        }
        description={
          <>
            <span data-testid="group-members-total">{pluralize(group.memberCount, 'member')}</span>
            {group.description ? <> · {group.description}</> : null}
          </>
        }
        actions={
          editable ? (
            <>
              <Link to={`/groups/${group.id}/edit`} className={buttonClass('secondary')}>
                Edit group
              </Link>
              <DeleteGroup name={group.name} />
            </>
          ) : null
        }
      />

      {result?.formError ? (
        <div className="mb-4">
          <Alert>{result.formError}</Alert>
        </div>
      ) : result?.message ? (
        <div className="mb-4">
          <Alert tone="success">{result.message}</Alert>
        </div>
      ) : null}

      <div className="grid items-start gap-4 xl:grid-cols-[minmax(0,1fr)_400px]">
        <div className="space-y-4">
          {group.kind === 'dynamic' ? (
            <Card title="Rule">
              <div className="px-4 py-3">
                {group.rule && catalog ? <RuleView rule={group.rule} catalog={catalog} /> : <p className="text-zinc-500">No rule.</p>}
              </div>
            </Card>
          ) : null}

          <Card
            title="Members"
            actions={
              <Form method="get" role="search" className="flex items-center gap-2" preventScrollReset>
                {addSearch ? <input type="hidden" name="add" value={addSearch} /> : null}
                <Input
                  type="search"
                  name="search"
                  defaultValue={search}
                  key={`s:${search}`}
                  placeholder="Search members…"
                  aria-label="Search members"
                  className="h-7! w-56 text-xs!"
                />
              </Form>
            }
          >
            {members.total === 0 ? (
              <EmptyState title={search ? 'No members match' : 'No members'}>
                {search
                  ? null
                  : group.kind === 'dynamic'
                    ? 'No device matches the rule right now.'
                    : manualMembers
                      ? 'Add devices on the right, or from the device list.'
                      : null}
              </EmptyState>
            ) : (
              <Form method="post" preventScrollReset>
                <Table>
                  <thead>
                    <tr>
                      <Th>Hostname</Th>
                      <Th>OS</Th>
                      <Th>Tags</Th>
                      <Th>Status</Th>
                      <Th>Last seen</Th>
                      {manualMembers ? <Th className="w-0" /> : null}
                    </tr>
                  </thead>
                  <tbody>
                    {members.items.map((d) => (
                      <tr key={d.id} data-testid="member-row" data-device-id={d.id} className="hover:bg-zinc-50">
                        <Td>
                          <Link to={`/devices/${d.id}`} className="font-medium text-zinc-900 hover:underline">
                            {d.hostname}
                          </Link>
                        </Td>
                        <Td className="text-zinc-600">{osLabel(d.osName, d.osVersion) || d.osFamily}</Td>
                        <Td>
                          <TagChips tags={d.tags} max={3} />
                        </Td>
                        <Td>
                          <DeviceStatusBadge status={d.status} />
                        </Td>
                        <Td className="text-zinc-500">
                          <RelativeTime iso={d.lastSeenAt} />
                        </Td>
                        {manualMembers ? (
                          <Td className="text-right">
                            <Button type="submit" size="sm" variant="ghost" name="remove" value={d.id} aria-label={`Remove ${d.hostname}`}>
                              Remove
                            </Button>
                          </Td>
                        ) : null}
                      </tr>
                    ))}
                  </tbody>
                </Table>
                <Pagination page={page} pageSize={MEMBERS_PAGE_SIZE} total={members.total} noun="member" />
              </Form>
            )}
          </Card>
          <AssignmentsPanel scope={{ groupId: group.id }} canEdit={canEdit} />
          <DeploymentBadges scope={{ groupId: group.id }} />
        </div>

        <div className="space-y-4">
          {canEdit ? (
            <Card title="Run command">
              <Form method="post" className="p-4" noValidate>
                <RunCommandFields
                  result={runResult}
                  formKey={runFormKey}
                  summary="On the members when it starts; shows their count first"
                />
              </Form>
            </Card>
          ) : null}

          {manualMembers ? (
            <Card title="Add devices">
              <div className="space-y-2 p-3">
                <Form method="get" role="search" className="flex gap-2" preventScrollReset>
                  {search ? <input type="hidden" name="search" value={search} /> : null}
                  <Input
                    type="search"
                    name="add"
                    defaultValue={addSearch}
                    key={`a:${addSearch}`}
                    placeholder="Hostname, IP, OS…"
                    aria-label="Find devices to add"
                  />
                  <Button type="submit">Find</Button>
                </Form>
                {candidates ? (
                  candidates.items.length === 0 ? (
                    <p className="text-xs text-zinc-500">No devices match “{addSearch}”.</p>
                  ) : (
                    <Form method="post" preventScrollReset>
                      <ul className="max-h-80 divide-y divide-zinc-100 overflow-y-auto rounded-md border border-zinc-200">
                        {candidates.items.map((d) => (
                          <li key={d.id} className="flex items-center gap-2 px-2.5 py-1.5 text-[13px]">
                            <input
                              type="checkbox"
                              name="deviceIds"
                              value={d.id}
                              aria-label={`Add ${d.hostname}`}
                              disabled={memberIds.has(d.id)}
                              className="size-3.5 accent-zinc-900"
                            />
                            <span className="truncate font-medium text-zinc-900">{d.hostname}</span>
                            <span className="ml-auto truncate text-xs text-zinc-500">{memberIds.has(d.id) ? 'member' : d.osName}</span>
                          </li>
                        ))}
                      </ul>
                      <div className="mt-2 flex items-center justify-between">
                        <span className="text-xs text-zinc-500">
                          {candidates.total > candidates.items.length ? `First ${candidates.items.length} of ${candidates.total}` : null}
                        </span>
                        <Button type="submit" name="intent" value="add-members" variant="primary" size="sm">
                          Add selected
                        </Button>
                      </div>
                    </Form>
                  )
                ) : (
                  <p className="text-xs text-zinc-500">Search for devices to add them to this group.</p>
                )}
              </div>
            </Card>
          ) : null}

          <MaintenanceWindowsCard groupId={group.id} windows={windows} canEdit={canEdit} />

          <Card
            title="Membership changes"
            actions={
              events.total > 0 ? <span className="text-xs text-zinc-500 tabular-nums">{events.total.toLocaleString('en-US')}</span> : null
            }
          >
            {events.items.length === 0 ? (
              <EmptyState title="No membership changes yet" />
            ) : (
              <>
                <ul className="divide-y divide-zinc-100" data-testid="membership-events">
                  {events.items.map((e) => (
                    <li key={e.id} data-testid="membership-event" className="flex items-start gap-2 px-3 py-2 text-[13px]">
                      <Badge tone={e.change === 'added' ? 'green' : 'gray'}>{e.change === 'added' ? 'Added' : 'Removed'}</Badge>
                      <div className="min-w-0 flex-1">
                        <Link to={`/devices/${e.deviceId}`} className="font-medium text-zinc-900 hover:underline">
                          {e.hostname}
                        </Link>
                        {e.reason ? (
                          <p className="truncate text-xs text-zinc-500" title={e.reason}>
                            {e.reason}
                          </p>
                        ) : null}
                      </div>
                      <span className="text-xs text-zinc-500" title={e.occurredAt}>
                        <RelativeTime iso={e.occurredAt} />
                      </span>
                    </li>
                  ))}
                </ul>
                <Pagination page={eventsPage} pageSize={EVENTS_PAGE_SIZE} total={events.total} noun="change" param="eventsPage" />
              </>
            )}
          </Card>

          <Card title="Details">
            <dl className="divide-y divide-zinc-100 py-1 text-[13px]">
              <div className="grid grid-cols-[100px_minmax(0,1fr)] gap-2 px-4 py-1.5">
                <dt className="text-zinc-500">Created</dt>
                <dd>
                  <AbsoluteTime iso={group.createdAt} />
                </dd>
              </div>
              <div className="grid grid-cols-[100px_minmax(0,1fr)] gap-2 px-4 py-1.5">
                <dt className="text-zinc-500">Updated</dt>
                <dd>
                  <AbsoluteTime iso={group.updatedAt} />
                </dd>
              </div>
              <div className="grid grid-cols-[100px_minmax(0,1fr)] gap-2 px-4 py-1.5">
                <dt className="text-zinc-500">Group ID</dt>
                <dd className="font-mono text-xs text-zinc-600">{group.id}</dd>
              </div>
              <div className="grid grid-cols-[100px_minmax(0,1fr)] gap-2 px-4 py-1.5">
                <dt className="text-zinc-500">Devices</dt>
                <dd>
                  <Link to={`/devices?groupId=${group.id}`} className="text-zinc-900 underline">
                    Open in device list
                  </Link>
                </dd>
              </div>
            </dl>
          </Card>
        </div>
      </div>
    </>
  );
}
