import { redirect, type ActionFunctionArgs } from '@remix-run/node';
import { publicApi } from '~/lib/api.server';
import { destroySession, getSessionToken } from '~/lib/session.server';

/** Ends the API session (best effort: the cookie is cleared whatever the API says). */
export async function action({ request, context }: ActionFunctionArgs) {
  const token = await getSessionToken(request);
  if (token) {
    await publicApi(request, context, token)
      .post('/auth/logout')
      .catch((error: unknown) => console.warn(`[web] logout: ${error instanceof Error ? error.message : String(error)}`));
  }
  return redirect('/login', { headers: { 'Set-Cookie': await destroySession(request) } });
}

export const loader = () => redirect('/devices');
