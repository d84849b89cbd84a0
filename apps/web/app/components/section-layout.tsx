/** A section's layout: its own sub-navigation beside the page (Settings, Agentless). */
import { NavLink, Outlet } from '@remix-run/react';
import { cx } from './ui';

export function SectionLayout({
  title,
  sections,
}: {
  title: string;
  sections: ReadonlyArray<{ to: string; label: string; end?: boolean }>;
}) {
  return (
    <div className="grid items-start gap-6 md:grid-cols-[160px_minmax(0,1fr)]">
      <nav aria-label={title} className="space-y-0.5">
        <p className="px-2.5 pb-1 text-[11px] font-semibold tracking-wide text-zinc-400 uppercase">{title}</p>
        {sections.map((s) => (
          <NavLink
            key={s.to}
            to={s.to}
            end={s.end}
            prefetch="intent"
            className={({ isActive }) =>
              cx(
                'block rounded-md px-2.5 py-1.5 text-[13px] font-medium',
                isActive ? 'bg-zinc-100 text-zinc-900' : 'text-zinc-500 hover:text-zinc-900',
              )
            }
          >
            {s.label}
          </NavLink>
        ))}
      </nav>
      <div className="min-w-0">
        <Outlet />
      </div>
    </div>
  );
}
