import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { Form, Link, useActionData, useLoaderData, useNavigation, useSearchParams, useSubmit } from '@remix-run/react';
import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { z } from 'zod';
import { deviceLifecycles } from '@opsconductor/contracts/constants';
import { deviceStatus } from '@opsconductor/contracts/api';
import { deviceListFilters } from '@opsconductor/contracts/inventory-api';
import { requireApi } from '~/lib/api.server';
import { isBulkIntent, runBulkAction, type BulkResult } from '~/lib/bulk-actions.server';
import { newRunFormKey, runCommandAction, type RunCommandActionData, type RunTarget } from '~/lib/run-command.server';
import { canRunCommands, isAdmin, useOptionalUser } from '~/lib/user';
import { osLabel, pluralize } from '~/lib/format';
import { RunCommandFields } from '~/components/run-command-form';
import { DeviceStatusBadge } from '~/components/status';
import { TagChips } from '~/components/groups';
import { CustomFieldInput, type CustomFieldDef } from '~/components/custom-field-input';
import { BulkAssignDialog } from '~/components/software-assignments';
import {
  Alert,
  Badge,
  Button,
  Card,
  EmptyState,
  Input,
  PageHeader,
  Pagination,
  RelativeTime,
  Select,
  Table,
  Td,
  Th,
  buttonClass,
  cx,
} from '~/components/ui';

export const meta: MetaFunction = () => [{ title: 'Devices · OpsConductor' }];

const PAGE_SIZE = 50;

// Anything unusable in the URL is dropped (the page still renders) rather than failing the request.
const listQuery = z.object({
  search: z.string().trim().max(200).optional().catch(undefined),
  status: deviceStatus.optional().catch(undefined),
  osFamily: deviceListFilters.shape.osFamily.catch(undefined),
  groupId: deviceListFilters.shape.groupId.catch(undefined),
  tag: deviceListFilters.shape.tag.catch(undefined),
  cfKey: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,62}$/)
    .optional()
    .catch(undefined),
  cfValue: z.string().max(200).optional().catch(undefined),
  // The home page's links: an OS, an agent version, a software assignment's devices (by compliance).
  osName: deviceListFilters.shape.osName.catch(undefined),
  osVersion: deviceListFilters.shape.osVersion.catch(undefined),
  agentVersion: deviceListFilters.shape.agentVersion.catch(undefined),
  assignmentId: deviceListFilters.shape.assignmentId.catch(undefined),
  compliance: deviceListFilters.shape.compliance.catch(undefined),
  sort: deviceListFilters.shape.sort.catch('hostname'),
  order: deviceListFilters.shape.order.catch('asc'),
  /** Retired devices are hidden unless asked for ('' = active only). */
  lifecycle: z.enum(deviceLifecycles).exclude(['active']).optional().catch(undefined),
  page: z.coerce.number().int().min(1).max(100_000).catch(1),
});

export async function loader({ request, context }: LoaderFunctionArgs) {
  const api = await requireApi(request, context);
  const params = new URL(request.url).searchParams;
  const q = listQuery.parse({
    search: params.get('search') || undefined,
    status: params.get('status') || undefined,
    osFamily: params.get('osFamily') || undefined,
    groupId: params.get('groupId') || undefined,
    tag: params.get('tag') || undefined,
    cfKey: params.get('cfKey') || undefined,
    cfValue: params.get('cfValue') ?? undefined,
    osName: params.get('osName') ?? undefined,
    osVersion: params.get('osVersion') ?? undefined,
    agentVersion: params.get('agentVersion') ?? undefined,
    assignmentId: params.get('assignmentId') || undefined,
    compliance: params.get('compliance') || undefined,
    sort: params.get('sort') || undefined,
    order: params.get('order') || undefined,
    lifecycle: params.get('lifecycle') || undefined,
    page: params.get('page') ?? 1,
  });
  const customField = q.cfKey && q.cfValue !== undefined && q.cfValue !== '' ? `${q.cfKey}:${q.cfValue}` : undefined;
  // The list's filter as the API reads it: the devices shown here are the ones "Run on all" targets.
  const filter = {
    search: q.search,
    status: q.status,
    osFamily: q.osFamily,
    osName: q.osName,
    osVersion: q.osVersion,
    agentVersion: q.agentVersion,
    groupId: q.groupId,
    tag: q.tag,
    customField,
  };
  // Not a device filter of runs: "Run on all matching" is off while it is set.
  const assignment = q.assignmentId ? { assignmentId: q.assignmentId, compliance: q.compliance } : {};
  const [list, groups, tags, customFields] = await Promise.all([
    api.get('/devices', {
      params: {
        query: { ...filter, ...assignment, sort: q.sort, order: q.order, lifecycle: q.lifecycle, page: q.page, pageSize: PAGE_SIZE },
      },
    }),
    api.get('/groups'),
    api.get('/tags'),
    api.get('/custom-fields'),
  ]);
  return {
    ...list,
    runFormKey: newRunFormKey(),
    /** Set after a delete on the device page redirected here. */
    deleted: params.get('deleted')?.slice(0, 255) ?? null,
    page: q.page,
    pageSize: PAGE_SIZE,
    filters: {
      search: q.search ?? '',
      status: q.status ?? '',
      osFamily: q.osFamily ?? '',
      groupId: q.groupId ?? '',
      tag: q.tag ?? '',
      cfKey: q.cfKey ?? '',
      cfValue: q.cfValue ?? '',
      lifecycle: q.lifecycle ?? '',
      osName: q.osName ?? '',
      osVersion: q.osVersion ?? '',
      agentVersion: q.agentVersion ?? '',
      assignmentId: q.assignmentId ?? '',
      compliance: q.assignmentId ? (q.compliance ?? '') : '',
    },
    runFilter: JSON.stringify(filter),
    sort: q.sort,
    order: q.order,
    groups: groups.items
      .map((g) => ({ id: g.id, name: g.name, kind: g.kind, memberCount: g.memberCount }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    tags: tags.items,
    customFields: customFields.items.map((f) => ({ key: f.key, label: f.label, type: f.type, enumValues: f.enumValues })),
  };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const form = await request.formData();
  const intent = String(form.get('intent') ?? 'run');
  if (isBulkIntent(intent)) {
    const api = await requireApi(request, context);
    return runBulkAction(api, intent, form, form.getAll('deviceIds'));
  }
  return runCommandAction(request, context, form);
}

type LoaderData = ReturnType<typeof useLoaderData<typeof loader>>;
type Device = LoaderData['items'][number];

function Ips({ ips }: { ips: string[] }) {
  if (ips.length === 0) return <span className="text-zinc-400">—</span>;
  const shown = ips.slice(0, 1);
  return (
    <span className="font-mono text-xs text-zinc-600" title={ips.join('\n')}>
      {shown.join(', ')}
      {ips.length > shown.length ? <span className="text-zinc-400"> +{ips.length - shown.length}</span> : null}
    </span>
  );
}

export function RebootMarker() {
  return (
    <span
      data-testid="pending-reboot"
      title="Reboot pending"
      className="rounded bg-amber-50 px-1 py-px text-[10px] font-semibold tracking-wide text-amber-800 uppercase ring-1 ring-amber-600/25 ring-inset"
    >
      Reboot
    </span>
  );
}

function DeviceRow({ device, selectable }: { device: Device; selectable: boolean }) {
  const hardware = [device.manufacturer, device.model].filter(Boolean).join(' ');
  return (
    <tr data-testid="device-row" data-device-id={device.id} className="group hover:bg-zinc-50">
      {selectable ? (
        <Td className="w-8 pr-0">
          <input
            type="checkbox"
            name="deviceIds"
            value={device.id}
            aria-label={`Select ${device.hostname}`}
            className="size-3.5 rounded border-zinc-300 accent-zinc-900"
          />
        </Td>
      ) : null}
      <Td className="whitespace-nowrap">
        <span className="flex items-center gap-1.5">
          <Link to={`/devices/${device.id}`} className="font-medium text-zinc-900 hover:underline" prefetch="intent">
            {device.hostname}
          </Link>
          {device.pendingReboot ? <RebootMarker /> : null}
          {device.transport !== 'agent' ? (
            <Badge tone="gray" data-testid="device-agentless" title="An agentless target: the API runs its commands">
              {device.transport === 'ssh' ? 'SSH' : 'WinRM'}
            </Badge>
          ) : null}
          {device.retiredAt ? (
            <Badge tone="gray" data-testid="device-retired">
              Retired
            </Badge>
          ) : null}
        </span>
      </Td>
      <Td className="max-w-56 truncate whitespace-nowrap">
        <span className="text-zinc-700" title={`${osLabel(device.osName, device.osVersion)} ${device.architecture}`}>
          {osLabel(device.osName, device.osVersion) || device.osFamily}
        </span>
        <span className="ml-1.5 text-xs text-zinc-400">{device.architecture}</span>
      </Td>
      <Td className="max-w-48 truncate whitespace-nowrap text-zinc-600">
        <span title={hardware || undefined}>{hardware || <span className="text-zinc-400">—</span>}</span>
      </Td>
      <Td>
        <Ips ips={device.ipAddresses} />
      </Td>
      <Td className="whitespace-nowrap">
        <TagChips tags={device.tags} max={2} />
      </Td>
      <Td>
        <DeviceStatusBadge status={device.status} />
      </Td>
      <Td className="text-zinc-500">
        <RelativeTime iso={device.lastSeenAt} />
      </Td>
      <Td className="whitespace-nowrap text-zinc-500">
        <RelativeTime iso={device.enrolledAt} />
      </Td>
    </tr>
  );
}

/** A column header that sorts the list (server side) and shows the current direction. */
function SortTh({ column, children, sort, order }: { column: string; children: ReactNode; sort: string; order: string }) {
  const [params] = useSearchParams();
  const active = sort === column;
  const next = new URLSearchParams(params);
  next.set('sort', column);
  next.set('order', active && order === 'asc' ? 'desc' : 'asc');
  next.delete('page');
  return (
    <Th aria-sort={active ? (order === 'asc' ? 'ascending' : 'descending') : 'none'}>
      <Link
        to={`?${next}`}
        className={cx('inline-flex items-center gap-1 hover:text-zinc-900', active && 'text-zinc-900')}
        preventScrollReset
      >
        {children}
        <span aria-hidden className={cx('text-[10px]', !active && 'text-zinc-300')}>
          {active ? (order === 'asc' ? '▲' : '▼') : '↕'}
        </span>
      </Link>
    </Th>
  );
}

function Filters({ data }: { data: LoaderData }) {
  const { filters, groups, tags, customFields, sort, order } = data;
  const submit = useSubmit();
  const [cfKey, setCfKey] = useState(filters.cfKey);
  useEffect(() => setCfKey(filters.cfKey), [filters.cfKey]);
  const cfDef = customFields.find((f) => f.key === cfKey);
  const autoSubmit = (e: { currentTarget: HTMLSelectElement }) => submit(e.currentTarget.form);
  const filtered = Object.values(filters).some(Boolean);
  return (
    <Form method="get" className="mb-3 flex flex-wrap items-center gap-2" role="search">
      {sort !== 'hostname' || order !== 'asc' ? (
        <>
          <input type="hidden" name="sort" value={sort} />
          <input type="hidden" name="order" value={order} />
        </>
      ) : null}
      {linkFilters.map(([key]) => (filters[key] ? <input key={key} type="hidden" name={key} value={filters[key]} /> : null))}
      <Input
        type="search"
        name="search"
        defaultValue={filters.search}
        key={`search:${filters.search}`}
        placeholder="Search hostname, IP, OS…"
        aria-label="Search devices"
        className="w-64"
      />
      <Select
        name="status"
        defaultValue={filters.status}
        key={`status:${filters.status}`}
        aria-label="Status"
        className="w-32"
        onChange={autoSubmit}
      >
        <option value="">All statuses</option>
        <option value="online">Online</option>
        <option value="stale">Stale</option>
        <option value="offline">Offline</option>
        <option value="never_seen">Never seen</option>
      </Select>
      <Select
        name="osFamily"
        defaultValue={filters.osFamily}
        key={`os:${filters.osFamily}`}
        aria-label="OS family"
        className="w-32"
        onChange={autoSubmit}
      >
        <option value="">All OS</option>
        <option value="windows">Windows</option>
        <option value="linux">Linux</option>
        <option value="macos">macOS</option>
        <option value="other">Other</option>
      </Select>
      <Select
        name="lifecycle"
        defaultValue={filters.lifecycle}
        key={`lifecycle:${filters.lifecycle}`}
        aria-label="Retired devices"
        className="w-36"
        onChange={autoSubmit}
      >
        <option value="">Active devices</option>
        <option value="retired">Retired devices</option>
        <option value="all">Active and retired</option>
      </Select>
      <Select
        name="groupId"
        defaultValue={filters.groupId}
        key={`group:${filters.groupId}`}
        aria-label="Filter by group"
        className="w-44"
        onChange={autoSubmit}
      >
        <option value="">All groups</option>
        {groups.map((g) => (
          <option key={g.id} value={g.id}>
            {g.name}
          </option>
        ))}
        {filters.groupId && !groups.some((g) => g.id === filters.groupId) ? <option value={filters.groupId}>Unknown group</option> : null}
      </Select>
      <Select
        name="tag"
        defaultValue={filters.tag}
        key={`tag:${filters.tag}`}
        aria-label="Filter by tag"
        className="w-36"
        onChange={autoSubmit}
      >
        <option value="">All tags</option>
        {tags.map((t) => (
          <option key={t.tag} value={t.tag}>
            {t.tag} ({t.deviceCount})
          </option>
        ))}
        {filters.tag && !tags.some((t) => t.tag === filters.tag) ? <option value={filters.tag}>{filters.tag}</option> : null}
      </Select>
      {customFields.length > 0 ? (
        <span className="flex items-center gap-1">
          <Select name="cfKey" value={cfKey} aria-label="Custom field" className="w-36" onChange={(e) => setCfKey(e.currentTarget.value)}>
            <option value="">Custom field…</option>
            {customFields.map((f) => (
              <option key={f.key} value={f.key}>
                {f.label}
              </option>
            ))}
          </Select>
          {cfDef ? (
            <CustomFieldInput
              key={`cf:${cfKey}:${filters.cfValue}`}
              def={cfDef}
              name="cfValue"
              label="Custom field value"
              defaultValue={cfKey === filters.cfKey ? filters.cfValue : ''}
              className="w-36"
            />
          ) : null}
        </span>
      ) : null}
      <Button type="submit">Search</Button>
      <LinkFilterChips filters={filters} />
      {filtered ? (
        <Link
          to={sort !== 'hostname' || order !== 'asc' ? `/devices?sort=${sort}&order=${order}` : '/devices'}
          className={buttonClass('ghost')}
        >
          Clear
        </Link>
      ) : null}
    </Form>
  );
}

/** Filters the home page links to, shown as removable chips (the form keeps them in hidden inputs). */
const linkFilters = [
  ['osName', 'OS'],
  ['osVersion', 'OS version'],
  ['agentVersion', 'Agent'],
  ['assignmentId', 'Software assignment'],
  ['compliance', 'Compliance'],
] as const;
const complianceLabels: Record<string, string> = { compliant: 'compliant', non_compliant: 'non-compliant', pending: 'pending' };

function LinkFilterChips({ filters }: { filters: LoaderData['filters'] }) {
  const [params] = useSearchParams();
  const active = linkFilters.filter(([key]) => filters[key]);
  if (active.length === 0) return null;
  return (
    <span className="flex flex-wrap items-center gap-1.5" data-testid="link-filters">
      {active.map(([key, label]) => {
        const next = new URLSearchParams(params);
        next.delete(key);
        if (key === 'assignmentId') next.delete('compliance');
        next.delete('page');
        const value =
          key === 'assignmentId' ? 'its devices' : key === 'compliance' ? (complianceLabels[filters[key]] ?? filters[key]) : filters[key];
        return (
          <span
            key={key}
            data-testid="link-filter"
            data-key={key}
            className="inline-flex items-center gap-1 rounded bg-zinc-100 py-0.5 pr-1 pl-2 text-xs text-zinc-800 ring-1 ring-zinc-200 ring-inset"
          >
            {label}: <span className="font-medium">{value}</span>
            <Link
              to={`?${next}`}
              aria-label={`Remove filter ${label}`}
              className="rounded px-1 text-zinc-400 hover:bg-zinc-200 hover:text-zinc-900"
            >
              ×
            </Link>
          </span>
        );
      })}
    </span>
  );
}

/**
 * Where the run panel runs its command: the checked rows (at once), or — after showing the device
 * count and asking for confirmation — every device matching the list's filter, a group, or a tag.
 */
function RunTargetPicker({
  data,
  selected,
  target,
  onTarget,
}: {
  data: LoaderData;
  selected: number;
  target: RunTarget;
  onTarget: (t: RunTarget) => void;
}) {
  const filtered = Object.values(data.filters).some(Boolean);
  const radio = (value: RunTarget, label: ReactNode) => (
    <label className="flex items-center gap-2 text-[13px] text-zinc-700">
      <input
        type="radio"
        name="target"
        value={value}
        checked={target === value}
        onChange={() => onTarget(value)}
        className="accent-zinc-900"
      />
      {label}
    </label>
  );
  return (
    <fieldset className="space-y-1.5">
      <legend className="mb-1 text-xs font-medium text-zinc-700">Run on</legend>
      <input type="hidden" name="filter" value={data.runFilter} />
      {radio('selected', `Selected devices (${selected.toLocaleString('en-US')})`)}
      {data.filters.assignmentId ? (
        <p className="text-xs text-zinc-500">Filtered by a software assignment: run on the selected devices, a group or a tag.</p>
      ) : (
        radio('filter', `All ${pluralize(data.total, 'device')}${filtered ? ' matching this filter' : ''}`)
      )}
      <div className="flex items-center gap-2">
        {radio('group', 'Group')}
        <Select
          name="targetGroupId"
          aria-label="Target group"
          defaultValue=""
          className="min-w-0 flex-1"
          onChange={() => onTarget('group')}
        >
          <option value="">Choose…</option>
          {data.groups.map((g) => (
            <option key={g.id} value={g.id}>
              {g.name} ({g.memberCount.toLocaleString('en-US')})
            </option>
          ))}
        </Select>
      </div>
      <div className="flex items-center gap-2">
        {radio('tag', 'Tag')}
        <Select name="targetTag" aria-label="Target tag" defaultValue="" className="min-w-0 flex-1" onChange={() => onTarget('tag')}>
          <option value="">Choose…</option>
          {data.tags.map((t) => (
            <option key={t.tag} value={t.tag}>
              {t.tag} ({t.deviceCount.toLocaleString('en-US')})
            </option>
          ))}
        </Select>
      </div>
    </fieldset>
  );
}

/** Bulk actions on the selected devices; its buttons submit the list's form with their intent. */
function BulkActions({ data, result, selected }: { data: LoaderData; result: BulkResult | undefined; selected: number }) {
  const navigation = useNavigation();
  const pending = navigation.state === 'submitting' ? String(navigation.formData?.get('intent') ?? '') : '';
  const staticGroups = data.groups.filter((g) => g.kind === 'static');
  const [fieldKey, setFieldKey] = useState('');
  const def: CustomFieldDef | undefined = data.customFields.find((f) => f.key === fieldKey);
  const none = selected === 0;
  const btn = (intent: string, label: string, disabled = false) => (
    <Button type="submit" name="intent" value={intent} size="sm" disabled={none || disabled || pending === intent}>
      {label}
    </Button>
  );
  return (
    <div
      className="space-y-3 p-4"
      data-testid="bulk-actions"
      // Enter in these inputs must not submit the form's first button (Run).
      onKeyDown={(e) => {
        if (e.key === 'Enter' && e.target instanceof HTMLInputElement) e.preventDefault();
      }}
    >
      {result ? (
        result.ok ? (
          <Alert tone="success">
            <span data-testid="bulk-result">{result.message}</span>
          </Alert>
        ) : (
          <Alert>
            <span data-testid="bulk-error">{result.error}</span>
          </Alert>
        )
      ) : null}
      <div className="space-y-1.5">
        <label className="block text-xs font-medium text-zinc-700" htmlFor="bulk-tags">
          Tags
        </label>
        <Input id="bulk-tags" name="tags" placeholder="prod, web" autoComplete="off" />
        <div className="flex gap-2">
          {btn('tags-add', 'Add tags')}
          {btn('tags-remove', 'Remove tags')}
        </div>
      </div>
      <div className="space-y-1.5">
        <label className="block text-xs font-medium text-zinc-700" htmlFor="bulk-group">
          Static group
        </label>
        <Select id="bulk-group" name="groupId" defaultValue="">
          <option value="">{staticGroups.length ? 'Choose a static group…' : 'No static groups yet'}</option>
          {staticGroups.map((g) => (
            <option key={g.id} value={g.id}>
              {g.name}
            </option>
          ))}
        </Select>
        <div className="flex gap-2">
          {btn('group-add', 'Add to group', staticGroups.length === 0)}
          {btn('group-remove', 'Remove from group', staticGroups.length === 0)}
        </div>
      </div>
      {data.customFields.length > 0 ? (
        <div className="space-y-1.5">
          <label className="block text-xs font-medium text-zinc-700" htmlFor="bulk-field">
            Custom field to set
          </label>
          <div className="flex gap-2">
            <Select id="bulk-field" name="fieldKey" value={fieldKey} onChange={(e) => setFieldKey(e.currentTarget.value)} className="w-40">
              <option value="">Choose…</option>
              {data.customFields.map((f) => (
                <option key={f.key} value={f.key}>
                  {f.label}
                </option>
              ))}
            </Select>
            {def ? (
              <CustomFieldInput key={def.key} def={def} name="fieldValue" label="New value" defaultValue="" className="min-w-0 flex-1" />
            ) : null}
          </div>
          <div className="flex items-center gap-2">
            {btn('custom-field', 'Set value', !def)}
            <span className="text-[11px] text-zinc-400">Empty clears the value</span>
          </div>
        </div>
      ) : null}
    </div>
  );
}

export default function Devices() {
  const loaderData = useLoaderData<typeof loader>();
  const { items, total, page, pageSize, filters, sort, order } = loaderData;
  const actionData = useActionData<typeof action>();
  const bulkResult = actionData && 'bulk' in actionData ? actionData : undefined;
  const runResult = actionData && !('bulk' in actionData) ? (actionData as RunCommandActionData) : undefined;
  const user = useOptionalUser();
  const canRun = canRunCommands(user?.role);
  const formRef = useRef<HTMLFormElement>(null);
  const [selected, setSelected] = useState(0);
  const [target, setTarget] = useState<RunTarget>('selected');
  const filtered = Object.values(filters).some(Boolean);
  const showRunPanel = canRun && (total > 0 || filtered);

  // Count from the DOM: checkboxes are uncontrolled, so clicks before hydration still count.
  const recount = useCallback(() => {
    const boxes = formRef.current?.querySelectorAll<HTMLInputElement>('input[name="deviceIds"]') ?? [];
    setSelected(Array.from(boxes).filter((b) => b.checked).length);
  }, []);
  useEffect(recount, [recount, items]);

  const toggleAll = (checked: boolean) => {
    formRef.current?.querySelectorAll<HTMLInputElement>('input[name="deviceIds"]').forEach((b) => {
      b.checked = checked;
    });
    recount();
  };
  const allSelected = items.length > 0 && selected === items.length;
  const selectedIds = () =>
    Array.from(formRef.current?.querySelectorAll<HTMLInputElement>('input[name="deviceIds"]:checked') ?? []).map((b) => b.value);
  const selectedSummary =
    target === 'selected' ? (
      <span data-testid="selected-count">{selected === 0 ? 'No devices selected' : `${pluralize(selected, 'device')} selected`}</span>
    ) : (
      'Shows the device count first'
    );

  return (
    <>
      <PageHeader
        title="Devices"
        description={`${pluralize(total, 'device')}${filtered ? ' match the filter' : ' enrolled'}`}
        actions={
          <>
            {canRun && total > 0 ? <BulkAssignDialog field="deviceIds" selected={selectedIds} /> : null}
            {isAdmin(user?.role) ? (
              <Link to="/enrollment" className={buttonClass('secondary')}>
                Enroll devices
              </Link>
            ) : null}
          </>
        }
      />

      {loaderData.deleted ? (
        <div className="mb-3" role="status">
          <Alert tone="success">{loaderData.deleted} was deleted.</Alert>
        </div>
      ) : null}
      <Filters data={loaderData} />

      <Form
        method="post"
        ref={formRef}
        onChange={recount}
        noValidate
        className={showRunPanel ? 'grid items-start gap-4 xl:grid-cols-[minmax(0,1fr)_340px]' : undefined}
      >
        <Card>
          {total === 0 ? (
            filtered ? (
              <EmptyState title="No devices match">
                Try another search or{' '}
                <Link to="/devices" className="font-medium text-zinc-900 underline">
                  clear the filter
                </Link>
                .
              </EmptyState>
            ) : (
              <EmptyState title="No devices yet — create an enrollment token">
                {isAdmin(user?.role) ? (
                  <>
                    Create a token on the{' '}
                    <Link to="/enrollment" className="font-medium text-zinc-900 underline">
                      Enrollment
                    </Link>{' '}
                    page and run the enroll command on a machine.
                  </>
                ) : (
                  'Ask an admin to create an enrollment token and enroll a machine.'
                )}
              </EmptyState>
            )
          ) : (
            <>
              <Table>
                <thead>
                  <tr>
                    {canRun ? (
                      <Th className="w-8 pr-0">
                        <input
                          type="checkbox"
                          aria-label="Select all devices on this page"
                          checked={allSelected}
                          onChange={(e) => toggleAll(e.currentTarget.checked)}
                          className="size-3.5 rounded border-zinc-300 accent-zinc-900"
                        />
                      </Th>
                    ) : null}
                    <SortTh column="hostname" sort={sort} order={order}>
                      Hostname
                    </SortTh>
                    <SortTh column="osName" sort={sort} order={order}>
                      OS
                    </SortTh>
                    <Th>Hardware</Th>
                    <Th>IP addresses</Th>
                    <Th>Tags</Th>
                    <Th>Status</Th>
                    <SortTh column="lastSeenAt" sort={sort} order={order}>
                      Last seen
                    </SortTh>
                    <SortTh column="enrolledAt" sort={sort} order={order}>
                      Enrolled
                    </SortTh>
                  </tr>
                </thead>
                <tbody>
                  {items.map((d) => (
                    <DeviceRow key={d.id} device={d} selectable={canRun} />
                  ))}
                </tbody>
              </Table>
              <Pagination page={page} pageSize={pageSize} total={total} noun="device" />
            </>
          )}
        </Card>

        {showRunPanel ? (
          <div className="space-y-4 xl:sticky xl:top-16">
            <Card title="Run command">
              <div className="p-4">
                <RunCommandFields
                  result={runResult}
                  formKey={loaderData.runFormKey}
                  summary={selectedSummary}
                  target={<RunTargetPicker data={loaderData} selected={selected} target={target} onTarget={setTarget} />}
                />
              </div>
            </Card>
            <Card
              title="Bulk actions"
              actions={
                <span className="text-xs text-zinc-500">{selected === 0 ? 'Select devices first' : pluralize(selected, 'device')}</span>
              }
            >
              <BulkActions data={loaderData} result={bulkResult} selected={selected} />
            </Card>
          </div>
        ) : null}
      </Form>
    </>
  );
}
