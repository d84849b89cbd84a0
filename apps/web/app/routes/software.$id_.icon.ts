/** Resource route: GET /software/:id/icon — the package's icon from the API, for <img> tags on the console's own origin. */
import type { LoaderFunctionArgs } from '@remix-run/node';
import { env } from '~/lib/env.server';
import { getSessionToken } from '~/lib/session.server';
import { idParam } from '~/lib/software.server';

const ICON_TYPES = new Set(['image/png', 'image/jpeg', 'image/webp']);

export async function loader({ request, params }: LoaderFunctionArgs) {
  const id = idParam(params, 'Package');
  const token = await getSessionToken(request);
  if (!token) return new Response(null, { status: 401 });
  const res = await fetch(`${env.apiUrl.replace(/\/+$/, '')}/api/v1/software/packages/${id}/icon`, {
    headers: { Authorization: `Bearer ${token}` },
    signal: AbortSignal.any([request.signal, AbortSignal.timeout(env.apiTimeoutMs)]),
  });
  const type = res.headers.get('content-type') ?? '';
  if (!res.ok || !ICON_TYPES.has(type)) {
    await res.body?.cancel();
    return new Response(null, { status: res.ok ? 502 : res.status });
  }
  return new Response(res.body, {
    headers: {
      'Content-Type': type,
      'Cache-Control': 'private, max-age=300',
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': "default-src 'none'",
    },
  });
}
