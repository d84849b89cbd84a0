/** Settings layout (admin): a sub-navigation beside the settings pages. */
import { NavLink, Outlet } from '@remix-run/react';
import { cx } from '~/components/ui';

const sections = [{ to: '/settings/custom-fields', label: 'Custom fields' }];

export default function Settings() {
  return (
    <div className="grid items-start gap-6 md:grid-cols-[160px_minmax(0,1fr)]">
      <nav aria-label="Settings" className="space-y-0.5">
        <p className="px-2.5 pb-1 text-[11px] font-semibold tracking-wide text-zinc-400 uppercase">Settings</p>
        {sections.map((s) => (
          <NavLink
            key={s.to}
            to={s.to}
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
