import type { LinksFunction, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import {
  Form,
  Link,
  Links,
  Meta,
  NavLink,
  Outlet,
  Scripts,
  ScrollRestoration,
  isRouteErrorResponse,
  useLocation,
  useNavigation,
  useRouteError,
  useRouteLoaderData,
} from '@remix-run/react';
import type { ReactNode } from 'react';
import type { User } from '@opsconductor/contracts/api';
import { ApiContractError, ApiError, ApiUnreachableError, publicApi, type RouteErrorData } from '~/lib/api.server';
import { getSessionToken } from '~/lib/session.server';
import { buttonClass, cx } from '~/components/ui';
import { useOptionalUser } from '~/lib/user';
import stylesheet from '~/tailwind.css?url';

export const links: LinksFunction = () => [
  { rel: 'stylesheet', href: stylesheet },
  { rel: 'icon', href: '/favicon.svg', type: 'image/svg+xml' },
];

export const meta: MetaFunction = () => [{ title: 'OpsConductor' }];

/**
 * The signed-in user, or null, and how many runs wait for approval (the navigation's badge; null when that could
 * not be read). Never redirects (the login page renders under this loader too); routes that need a session call
 * requireApi(), which does.
 */
export async function loader({ request, context }: LoaderFunctionArgs) {
  const token = await getSessionToken(request);
  if (!token) return { user: null, apiUnreachable: false, awaitingApproval: null, activeAlerts: null };
  const api = publicApi(request, context, token);
  // One list call for its total: cheap, and never a reason for the page to fail.
  const awaitingApproval = api
    .get('/job-runs', { params: { query: { status: 'awaiting_approval', pageSize: 1 } } })
    .then((r) => r.total)
    .catch(() => null);
  const activeAlerts = api
    .get('/alerts', { params: { query: { active: 'true', pageSize: 1 } } })
    .then((r) => r.total)
    .catch(() => null);
  try {
    const user = await api.get('/auth/me');
    return { user, apiUnreachable: false, awaitingApproval: await awaitingApproval, activeAlerts: await activeAlerts };
  } catch (error) {
    await Promise.all([awaitingApproval, activeAlerts]);
    if (error instanceof ApiUnreachableError) return { user: null, apiUnreachable: true, awaitingApproval: null, activeAlerts: null };
    if (error instanceof ApiError || error instanceof ApiContractError)
      return { user: null, apiUnreachable: false, awaitingApproval: null, activeAlerts: null };
    throw error;
  }
}

const roleTone: Record<User['role'], string> = {
  admin: 'bg-violet-50 text-violet-700 ring-violet-600/20',
  operator: 'bg-sky-50 text-sky-700 ring-sky-600/20',
  viewer: 'bg-zinc-100 text-zinc-600 ring-zinc-500/20',
};

function TopNav({ user, awaitingApproval, activeAlerts }: { user: User; awaitingApproval: number | null; activeAlerts: number | null }) {
  const { pathname } = useLocation();
  const items: Array<{
    to: string;
    label: string;
    show: boolean;
    badge?: { count: number | null; title: (n: number) => string; testId: string; tone: string };
    also?: string;
    end?: boolean;
  }> = [
    // The fleet dashboard (routes/_index.tsx): lit on / only.
    { to: '/', label: 'Fleet', show: true, end: true },
    { to: '/devices', label: 'Devices', show: true },
    { to: '/groups', label: 'Groups', show: true },
    { to: '/jobs', label: 'Jobs', show: true },
    { to: '/schedules', label: 'Schedules', show: true },
    { to: '/runs', label: 'Runs', show: true },
    // The catalog, the depot and its sources (the Software section's own navigation): lit on /depot too.
    { to: '/software', label: 'Software', show: true, also: '/depot' },
    { to: '/deployments', label: 'Deployments', show: true },
    // Targets for everyone; its Credentials section is for admins only (agentless.tsx).
    { to: '/agentless', label: 'Agentless', show: true },
    {
      to: '/alerts',
      label: 'Alerts',
      show: true,
      badge: {
        count: activeAlerts,
        title: (n) => `${n} active ${n === 1 ? 'alert' : 'alerts'}`,
        testId: 'alerts-count',
        tone: 'bg-red-600',
      },
    },
    {
      to: '/approvals',
      label: 'Approvals',
      show: true,
      badge: {
        count: awaitingApproval,
        title: (n) => `${n} ${n === 1 ? 'run waits' : 'runs wait'} for approval`,
        testId: 'approvals-count',
        tone: 'bg-amber-500',
      },
    },
    { to: '/enrollment', label: 'Enrollment', show: user.role === 'admin' },
    { to: '/users', label: 'Users', show: user.role === 'admin' },
    { to: '/audit', label: 'Audit', show: user.role === 'admin' },
    { to: '/settings/custom-fields', label: 'Settings', show: user.role === 'admin' },
  ];
  return (
    <header className="sticky top-0 z-20 border-b border-zinc-200 bg-white/95 backdrop-blur">
      <div className="mx-auto flex h-12 max-w-[1440px] items-center gap-6 px-6">
        {/* Home: the fleet dashboard (routes/_index.tsx). */}
        <Link to="/" className="flex items-center gap-2 text-[13px] font-semibold tracking-tight text-zinc-900">
          <img src="/favicon.svg" alt="" className="size-5" />
          OpsConductor
        </Link>
        <nav aria-label="Main" className="flex items-center gap-1">
          {items
            .filter((i) => i.show)
            .map((i) => (
              <NavLink
                key={i.to}
                to={i.to}
                end={i.end}
                prefetch="intent"
                className={({ isActive }) =>
                  cx(
                    'rounded-md px-2.5 py-1.5 text-[13px] font-medium transition-colors',
                    isActive || (i.also && (pathname === i.also || pathname.startsWith(`${i.also}/`)))
                      ? 'bg-zinc-100 text-zinc-900'
                      : 'text-zinc-500 hover:text-zinc-900',
                  )
                }
              >
                {i.label}
                {i.badge?.count ? (
                  <span
                    className={cx(
                      'ml-1.5 inline-flex min-w-4 items-center justify-center rounded-full px-1 text-[10px] leading-4 font-semibold text-white tabular-nums',
                      i.badge.tone,
                    )}
                    title={i.badge.title(i.badge.count)}
                    data-testid={i.badge.testId}
                  >
                    {i.badge.count > 99 ? '99+' : i.badge.count}
                  </span>
                ) : null}
              </NavLink>
            ))}
        </nav>
        <div className="ml-auto flex items-center gap-3">
          <div className="hidden text-right leading-tight sm:block">
            <p className="text-[13px] font-medium text-zinc-900" data-testid="current-user">
              {user.name}
            </p>
            <p className="text-[11px] text-zinc-500">{user.email}</p>
          </div>
          <span
            data-testid="current-role"
            className={cx('rounded-full px-2 py-0.5 text-[11px] font-medium capitalize ring-1 ring-inset', roleTone[user.role])}
          >
            {user.role}
          </span>
          <Link to="/account/password" className={buttonClass('ghost', 'sm')}>
            Change password
          </Link>
          <Form method="post" action="/logout">
            <button type="submit" className={buttonClass('ghost', 'sm')}>
              Sign out
            </button>
          </Form>
        </div>
      </div>
    </header>
  );
}

function NavigationProgress() {
  const navigation = useNavigation();
  const busy = navigation.state !== 'idle';
  return (
    <div
      aria-hidden
      className={cx(
        'fixed inset-x-0 top-0 z-30 h-0.5 origin-left bg-zinc-900 transition-transform duration-500',
        busy ? 'scale-x-75' : 'scale-x-0 duration-0',
      )}
    />
  );
}

export function Layout({ children }: { children: ReactNode }) {
  const data = useRouteLoaderData<typeof loader>('root');
  const user = data?.user ?? null;
  return (
    <html lang="en" className="h-full">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <Meta />
        <Links />
      </head>
      <body className="min-h-full bg-zinc-50 font-sans text-zinc-900 antialiased">
        <NavigationProgress />
        {user ? <TopNav user={user} awaitingApproval={data?.awaitingApproval ?? null} activeAlerts={data?.activeAlerts ?? null} /> : null}
        {user ? <main className="mx-auto max-w-[1440px] px-6 py-6">{children}</main> : <main>{children}</main>}
        <ScrollRestoration />
        <Scripts />
      </body>
    </html>
  );
}

export default function App() {
  return <Outlet />;
}

export function ErrorBoundary() {
  const error = useRouteError();
  const user = useOptionalUser();
  let status = 500;
  let title = 'Something went wrong';
  let detail: string | undefined = 'An unexpected error occurred. Try again, and check the console server logs if it persists.';
  if (isRouteErrorResponse(error)) {
    status = error.status;
    const body = error.data as Partial<RouteErrorData> | string | null;
    if (body && typeof body === 'object' && body.title) {
      title = body.title;
      detail = body.detail;
    } else if (status === 404) {
      title = 'Page not found';
      detail = typeof body === 'string' && body ? body : "There's nothing at this address.";
    } else {
      title = error.statusText || title;
      detail = typeof body === 'string' ? body : undefined;
    }
  } else if (error instanceof Error && import.meta.env.DEV) {
    detail = error.message;
  }
  return (
    <div className={cx('mx-auto max-w-lg', user ? 'py-10' : 'px-6 py-24')}>
      <div className="rounded-lg border border-zinc-200 bg-white p-6 shadow-xs" data-testid="error-page">
        <p className="text-xs font-medium text-zinc-500 tabular-nums">Error {status}</p>
        <h1 className="mt-1 text-base font-semibold text-zinc-900">{title}</h1>
        {detail ? <p className="mt-2 text-[13px] text-zinc-600">{detail}</p> : null}
        <div className="mt-5 flex gap-2">
          <a href="" className={buttonClass('primary')}>
            Try again
          </a>
          <Link to={user ? '/devices' : '/login'} className={buttonClass('secondary')} reloadDocument>
            {user ? 'Go to devices' : 'Go to sign in'}
          </Link>
        </div>
      </div>
    </div>
  );
}
