import { createRoute } from '@hono/zod-openapi';
import { deleteCookie, setCookie } from 'hono/cookie';
import { loginRequest, loginResponse, user as userDto } from '@opsconductor/contracts/api';
import { createRouter } from '../lib/router.ts';
import { authenticate, generateToken, hashToken, LoginThrottle, newSessionExpiry, SESSION_COOKIE, verifyPassword } from '../lib/auth.ts';
import { audit, clientIp } from '../lib/audit.ts';
import { ApiError, documentedProblem, problemResponses } from '../lib/problem.ts';
import { toUserDto } from './users.ts';

const throttle = new LoginThrottle();

const login = createRoute({
  method: 'post', path: '/auth/login', tags: ['auth'], summary: 'Sign in with email and password',
  description: 'Returns a session token (also set as the `oc_session` cookie). Send it as `Authorization: Bearer <token>`.',
  request: { body: { content: { 'application/json': { schema: loginRequest } }, required: true } },
  responses: { 200: { description: 'Signed in', content: { 'application/json': { schema: loginResponse } } }, 429: documentedProblem('Too many failed attempts'), ...problemResponses },
});
const logout = createRoute({
  method: 'post', path: '/auth/logout', tags: ['auth'], summary: 'End the current session', security: [{ bearerAuth: [] }],
  middleware: [authenticate],
  responses: { 204: { description: 'Signed out' }, ...problemResponses },
});
const me = createRoute({
  method: 'get', path: '/auth/me', tags: ['auth'], summary: 'The signed-in user', security: [{ bearerAuth: [] }],
  middleware: [authenticate],
  responses: { 200: { description: 'User', content: { 'application/json': { schema: userDto } } }, ...problemResponses },
});

export const authRoutes = createRouter()
  .openapi(login, async (c) => {
    const { email, password } = c.req.valid('json');
    const { db, config } = c.var.deps;
    const key = `${clientIp(c) ?? '?'}|${email}`;
    throttle.check(key);
    const u = await db.prisma.user.findUnique({ where: { email } });
    const ok = await verifyPassword(u?.passwordHash ?? null, password);
    if (!u || !ok || u.disabledAt) {
      throttle.fail(key);
      await audit(c, { action: 'auth.login_failed', targetType: 'user', targetId: u?.id, details: { email }, actor: { type: 'user', id: null, name: email } });
      throw new ApiError(401, 'invalid_credentials');
    }
    throttle.succeed(key);
    const token = generateToken();
    const expiresAt = newSessionExpiry(config.sessionTtlDays);
    await db.prisma.session.create({
      data: { id: hashToken(token), userId: u.id, expiresAt, ipAddress: clientIp(c), userAgent: c.req.header('user-agent')?.slice(0, 500) ?? null },
    });
    setCookie(c, SESSION_COOKIE, token, { httpOnly: true, sameSite: 'Lax', secure: config.secureCookies, path: '/', expires: expiresAt });
    await audit(c, { action: 'auth.login', targetType: 'user', targetId: u.id, actor: { type: 'user', id: u.id, name: u.email } });
    return c.json({ token, expiresAt: expiresAt.toISOString(), user: toUserDto(u) }, 200);
  })
  .openapi(logout, async (c) => {
    await c.var.deps.db.prisma.session.deleteMany({ where: { id: c.var.sessionId } });
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    await audit(c, { action: 'auth.logout', targetType: 'user', targetId: c.var.user.id });
    return c.body(null, 204);
  })
  .openapi(me, async (c) => {
    const u = await c.var.deps.db.prisma.user.findUniqueOrThrow({ where: { id: c.var.user.id } });
    return c.json(toUserDto(u), 200);
  });

