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
 *
 * An attempt is counted as a failure *before* the password is checked, in one transaction with the
 * block decision (the rows are locked), and forgiven if it succeeds: a burst of parallel guesses gets
 * no more tries than the same guesses one after another.
 */
import { isIP } from 'node:net';
import type pg from 'pg';
import { withTransaction } from '@opsconductor/db';
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

export interface BlockSet {
  scope: 'account' | 'address';
  key: string;
  seconds: number;
}

const CLEANUP_EVERY_ATTEMPTS = 500;

/** The throttle key of an address: IPv4 as is, IPv6 by its /64 (one subscriber's usual allocation). */
export function addressKey(address: string | null): string {
  if (!address || isIP(address) !== 6) return address ?? 'unknown';
  const [head = '', tail] = address.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail === undefined ? [] : tail ? tail.split(':') : [];
  // An embedded IPv4 tail (::ffff:1.2.3.4 style) counts as two groups; it never reaches the first four.
  const width = (groups: string[]) => groups.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0);
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - width(left) - width(right)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

export class LoginThrottle {
  private attemptsSinceCleanup = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly policy: LoginThrottlePolicy,
  ) {}

  private keys(subject: LoginSubject) {
    return { account: subject.account, address: addressKey(subject.address) };
  }

  /**
   * Takes one attempt: 429 `too_many_attempts` with Retry-After while the account or the address is
   * blocked (nothing is counted then); otherwise the attempt counts as a failure until `succeeded`.
   * Returns the blocks this attempt started (audit them if it fails).
   */
  async begin(subject: LoginSubject): Promise<BlockSet[]> {
    const { account, address } = this.keys(subject);
    const blocks = await withTransaction(this.pool, async (client) => {
      // Rows are created, then locked in a fixed order (account, address): concurrent attempts on the
      // same account or address queue here, never deadlock.
      await client.query(
        `INSERT INTO login_throttles (scope, key, failures, window_started_at, last_failure_at)
         VALUES ('account', $1, 0, now(), now()), ('address', $2, 0, now(), now()) ON CONFLICT DO NOTHING`,
        [account, address],
      );
      const { rows } = await client.query<{ scope: 'account' | 'address'; failures: number; forgotten: boolean; retry: number | null }>(
        `SELECT scope, failures, last_failure_at < now() - make_interval(secs => CASE scope WHEN 'account' THEN $3::int ELSE $4::int END) AS forgotten,
                CASE WHEN blocked_until > now() THEN ceil(extract(epoch FROM blocked_until - now()))::int END AS retry
           FROM login_throttles WHERE (scope = 'account' AND key = $1) OR (scope = 'address' AND key = $2)
          ORDER BY scope FOR UPDATE`,
        [account, address, this.policy.account.forgetAfterSeconds, this.policy.address.forgetAfterSeconds],
      );
      const retry = Math.max(0, ...rows.map((r) => r.retry ?? 0));
      if (retry > 0) return { retry };
      const underAttack = (await this.countGlobal(client, 1)) > this.policy.globalFailuresPerMinute;
      const set: BlockSet[] = [];
      for (const row of rows) {
        const limit =
          row.scope === 'account'
            ? this.policy.account
            : underAttack
              ? { ...this.policy.address, freeFailures: this.policy.underAttackAddressFreeFailures }
              : this.policy.address;
        const failures = row.forgotten ? 1 : row.failures + 1;
        const over = failures - limit.freeFailures;
        const seconds = over > 0 ? Math.min(limit.maxBlockSeconds, limit.baseBlockSeconds * 2 ** Math.min(over - 1, 30)) : 0;
        await client.query(
          `UPDATE login_throttles SET failures = $3, last_failure_at = now(),
                  window_started_at = CASE WHEN $4::boolean THEN now() ELSE window_started_at END,
                  blocked_until = CASE WHEN $5::int > 0 THEN now() + make_interval(secs => $5::int) ELSE blocked_until END
            WHERE scope = $1 AND key = $2`,
          [row.scope, row.scope === 'account' ? account : address, failures, row.forgotten, seconds],
        );
        if (seconds > 0) set.push({ scope: row.scope, key: row.scope === 'account' ? account : address, seconds });
      }
      return { set };
    });
    if ('retry' in blocks) {
      throw new ApiError(429, 'too_many_attempts', `Too many failed sign-in attempts; try again in ${blocks.retry} s.`, undefined, {
        'Retry-After': String(blocks.retry),
      });
    }
    if (++this.attemptsSinceCleanup >= CLEANUP_EVERY_ATTEMPTS) {
      this.attemptsSinceCleanup = 0;
      await this.cleanup();
    }
    return blocks.set;
  }

  /** The attempt was right after all: the account starts over, the address and the global rate forgive it. */
  async succeeded(subject: LoginSubject): Promise<void> {
    const { account, address } = this.keys(subject);
    await withTransaction(this.pool, async (client) => {
      await client.query(`DELETE FROM login_throttles WHERE scope = 'account' AND key = $1`, [account]);
      await client.query(`UPDATE login_throttles SET failures = GREATEST(failures - 1, 0) WHERE scope = 'address' AND key = $1`, [address]);
      await this.countGlobal(client, -1);
    });
  }

  /**
   * Adds `delta` to the global row's one-minute window and returns the sliding failures-per-minute
   * estimate (this window plus the previous one, weighted by how much of it still overlaps).
   */
  private async countGlobal(client: pg.PoolClient, delta: 1 | -1): Promise<number> {
    const { rows } = await client.query<{ failures: number; previous_failures: number; elapsed: number }>(
      `INSERT INTO login_throttles AS t (scope, key, failures, previous_failures, window_started_at, last_failure_at)
       VALUES ('global', '*', GREATEST($1::int, 0), 0, date_trunc('minute', now()), now())
       ON CONFLICT (scope, key) DO UPDATE SET
         previous_failures = CASE WHEN t.window_started_at = date_trunc('minute', now()) THEN t.previous_failures
                                  WHEN t.window_started_at = date_trunc('minute', now()) - interval '1 minute' THEN t.failures
                                  ELSE 0 END,
         failures = GREATEST(CASE WHEN t.window_started_at = date_trunc('minute', now()) THEN t.failures ELSE 0 END + $1::int, 0),
         window_started_at = date_trunc('minute', now()),
         last_failure_at = now()
       RETURNING failures, previous_failures, extract(epoch FROM now() - window_started_at)::float8 AS elapsed`,
      [delta],
    );
    const r = rows[0]!;
    return r.failures + r.previous_failures * Math.max(0, 1 - r.elapsed / 60);
  }

  /** Forgets counters nobody has failed on for a while (unknown emails would otherwise pile up). */
  async cleanup(): Promise<void> {
    const keep = Math.max(this.policy.account.forgetAfterSeconds, this.policy.address.forgetAfterSeconds);
    await this.pool.query(
      `DELETE FROM login_throttles WHERE scope <> 'global' AND last_failure_at < now() - make_interval(secs => $1)
          AND (blocked_until IS NULL OR blocked_until < now())`,
      [keep],
    );
  }
}
