/**
 * Resource route: POST /depot/upload?fileName=… with the file as the body (the upload dialog's XMLHttpRequest),
 * streamed through to the API's depot (lib/depot-upload.server.ts). Answers JSON: the artifact, or a problem.
 */
import type { ActionFunctionArgs } from '@remix-run/node';
import { forwardUpload } from '~/lib/depot-upload.server';
import { env } from '~/lib/env.server';
import { getSessionToken } from '~/lib/session.server';

export async function action({ request, context }: ActionFunctionArgs) {
  const token = await getSessionToken(request);
  if (!token) {
    await request.body?.cancel();
    return Response.json({ title: 'Sign in again', code: 'unauthenticated', detail: 'Your session has ended.' }, { status: 401 });
  }
  const ip = typeof context.clientIp === 'string' ? context.clientIp.replace(/^::ffff:/, '') : null;
  return forwardUpload(request, { apiUrl: env.apiUrl, token, forwardedFor: ip });
}
