import { targetStatusLabel, targetStatusOrder, targetStatusTone } from './status';
import { cx, type Tone } from './ui';

const dot: Record<Tone, string> = {
  green: 'bg-emerald-500',
  red: 'bg-red-500',
  amber: 'bg-amber-500',
  blue: 'bg-blue-500',
  gray: 'bg-zinc-400',
  neutral: 'bg-zinc-300',
};

/** "3 succeeded · 1 failed" from a run's per-status device counts (unknown keys shown as-is). */
export function RunCounts({ counts, className }: { counts: Record<string, number>; className?: string }) {
  const statuses = Object.keys(counts).filter((k) => k !== 'total' && (counts[k] ?? 0) > 0);
  statuses.sort((a, b) => rank(a) - rank(b));
  const total = counts.total ?? statuses.reduce((n, k) => n + (counts[k] ?? 0), 0);
  return (
    <span
      className={cx('flex flex-wrap items-center gap-x-2.5 gap-y-0.5 text-xs text-zinc-600 tabular-nums', className)}
      data-testid="run-counts"
    >
      <span className="font-medium text-zinc-900">{total.toLocaleString('en-US')}</span>
      {statuses.map((s) => (
        <span key={s} className="inline-flex items-center gap-1 whitespace-nowrap">
          <span className={cx('size-1.5 rounded-full', dot[targetStatusTone(s)])} aria-hidden />
          {(counts[s] ?? 0).toLocaleString('en-US')} {targetStatusLabel(s).toLowerCase()}
        </span>
      ))}
    </span>
  );
}

function rank(status: string): number {
  const i = targetStatusOrder.indexOf(status as (typeof targetStatusOrder)[number]);
  return i === -1 ? targetStatusOrder.length : i;
}
