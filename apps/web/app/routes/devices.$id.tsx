import { data, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Form, Link, useActionData, useFetcher, useLoaderData, useSearchParams, useSubmit } from '@remix-run/react';
import { useEffect, useRef, type ReactNode } from 'react';
import { z } from 'zod';
import { uuid } from '@opsconductor/contracts/api';
import { inventoryEventKinds } from '@opsconductor/contracts/inventory-api';
import { requireApi, type RouteErrorData } from '~/lib/api.server';
import { isBulkIntent, runBulkAction, type BulkResult } from '~/lib/bulk-actions.server';
import { newRunFormKey, runCommandAction, type RunCommandActionData } from '~/lib/run-command.server';
import { isLifecycleIntent, runLifecycleAction } from '~/lib/device-lifecycle.server';
import { DeviceLifecycleCard } from '~/components/device-lifecycle';
import { canRunCommands, useOptionalUser } from '~/lib/user';
import { formatFieldValue, formatUptime, oneLine, osLabel } from '~/lib/format';
import { timelineDetail, timelineKindLabels, timelineTitle } from '~/lib/timeline';
import { activityDetail, activityLabels, activityTitle, activityTones } from '~/lib/device-activity';
import { RunCommandFields } from '~/components/run-command-form';
import { DeviceStatusBadge, RunStatusBadge } from '~/components/status';
import { GroupKindBadge } from '~/components/groups';
import { CustomFieldInput } from '~/components/custom-field-input';
import { AssignmentsPanel } from '~/components/software-assignments';
import { DeploymentBadges } from '~/components/deployment-badges';
import { Dash, Detail, HardwarePanel, PerformancePanel, SecurityPanel, T, YesNo } from '~/components/device-inventory';
import {
  AbsoluteTime,
  Badge,
  Breadcrumb,
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
  type Tone,
} from '~/components/ui';

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.device.hostname ?? 'Device'} · OpsConductor` }];

const tabs = [
  { id: 'overview', label: 'Overview' },
  { id: 'hardware', label: 'Hardware' },
  { id: 'software', label: 'Software' },
  { id: 'services', label: 'Services' },
  { id: 'security', label: 'Security' },
  { id: 'performance', label: 'Performance' },
  { id: 'timeline', label: 'Timeline' },
  { id: 'activity', label: 'Activity' },
] as const;
type TabId = (typeof tabs)[number]['id'];

const SOFTWARE_PAGE_SIZE = 100;
const TIMELINE_PAGE_SIZE = 50;
const ACTIVITY_PAGE_SIZE = 50;

function deviceId(params: LoaderFunctionArgs['params']): string {
  const parsed = uuid.safeParse(params.id);
  if (!parsed.success) throw data<RouteErrorData>({ title: 'Device not found' }, { status: 404 });
  return parsed.data;
}

const query = z.object({
  tab: z.enum(tabs.map((t) => t.id) as [TabId, ...TabId[]]).catch('overview'),
  page: z.coerce.number().int().min(1).max(100_000).catch(1),
  search: z.string().trim().max(200).catch(''),
  kind: z.enum(inventoryEventKinds).optional().catch(undefined),
  state: z.string().max(20).catch(''),
});

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const id = deviceId(params);
  const api = await requireApi(request, context);
  const sp = new URL(request.url).searchParams;
  const q = query.parse({
    tab: sp.get('tab') ?? 'overview',
    page: sp.get('page') ?? 1,
    search: sp.get('search') ?? '',
    kind: sp.get('kind') || undefined,
    state: sp.get('state') ?? '',
  });
  const [device, runs, customFields, software, services, timeline, activity] = await Promise.all([
    api.get('/devices/{id}', { params: { path: { id } } }),
    q.tab === 'overview' ? api.get('/job-runs', { params: { query: { deviceId: id, pageSize: 10 } } }) : null,
    q.tab === 'overview' ? api.get('/custom-fields') : null,
    q.tab === 'software'
      ? api.get('/devices/{id}/software', {
          params: { path: { id }, query: { search: q.search || undefined, page: q.page, pageSize: SOFTWARE_PAGE_SIZE } },
        })
      : null,
    q.tab === 'services' ? api.get('/devices/{id}/services', { params: { path: { id } } }) : null,
    q.tab === 'timeline'
      ? api.get('/devices/{id}/timeline', { params: { path: { id }, query: { page: q.page, pageSize: TIMELINE_PAGE_SIZE, kind: q.kind } } })
      : null,
    q.tab === 'activity'
      ? api.get('/devices/{id}/activity', { params: { path: { id }, query: { page: q.page, pageSize: ACTIVITY_PAGE_SIZE } } })
      : null,
  ]);
  let serviceItems = services?.items ?? null;
  if (serviceItems && (q.search || q.state)) {
    const needle = q.search.toLowerCase();
    serviceItems = serviceItems.filter(
      (s) =>
        (!needle || s.name.toLowerCase().includes(needle) || (s.displayName ?? '').toLowerCase().includes(needle)) &&
        (!q.state || s.state === q.state),
    );
  }
  return {
    device,
    tab: q.tab,
    page: q.page,
    search: q.search,
    kind: q.kind ?? '',
    state: q.state,
    runs,
    customFields: customFields?.items.map((f) => ({ key: f.key, label: f.label, type: f.type, enumValues: f.enumValues })) ?? [],
    software,
    services: serviceItems ? { items: serviceItems, total: services?.items.length ?? 0 } : null,
    timeline,
    activity,
    runFormKey: newRunFormKey(),
  };
}

export async function action({ request, context, params }: ActionFunctionArgs) {
  const id = deviceId(params);
  const form = await request.formData();
  const intent = String(form.get('intent') ?? 'run');
  if (isLifecycleIntent(intent)) return runLifecycleAction(await requireApi(request, context), intent, form, id);
  // This page acts on its own device only, whatever the form says.
  if (isBulkIntent(intent) && intent !== 'group-add' && intent !== 'group-remove') {
    return runBulkAction(await requireApi(request, context), intent, form, [id]);
  }
  return runCommandAction(request, context, form, { deviceIds: [id] });
}

type LoaderData = ReturnType<typeof useLoaderData<typeof loader>>;

function uptimeSeconds(bootTime: string | null | undefined, reported: number | null | undefined): number | null {
  const boot = bootTime ? Date.parse(bootTime) : NaN;
  if (Number.isFinite(boot) && boot <= Date.now()) return Math.floor((Date.now() - boot) / 1000);
  return reported ?? null;
}

function Tabs({ active, device }: { active: TabId; device: LoaderData['device'] }) {
  const counts: Partial<Record<TabId, number>> = { software: device.softwareCount, services: device.serviceCount };
  return (
    <nav aria-label="Device sections" className="mb-4 flex gap-1 overflow-x-auto border-b border-zinc-200">
      {tabs.map((t) => (
        <Link
          key={t.id}
          to={t.id === 'overview' ? '?' : `?tab=${t.id}`}
          aria-current={active === t.id ? 'page' : undefined}
          preventScrollReset
          prefetch="intent"
          className={cx(
            '-mb-px border-b-2 px-3 py-2 text-[13px] font-medium whitespace-nowrap',
            active === t.id ? 'border-zinc-900 text-zinc-900' : 'border-transparent text-zinc-500 hover:text-zinc-900',
          )}
        >
          {t.label}
          {counts[t.id] !== undefined ? (
            <span className="ml-1.5 text-xs text-zinc-400 tabular-nums">{counts[t.id]!.toLocaleString('en-US')}</span>
          ) : null}
        </Link>
      ))}
    </nav>
  );
}

function ResultLine({ result }: { result: BulkResult | undefined }) {
  if (!result) return null;
  return result.ok ? (
    <p className="text-xs text-emerald-700" role="status">
      {result.message}
    </p>
  ) : (
    <p className="text-xs text-red-700" role="alert">
      {result.error}
    </p>
  );
}

function TagsCard({ tags, canEdit }: { tags: string[]; canEdit: boolean }) {
  const fetcher = useFetcher<BulkResult>();
  const inputRef = useRef<HTMLInputElement>(null);
  const busy = fetcher.state !== 'idle';
  useEffect(() => {
    if (fetcher.state === 'idle' && fetcher.data?.ok && fetcher.data.intent === 'tags-add' && inputRef.current) inputRef.current.value = '';
  }, [fetcher.state, fetcher.data]);
  return (
    <Card title="Tags">
      <div className="space-y-2 p-3">
        {tags.length === 0 ? (
          <p className="text-xs text-zinc-500">No tags.</p>
        ) : (
          <ul className="flex flex-wrap gap-1.5" data-testid="device-tags">
            {tags.map((t) => (
              <li
                key={t}
                data-testid="tag-chip"
                data-tag={t}
                className="inline-flex items-center gap-1 rounded bg-zinc-100 py-0.5 pr-1 pl-2 text-xs font-medium text-zinc-800 ring-1 ring-zinc-200 ring-inset"
              >
                {t}
                {canEdit ? (
                  <fetcher.Form method="post" className="inline">
                    <input type="hidden" name="tags" value={t} />
                    <button
                      type="submit"
                      name="intent"
                      value="tags-remove"
                      disabled={busy}
                      aria-label={`Remove tag ${t}`}
                      className="rounded px-1 text-zinc-400 hover:bg-zinc-200 hover:text-zinc-900"
                    >
                      ×
                    </button>
                  </fetcher.Form>
                ) : null}
              </li>
            ))}
          </ul>
        )}
        {canEdit ? (
          <fetcher.Form method="post" className="flex gap-2">
            <Input
              ref={inputRef}
              name="tags"
              placeholder="Add tags (comma-separated)"
              aria-label="Add tags"
              autoComplete="off"
              className="h-7! text-xs!"
            />
            <Button type="submit" name="intent" value="tags-add" size="sm" disabled={busy}>
              Add
            </Button>
          </fetcher.Form>
        ) : null}
        <ResultLine result={fetcher.data} />
      </div>
    </Card>
  );
}

function CustomFieldRow({
  def,
  value,
  canEdit,
}: {
  def: LoaderData['customFields'][number];
  value: string | number | boolean | null | undefined;
  canEdit: boolean;
}) {
  const fetcher = useFetcher<BulkResult>();
  const text = value === null || value === undefined ? '' : String(value);
  return (
    <li className="px-3 py-2 text-[13px]" data-testid="custom-field-value" data-key={def.key}>
      <div className="flex items-center justify-between gap-2">
        <span className="text-zinc-500">{def.label}</span>
        {canEdit ? null : <span className="text-zinc-900">{formatFieldValue(value)}</span>}
      </div>
      {canEdit ? (
        <fetcher.Form method="post" className="mt-1 flex gap-2">
          <input type="hidden" name="fieldKey" value={def.key} />
          <CustomFieldInput
            key={text}
            def={def}
            name="fieldValue"
            label={def.label}
            defaultValue={text}
            className="h-7! min-w-0 flex-1 text-xs!"
          />
          <Button type="submit" name="intent" value="custom-field" size="sm" disabled={fetcher.state !== 'idle'}>
            Save
          </Button>
        </fetcher.Form>
      ) : null}
      <ResultLine result={fetcher.data} />
    </li>
  );
}

function Overview({ d, canRun }: { d: LoaderData; canRun: boolean }) {
  const { device, runs, customFields } = d;
  const user = useOptionalUser();
  const result = useActionData<typeof action>();
  const runResult = result && !('bulk' in result) && !('lifecycle' in result) ? (result as RunCommandActionData) : undefined;
  const sys = device.inventory.system;
  const dir = device.inventory.directory;
  return (
    <div className="grid items-start gap-4 xl:grid-cols-[minmax(0,1fr)_380px]">
      <div className="space-y-4">
        <Card
          title="Details"
          actions={
            device.inventoryUpdatedAt ? (
              <span className="text-xs text-zinc-500">
                Inventory <RelativeTime iso={device.inventoryUpdatedAt} />
              </span>
            ) : null
          }
        >
          <dl className="divide-y divide-zinc-100 py-1">
            <Detail label="Hostname">
              {device.hostname}
              {sys?.fqdn && sys.fqdn !== device.hostname ? <span className="ml-2 text-zinc-500">{sys.fqdn}</span> : null}
            </Detail>
            <Detail label="Status">
              <DeviceStatusBadge status={device.status} />
            </Detail>
            {device.transport !== 'agent' ? (
              <Detail label="Reached">
                <span data-testid="device-transport">
                  over {device.transport === 'ssh' ? 'SSH' : 'WinRM'}, without an agent ·{' '}
                  <Link to="/agentless/targets" className="text-zinc-900 underline">
                    agentless targets
                  </Link>
                </span>
              </Detail>
            ) : null}
            <Detail label="Last seen">
              <RelativeTime iso={device.lastSeenAt} />
              {device.lastSeenAt ? (
                <span className="ml-2 text-zinc-400">
                  (<AbsoluteTime iso={device.lastSeenAt} />)
                </span>
              ) : null}
            </Detail>
            <Detail label="Operating system">
              {osLabel(device.osName, device.osVersion)}
              {sys?.osBuild ? <span className="ml-1 text-zinc-500">build {sys.osBuild}</span> : null}{' '}
              <span className="text-zinc-500">({device.osFamily})</span>
            </Detail>
            {sys?.kernel ? (
              <Detail label="Kernel">
                <span className="font-mono text-xs">{sys.kernel}</span>
              </Detail>
            ) : null}
            <Detail label="Architecture">{device.architecture}</Detail>
            <Detail label="IP addresses">
              {device.ipAddresses.length ? <span className="font-mono text-xs">{device.ipAddresses.join(', ')}</span> : <Dash />}
            </Detail>
            <Detail label="Domain">
              {dir ? (
                dir.type === 'ad' || dir.type === 'realm' ? (
                  <>
                    {dir.domain ?? <Dash />}{' '}
                    <span className="text-zinc-500">
                      ({dir.type === 'ad' ? 'Active Directory' : 'Kerberos realm'}
                      {dir.provider ? ` via ${dir.provider}` : ''})
                    </span>
                  </>
                ) : dir.type === 'workgroup' ? (
                  <>
                    Workgroup {dir.workgroup ?? ''} <span className="text-zinc-500">(not joined)</span>
                  </>
                ) : (
                  <span className="text-zinc-500">Not joined</span>
                )
              ) : (
                <Dash />
              )}
            </Detail>
            <Detail label="Uptime">
              {/* The agent rounds uptimeSeconds (so the section hash stays stable); the boot time is exact. */}
              {sys ? <span suppressHydrationWarning>{formatUptime(uptimeSeconds(sys.bootTime, sys.uptimeSeconds))}</span> : <Dash />}
              {sys?.bootTime ? (
                <span className="ml-2 text-zinc-400">
                  (booted <AbsoluteTime iso={sys.bootTime} />)
                </span>
              ) : null}
            </Detail>
            <Detail label="Pending reboot">
              <YesNo value={device.pendingReboot} good={false} />
              {sys?.pendingRebootReasons?.length ? <span className="ml-2 text-zinc-500">{sys.pendingRebootReasons.join(', ')}</span> : null}
            </Detail>
            {sys?.timezone ? <Detail label="Time zone">{sys.timezone}</Detail> : null}
            <Detail label="Hardware">{[device.manufacturer, device.model].filter(Boolean).join(' ') || <Dash />}</Detail>
            <Detail label="Agent version">
              <span className="font-mono text-xs">{device.agentVersion}</span>
            </Detail>
            <Detail label="Enrolled">
              <AbsoluteTime iso={device.enrolledAt} />
            </Detail>
            <Detail label="Device ID">
              <span className="font-mono text-xs text-zinc-600">{device.id}</span>
            </Detail>
          </dl>
        </Card>

        <Card
          title="Recent runs"
          actions={runs && runs.total > runs.items.length ? <span className="text-xs text-zinc-500">{runs.total} in total</span> : null}
        >
          {!runs || runs.items.length === 0 ? (
            <EmptyState title="No runs on this device yet" />
          ) : (
            <Table>
              <thead>
                <tr>
                  <Th>Command</Th>
                  <Th>Status</Th>
                  <Th>Created by</Th>
                  <Th>Created</Th>
                </tr>
              </thead>
              <tbody>
                {runs.items.map((run) => (
                  <tr key={run.id} className="hover:bg-zinc-50">
                    <Td className="max-w-md">
                      <Link to={`/runs/${run.id}`} className="block truncate font-mono text-xs text-zinc-900 hover:underline">
                        {oneLine(run.command)}
                      </Link>
                    </Td>
                    <Td>
                      <RunStatusBadge status={run.status} />
                    </Td>
                    <Td className="text-zinc-600">{run.createdBy ?? '—'}</Td>
                    <Td className="text-zinc-500">
                      <RelativeTime iso={run.createdAt} />
                    </Td>
                  </tr>
                ))}
              </tbody>
            </Table>
          )}
        </Card>
        <AssignmentsPanel scope={{ deviceId: device.id }} canEdit={canRun && !device.retiredAt} />
        <DeploymentBadges scope={{ deviceId: device.id }} />
      </div>

      <div className="space-y-4">
        {canRun && !device.retiredAt ? (
          <Card title="Run command on this device">
            <Form method="post" className="p-4" noValidate>
              <RunCommandFields
                result={runResult}
                formKey={d.runFormKey}
                summary={device.status === 'online' ? 'Runs now' : 'Runs when the device comes online'}
              />
            </Form>
          </Card>
        ) : null}
        <Card title="Groups">
          {device.groups.length === 0 ? (
            <p className="px-3 py-2.5 text-xs text-zinc-500">Not in any group.</p>
          ) : (
            <ul className="divide-y divide-zinc-100" data-testid="device-groups">
              {device.groups.map((g) => (
                <li key={g.id} className="flex items-center justify-between gap-2 px-3 py-1.5 text-[13px]">
                  <Link to={`/groups/${g.id}`} className="truncate font-medium text-zinc-900 hover:underline">
                    {g.name}
                  </Link>
                  <GroupKindBadge kind={g.kind} />
                </li>
              ))}
            </ul>
          )}
        </Card>
        <TagsCard tags={device.tags} canEdit={canRun} />
        <Card title="Custom fields">
          {customFields.length === 0 ? (
            <p className="px-3 py-2.5 text-xs text-zinc-500">No custom fields are defined.</p>
          ) : (
            <ul className="divide-y divide-zinc-100">
              {customFields.map((f) => (
                <CustomFieldRow key={f.key} def={f} value={device.customFields[f.key]} canEdit={canRun} />
              ))}
            </ul>
          )}
        </Card>
        <DeviceLifecycleCard device={device} role={user?.role} />
      </div>
    </div>
  );
}

function SearchForm({
  search,
  placeholder,
  label,
  children,
}: {
  search: string;
  placeholder: string;
  label: string;
  children?: ReactNode;
}) {
  const [params] = useSearchParams();
  return (
    <Form method="get" role="search" className="flex items-center gap-2" preventScrollReset>
      <input type="hidden" name="tab" value={params.get('tab') ?? ''} />
      {/* Keys remount the fields when the URL changes them; prefixed, as siblings' keys must differ. */}
      <Input
        type="search"
        name="search"
        defaultValue={search}
        key={`search:${search}`}
        placeholder={placeholder}
        aria-label={label}
        className="h-7! w-64 text-xs!"
      />
      {children}
    </Form>
  );
}

function SoftwareTab({ d }: { d: LoaderData }) {
  const sw = d.software;
  if (!sw) return null;
  return (
    <Card
      title={`Software${d.search ? ` matching “${d.search}”` : ''}`}
      actions={<SearchForm search={d.search} placeholder="Search name, vendor, version…" label="Search software" />}
    >
      {sw.total === 0 ? (
        <EmptyState title={d.search ? 'No software matches' : 'No software reported yet'} />
      ) : (
        <>
          <Table>
            <thead>
              <tr>
                <Th>Name</Th>
                <Th>Version</Th>
                <Th>Arch</Th>
                <Th>Vendor</Th>
                <Th>Source</Th>
                <Th>Installed</Th>
                <Th>MSI product code</Th>
              </tr>
            </thead>
            <tbody>
              {sw.items.map((s, i) => (
                <tr key={`${s.name}:${s.version}:${s.architecture}:${i}`} data-testid="software-row" className="hover:bg-zinc-50">
                  <Td className="max-w-sm font-medium break-words text-zinc-900">{s.name}</Td>
                  <Td className="max-w-48 font-mono text-xs break-all">{s.version}</Td>
                  <Td className="text-xs">
                    <T>{s.architecture}</T>
                  </Td>
                  <Td className="max-w-xs truncate text-zinc-600">
                    <span title={s.vendor ?? undefined}>
                      <T>{s.vendor}</T>
                    </span>
                  </Td>
                  <Td>
                    <Badge tone="neutral">{s.source}</Badge>
                  </Td>
                  <Td className="text-xs whitespace-nowrap text-zinc-600">
                    <T>{s.installDate ? s.installDate.slice(0, 10) : null}</T>
                  </Td>
                  <Td className="font-mono text-[11px] text-zinc-500">
                    <T>{s.productCode}</T>
                  </Td>
                </tr>
              ))}
            </tbody>
          </Table>
          <Pagination page={d.page} pageSize={SOFTWARE_PAGE_SIZE} total={sw.total} noun="package" />
        </>
      )}
    </Card>
  );
}

const serviceTone: Record<string, Tone> = {
  running: 'green',
  stopped: 'gray',
  failed: 'red',
  starting: 'blue',
  stopping: 'blue',
  other: 'neutral',
};

function ServicesTab({ d }: { d: LoaderData }) {
  const sv = d.services;
  const submit = useSubmit();
  if (!sv) return null;
  return (
    <Card
      title={`Services (${sv.items.length === sv.total ? sv.total : `${sv.items.length} of ${sv.total}`})`}
      actions={
        <SearchForm search={d.search} placeholder="Search services…" label="Search services">
          <Select
            name="state"
            defaultValue={d.state}
            key={`state:${d.state}`}
            aria-label="Service state"
            className="h-7! w-32 text-xs!"
            onChange={(e) => submit(e.currentTarget.form, { preventScrollReset: true })}
          >
            <option value="">All states</option>
            {['running', 'stopped', 'failed', 'starting', 'stopping', 'other'].map((s) => (
              <option key={s} value={s} className="capitalize">
                {s}
              </option>
            ))}
          </Select>
        </SearchForm>
      }
    >
      {sv.items.length === 0 ? (
        <EmptyState title={sv.total === 0 ? 'No services reported yet' : 'No services match'} />
      ) : (
        <Table>
          <thead>
            <tr>
              <Th>Name</Th>
              <Th>Display name</Th>
              <Th>State</Th>
              <Th>Start mode</Th>
            </tr>
          </thead>
          <tbody>
            {sv.items.map((s, i) => (
              <tr key={`${s.name}:${i}`} data-testid="service-row" className="hover:bg-zinc-50">
                <Td className="font-mono text-xs">{s.name}</Td>
                <Td className="text-zinc-600">
                  <T>{s.displayName}</T>
                </Td>
                <Td>
                  <Badge tone={serviceTone[s.state] ?? 'neutral'} data-status={s.state}>
                    <span className="capitalize">{s.state}</span>
                  </Badge>
                </Td>
                <Td className="text-zinc-600 capitalize">{s.startMode}</Td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
    </Card>
  );
}

const kindTone: Record<string, Tone> = {
  software_installed: 'green',
  software_removed: 'red',
  software_upgraded: 'blue',
  security_changed: 'amber',
  inventory_first_report: 'neutral',
};

function TimelineTab({ d }: { d: LoaderData }) {
  const tl = d.timeline;
  const submit = useSubmit();
  if (!tl) return null;
  return (
    <Card
      title="History"
      actions={
        <Form method="get" className="flex items-center gap-2" preventScrollReset>
          <input type="hidden" name="tab" value="timeline" />
          <Select
            name="kind"
            defaultValue={d.kind}
            key={`kind:${d.kind}`}
            aria-label="Kind of change"
            className="h-7! w-48 text-xs!"
            onChange={(e) => submit(e.currentTarget.form, { preventScrollReset: true })}
          >
            <option value="">All changes</option>
            {Object.entries(timelineKindLabels).map(([k, label]) => (
              <option key={k} value={k}>
                {label}
              </option>
            ))}
          </Select>
          <noscript>
            <Button type="submit" size="sm">
              Filter
            </Button>
          </noscript>
        </Form>
      }
    >
      {tl.items.length === 0 ? (
        <EmptyState title={d.kind ? 'No changes of this kind' : 'No history yet'}>
          Changes appear here as the agent reports its inventory.
        </EmptyState>
      ) : (
        <>
          <ol className="divide-y divide-zinc-100" data-testid="timeline">
            {tl.items.map((e) => {
              const detail = timelineDetail(e);
              return (
                <li
                  key={e.id}
                  data-testid="timeline-event"
                  data-kind={e.kind}
                  className="grid grid-cols-[150px_150px_minmax(0,1fr)] items-baseline gap-3 px-4 py-2 text-[13px]"
                >
                  <span className="text-xs text-zinc-500">
                    <AbsoluteTime iso={e.occurredAt} />
                  </span>
                  <span>
                    <Badge tone={kindTone[e.kind] ?? 'gray'}>{timelineKindLabels[e.kind] ?? e.kind}</Badge>
                  </span>
                  <div className="min-w-0">
                    <p className="break-words text-zinc-900">{timelineTitle(e)}</p>
                    {detail ? <p className="mt-0.5 font-mono text-xs break-all text-zinc-500">{detail}</p> : null}
                  </div>
                </li>
              );
            })}
          </ol>
          <Pagination page={d.page} pageSize={TIMELINE_PAGE_SIZE} total={tl.total} noun="change" />
        </>
      )}
    </Card>
  );
}

function ActivityTab({ d }: { d: LoaderData }) {
  const list = d.activity;
  if (!list) return null;
  return (
    <Card title="Activity">
      {list.items.length === 0 ? (
        <EmptyState title="No activity yet">
          Enrollment, going online and offline, group changes, finished commands and inventory changes appear here within seconds.
        </EmptyState>
      ) : (
        <>
          <ol className="divide-y divide-zinc-100" data-testid="activity">
            {list.items.map((a) => {
              const detail = activityDetail(a);
              return (
                <li
                  key={a.id}
                  data-testid="activity-entry"
                  data-type={a.type}
                  className="grid grid-cols-[150px_120px_minmax(0,1fr)] items-baseline gap-3 px-4 py-2 text-[13px]"
                >
                  <span className="text-xs text-zinc-500">
                    <AbsoluteTime iso={a.occurredAt} />
                  </span>
                  <span>
                    <Badge tone={activityTones[a.type]}>{activityLabels[a.type]}</Badge>
                  </span>
                  <div className="min-w-0">
                    <p className="break-words text-zinc-900">
                      {a.type === 'command_finished' ? (
                        <Link to={`/runs/${a.details.jobRunId}`} className="hover:underline">
                          {activityTitle(a)}
                        </Link>
                      ) : a.type === 'joined_group' || a.type === 'left_group' ? (
                        a.details.groupName === null ? (
                          activityTitle(a)
                        ) : (
                          <Link to={`/groups/${a.details.groupId}`} className="hover:underline">
                            {activityTitle(a)}
                          </Link>
                        )
                      ) : (
                        activityTitle(a)
                      )}
                    </p>
                    {detail ? <p className="mt-0.5 text-xs break-words text-zinc-500">{detail}</p> : null}
                  </div>
                </li>
              );
            })}
          </ol>
          <Pagination page={d.page} pageSize={ACTIVITY_PAGE_SIZE} total={list.total} noun="event" />
        </>
      )}
    </Card>
  );
}

export default function DevicePage() {
  const d = useLoaderData<typeof loader>();
  const { device, tab } = d;
  const user = useOptionalUser();
  const canRun = canRunCommands(user?.role);
  return (
    <>
      <Breadcrumb trail={[{ to: '/devices', label: 'Devices' }]} current={device.hostname} />
      <PageHeader
        title={
          <span className="flex items-center gap-2.5">
            <span data-testid="device-hostname">{device.hostname}</span>
            <DeviceStatusBadge status={device.status} />
            {device.retiredAt ? (
              <Badge tone="gray" data-testid="device-retired">
                Retired
              </Badge>
            ) : null}
            {device.pendingReboot ? (
              <Badge tone="amber" data-testid="pending-reboot">
                Reboot pending
              </Badge>
            ) : null}
          </span>
        }
        description={
          <>
            {[osLabel(device.osName, device.osVersion), device.architecture, [device.manufacturer, device.model].filter(Boolean).join(' ')]
              .filter(Boolean)
              .join(' · ')}
            {device.tags.length ? <span className="ml-2">{device.tags.map((t) => `#${t}`).join(' ')}</span> : null}
          </>
        }
        actions={
          tab !== 'overview' && canRun && !device.retiredAt ? (
            <Link to="?" className={buttonClass('secondary')}>
              Run command
            </Link>
          ) : null
        }
      />
      <Tabs active={tab} device={device} />
      {tab === 'overview' ? <Overview d={d} canRun={canRun} /> : null}
      {tab === 'hardware' ? <HardwarePanel hw={device.inventory.hardware} /> : null}
      {tab === 'software' ? <SoftwareTab d={d} /> : null}
      {tab === 'services' ? <ServicesTab d={d} /> : null}
      {tab === 'security' ? <SecurityPanel sec={device.inventory.security} /> : null}
      {tab === 'performance' ? <PerformancePanel perf={device.inventory.performance} /> : null}
      {tab === 'timeline' ? <TimelineTab d={d} /> : null}
      {tab === 'activity' ? <ActivityTab d={d} /> : null}
    </>
  );
}
