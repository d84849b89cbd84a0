/**
 * Resource route: one page of a large run's targets (`/runs/:id/targets?status=…&search=…&after=…`, the API's
 * GET /job-runs/{id}/targets) as JSON, for the run page's Devices table to page, filter and search without holding
 * every target. Never redirects: a missing session is a 401 JSON answer.
 */
import type { LoaderFunctionArgs } from '@remix-run/node';
import { deviceRunStatus, targetsCursor, uuid, type JobRunTargetPage } from '@opsconductor/contracts/api';
import { ApiContractError, ApiError, ApiUnreachableError, publicApi } from '~/lib/api.server';
import { TARGETS_PAGE_SIZE } from '~/lib/run-targets';
import { getSessionToken } from '~/lib/session.server';

export type TargetPageResponse = { ok: true; page: JobRunTargetPage } | { ok: false; message: string };

const json = (body: TargetPageResponse, status = 200) => Response.json(body, { status, headers: { 'Cache-Control': 'no-store' } });

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const id = uuid.safeParse(params.id);
  if (!id.success) return json({ ok: false, message: 'Not found' }, 404);
  const token = await getSessionToken(request);
  if (!token) return json({ ok: false, message: 'Your session has ended — sign in again.' }, 401);
  const query = new URL(request.url).searchParams;
  const status = deviceRunStatus.safeParse(query.get('status'));
  const after = targetsCursor.safeParse(query.get('after'));
  // The API bounds and checks the search text itself (400 with a message).
  const search = query.get('search')?.trim() || undefined;
  try {
    const page = await publicApi(request, context, token).get('/job-runs/{id}/targets', {
      params: {
        path: { id: id.data },
        query: {
          limit: TARGETS_PAGE_SIZE,
          ...(status.success ? { status: status.data } : {}),
          ...(after.success ? { after: after.data } : {}),
          ...(search ? { search } : {}),
        },
      },
    });
    return json({ ok: true, page });
  } catch (error) {
    if (error instanceof ApiError)
      return json({ ok: false, message: error.errors[0]?.message ?? error.detail ?? error.title }, error.status);
    if (error instanceof ApiUnreachableError) return json({ ok: false, message: 'The API is unreachable.' }, 503);
    if (error instanceof ApiContractError) return json({ ok: false, message: 'Unexpected response from the API.' }, 502);
    if (request.signal.aborted) return json({ ok: false, message: 'Client closed request' }, 499);
    throw error;
  }
}
