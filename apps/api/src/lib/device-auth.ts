/**
 * Device authentication: the bearer device secret, compared by SHA-256 digest in constant time.
 *
 * Agents call several times a second while streaming output and every 25 s to poll, so lookups are
 * cached (longer than a poll cycle: an idle poll must not cost a lookup). The cache never outlives a
 * credential: a trigger on `devices` NOTIFYs `oc_device_credentials` when a secret changes, a device
 * is retired or its row goes (by any process, even by hand), and every API process drops that device at
 * once. While the LISTEN connection is down the cache is not used at all. Lookups run on the agents'
 * pool.
 */
import { createMiddleware } from 'hono/factory';
import type pg from 'pg';
import { channels } from '@opsconductor/db/notify';
import type { AppEnv, AuthDevice } from '../context.ts';
import type { EventHub } from '@opsconductor/db/event-hub';
import { digestsEqual, hashToken } from './auth.ts';
import { ApiError } from './problem.ts';

/** A safety net only: revocation is by notification, at once. */
const CACHE_MS = 10 * 60_000;
const CACHE_MAX = 50_000;

export class DeviceAuthenticator {
  private readonly cache = new Map<string, { device: AuthDevice; until: number }>();
  /** device ID → digest of its cached secret, to forget a device without scanning the cache. */
  private readonly digests = new Map<string, string>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly pool: pg.Pool,
    private readonly events: EventHub,
  ) {
    // A null payload means the LISTEN connection was lost for a while: anything may have changed.
    this.unsubscribe = events.subscribeChannel(channels.deviceCredentials, (deviceId) => (deviceId ? this.forget(deviceId) : this.clear()));
  }

  forget(deviceId: string): void {
    const digest = this.digests.get(deviceId);
    if (digest) this.cache.delete(digest);
    this.digests.delete(deviceId);
  }

  clear(): void {
    this.cache.clear();
    this.digests.clear();
  }

  close(): void {
    this.unsubscribe();
    this.clear();
  }

  private async lookup(digest: string): Promise<AuthDevice> {
    const now = Date.now();
    const cached = this.cache.get(digest);
    if (cached && cached.until >= now && this.events.listening) return cached.device;
    const { rows } = await this.pool.query<{ id: string; hostname: string; secret_hash: string; retired_at: Date | null }>(
      'SELECT id, hostname, secret_hash, retired_at FROM devices WHERE secret_hash = $1',
      [digest],
    );
    const row = rows[0];
    if (!row || !digestsEqual(row.secret_hash, digest)) throw new ApiError(401, 'device_unauthenticated');
    if (row.retired_at) throw new ApiError(401, 'device_retired');
    const device = { id: row.id, hostname: row.hostname };
    if (this.cache.size >= CACHE_MAX) this.clear();
    this.cache.set(digest, { device, until: now + CACHE_MS });
    this.digests.set(row.id, digest);
    return device;
  }

  /** The device an `Authorization` header's secret belongs to; 401 `device_unauthenticated` / `device_retired` otherwise. */
  authenticate(authorization: string | undefined): Promise<AuthDevice> {
    const secret = authorization?.match(/^Bearer\s+([A-Za-z0-9_-]{43})$/)?.[1];
    if (!secret) return Promise.reject(new ApiError(401, 'device_unauthenticated'));
    return this.lookup(hashToken(secret));
  }

  readonly middleware = createMiddleware<AppEnv>(async (c, next) => {
    c.set('device', await this.authenticate(c.req.header('authorization')));
    await next();
  });

  /** For handlers that find the device gone mid-request (deleted after it authenticated): 401, never 500. */
  gone(deviceId: string): ApiError {
    this.forget(deviceId);
    return new ApiError(401, 'device_unauthenticated', 'This device no longer exists.');
  }
}

/** Routes take the device's middleware from the app's authenticator. */
export const authenticateDevice = createMiddleware<AppEnv>((c, next) => c.var.deps.deviceAuth.middleware(c, next));
