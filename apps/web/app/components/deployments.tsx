/** Deployments' status badges, progress bars and counts, and the dashboard's installs-over-time chart (inline SVG). */
import {
  barSegments,
  chartLines,
  deploymentStatusInfo,
  deviceStatusInfo,
  deviceStatusLabel,
  progressOf,
  type DeploymentDeviceStatus,
  type DeploymentStatus,
  type DeviceCounts,
  type TimelinePoint,
} from '~/lib/deployments';
import { Badge, cx, useHydrated, type Tone } from './ui';

export function DeploymentStatusBadge({ status, testId }: { status: DeploymentStatus; testId?: string }) {
  const s = deploymentStatusInfo[status] ?? { tone: 'neutral' as const, label: status, title: status };
  return (
    <Badge
      tone={s.tone}
      pulse={status === 'running' || status === 'rolling_back'}
      data-status={status}
      title={s.title}
      {...(testId ? { 'data-testid': testId } : {})}
    >
      {s.label}
    </Badge>
  );
}

export function DeploymentDeviceStatusBadge({ status }: { status: DeploymentDeviceStatus }) {
  const s = deviceStatusInfo[status] ?? { tone: 'neutral' as const, label: status };
  return (
    <Badge
      tone={s.tone}
      pulse={status === 'installing' || status === 'downloading'}
      data-testid="deployment-device-status"
      data-status={status}
    >
      {s.label}
    </Badge>
  );
}

const fill: Record<Tone, string> = {
  green: 'bg-emerald-500',
  red: 'bg-red-500',
  amber: 'bg-amber-400',
  blue: 'bg-blue-500',
  gray: 'bg-zinc-400',
  neutral: 'bg-zinc-200',
};
const dot: Record<Tone, string> = { ...fill, neutral: 'bg-zinc-300' };

/** A stacked bar of the devices by status (planned ones as the empty track). */
export function ProgressBar({ counts, size, className }: { counts: Partial<DeviceCounts>; size: number; className?: string }) {
  const segments = barSegments(counts, size).filter((s) => s.status !== 'planned');
  return (
    <div
      className={cx('flex h-2 w-full overflow-hidden rounded-full bg-zinc-100', className)}
      role="img"
      aria-label={segments.map((s) => `${s.count} ${deviceStatusLabel(s.status).toLowerCase()}`).join(', ') || 'nothing started'}
    >
      {segments.map((s) => (
        <span
          key={s.status}
          className={cx('h-full', fill[deviceStatusInfo[s.status].tone])}
          style={{ width: `${s.percent}%` }}
          title={`${s.count.toLocaleString('en-US')} ${deviceStatusLabel(s.status).toLowerCase()}`}
        />
      ))}
    </div>
  );
}

/** "12 succeeded · 1 failed · 27 pending" of a deployment or a wave. */
export function ProgressCounts({ counts, className }: { counts: Partial<DeviceCounts>; className?: string }) {
  const p = progressOf(counts);
  const item = (n: number, label: string, tone: Tone, testId: string) => (
    <span className="inline-flex items-center gap-1 whitespace-nowrap" data-testid={testId} data-count={n}>
      <span className={cx('size-1.5 rounded-full', dot[tone])} aria-hidden />
      {n.toLocaleString('en-US')} {label}
    </span>
  );
  return (
    <span className={cx('flex flex-wrap items-center gap-x-2.5 gap-y-0.5 text-xs text-zinc-600 tabular-nums', className)}>
      {item(p.succeeded, 'succeeded', 'green', 'count-succeeded')}
      {item(p.failed, 'failed', 'red', 'count-failed')}
      {item(p.pending, 'pending', 'neutral', 'count-pending')}
    </span>
  );
}

/** Every status with a count, with its dot: the legend under a wave's bar. */
export function StatusLegend({ counts }: { counts: Partial<DeviceCounts> }) {
  const segments = barSegments(counts, 1);
  return (
    <span className="flex flex-wrap items-center gap-x-2.5 gap-y-0.5 text-[11px] text-zinc-500 tabular-nums">
      {segments.map((s) => (
        <span key={s.status} className="inline-flex items-center gap-1 whitespace-nowrap" data-testid="wave-count" data-status={s.status}>
          <span className={cx('size-1.5 rounded-full', dot[deviceStatusInfo[s.status].tone])} aria-hidden />
          {s.count.toLocaleString('en-US')} {deviceStatusLabel(s.status).toLowerCase()}
        </span>
      ))}
    </span>
  );
}

const W = 600;
const H = 160;

/** Cumulative succeeded (green) and failed (red) results over time, with the axes' end values. */
export function TimelineChart({ points, total }: { points: TimelinePoint[]; total: number }) {
  const hydrated = useHydrated();
  if (points.length === 0)
    return <p className="px-4 py-6 text-center text-xs text-zinc-500">No results yet: the chart starts with the first wave.</p>;
  const lines = chartLines(points, W, H);
  const time = (t: number) =>
    new Date(t).toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', ...(hydrated ? {} : { timeZone: 'UTC' }) });
  const last = points.at(-1)!;
  return (
    <figure className="px-4 py-3" data-testid="deployment-chart">
      <svg viewBox={`-36 -8 ${W + 44} ${H + 28}`} className="h-auto w-full" role="img" aria-label="Installs over time">
        <line x1={0} y1={H} x2={W} y2={H} className="stroke-zinc-200" />
        <line x1={0} y1={0} x2={0} y2={H} className="stroke-zinc-200" />
        <line x1={0} y1={0} x2={W} y2={0} className="stroke-zinc-100" strokeDasharray="4 4" />
        <text x={-6} y={4} textAnchor="end" className="fill-zinc-400 text-[10px]">
          {lines.max}
        </text>
        <text x={-6} y={H + 3} textAnchor="end" className="fill-zinc-400 text-[10px]">
          0
        </text>
        <text x={0} y={H + 16} className="fill-zinc-400 text-[10px]" suppressHydrationWarning>
          {time(lines.start)}
        </text>
        <text x={W} y={H + 16} textAnchor="end" className="fill-zinc-400 text-[10px]" suppressHydrationWarning>
          {time(lines.end)}
        </text>
        <polyline points={lines.succeeded} fill="none" className="stroke-emerald-500" strokeWidth={2} data-testid="chart-succeeded" />
        <polyline points={lines.failed} fill="none" className="stroke-red-500" strokeWidth={2} data-testid="chart-failed" />
      </svg>
      <figcaption className="mt-1 flex gap-4 text-[11px] text-zinc-500 tabular-nums">
        <span className="inline-flex items-center gap-1">
          <span className="h-0.5 w-3 bg-emerald-500" aria-hidden /> {last.succeeded.toLocaleString('en-US')} succeeded
        </span>
        <span className="inline-flex items-center gap-1">
          <span className="h-0.5 w-3 bg-red-500" aria-hidden /> {last.failed.toLocaleString('en-US')} failed
        </span>
        <span>of {total.toLocaleString('en-US')} devices</span>
      </figcaption>
    </figure>
  );
}
