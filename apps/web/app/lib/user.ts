import { useRouteLoaderData } from '@remix-run/react';
import type { Role, User } from '@opsconductor/contracts/api';
import type { loader as rootLoader } from '~/root';

export function useOptionalUser(): User | null {
  return useRouteLoaderData<typeof rootLoader>('root')?.user ?? null;
}

/** The signed-in user; only for pages whose loader already required a session. */
export function useUser(): User {
  const user = useOptionalUser();
  if (!user) throw new Error('useUser() used outside a signed-in page');
  return user;
}

export const canRunCommands = (role: Role | undefined) => role === 'admin' || role === 'operator';
export const isAdmin = (role: Role | undefined) => role === 'admin';
