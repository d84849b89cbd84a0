/**
 * Resource route: one device's steps in a job's run (`/runs/:id/steps?device=…`, the API's
 * GET /job-runs/{id}/devices/{deviceId}/steps) as JSON, for the run page to refresh a device's steps while it runs
 * (step changes do not all come as server-sent events). Never redirects: a missing session is a 401 JSON answer.
 */
import type { LoaderFunctionArgs } from '@remix-run/node';
import { uuid } from '@opsconductor/contracts/api';
import { ApiContractError, ApiError, ApiUnreachableError, publicApi, type Schema } from '~/lib/api.server';
import { getSessionToken } from '~/lib/session.server';

export type DeviceStepsResponse = { ok: true; steps: Schema<'JobRunDeviceSteps'> } | { ok: false; message: string };

const json = (body: DeviceStepsResponse, status = 200) => Response.json(body, { status, headers: { 'Cache-Control': 'no-store' } });

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const id = uuid.safeParse(params.id);
  const deviceId = uuid.safeParse(new URL(request.url).searchParams.get('device'));
  if (!id.success || !deviceId.success) return json({ ok: false, message: 'Not found' }, 404);
  const token = await getSessionToken(request);
  if (!token) return json({ ok: false, message: 'Your session has ended — sign in again.' }, 401);
  try {
    const steps = await publicApi(request, context, token).get('/job-runs/{id}/devices/{deviceId}/steps', {
      params: { path: { id: id.data, deviceId: deviceId.data } },
    });
    return json({ ok: true, steps });
  } catch (error) {
    if (error instanceof ApiError) return json({ ok: false, message: error.detail ?? error.title }, error.status);
    if (error instanceof ApiUnreachableError) return json({ ok: false, message: 'The API is unreachable.' }, 503);
    if (error instanceof ApiContractError) return json({ ok: false, message: 'Unexpected response from the API.' }, 502);
    if (request.signal.aborted) return json({ ok: false, message: 'Client closed request' }, 499);
    throw error;
  }
}
