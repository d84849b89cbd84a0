/**
 * Resource route: one device's stdout or stderr in a run as a text file (`/runs/:id/output?device=…&stream=stdout`,
 * `&step=N` for one step of a job's run), read page by page from the API's GET /job-runs/{id}/output — everything the
 * API keeps (the newest 1 MiB per stream and device), not only what the page holds.
 */
import { data, type LoaderFunctionArgs } from '@remix-run/node';
import { uuid } from '@opsconductor/contracts/api';
import { requireApi, type RouteErrorData } from '~/lib/api.server';

const MAX_PAGES = 200;

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const sp = new URL(request.url).searchParams;
  const id = uuid.safeParse(params.id);
  const deviceId = uuid.safeParse(sp.get('device'));
  const stream = sp.get('stream') === 'stderr' ? 'stderr' : 'stdout';
  const stepText = sp.get('step');
  // Steps are 0-based; a job has at most 50.
  const step = stepText !== null && /^\d{1,2}$/.test(stepText) && Number(stepText) < 50 ? Number(stepText) : undefined;
  if (!id.success || !deviceId.success) throw data<RouteErrorData>({ title: 'Output not found' }, { status: 404 });
  const api = await requireApi(request, context);
  const parts: string[] = [];
  let after: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const result = await api.get('/job-runs/{id}/output', {
      params: { path: { id: id.data }, query: { deviceId: deviceId.data, step, after, limit: 5000 } },
    });
    for (const chunk of result.items) if (chunk.stream === stream) parts.push(chunk.data);
    const last = result.items.at(-1);
    if (!result.nextCursor || !last) break;
    after = last.id;
  }
  const name = `run-${id.data.slice(0, 8)}-${deviceId.data.slice(0, 8)}${step === undefined ? '' : `-step${step + 1}`}-${stream}.txt`;
  return new Response(parts.join(''), {
    headers: {
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Disposition': `attachment; filename="${name}"`,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    },
  });
}
