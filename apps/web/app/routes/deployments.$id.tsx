/**
 * /deployments/:id — a deployment's dashboard: status (and why it paused), the package version, who started and
 * approved it; each wave's progress; success rate, pending and the most frequent failures (outcome and exit code); the
 * installs-over-time chart; the event timeline; and the devices (filter by status or hostname) with their exit code,
 * outcome and the installer's output excerpt, each linking to its job run for the full log. Operators pause, resume,
 * abort or roll back (the workflow's refusal is shown as it gives it) and, when it waits for approval and is not
 * theirs, approve or reject it. The page reads itself again every few seconds until the deployment has finished.
 */
import { data, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node';
import { Form, Link, useActionData, useLoaderData, useNavigation, useRevalidator, type ShouldRevalidateFunction } from '@remix-run/react';
import { useEffect, useRef, useState } from 'react';
import { z } from 'zod';
import { searchText, uuid } from '@opsconductor/contracts/api';
import { MAX_DEPLOYMENT_WAVES } from '@opsconductor/contracts/deployments';
import { ApiError, requireApi, type Query, type RouteErrorData } from '~/lib/api.server';
import {
  controlHints,
  controlLabels,
  controlsFor,
  deviceStatusLabel,
  deviceStatusOrder,
  isControlAction,
  isFinished,
  progressOf,
  wavesText,
  type ControlAction,
  type Deployment,
} from '~/lib/deployments';
import { formatSeconds, pluralize } from '~/lib/format';
import { canRunCommands, useOptionalUser } from '~/lib/user';
import {
  DeploymentDeviceStatusBadge,
  DeploymentStatusBadge,
  ProgressBar,
  ProgressCounts,
  StatusLegend,
  TimelineChart,
} from '~/components/deployments';
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
  Select,
  Table,
  Td,
  Textarea,
  Th,
  buttonClass,
  cx,
} from '~/components/ui';

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: `${data?.deployment.name ?? 'Deployment'} · Deployments · OpsConductor` },
];

const DEVICES_PAGE_SIZE = 50;
/** How often an unfinished deployment's page is read again. */
const POLL_MS = 3000;
const MAX_REASON = 500;

function deploymentId(params: LoaderFunctionArgs['params']): string {
  const parsed = uuid.safeParse(params.id);
  if (!parsed.success) throw data<RouteErrorData>({ title: 'Deployment not found' }, { status: 404 });
  return parsed.data;
}

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const id = deploymentId(params);
  const api = await requireApi(request, context);
  const sp = new URL(request.url).searchParams;
  const page = z.coerce
    .number()
    .int()
    .min(1)
    .max(100_000)
    .catch(1)
    .parse(sp.get('page') ?? 1);
  const status = z
    .enum(deviceStatusOrder as [string, ...string[]])
    .catch('')
    .parse(sp.get('status') ?? '');
  // Anything the API would refuse (a NUL, too long, a wave it cannot have) is no filter.
  const search = searchText.catch('').parse(sp.get('search') ?? '');
  const wave = z.coerce
    .number()
    .int()
    .min(0)
    .max(MAX_DEPLOYMENT_WAVES)
    .nullable()
    .catch(null)
    .parse(sp.get('wave') || null);
  const query = {
    page,
    pageSize: DEVICES_PAGE_SIZE,
    ...(status ? { status } : {}),
    ...(wave !== null ? { wave } : {}),
    ...(search ? { search } : {}),
  } as Query<'/deployments/{id}/devices'>;
  const [deployment, devices, events, timeline] = await Promise.all([
    api.get('/deployments/{id}', { params: { path: { id } } }),
    api.get('/deployments/{id}/devices', { params: { path: { id }, query } }),
    api.get('/deployments/{id}/events', { params: { path: { id } } }),
    api.get('/deployments/{id}/timeline', { params: { path: { id } } }),
  ]);
  return { deployment, devices, events: events.items.slice(0, 100), timeline, page, status, search, wave };
}

/**
 * A refused control (409) means the deployment moved on since the page was read: read it again then too (by default
 * an answer with an error status leaves the page's data as it was).
 */
export const shouldRevalidate: ShouldRevalidateFunction = ({ formMethod, defaultShouldRevalidate }) =>
  formMethod?.toUpperCase() === 'POST' ? true : defaultShouldRevalidate;

type Intent = ControlAction | 'approve' | 'reject';
type ActionData = { ok: boolean; intent: Intent; error?: string };

export async function action({ request, context, params }: ActionFunctionArgs) {
  const id = deploymentId(params);
  const api = await requireApi(request, context);
  const form = await request.formData();
  const intent = form.get('intent');
  const raw = form.get(intent === 'approve' || intent === 'reject' ? 'comment' : 'reason');
  const note = typeof raw === 'string' ? raw.trim() : '';
  if (!isControlAction(intent) && intent !== 'approve' && intent !== 'reject') {
    throw data<RouteErrorData>({ title: 'Unknown action' }, { status: 400 });
  }
  if (note.length > MAX_REASON) {
    return data<ActionData>({ ok: false, intent, error: `Keep it under ${MAX_REASON} characters.` }, { status: 400 });
  }
  try {
    if (intent === 'approve' || intent === 'reject') {
      await api.post('/deployments/{id}/approval', {
        params: { path: { id } },
        body: { decision: intent === 'approve' ? 'approved' : 'rejected', ...(note ? { comment: note } : {}) },
      });
    } else {
      const path = `/deployments/{id}/${intent}` as '/deployments/{id}/pause';
      await api.post(path, { params: { path: { id } }, body: note ? { reason: note } : {} });
    }
    return data<ActionData>({ ok: true, intent });
  } catch (error) {
    // 409: the workflow (or the approval rule) refused; its reason is the message.
    if (error instanceof ApiError)
      return data<ActionData>({ ok: false, intent, error: error.detail ?? error.title }, { status: error.status });
    throw error;
  }
}

/** Reads the page again every few seconds while the deployment goes on (and the tab is visible). */
function usePolling(active: boolean) {
  const revalidator = useRevalidator();
  const navigation = useNavigation();
  const state = useRef({ revalidator, navigation });
  state.current = { revalidator, navigation };
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => {
      const { revalidator: r, navigation: n } = state.current;
      if (document.visibilityState === 'visible' && r.state === 'idle' && n.state === 'idle') r.revalidate();
    }, POLL_MS);
    return () => clearInterval(timer);
  }, [active]);
}

const failedVerb: Record<Intent, string> = {
  pause: 'The deployment was not paused',
  resume: 'The deployment was not resumed',
  abort: 'The deployment was not aborted',
  rollback: 'The deployment was not rolled back',
  approve: 'The deployment was not approved',
  reject: 'The deployment was not rejected',
};

function Controls({ deployment, result }: { deployment: Deployment; result: ActionData | undefined }) {
  const [open, setOpen] = useState<ControlAction | null>(null);
  const navigation = useNavigation();
  const busy = navigation.state !== 'idle' && navigation.formData ? String(navigation.formData.get('intent')) : null;
  const actions = controlsFor(deployment);
  useEffect(() => {
    if (result?.ok) setOpen(null);
  }, [result]);
  if (actions.length === 0) return null;
  return (
    <div className="space-y-2" data-testid="deployment-controls">
      <div className="flex flex-wrap items-center gap-2">
        {actions.map((a) => (
          <Button
            key={a}
            variant={a === 'abort' || a === 'rollback' ? 'danger' : 'secondary'}
            onClick={() => setOpen(open === a ? null : a)}
            aria-expanded={open === a}
          >
            {controlLabels[a]}
          </Button>
        ))}
      </div>
      {open && actions.includes(open) ? (
        <Form
          method="post"
          preventScrollReset
          className="w-96 space-y-2 rounded-md border border-zinc-200 bg-white p-3 shadow-sm"
          data-testid="control-form"
        >
          <p className="text-xs text-zinc-600">{controlHints[open]}</p>
          <label className="block space-y-1 text-xs font-medium text-zinc-700">
            Reason (optional, shown on the timeline)
            <Input name="reason" maxLength={MAX_REASON} placeholder="Why" />
          </label>
          <div className="flex justify-end gap-2">
            <Button variant="ghost" onClick={() => setOpen(null)}>
              Cancel
            </Button>
            <Button
              type="submit"
              name="intent"
              value={open}
              variant={open === 'abort' || open === 'rollback' ? 'danger' : 'primary'}
              disabled={busy !== null}
            >
              {busy === open ? 'Sending…' : `${controlLabels[open]} deployment`}
            </Button>
          </div>
        </Form>
      ) : null}
    </div>
  );
}

function ApprovalPanel({ deployment, own, result }: { deployment: Deployment; own: boolean; result: ActionData | undefined }) {
  const navigation = useNavigation();
  const busy = navigation.state !== 'idle' && navigation.formData ? String(navigation.formData.get('intent')) : null;
  return (
    <Card title="Approval">
      <div className="space-y-2 p-4" data-testid="deployment-approval">
        <Alert tone="warning" title={own ? 'Waiting for another operator' : 'This deployment waits for approval'}>
          {own
            ? 'You created this deployment: another operator must approve or reject it.'
            : `An operator other than ${deployment.createdBy ?? 'its creator'} must approve it before it starts.`}
        </Alert>
        {own ? null : (
          <Form method="post" preventScrollReset className="space-y-2">
            <Textarea
              name="comment"
              rows={2}
              maxLength={MAX_REASON}
              placeholder="Optional comment"
              aria-label="Comment"
              className="font-sans text-[13px]"
            />
            <div className="flex justify-end gap-2">
              <Button type="submit" name="intent" value="reject" variant="danger" disabled={busy !== null}>
                {busy === 'reject' ? 'Rejecting…' : 'Reject'}
              </Button>
              <Button type="submit" name="intent" value="approve" variant="primary" disabled={busy !== null}>
                {busy === 'approve' ? 'Approving…' : 'Approve'}
              </Button>
            </div>
          </Form>
        )}
        {result && (result.intent === 'approve' || result.intent === 'reject') && !result.ok ? (
          <div data-testid="control-error">
            <Alert title={failedVerb[result.intent]}>{result.error}</Alert>
          </div>
        ) : null}
      </div>
    </Card>
  );
}

function Item({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="grid grid-cols-[140px_minmax(0,1fr)] gap-2 px-4 py-1.5">
      <dt className="text-zinc-500">{label}</dt>
      <dd className="min-w-0 text-zinc-800">{children}</dd>
    </div>
  );
}

function Stat({ label, value, tone, testId }: { label: string; value: string; tone?: string; testId: string }) {
  return (
    <div className="px-4 py-3">
      <p className="text-xs text-zinc-500">{label}</p>
      <p className={cx('mt-0.5 text-lg font-semibold tabular-nums', tone ?? 'text-zinc-900')} data-testid={testId}>
        {value}
      </p>
    </div>
  );
}

const waveStateTone = { planned: 'neutral', installing: 'blue', soaking: 'amber', completed: 'green', cancelled: 'gray' } as const;
const waveStateLabel = { planned: 'Planned', installing: 'Installing', soaking: 'Soaking', completed: 'Completed', cancelled: 'Cancelled' };

function Strategy({ d }: { d: Deployment }) {
  const s = d.strategy;
  return (
    <dl className="divide-y divide-zinc-100 py-1 text-[13px]">
      <Item label="Waves">{wavesText(s.waves) || '100%'}</Item>
      <Item label="Soak">{s.soakSeconds ? formatSeconds(s.soakSeconds) : 'none'}</Item>
      <Item label="Success criteria">{s.successPercent ?? 95}% of a wave's devices</Item>
      <Item label="Auto-pause">
        {s.autoPause ? `above ${s.autoPause.failurePercent}% failed of at least ${s.autoPause.minResults} results` : 'never'}
      </Item>
      <Item label="Health analysis">
        {s.health
          ? `${s.health.onFailure === 'rollback' ? 'roll back' : 'pause'} at ${s.health.maxExcessPercent}+ points more unhealthy (≥ ${s.health.minDevices} devices)${s.health.script ? '; health script' : ''}`
          : 'off'}
      </Item>
      <Item label="Maintenance windows">{s.respectMaintenanceWindows === false ? 'ignored (override)' : 'respected'}</Item>
      <Item label="Reboot">
        {s.rebootPolicy === 'force' ? 'forced, with notice' : s.rebootPolicy === 'in_window' ? 'in a maintenance window' : 'suppressed'}
      </Item>
      <Item label="Network">
        {[
          s.network?.maxBytesPerSecond ? `≤ ${Math.round(s.network.maxBytesPerSecond / 1024).toLocaleString('en-US')} KiB/s` : null,
          s.network?.skipMetered ? 'skips metered' : null,
          s.network?.sourceIds?.length ? pluralize(s.network.sourceIds.length, 'source') : null,
        ]
          .filter(Boolean)
          .join(' · ') || 'no limits'}
      </Item>
      <Item label="Retries">{s.retries ? `${s.retries.count} after ${formatSeconds(s.retries.backoffSeconds)}` : '—'}</Item>
    </dl>
  );
}

export default function DeploymentPage() {
  const { deployment: d, devices, events, timeline, page, status, search, wave } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const user = useOptionalUser();
  const canControl = canRunCommands(user?.role);
  const finished = isFinished(d.status);
  usePolling(!finished);
  const p = progressOf(d.counts);
  const waveLabel = (i: number) => d.waves.find((w) => w.index === i)?.label ?? `Wave ${i}`;
  const controlResult = result && result.intent !== 'approve' && result.intent !== 'reject' ? result : undefined;
  return (
    <>
      <Breadcrumb trail={[{ to: '/deployments', label: 'Deployments' }]} current={d.name} />
      <PageHeader
        title={
          <span className="flex items-center gap-2.5">
            <span data-testid="deployment-name">{d.name}</span>
            <DeploymentStatusBadge status={d.status} testId="deployment-status" />
          </span>
        }
        description={
          <>
            {d.action === 'install' ? 'Installs' : 'Uninstalls'}{' '}
            <Link to={`/software/${d.package.id}`} className="font-medium text-zinc-700 hover:underline">
              {d.package.name} {d.version.version}
            </Link>{' '}
            on {pluralize(d.total, 'device')} · created by {d.createdBy ?? 'someone'} <RelativeTime iso={d.createdAt} />
            {d.approvedBy ? <> · approved by {d.approvedBy}</> : null}
          </>
        }
        actions={canControl ? <Controls deployment={d} result={controlResult} /> : null}
      />

      <div className="mb-4 space-y-2">
        {d.status === 'paused' ? (
          <div data-testid="paused-reason">
            <Alert tone="warning" title="Paused">
              {d.pausedReason ?? 'No reason given.'}
            </Alert>
          </div>
        ) : null}
        {controlResult && !controlResult.ok ? (
          <div data-testid="control-error">
            <Alert title={failedVerb[controlResult.intent]}>{controlResult.error}</Alert>
          </div>
        ) : null}
        {d.status === 'scheduled' ? (
          <Alert tone="info">
            Starts <AbsoluteTime iso={d.startsAt} /> (<RelativeTime iso={d.startsAt} />
            ).
          </Alert>
        ) : null}
      </div>

      <div className="grid items-start gap-4 xl:grid-cols-[minmax(0,1fr)_400px]">
        <div className="space-y-4">
          <Card title="Progress">
            <div className="grid grid-cols-2 divide-x divide-zinc-100 border-b border-zinc-100 sm:grid-cols-4">
              <Stat label="Success rate" value={d.successRate === null ? '—' : `${d.successRate}%`} testId="stat-success-rate" />
              <Stat label="Succeeded" value={p.succeeded.toLocaleString('en-US')} tone="text-emerald-700" testId="stat-succeeded" />
              <Stat
                label="Failed"
                value={p.failed.toLocaleString('en-US')}
                tone={p.failed ? 'text-red-700' : undefined}
                testId="stat-failed"
              />
              <Stat label="Pending" value={p.pending.toLocaleString('en-US')} testId="stat-pending" />
            </div>
            <ul className="divide-y divide-zinc-100">
              {d.waves.map((w) => (
                <li key={w.index} className="space-y-1.5 px-4 py-3" data-testid="wave" data-wave={w.index} data-state={w.state}>
                  <div className="flex flex-wrap items-center gap-2 text-[13px]">
                    <span className="font-medium text-zinc-900" data-testid="wave-label">
                      {w.label}
                    </span>
                    <span className="text-xs text-zinc-500 tabular-nums" data-testid="wave-size">
                      {pluralize(w.size, 'device')}
                    </span>
                    <Badge tone={waveStateTone[w.state]} pulse={w.state === 'installing'}>
                      {waveStateLabel[w.state]}
                    </Badge>
                    {w.state === 'soaking' && w.soakUntil ? (
                      <span className="text-xs text-zinc-500">
                        until <AbsoluteTime iso={w.soakUntil} />
                      </span>
                    ) : null}
                    {w.health ? (
                      <span className="ml-auto text-xs text-zinc-500" title="Unhealthy updated devices vs devices not yet updated">
                        health: {w.health.unhealthy}/{w.health.watched} unhealthy · baseline {w.health.baselineUnhealthy}/
                        {w.health.baselineWatched}
                      </span>
                    ) : null}
                  </div>
                  <ProgressBar counts={w.counts} size={w.size} />
                  <StatusLegend counts={w.counts} />
                </li>
              ))}
            </ul>
          </Card>

          <Card title="Installs over time">
            <TimelineChart points={timeline.points} total={d.total} />
          </Card>

          <Card
            title="Devices"
            actions={
              <Form method="get" role="search" aria-label="Filter devices" className="flex items-center gap-2" preventScrollReset>
                <Select name="wave" defaultValue={wave ?? ''} key={`w:${wave}`} aria-label="Wave" className="h-7! w-32 text-xs!">
                  <option value="">Every wave</option>
                  {d.waves.map((w) => (
                    <option key={w.index} value={w.index}>
                      {w.label}
                    </option>
                  ))}
                </Select>
                <Select name="status" defaultValue={status} key={`st:${status}`} aria-label="Device status" className="h-7! w-40 text-xs!">
                  <option value="">Any status</option>
                  {deviceStatusOrder.map((s) => (
                    <option key={s} value={s}>
                      {deviceStatusLabel(s)}
                    </option>
                  ))}
                </Select>
                <Input
                  type="search"
                  name="search"
                  defaultValue={search}
                  key={`q:${search}`}
                  placeholder="Hostname…"
                  aria-label="Search devices"
                  className="h-7! w-44 text-xs!"
                />
                <Button type="submit" size="sm">
                  Filter
                </Button>
              </Form>
            }
          >
            {devices.total === 0 ? (
              <EmptyState title={status || search || wave !== null ? 'No devices match' : 'No devices'} />
            ) : (
              <>
                <Table>
                  <thead>
                    <tr>
                      <Th>Device</Th>
                      <Th>Wave</Th>
                      <Th>Status</Th>
                      <Th>Exit code</Th>
                      <Th>Outcome and output</Th>
                      <Th>Finished</Th>
                      <Th className="w-0" />
                    </tr>
                  </thead>
                  <tbody>
                    {devices.items.map((dev) => (
                      <tr
                        key={dev.deviceId}
                        data-testid="deployment-device"
                        data-device-id={dev.deviceId}
                        className="align-top hover:bg-zinc-50"
                      >
                        <Td>
                          <Link to={`/devices/${dev.deviceId}`} className="font-medium text-zinc-900 hover:underline">
                            {dev.hostname}
                          </Link>
                          {dev.attempts > 1 ? <p className="text-[11px] text-zinc-500">{dev.attempts} attempts</p> : null}
                        </Td>
                        <Td className="text-zinc-600">{waveLabel(dev.wave)}</Td>
                        <Td>
                          <DeploymentDeviceStatusBadge status={dev.status} />
                          {dev.status === 'waiting_for_window' && dev.windowOpensAt ? (
                            <p className="mt-0.5 text-[11px] text-zinc-500">
                              window opens <RelativeTime iso={dev.windowOpensAt} />
                            </p>
                          ) : null}
                          {dev.rollback ? <p className="mt-0.5 text-[11px] text-zinc-500">rollback: {dev.rollback}</p> : null}
                        </Td>
                        <Td className="font-mono text-xs">
                          <span data-testid="device-exit-code">{dev.exitCode ?? '—'}</span>
                        </Td>
                        <Td className="max-w-[28rem]">
                          {dev.outcome ? <p className="text-xs text-zinc-700">{dev.outcome.replaceAll('_', ' ')}</p> : null}
                          {dev.healthFailure ? <p className="text-xs text-red-700">health: {dev.healthFailure}</p> : null}
                          {dev.detail ? (
                            <details className="text-xs">
                              <summary className="cursor-pointer text-zinc-500">Installer output</summary>
                              <pre className="mt-1 max-h-48 overflow-auto rounded bg-zinc-950 p-2 font-mono text-[11px] whitespace-pre-wrap text-zinc-100">
                                {dev.detail}
                              </pre>
                            </details>
                          ) : null}
                        </Td>
                        <Td className="text-zinc-500">{dev.finishedAt ? <RelativeTime iso={dev.finishedAt} /> : '—'}</Td>
                        <Td className="text-right">
                          {dev.jobRunId ? (
                            <Link to={`/runs/${dev.jobRunId}?device=${dev.deviceId}`} className={buttonClass('ghost', 'sm')}>
                              Log
                            </Link>
                          ) : null}
                        </Td>
                      </tr>
                    ))}
                  </tbody>
                </Table>
                <Pagination page={page} pageSize={DEVICES_PAGE_SIZE} total={devices.total} noun="device" />
              </>
            )}
          </Card>
        </div>

        <div className="space-y-4">
          {d.status === 'pending_approval' && canControl ? (
            <ApprovalPanel deployment={d} own={d.createdBy !== null && d.createdBy === user?.email} result={result} />
          ) : null}

          <Card title="Failures by reason">
            {d.failedByReason.length === 0 ? (
              <EmptyState title="No failures" />
            ) : (
              <Table>
                <thead>
                  <tr>
                    <Th>Reason</Th>
                    <Th>Exit code</Th>
                    <Th className="text-right">Devices</Th>
                  </tr>
                </thead>
                <tbody>
                  {d.failedByReason.map((f) => (
                    <tr key={`${f.reason}:${f.exitCode}`} data-testid="failure-reason">
                      <Td>
                        <Link to={`?status=failed`} className="hover:underline">
                          {f.reason.replaceAll('_', ' ')}
                        </Link>
                      </Td>
                      <Td className="font-mono text-xs">{f.exitCode ?? '—'}</Td>
                      <Td className="text-right tabular-nums">{f.count.toLocaleString('en-US')}</Td>
                    </tr>
                  ))}
                </tbody>
              </Table>
            )}
          </Card>

          {d.rollback ? (
            <Card title="Rollback">
              <dl className="divide-y divide-zinc-100 py-1 text-[13px]" data-testid="rollback-summary">
                <Item label="Uninstalled">{d.rollback.uninstalled}</Item>
                <Item label="Reinstalled before">{d.rollback.reinstalled}</Item>
                <Item label="Failed">{d.rollback.failed}</Item>
                <Item label="Pending">{d.rollback.pending}</Item>
              </dl>
            </Card>
          ) : null}

          <Card
            title="Events"
            actions={
              !finished ? (
                <span className="text-[11px] text-zinc-500" title={`Read again every ${POLL_MS / 1000} s`}>
                  live
                </span>
              ) : null
            }
          >
            {events.length === 0 ? (
              <EmptyState title="No events yet" />
            ) : (
              <ul className="max-h-[28rem] divide-y divide-zinc-100 overflow-y-auto" data-testid="deployment-events">
                {events.map((e) => (
                  <li key={e.id} className="px-4 py-2 text-[13px]" data-testid="deployment-event" data-type={e.type}>
                    <p className="text-zinc-800">{e.message}</p>
                    <p className="text-[11px] text-zinc-500">
                      <RelativeTime iso={e.occurredAt} />
                      {e.actor ? <> · {e.actor}</> : null}
                    </p>
                  </li>
                ))}
              </ul>
            )}
          </Card>

          <Card title="Details">
            <dl className="divide-y divide-zinc-100 py-1 text-[13px]">
              <Item label="Starts">
                <AbsoluteTime iso={d.startsAt} />
              </Item>
              <Item label="Deadline">{d.deadlineAt ? <AbsoluteTime iso={d.deadlineAt} /> : 'none'}</Item>
              <Item label="Started">
                <AbsoluteTime iso={d.startedAt} />
              </Item>
              <Item label="Finished">
                <AbsoluteTime iso={d.finishedAt} />
              </Item>
              <Item label="Workflow">
                {d.temporalUrl ? (
                  <a href={d.temporalUrl} target="_blank" rel="noreferrer" className="font-mono text-xs text-zinc-900 underline">
                    {d.workflowId}
                  </a>
                ) : (
                  <span className="font-mono text-xs">{d.workflowId}</span>
                )}
              </Item>
            </dl>
            <div className="border-t border-zinc-100">
              <Strategy d={d} />
            </div>
          </Card>
        </div>
      </div>
    </>
  );
}
