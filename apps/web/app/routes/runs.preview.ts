/**
 * Resource route for the run form's live target preview: POST { selection } (JSON, a JobRunTargetSelection) → the
 * API's POST /job-runs/preview, answered as JSON the target picker understands (`TargetPreviewResponse`). Never
 * redirects: a browser fetch cannot follow a sign-in redirect usefully, so a missing session is a 401 JSON answer.
 */
import type { ActionFunctionArgs } from '@remix-run/node';
import { z } from 'zod';
import { jobRunTargetSelection } from '@opsconductor/contracts/api';
import { ApiContractError, ApiError, ApiUnreachableError, publicApi } from '~/lib/api.server';
import { getSessionToken } from '~/lib/session.server';
import type { TargetPreviewResponse } from '~/components/run-targets';

const MAX_BODY_BYTES = 512 * 1024;
const SAMPLE_SIZE = 10;

const json = (body: TargetPreviewResponse, status = 200) => Response.json(body, { status, headers: { 'Cache-Control': 'no-store' } });
const failure = (status: number, message: string) => json({ ok: false, message }, status);

const previewBody = z.object({ selection: jobRunTargetSelection });

export async function action({ request, context }: ActionFunctionArgs) {
  if (request.method !== 'POST') return failure(405, 'Use POST');
  if (!(request.headers.get('Content-Type') ?? '').includes('application/json')) return failure(415, 'Send JSON');
  const token = await getSessionToken(request);
  if (!token) return failure(401, 'Your session has ended — sign in again.');
  const text = await request.text();
  if (text.length > MAX_BODY_BYTES) return failure(413, 'The selection is too large to preview.');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return failure(400, 'Invalid JSON');
  }
  const parsed = previewBody.safeParse(body);
  if (!parsed.success) return failure(400, 'Send { selection } with devices, groups, tags or a filter.');
  try {
    const preview = await publicApi(request, context, token).post('/job-runs/preview', {
      body: { ...parsed.data.selection, sampleSize: SAMPLE_SIZE },
    });
    return json({ ok: true, ...preview });
  } catch (error) {
    if (error instanceof ApiError) {
      if (error.status === 401) return failure(401, 'Your session has ended — sign in again.');
      const first = error.errors[0];
      return failure(error.status, first ? first.message : (error.detail ?? error.title));
    }
    if (error instanceof ApiUnreachableError) return failure(503, 'The API is unreachable.');
    if (error instanceof ApiContractError) return failure(502, 'Unexpected response from the API.');
    throw error;
  }
}

export function loader() {
  return failure(405, 'Use POST');
}
