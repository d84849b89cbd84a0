import { createRoute } from '@hono/zod-openapi';
import { deleteCookie, setCookie } from 'hono/cookie';
import type { Context } from 'hono';
import { changePasswordRequest, loginRequest, loginResponse, user as userDto } from '@opsconductor/contracts/api';
import { systemActor, userActor } from '@opsconductor/unit-of-work';
import type { AppEnv } from '../context.ts';
import { createRouter } from '../lib/router.ts';
import { authenticate, generateToken, hashToken, newSessionExpiry, SESSION_COOKIE, verifyPassword } from '../lib/auth.ts';
import { audit, clientIp, requestOrigin } from '../lib/audit.ts';
import type { BlockSet } from '../lib/login-throttle.ts';
import { ApiError, problemResponses, tooManyAttemptsResponse } from '../lib/problem.ts';
import { toUserDto } from './users.ts';

/** Audits the blocks a failed password check started. */
async function auditBlocks(c: Context<AppEnv>, blocks: BlockSet[]) {
  for (const block of blocks) await audit(c, { action: 'auth.throttled', details: { ...block }, actor: systemActor('login throttle') });
}

const login = createRoute({
  method: 'post',
  path: '/auth/login',
  operationId: 'login',
  tags: ['auth'],
  summary: 'Sign in with email and password',
  security: [],
  description: 'Returns a session token (also set as the `oc_session` cookie). Send it as `Authorization: Bearer <token>`.',
  request: { body: { content: { 'application/json': { schema: loginRequest } }, required: true } },
  responses: {
    200: { description: 'Signed in', content: { 'application/json': { schema: loginResponse } } },
    ...problemResponses,
    ...tooManyAttemptsResponse,
  },
});
const changePassword = createRoute({
  method: 'post',
  path: '/auth/password',
  operationId: 'changeOwnPassword',
  tags: ['auth'],
  summary: 'Change your own password',
  security: [{ bearerAuth: [] }],
  description:
    'Every signed-in user, any role. Needs the current password (400 `invalid_current_password`, throttled like sign-in); ' +
    'the new one must meet the password policy (400 `weak_password`). Ends your other sessions; this one stays signed in.',
  middleware: [authenticate],
  request: { body: { content: { 'application/json': { schema: changePasswordRequest } }, required: true } },
  responses: { 204: { description: 'Changed' }, ...problemResponses, ...tooManyAttemptsResponse },
});
const logout = createRoute({
  method: 'post',
  path: '/auth/logout',
  operationId: 'logout',
  tags: ['auth'],
  summary: 'End the current session',
  security: [{ bearerAuth: [] }],
  middleware: [authenticate],
  responses: { 204: { description: 'Signed out' }, ...problemResponses },
});
const me = createRoute({
  method: 'get',
  path: '/auth/me',
  operationId: 'getCurrentUser',
  tags: ['auth'],
  summary: 'The signed-in user',
  security: [{ bearerAuth: [] }],
  middleware: [authenticate],
  responses: { 200: { description: 'User', content: { 'application/json': { schema: userDto } } }, ...problemResponses },
});

export const authRoutes = createRouter()
  .openapi(login, async (c) => {
    const { email, password } = c.req.valid('json');
    const { db, config, loginThrottle } = c.var.deps;
    // Unknown emails take the same path (throttle, hash check, failure count), so neither the answer nor
    // its timing tells which accounts exist. While blocked, not even the right password gets in. The
    // attempt counts as a failure until it succeeds, so parallel guesses cannot slip past the limit.
    const subject = { account: email, address: clientIp(c) };
    const blocks = await loginThrottle.begin(subject);
    const u = await db.prisma.user.findUnique({ where: { email } });
    const ok = await verifyPassword(u?.passwordHash ?? null, password);
    if (!u || !ok || u.disabledAt) {
      await audit(c, {
        action: 'auth.login_failed',
        targetType: 'user',
        targetId: u?.id,
        details: { email },
        actor: { type: 'user', id: null, name: email },
      });
      await auditBlocks(c, blocks);
      throw new ApiError(401, 'invalid_credentials');
    }
    await loginThrottle.succeeded(subject);
    const token = generateToken();
    const expiresAt = newSessionExpiry(config.sessionTtlDays);
    await c.var.deps.services.users.startSession(requestOrigin(c, userActor(u)), { id: hashToken(token), userId: u.id, expiresAt });
    setCookie(c, SESSION_COOKIE, token, { httpOnly: true, sameSite: 'Lax', secure: config.secureCookies, path: '/', expires: expiresAt });
    return c.json({ token, expiresAt: expiresAt.toISOString(), user: toUserDto(u) }, 200);
  })
  .openapi(logout, async (c) => {
    await c.var.deps.services.users.endSession(requestOrigin(c), { id: c.var.sessionId, userId: c.var.user.id });
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    return c.body(null, 204);
  })
  .openapi(changePassword, async (c) => {
    const { currentPassword, newPassword } = c.req.valid('json');
    const { prisma } = c.var.deps.db;
    const subject = { account: c.var.user.email, address: clientIp(c) };
    // A stolen session must not be able to guess the current password any faster than the sign-in form.
    const blocks = await c.var.deps.loginThrottle.begin(subject);
    const u = await prisma.user.findUniqueOrThrow({ where: { id: c.var.user.id } });
    if (!(await verifyPassword(u.passwordHash, currentPassword))) {
      await audit(c, { action: 'auth.password_change_failed', targetType: 'user', targetId: u.id });
      await auditBlocks(c, blocks);
      throw new ApiError(400, 'invalid_current_password', undefined, [
        { path: 'currentPassword', message: 'This is not your current password' },
      ]);
    }
    await c.var.deps.loginThrottle.succeeded(subject);
    // Whoever else holds a session of this account (a stolen one, say) is signed out; this one stays.
    await c.var.deps.services.users.changeOwnPassword(requestOrigin(c), {
      userId: u.id,
      email: u.email,
      keepSessionId: c.var.sessionId,
      currentPassword,
      newPassword,
    });
    return c.body(null, 204);
  })
  .openapi(me, async (c) => {
    const u = await c.var.deps.db.prisma.user.findUniqueOrThrow({ where: { id: c.var.user.id } });
    return c.json(toUserDto(u), 200);
  });
