/**
 * The browser session is a signed, httpOnly cookie holding the API session token; the console
 * keeps no session state of its own.
 */
import { createCookie } from '@remix-run/node';
import { env } from './env.server';

const MAX_TOKEN_LENGTH = 4096;

export const sessionCookie = createCookie('oc_session', {
  httpOnly: true,
  sameSite: 'lax',
  path: '/',
  secrets: [env.sessionSecret],
});

/** `secure` follows the request's scheme (behind a proxy, TRUST_PROXY makes it the browser's). */
function isHttps(request: Request): boolean {
  return new URL(request.url).protocol === 'https:';
}

export async function getSessionToken(request: Request): Promise<string | null> {
  const value: unknown = await sessionCookie.parse(request.headers.get('Cookie'));
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_TOKEN_LENGTH ? value : null;
}

/** A Set-Cookie value storing `token` until `expiresAt` (the API session's own expiry). */
export async function commitSession(request: Request, token: string, expiresAt: string): Promise<string> {
  const expiresMs = Date.parse(expiresAt);
  const maxAge = Number.isFinite(expiresMs) ? Math.max(0, Math.floor((expiresMs - Date.now()) / 1000)) : undefined;
  return sessionCookie.serialize(token, { secure: isHttps(request), ...(maxAge === undefined ? {} : { maxAge }) });
}

export async function destroySession(request: Request): Promise<string> {
  return sessionCookie.serialize('', { secure: isHttps(request), maxAge: 0, expires: new Date(0) });
}
