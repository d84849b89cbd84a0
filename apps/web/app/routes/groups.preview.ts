/**
 * Resource route for the rule builder's live preview: POST { rule, limit } (JSON) → the API's
 * POST /groups/preview, answered as JSON the builder understands (`PreviewResponse`). Never redirects:
 * a browser fetch cannot follow a sign-in redirect usefully, so a missing session is a 401 JSON answer.
 */
import type { ActionFunctionArgs } from '@remix-run/node';
import { z } from 'zod';
import type { Rule } from '@opsconductor/contracts/rules';
import { ApiContractError, ApiError, ApiUnreachableError, publicApi } from '~/lib/api.server';
import { getSessionToken } from '~/lib/session.server';
import type { PreviewResponse } from '~/components/rule-builder';

const MAX_BODY_BYTES = 256 * 1024;

const json = (body: PreviewResponse, status = 200) => Response.json(body, { status, headers: { 'Cache-Control': 'no-store' } });
const failure = (status: number, message: string, errors: Array<{ path: string; message: string }> = []) =>
  json({ ok: false, message, errors }, status);

// Only the envelope is checked here: the API validates and type-checks the rule itself and reports
// problems by path (`rule_invalid`), which reads better than a local union-schema failure.
const previewBody = z.object({
  rule: z.record(z.string(), z.unknown()),
  limit: z.number().int().min(0).max(200).default(10),
});

export async function action({ request, context }: ActionFunctionArgs) {
  if (request.method !== 'POST') return failure(405, 'Use POST');
  if (!(request.headers.get('Content-Type') ?? '').includes('application/json')) return failure(415, 'Send JSON');
  const token = await getSessionToken(request);
  if (!token) return failure(401, 'Your session has ended — sign in again.');
  const text = await request.text();
  if (text.length > MAX_BODY_BYTES) return failure(413, 'The rule is too large to preview.');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return failure(400, 'Invalid JSON');
  }
  const parsed = previewBody.safeParse(body);
  if (!parsed.success) return failure(400, 'Send { rule, limit } with the rule as an object.');
  try {
    const preview = await publicApi(request, context, token).post('/groups/preview', {
      body: { rule: parsed.data.rule as Rule, limit: parsed.data.limit },
    });
    return json({ ok: true, ...preview });
  } catch (error) {
    if (error instanceof ApiError) {
      if (error.status === 401) return failure(401, 'Your session has ended — sign in again.');
      return failure(error.status, error.detail ?? error.title, error.errors);
    }
    if (error instanceof ApiUnreachableError) return failure(503, 'The API is unreachable.');
    if (error instanceof ApiContractError) return failure(502, 'Unexpected response from the API.');
    throw error;
  }
}

export function loader() {
  return failure(405, 'Use POST');
}
