/** Page-level role checks: show "no permission" up front instead of failing on submit. */
import { data } from '@remix-run/node';
import type { Role } from '@opsconductor/contracts/api';
import type { ApiClient, RouteErrorData } from './api.server';

const rank: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** `what`: what the page changes, for the message a viewer gets ("change groups"). */
export async function requireRole(api: ApiClient, role: Role, what = 'change groups'): Promise<void> {
  const me = await api.get('/auth/me');
  if (rank[me.role] < rank[role]) {
    throw data<RouteErrorData>(
      {
        title: "You don't have permission",
        detail: role === 'admin' ? 'Only admins can open this page.' : `Viewers cannot ${what}. Ask an admin if you need access.`,
        code: 'forbidden',
      },
      { status: 403 },
    );
  }
}
