/** Agentless layout: targets (everyone) and their credentials (admins) beside each other. */
import { NavLink, Outlet } from '@remix-run/react';
import { isAdmin, useOptionalUser } from '~/lib/user';
import { cx } from '~/components/ui';

export default function Agentless() {
  const user = useOptionalUser();
  const sections = [
    { to: '/agentless/targets', label: 'Targets', show: true },
    // Credentials are admin-only, reading included (the API refuses everyone else).
    { to: '/agentless/credentials', label: 'Credentials', show: isAdmin(user?.role) },
  ];
  return (
    <div className="grid items-start gap-6 md:grid-cols-[160px_minmax(0,1fr)]">
      <nav aria-label="Agentless" className="space-y-0.5">
        <p className="px-2.5 pb-1 text-[11px] font-semibold tracking-wide text-zinc-400 uppercase">Agentless</p>
        {sections
          .filter((s) => s.show)
          .map((s) => (
            <NavLink
              key={s.to}
              to={s.to}
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
