/** Pieces of the schedule pages: the paused badge, and a job's schedules as a compact list (the job page's panel). */
import { Link } from '@remix-run/react';
import type { Schema } from '~/lib/api.server';
import { specText } from '~/lib/schedule';
import { Badge } from './ui';

export function SchedulePausedBadge({ paused }: { paused: boolean }) {
  return paused ? (
    <Badge tone="amber" data-testid="schedule-paused" data-status="paused">
      Paused
    </Badge>
  ) : (
    <Badge tone="green" data-testid="schedule-paused" data-status="active">
      Active
    </Badge>
  );
}

/** A job's schedules: name, when in words, paused, the last error. */
export function ScheduleList({ items }: { items: Array<Schema<'JobSchedule'>> }) {
  return (
    <ul className="divide-y divide-zinc-100" data-testid="job-schedules">
      {items.map((s) => (
        <li key={s.id} className="space-y-0.5 px-4 py-2" data-testid="schedule-row" data-schedule-id={s.id}>
          <div className="flex items-center justify-between gap-2">
            <Link to={`/schedules/${s.id}`} className="truncate text-[13px] font-medium text-zinc-900 hover:underline">
              {s.name}
            </Link>
            <SchedulePausedBadge paused={s.paused} />
          </div>
          <p className="truncate font-mono text-[11px] text-zinc-500" data-testid="schedule-spec" title={specText(s.spec)}>
            {specText(s.spec)}
          </p>
          {s.lastError ? (
            <p className="truncate text-xs text-red-700" data-testid="schedule-last-error" title={s.lastError}>
              {s.lastError}
            </p>
          ) : null}
        </li>
      ))}
    </ul>
  );
}
