/** GET /jobs/:id/export[?version=N]: the definition as a file to keep in git (what import reads back). */
import type { LoaderFunctionArgs } from '@remix-run/node';
import { requireApi } from '~/lib/api.server';
import { exportFileName, jobIdParam, versionParam } from '~/lib/job-pages.server';

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const id = jobIdParam(params);
  const version = versionParam(new URL(request.url).searchParams.get('version'));
  const api = await requireApi(request, context);
  const definition = await api.get('/jobs/{id}/export', { params: { path: { id }, query: { version: version ?? undefined } } });
  return new Response(`${JSON.stringify(definition, null, 2)}\n`, {
    headers: {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Disposition': `attachment; filename="${exportFileName(definition.name)}"`,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    },
  });
}
