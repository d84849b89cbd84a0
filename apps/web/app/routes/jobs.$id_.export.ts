/** GET /jobs/:id/export[?version=N][&format=yaml]: the definition as a file to keep in git (what import reads back). */
import type { LoaderFunctionArgs } from '@remix-run/node';
import { requireApi } from '~/lib/api.server';
import { exportFileName, jobIdParam, versionParam } from '~/lib/job-pages.server';

const fileHeaders = (contentType: string, fileName: string) => ({
  'Content-Type': contentType,
  'Content-Disposition': `attachment; filename="${fileName}"`,
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
});

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const id = jobIdParam(params);
  const search = new URL(request.url).searchParams;
  const version = versionParam(search.get('version')) ?? undefined;
  const api = await requireApi(request, context);
  if (search.get('format') === 'yaml') {
    // The API writes the YAML (schema comment, block literals): passed on as it is, under the API's file name.
    const res = await api.stream('/jobs/{id}/export', 'application/yaml', { params: { path: { id }, query: { version, format: 'yaml' } } });
    const fileName = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? 'job.job.yaml';
    return new Response(res.body, { headers: fileHeaders('application/yaml; charset=utf-8', fileName) });
  }
  const definition = await api.get('/jobs/{id}/export', { params: { path: { id }, query: { version } } });
  // The typed answer is either form; JSON was asked for, so a string is not what the API documents.
  if (typeof definition === 'string') throw new Response('Unexpected response from the API', { status: 502 });
  return new Response(`${JSON.stringify(definition, null, 2)}\n`, {
    headers: fileHeaders('application/json; charset=utf-8', exportFileName(definition.name)),
  });
}
