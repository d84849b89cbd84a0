/** Device authentication: the bearer device secret, compared by SHA-256 digest in constant time. */
import { createMiddleware } from 'hono/factory';
import type { AppEnv, AuthDevice } from '../context.ts';
import { digestsEqual, hashToken } from './auth.ts';
import { ApiError } from './problem.ts';

// Agents call several times a second while streaming output: remember recent lookups briefly.
const CACHE_MS = 30_000;
const cache = new Map<string, { device: AuthDevice; until: number }>();

export const authenticateDevice = createMiddleware<AppEnv>(async (c, next) => {
  const secret = c.req.header('authorization')?.match(/^Bearer\s+([A-Za-z0-9_-]{43})$/)?.[1];
  if (!secret) throw new ApiError(401, 'device_unauthenticated');
  const digest = hashToken(secret);
  const now = Date.now();
  let device = cache.get(digest);
  if (!device || device.until < now) {
    const row = await c.var.deps.db.prisma.device.findUnique({ where: { secretHash: digest }, select: { id: true, hostname: true, secretHash: true } });
    if (!row || !digestsEqual(row.secretHash, digest)) throw new ApiError(401, 'device_unauthenticated');
    device = { device: { id: row.id, hostname: row.hostname }, until: now + CACHE_MS };
    if (cache.size > 50_000) cache.clear();
    cache.set(digest, device);
  }
  c.set('device', device.device);
  await next();
});
