/**
 * Failed-login throttling that holds across API processes: counters live in PostgreSQL
 * (`login_throttles`), written with upserts.
 *
 * - Per account (the email, known or not, so the answer never tells which accounts exist): a few free
 *   failures, then blocks that double with each further failure up to a ceiling. While blocked, even
 *   the right password is refused (no oracle). A successful sign-in clears the account's counter.
 * - Per client address (an IPv6 client's whole /64): more free failures, then doubling blocks. A success
 *   does not clear it, or one valid account would let its owner guess at every other one.
 * - Globally: the rate of failures over all accounts. Above the threshold (password spraying from many
 *   addresses) each address is blocked after far fewer failures. The global limit never refuses anyone
 *   by itself, so a spray cannot lock everybody out: it only makes failing addresses wait sooner.
 */
import { isIP } from 'node:net';
import type pg from 'pg';
import { ApiError } from './problem.ts';

export interface ThrottleLimit {
  /** Failures allowed before the first block. */
  freeFailures: number;
  /** The first block; each further failure doubles it. */
  baseBlockSeconds: number;
  maxBlockSeconds: number;
  /** The counter starts over after this long without a failure. */
  forgetAfterSeconds: number;
}

export interface LoginThrottlePolicy {
  account: ThrottleLimit;
  address: ThrottleLimit;
  /** Failures per minute over all accounts above which the system counts as under attack. */
  globalFailuresPerMinute: number;
  /** Free failures per address while under attack (instead of `address.freeFailures`). */
  underAttackAddressFreeFailures: number;
}

export const defaultLoginThrottlePolicy: LoginThrottlePolicy = {
  account: { freeFailures: 5, baseBlockSeconds: 30, maxBlockSeconds: 15 * 60, forgetAfterSeconds: 24 * 3600 },
  address: { freeFailures: 20, baseBlockSeconds: 30, maxBlockSeconds: 60 * 60, forgetAfterSeconds: 3600 },
  globalFailuresPerMinute: 120,
  underAttackAddressFreeFailures: 2,
};

export interface LoginSubject {
  /** Normalised (lower-case) email. */
  account: string;
  address: string | null;
}

export interface BlockSet { scope: 'account' | 'address'; key: string; seconds: number }

const CLEANUP_EVERY_FAILURES = 500;

/** The throttle key of an address: IPv4 as is, IPv6 by its /64 (one subscriber's usual allocation). */
export function addressKey(address: string | null): string {
  if (!address || isIP(address) !== 6) return address ?? 'unknown';
  const [head = '', tail] = address.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail === undefined ? [] : tail ? tail.split(':') : [];
  // An embedded IPv4 tail (::ffff:1.2.3.4 style) counts as two groups; it never reaches the first four.
  const width = (groups: string[]) => groups.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0);
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - width(left) - width(right)).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

export class LoginThrottle {
  private failuresSinceCleanup = 0;

  constructor(private readonly pool: pg.Pool, private readonly policy: LoginThrottlePolicy) {}

  private keys(subject: LoginSubject) {
    return { account: subject.account, address: addressKey(subject.address) };
  }

  /** Throws 429 `too_many_attempts` with Retry-After while the account or the address is blocked. */
  async check(subject: LoginSubject): Promise<void> {
    const { account, address } = this.keys(subject);
    const { rows } = await this.pool.query<{ retry: number | null }>(
      `SELECT ceil(extract(epoch FROM max(blocked_until) - now()))::int AS retry FROM login_throttles
        WHERE ((scope = 'account' AND key = $1) OR (scope = 'address' AND key = $2)) AND blocked_until > now()`,
      [account, address],
    );
    const retry = rows[0]?.retry;
    if (retry && retry > 0) {
      throw new ApiError(429, 'too_many_attempts', `Too many failed sign-in attempts; try again in ${retry} s.`, undefined, { 'Retry-After': String(retry) });
    }
  }

  /** Counts a failure everywhere; returns the blocks it started (for the audit log). */
  async fail(subject: LoginSubject): Promise<BlockSet[]> {
    const { account, address } = this.keys(subject);
    const underAttack = (await this.globalRate()) > this.policy.globalFailuresPerMinute;
    const addressLimit = underAttack ? { ...this.policy.address, freeFailures: this.policy.underAttackAddressFreeFailures } : this.policy.address;
    const blocks = await Promise.all([
      this.count('account', account, this.policy.account),
      this.count('address', address, addressLimit),
    ]);
    if (++this.failuresSinceCleanup >= CLEANUP_EVERY_FAILURES) {
      this.failuresSinceCleanup = 0;
      await this.cleanup();
    }
    return blocks.filter((b): b is BlockSet => b !== null);
  }

  /** A successful sign-in clears the account's failures (not the address's). */
  async succeed(subject: LoginSubject): Promise<void> {
    await this.pool.query(`DELETE FROM login_throttles WHERE scope = 'account' AND key = $1`, [this.keys(subject).account]);
  }

  /** Counts one failure in the global row and returns the sliding failures-per-minute estimate. */
  private async globalRate(): Promise<number> {
    const { rows } = await this.pool.query<{ failures: number; previous_failures: number; elapsed: number }>(
      `INSERT INTO login_throttles AS t (scope, key, failures, previous_failures, window_started_at, last_failure_at)
       VALUES ('global', '*', 1, 0, date_trunc('minute', now()), now())
       ON CONFLICT (scope, key) DO UPDATE SET
         previous_failures = CASE WHEN t.window_started_at = date_trunc('minute', now()) THEN t.previous_failures
                                  WHEN t.window_started_at = date_trunc('minute', now()) - interval '1 minute' THEN t.failures
                                  ELSE 0 END,
         failures = CASE WHEN t.window_started_at = date_trunc('minute', now()) THEN t.failures + 1 ELSE 1 END,
         window_started_at = date_trunc('minute', now()),
         last_failure_at = now()
       RETURNING failures, previous_failures, extract(epoch FROM now() - window_started_at)::float8 AS elapsed`,
    );
    const r = rows[0]!;
    return r.failures + r.previous_failures * Math.max(0, 1 - r.elapsed / 60);
  }

  private async count(scope: 'account' | 'address', key: string, limit: ThrottleLimit): Promise<BlockSet | null> {
    const { rows } = await this.pool.query<{ failures: number }>(
      `INSERT INTO login_throttles AS t (scope, key, failures, window_started_at, last_failure_at)
       VALUES ($1, $2, 1, now(), now())
       ON CONFLICT (scope, key) DO UPDATE SET
         failures = CASE WHEN t.last_failure_at < now() - make_interval(secs => $3) THEN 1 ELSE t.failures + 1 END,
         window_started_at = CASE WHEN t.last_failure_at < now() - make_interval(secs => $3) THEN now() ELSE t.window_started_at END,
         last_failure_at = now()
       RETURNING failures`,
      [scope, key, limit.forgetAfterSeconds],
    );
    const over = rows[0]!.failures - limit.freeFailures;
    if (over <= 0) return null;
    const seconds = Math.min(limit.maxBlockSeconds, limit.baseBlockSeconds * 2 ** Math.min(over - 1, 30));
    await this.pool.query(
      `UPDATE login_throttles SET blocked_until = GREATEST(COALESCE(blocked_until, now()), now() + make_interval(secs => $3))
        WHERE scope = $1 AND key = $2`,
      [scope, key, seconds],
    );
    return { scope, key, seconds };
  }

  /** Forgets counters nobody has failed on for a day (unknown emails would otherwise pile up). */
  async cleanup(): Promise<void> {
    const keep = Math.max(this.policy.account.forgetAfterSeconds, this.policy.address.forgetAfterSeconds);
    await this.pool.query(
      `DELETE FROM login_throttles WHERE scope <> 'global' AND last_failure_at < now() - make_interval(secs => $1)
          AND (blocked_until IS NULL OR blocked_until < now())`,
      [keep],
    );
  }
}
