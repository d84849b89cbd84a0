/**
 * / — the fleet at a glance (GET /api/v1/fleet/summary): presence, operating systems, agent versions, compliance of
 * the required software assignments, deployments in progress and failed runs. Every number links to what is behind
 * it: the device list filtered the same way the API counted (status, osName + osVersion, agentVersion, assignmentId +
 * compliance), /deployments/<id>, /runs.
 */
import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { Link, useLoaderData } from '@remix-run/react';
import type { ReactNode } from 'react';
import { requireApi } from '~/lib/api.server';
import { oneLine, osLabel, pluralize } from '~/lib/format';
import { statusText } from '~/components/deployment-badges';
import { Badge, Card, EmptyState, PageHeader, RelativeTime, Table, Td, Th, cx, type Tone } from '~/components/ui';

export const meta: MetaFunction = () => [{ title: 'Fleet · OpsConductor' }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const api = await requireApi(request, context);
  return api.get('/fleet/summary');
}

type Summary = ReturnType<typeof useLoaderData<typeof loader>>;

const devicesLink = (query: Record<string, string>) => `/devices?${new URLSearchParams(query)}`;
const n = (v: number) => v.toLocaleString('en-US');

function Tile({
  label,
  value,
  to,
  tone,
  testId,
  hint,
}: {
  label: string;
  value: number;
  to: string;
  tone?: string;
  testId: string;
  hint?: ReactNode;
}) {
  return (
    <Link
      to={to}
      data-testid={testId}
      className="group block rounded-lg border border-zinc-200 bg-white px-4 py-3 shadow-xs transition-colors hover:border-zinc-300 hover:bg-zinc-50"
    >
      <p className="text-xs font-medium text-zinc-500">{label}</p>
      <p className={cx('mt-1 text-2xl font-semibold tracking-tight tabular-nums', tone ?? 'text-zinc-900')} data-testid={`${testId}-value`}>
        {n(value)}
      </p>
      {hint ? <p className="mt-0.5 text-[11px] text-zinc-400">{hint}</p> : null}
    </Link>
  );
}

/** An inline SVG donut of parts (each a link), with its legend. */
function Donut({
  parts,
  total,
  label,
}: {
  parts: { label: string; value: number; color: string; to: string }[];
  total: number;
  label: string;
}) {
  const r = 15.9155; // circumference 100
  let offset = 25; // start at 12 o'clock
  return (
    <div className="flex items-center gap-6 p-4">
      <svg viewBox="0 0 42 42" className="size-36 shrink-0" role="img" aria-label={label}>
        <circle cx="21" cy="21" r={r} fill="none" stroke="#f4f4f5" strokeWidth="6" />
        {total > 0
          ? parts.map((p) => {
              const share = (p.value / total) * 100;
              const el = (
                <Link key={p.label} to={p.to}>
                  <circle
                    cx="21"
                    cy="21"
                    r={r}
                    fill="none"
                    stroke={p.color}
                    strokeWidth="6"
                    strokeDasharray={`${share} ${100 - share}`}
                    strokeDashoffset={offset}
                  >
                    <title>{`${p.label}: ${n(p.value)}`}</title>
                  </circle>
                </Link>
              );
              offset -= share;
              return el;
            })
          : null}
        <text x="21" y="21" textAnchor="middle" dominantBaseline="central" className="fill-zinc-900 text-[7px] font-semibold">
          {n(total)}
        </text>
      </svg>
      <ul className="space-y-1.5 text-[13px]">
        {parts.map((p) => (
          <li key={p.label} className="flex items-center gap-2">
            <span className="size-2.5 rounded-sm" style={{ background: p.color }} aria-hidden />
            <Link to={p.to} className="text-zinc-700 hover:underline">
              {p.label}
            </Link>
            <span className="text-zinc-900 tabular-nums">{n(p.value)}</span>
            <span className="text-xs text-zinc-400 tabular-nums">{total ? `${Math.round((p.value / total) * 100)}%` : ''}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}

/** Horizontal bars, each row a link. */
function Bars({ rows, testId }: { rows: { key: string; label: ReactNode; value: number; to: string | null }[]; testId: string }) {
  const max = Math.max(1, ...rows.map((r) => r.value));
  return (
    <ul className="space-y-1.5 p-4" data-testid={testId}>
      {rows.map((r) => {
        const bar = (
          <>
            <span className="w-44 shrink-0 truncate text-zinc-700">{r.label}</span>
            <svg viewBox="0 0 100 8" preserveAspectRatio="none" className="h-2.5 min-w-0 flex-1" aria-hidden>
              <rect x="0" y="0" width="100" height="8" rx="1.5" fill="#f4f4f5" />
              <rect x="0" y="0" width={Math.max(1, (r.value / max) * 100)} height="8" rx="1.5" fill="#3f3f46" />
            </svg>
            <span className="w-16 shrink-0 text-right text-zinc-900 tabular-nums" data-testid="bar-value">
              {n(r.value)}
            </span>
          </>
        );
        return (
          <li key={r.key} data-testid="bar" data-key={r.key}>
            {r.to ? (
              <Link to={r.to} className="flex items-center gap-3 rounded text-[13px] hover:bg-zinc-50">
                {bar}
              </Link>
            ) : (
              <span className="flex items-center gap-3 text-[13px] text-zinc-500">{bar}</span>
            )}
          </li>
        );
      })}
    </ul>
  );
}

/** Compliant / non-compliant / pending as one stacked bar. */
function StackedBar({ parts, total }: { parts: { value: number; color: string }[]; total: number }) {
  let x = 0;
  return (
    <svg viewBox="0 0 100 8" preserveAspectRatio="none" className="h-2.5 w-32" aria-hidden>
      <rect x="0" y="0" width="100" height="8" rx="1.5" fill="#f4f4f5" />
      {total > 0
        ? parts.map((p, i) => {
            const w = (p.value / total) * 100;
            const el = <rect key={i} x={x} y="0" width={w} height="8" fill={p.color} />;
            x += w;
            return el;
          })
        : null}
    </svg>
  );
}

const COLORS = {
  online: '#10b981',
  stale: '#f59e0b',
  offline: '#a1a1aa',
  never: '#e4e4e7',
  ok: '#10b981',
  bad: '#ef4444',
  pending: '#d4d4d8',
};
const deploymentTones: Record<string, Tone> = {
  running: 'blue',
  paused: 'amber',
  scheduled: 'gray',
  pending_approval: 'amber',
  rolling_back: 'amber',
};

function Compliance({ c }: { c: Summary['compliance'] }) {
  if (c.items.length === 0)
    return (
      <EmptyState title="No required software">
        Assign a package as required to a group or a device (from the package, group or device page) to see its compliance here.
      </EmptyState>
    );
  const cell = (a: Summary['compliance']['items'][number], value: number, compliance: string, tone: string, testId: string) => (
    <Td className="text-right tabular-nums">
      <Link
        to={devicesLink({ assignmentId: a.assignmentId, compliance })}
        className={cx('hover:underline', value ? tone : 'text-zinc-400')}
        data-testid={testId}
      >
        {n(value)}
      </Link>
    </Td>
  );
  return (
    <>
      <Table>
        <thead>
          <tr>
            <Th>Package</Th>
            <Th>Version</Th>
            <Th>Target</Th>
            <Th className="text-right">Devices</Th>
            <Th />
            <Th className="text-right">Compliant</Th>
            <Th className="text-right">Non-compliant</Th>
            <Th className="text-right">Pending</Th>
          </tr>
        </thead>
        <tbody>
          {c.items.map((a) => (
            <tr key={a.assignmentId} data-testid="compliance-row" data-assignment-id={a.assignmentId} className="hover:bg-zinc-50">
              <Td>
                <Link to={`/software/${a.package.id}`} className="font-medium text-zinc-900 hover:underline">
                  {a.package.name}
                </Link>
              </Td>
              <Td className="font-mono text-xs">
                {a.version ? a.version.version : '—'}
                {a.latest ? <span className="ml-1.5 font-sans text-[11px] text-zinc-400">latest</span> : null}
              </Td>
              <Td>
                <Link
                  to={a.target.type === 'group' ? `/groups/${a.target.id}` : `/devices/${a.target.id}`}
                  className="text-zinc-700 hover:underline"
                >
                  {a.target.type === 'group' ? `Group ${a.target.name}` : a.target.name}
                </Link>
              </Td>
              <Td className="text-right tabular-nums">
                <Link to={devicesLink({ assignmentId: a.assignmentId })} className="hover:underline" data-testid="compliance-devices">
                  {n(a.devices)}
                </Link>
              </Td>
              <Td>
                <StackedBar
                  total={a.devices}
                  parts={[
                    { value: a.compliant, color: COLORS.ok },
                    { value: a.nonCompliant, color: COLORS.bad },
                    { value: a.pending, color: COLORS.pending },
                  ]}
                />
              </Td>
              {cell(a, a.compliant, 'compliant', 'text-emerald-700', 'compliance-compliant')}
              {cell(a, a.nonCompliant, 'non_compliant', 'text-red-700', 'compliance-non-compliant')}
              {cell(a, a.pending, 'pending', 'text-zinc-700', 'compliance-pending')}
            </tr>
          ))}
        </tbody>
      </Table>
      {c.total > c.items.length ? (
        <p className="border-t border-zinc-200 px-4 py-2 text-xs text-zinc-500">
          The {c.items.length} least compliant of {pluralize(c.total, 'required assignment')}.
        </p>
      ) : null}
    </>
  );
}

function Deployments({ d }: { d: Summary['deployments'] }) {
  if (d.items.length === 0) return <EmptyState title="No deployment in progress" />;
  return (
    <ul className="divide-y divide-zinc-100">
      {d.items.map((x) => (
        <li key={x.id} className="space-y-1.5 px-4 py-3" data-testid="fleet-deployment" data-deployment-id={x.id}>
          <div className="flex flex-wrap items-center gap-2 text-[13px]">
            <Link to={`/deployments/${x.id}`} className="font-medium text-zinc-900 hover:underline">
              {x.name}
            </Link>
            <Badge tone={deploymentTones[x.status] ?? 'neutral'}>{statusText(x.status)}</Badge>
            <span className="text-xs text-zinc-500">
              {x.package.name} {x.version.version}
            </span>
            <span className="ml-auto text-xs text-zinc-500 tabular-nums">
              {n(x.succeeded)} succeeded · {n(x.failed)} failed · {n(x.total)} devices
            </span>
          </div>
          {x.pausedReason ? <p className="text-xs text-amber-800">{x.pausedReason}</p> : null}
          <ol className="flex flex-wrap gap-3">
            {x.waves.map((w) => (
              <li key={w.index} className="flex items-center gap-1.5 text-[11px] text-zinc-500" title={`${w.label}: ${w.state}`}>
                <span className={cx(x.currentWave === w.index && 'font-semibold text-zinc-900')}>{w.label}</span>
                <StackedBar
                  total={Math.max(w.size, 1)}
                  parts={[
                    { value: w.succeeded, color: COLORS.ok },
                    { value: w.failed, color: COLORS.bad },
                    { value: Math.max(0, w.done - w.succeeded - w.failed), color: COLORS.offline },
                  ]}
                />
                <span className="tabular-nums">
                  {n(w.done)}/{n(w.size)}
                </span>
              </li>
            ))}
          </ol>
        </li>
      ))}
    </ul>
  );
}

export default function FleetHome() {
  const s = useLoaderData<typeof loader>();
  const d = s.devices;
  // The runs the failed-runs count counts: failed, created in the 24 hours before the summary.
  const failedRuns = `/runs?${new URLSearchParams({ status: 'failed', from: new Date(Date.parse(s.generatedAt) - 24 * 3600 * 1000).toISOString() })}`;
  const presence = [
    { label: 'Online', value: d.online, color: COLORS.online, to: devicesLink({ status: 'online' }) },
    { label: 'Stale', value: d.stale, color: COLORS.stale, to: devicesLink({ status: 'stale' }) },
    { label: 'Offline', value: d.offline, color: COLORS.offline, to: devicesLink({ status: 'offline' }) },
    { label: 'Never seen', value: d.neverSeen, color: COLORS.never, to: devicesLink({ status: 'never_seen' }) },
  ];
  return (
    <>
      <PageHeader
        title="Fleet"
        description={
          <>
            {pluralize(d.total, 'active device')} · online means heard from within {s.onlineWindowSeconds} s, stale up to{' '}
            {s.offlineAfterSeconds} s, offline after that · as of <RelativeTime iso={s.generatedAt} />
          </>
        }
      />
      <div className="space-y-4">
        <div className="grid grid-cols-2 gap-3 md:grid-cols-4 xl:grid-cols-7">
          <Tile label="Devices" value={d.total} to="/devices" testId="tile-devices" />
          <Tile label="Online" value={d.online} to={devicesLink({ status: 'online' })} tone="text-emerald-700" testId="tile-online" />
          <Tile label="Stale" value={d.stale} to={devicesLink({ status: 'stale' })} tone="text-amber-700" testId="tile-stale" />
          <Tile label="Offline" value={d.offline} to={devicesLink({ status: 'offline' })} tone="text-zinc-600" testId="tile-offline" />
          <Tile
            label="Never seen"
            value={d.neverSeen}
            to={devicesLink({ status: 'never_seen' })}
            tone="text-zinc-500"
            testId="tile-never-seen"
          />
          <Tile label="Deployments in progress" value={s.deployments.total} to="/deployments" testId="tile-deployments" />
          <Tile
            label="Failed runs (24 h)"
            value={s.failedRuns.last24h}
            to={failedRuns}
            tone={s.failedRuns.last24h ? 'text-red-700' : undefined}
            testId="tile-failed-runs"
          />
        </div>

        <div className="grid items-start gap-4 lg:grid-cols-3">
          <Card title="Presence">
            <Donut parts={presence} total={d.total} label="Devices by presence" />
          </Card>
          <Card title="Operating systems">
            {s.os.items.length === 0 ? (
              <EmptyState title="No devices yet" />
            ) : (
              <Bars
                testId="os-bars"
                rows={[
                  ...s.os.items.map((o) => ({
                    key: `${o.osName}\u0000${o.osVersion}`,
                    label: osLabel(o.osName, o.osVersion) || o.osFamily,
                    value: o.devices,
                    to: devicesLink({ osName: o.osName, osVersion: o.osVersion }),
                  })),
                  ...(s.os.other ? [{ key: 'other', label: 'Other versions', value: s.os.other, to: null }] : []),
                ]}
              />
            )}
          </Card>
          <Card title="Agent versions">
            {s.agentVersions.items.length === 0 ? (
              <EmptyState title="No agents yet" />
            ) : (
              <Bars
                testId="agent-bars"
                rows={[
                  ...s.agentVersions.items.map((a) => ({
                    key: a.agentVersion,
                    label: <span className="font-mono text-xs">{a.agentVersion || '—'}</span>,
                    value: a.devices,
                    to: devicesLink({ agentVersion: a.agentVersion }),
                  })),
                  ...(s.agentVersions.other ? [{ key: 'other', label: 'Other versions', value: s.agentVersions.other, to: null }] : []),
                ]}
              />
            )}
          </Card>
        </div>

        <Card title="Software compliance (required assignments)">
          <div data-testid="fleet-compliance">
            <Compliance c={s.compliance} />
          </div>
        </Card>

        <div className="grid items-start gap-4 lg:grid-cols-2">
          <Card
            title="Deployments in progress"
            actions={
              <Link to="/deployments" className="text-xs text-zinc-500 hover:underline">
                All deployments
              </Link>
            }
          >
            <Deployments d={s.deployments} />
          </Card>
          <Card
            title="Failed runs in the last 24 hours"
            actions={
              <Link to={failedRuns} className="text-xs text-zinc-500 hover:underline">
                All of them
              </Link>
            }
          >
            {s.failedRuns.latest.length === 0 ? (
              <EmptyState title="No failed runs in the last 24 hours" />
            ) : (
              <Table>
                <thead>
                  <tr>
                    <Th>Command</Th>
                    <Th className="text-right">Failed devices</Th>
                    <Th>Finished</Th>
                  </tr>
                </thead>
                <tbody>
                  {s.failedRuns.latest.map((r) => (
                    <tr key={r.id} data-testid="failed-run" className="hover:bg-zinc-50">
                      <Td className="max-w-xs">
                        <Link to={`/runs/${r.id}`} className="block truncate font-mono text-xs text-zinc-900 hover:underline">
                          {oneLine(r.command)}
                        </Link>
                      </Td>
                      <Td className="text-right text-red-700 tabular-nums">
                        {n(r.failedDevices)}/{n(r.devices)}
                      </Td>
                      <Td className="text-zinc-500">
                        <RelativeTime iso={r.finishedAt} />
                      </Td>
                    </tr>
                  ))}
                </tbody>
              </Table>
            )}
          </Card>
        </div>
      </div>
    </>
  );
}
