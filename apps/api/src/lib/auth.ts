/**
 * Sessions built the Lucia way: the client holds a random token; the database holds its SHA-256 as the
 * session ID, so a database leak yields no usable sessions. Sliding expiry. Passwords and tokens are
 * made and checked by @opsconductor/identity (re-exported here).
 */
import { getCookie } from 'hono/cookie';
import { createMiddleware } from 'hono/factory';
import { hashToken } from '@opsconductor/identity';
import type { Role } from '@opsconductor/contracts/api';
import type { AppEnv, AuthUser } from '../context.ts';
import { ApiError } from './problem.ts';

export { digestsEqual, generateToken, hashPassword, hashToken, verifyPassword } from '@opsconductor/identity';

export const SESSION_COOKIE = 'oc_session';
const DAY = 24 * 3600 * 1000;

/** Resolves the session from `Authorization: Bearer` or the session cookie; extends it when half-used. */
export const authenticate = createMiddleware<AppEnv>(async (c, next) => {
  const { db, config } = c.var.deps;
  const header = c.req.header('authorization');
  const bearer = header?.match(/^Bearer\s+([A-Za-z0-9_-]{16,128})$/)?.[1];
  const token = bearer ?? getCookie(c, SESSION_COOKIE);
  if (!token || !/^[a-z0-9]{16,128}$/.test(token)) throw new ApiError(401, 'unauthenticated');
  const id = hashToken(token);
  const session = await db.prisma.session.findUnique({ where: { id }, include: { user: true } });
  if (!session || session.user.disabledAt) throw new ApiError(401, 'unauthenticated');
  const now = Date.now();
  if (session.expiresAt.getTime() <= now) {
    await db.prisma.session.delete({ where: { id } }).catch(() => {});
    throw new ApiError(401, 'unauthenticated', 'The session has expired.');
  }
  const ttl = config.sessionTtlDays * DAY;
  if (session.expiresAt.getTime() - now < ttl / 2) {
    // updateMany: the session may have ended meanwhile (a password change, a parallel sign-out).
    await db.prisma.session.updateMany({ where: { id }, data: { expiresAt: new Date(now + ttl) } });
  }
  const authMethod = bearer ? 'bearer' : 'cookie';
  // Cookies ride along on cross-site requests; bearer tokens do not. Cookie-authenticated mutations
  // must come from an allowed origin (SameSite=Lax already blocks most of them).
  if (authMethod === 'cookie' && !['GET', 'HEAD', 'OPTIONS'].includes(c.req.method)) {
    const origin = c.req.header('origin');
    const self = new URL(c.req.url).origin;
    if (!origin || (origin !== self && !config.webOrigins.includes(origin))) throw new ApiError(403, 'csrf_rejected');
  }
  const u = session.user;
  c.set('user', { id: u.id, email: u.email, name: u.name, role: u.role } satisfies AuthUser);
  c.set('sessionId', id);
  c.set('authMethod', authMethod);
  await next();
});

const rank: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };
/** Allows the request when the user's role is at least `min` (viewer < operator < admin). */
export const requireRole = (min: Role) =>
  createMiddleware<AppEnv>(async (c, next) => {
    if (rank[c.var.user.role] < rank[min]) throw new ApiError(403, 'forbidden', `This needs the ${min} role.`);
    await next();
  });

export function newSessionExpiry(ttlDays: number): Date {
  return new Date(Date.now() + ttlDays * DAY);
}
