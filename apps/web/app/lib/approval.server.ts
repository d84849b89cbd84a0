/**
 * Approving or rejecting a run that waits for approval (four-eyes), from the approvals inbox and from the run page:
 * the posted form (`intent` approve|reject, an optional `comment`, on the inbox the `runId`), then the API's
 * POST /job-runs/{id}/approve|reject. Every refusal is shown next to the form it came from — also the 403 of one's
 * own run, which the usual client would turn into an error page.
 */
import { data, redirect, type AppLoadContext } from '@remix-run/node';
import { uuid } from '@opsconductor/contracts/api';
import { ApiContractError, ApiError, ApiUnreachableError, loginUrl, publicApi } from './api.server';
import { MAX_APPROVAL_COMMENT, decisionErrorText, type Decision, type DecisionResult } from './approval';
import { getSessionToken } from './session.server';

/** The run's ID from the inbox's form, or null when it is not one. */
export function postedRunId(form: FormData): string | null {
  const parsed = uuid.safeParse(form.get('runId'));
  return parsed.success ? parsed.data : null;
}

/**
 * Sends the decision posted for run `runId` and answers what the form shows: the run as it is now, or why the API
 * refused (the comment given comes back, so that nothing typed is lost).
 */
export async function decideRun(request: Request, context: AppLoadContext, runId: string, intent: Decision, form: FormData) {
  const raw = form.get('comment');
  const comment = typeof raw === 'string' ? raw.trim() : '';
  const failed = (status: number, error: string) => data<DecisionResult>({ ok: false, intent, runId, error, comment }, { status });
  if (comment.length > MAX_APPROVAL_COMMENT) return failed(400, `The comment is longer than ${MAX_APPROVAL_COMMENT} characters.`);
  const token = await getSessionToken(request);
  if (!token) throw redirect(loginUrl(request));
  const api = publicApi(request, context, token);
  const path = intent === 'approve' ? '/job-runs/{id}/approve' : '/job-runs/{id}/reject';
  try {
    const run = await api.post(path, { params: { path: { id: runId } }, body: comment ? { comment } : {} });
    return data<DecisionResult>({
      ok: true,
      intent,
      runId,
      run: { status: run.status, approval: run.approval, jobName: run.job?.name ?? null },
    });
  } catch (error) {
    if (error instanceof ApiError) {
      if (error.status === 401) throw redirect(loginUrl(request));
      if (error.status === 404) return failed(404, 'This run no longer exists.');
      return failed(error.status, decisionErrorText(error.code, error.detail ?? error.title));
    }
    if (error instanceof ApiUnreachableError) return failed(503, 'The API is unreachable: nothing was decided. Try again.');
    if (error instanceof ApiContractError) return failed(502, 'Unexpected response from the API: reload the page to see the run.');
    throw error;
  }
}
