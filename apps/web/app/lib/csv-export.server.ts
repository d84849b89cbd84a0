/**
 * CSV downloads: the console streams the API's export through to the browser (which never holds the
 * API token), with the filters of the page the link was on.
 */
import { redirect, type AppLoadContext } from '@remix-run/node';
import { ApiContractError, ApiError, ApiUnreachableError, loginUrl, publicApi, type ApiClient } from './api.server';
import { getSessionToken } from './session.server';

const text = (status: number, body: string) =>
  new Response(body, { status, headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' } });

export async function csvDownload(
  request: Request,
  context: AppLoadContext,
  open: (api: ApiClient) => Promise<Response>,
): Promise<Response> {
  const token = await getSessionToken(request);
  if (!token) throw redirect(loginUrl(request));
  try {
    const upstream = await open(publicApi(request, context, token));
    return new Response(upstream.body, {
      headers: {
        'Content-Type': upstream.headers.get('Content-Type') ?? 'text/csv; charset=utf-8',
        'Content-Disposition': upstream.headers.get('Content-Disposition') ?? 'attachment; filename="export.csv"',
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff',
      },
    });
  } catch (error) {
    if (error instanceof ApiError) {
      if (error.status === 401) throw redirect(loginUrl(request));
      const fields = Object.entries(error.fieldErrors()).map(([f, m]) => `${f}: ${m}`);
      return text(error.status, [error.detail ?? error.title, ...fields].join('\n'));
    }
    if (error instanceof ApiUnreachableError) return text(503, 'The API is unreachable.');
    if (error instanceof ApiContractError) return text(502, 'Unexpected response from the API.');
    throw error;
  }
}
