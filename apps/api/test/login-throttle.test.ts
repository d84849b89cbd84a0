/**
 * Sign-in throttling and client addresses: forged X-Forwarded-For is ignored unless it comes from a
 * trusted proxy; failures are throttled per account, per address and globally, across API processes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { inject } from 'vitest';
import { startApiServer, type RunningApi } from '../src/server.ts';
import { parseTrustedProxies } from '../src/lib/client-address.ts';
import { defaultLoginThrottlePolicy, type LoginThrottlePolicy } from '../src/lib/login-throttle.ts';
import { startTestApi, TEST_PASSWORD, type TestApi } from '../../../test/support/api.ts';

const policy: LoginThrottlePolicy = {
  account: { freeFailures: 3, baseBlockSeconds: 30, maxBlockSeconds: 900, forgetAfterSeconds: 3600 },
  address: { freeFailures: 6, baseBlockSeconds: 30, maxBlockSeconds: 3600, forgetAfterSeconds: 3600 },
  globalFailuresPerMinute: 1000,
  underAttackAddressFreeFailures: 1,
};

let direct: TestApi; // trusts no proxy (the default)
let behindProxy: TestApi; // trusts 127.0.0.1, as the API behind the console does
beforeAll(async () => {
  [direct, behindProxy] = await Promise.all([
    startTestApi({ loginThrottlePolicy: policy }),
    startTestApi({ loginThrottlePolicy: { ...policy, globalFailuresPerMinute: 10 }, trustedProxies: parseTrustedProxies('127.0.0.1') }),
  ]);
});
afterAll(async () => {
  await direct?.close();
  await behindProxy?.close();
});

const login = (t: TestApi, email: string, password: string, forwardedFor?: string) =>
  t.request('/api/v1/auth/login', {
    method: 'POST',
    json: { email, password },
    headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {},
  });

async function lastAuditIp(t: TestApi, action: string): Promise<string | null> {
  const row = await t.database.db.prisma.auditLog.findFirstOrThrow({ where: { action }, orderBy: { id: 'desc' } });
  return row.ipAddress;
}

describe('client address', () => {
  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
    const { email } = await direct.createUser('viewer');
    expect((await login(direct, email, 'wrong password!', '6.6.6.6')).status).toBe(401);
    expect(await lastAuditIp(direct, 'auth.login_failed')).toBe('127.0.0.1');
    expect((await login(direct, email, TEST_PASSWORD, '6.6.6.6')).status).toBe(200);
    const session = await direct.database.db.prisma.session.findFirstOrThrow({ orderBy: { createdAt: 'desc' } });
    expect(session.ipAddress).toBe('127.0.0.1');
  });

  it('behind a trusted proxy takes the right-most address that is not a trusted proxy', async () => {
    const { email } = await behindProxy.createUser('viewer');
    for (const [header, expected] of [
      ['203.0.113.7', '203.0.113.7'],
      ['6.6.6.6, 203.0.113.8', '203.0.113.8'], // the left part is the client's to forge
      ['203.0.113.9, 127.0.0.1', '203.0.113.9'], // a trusted hop in between vouches for the next
      ['not-an-ip', '127.0.0.1'], // garbage from the proxy: the proxy is the best we know
      ['::ffff:198.51.100.4', '198.51.100.4'],
    ] as const) {
      expect((await login(behindProxy, email, TEST_PASSWORD, header)).status).toBe(200);
      expect(await lastAuditIp(behindProxy, 'auth.login'), header).toBe(expected);
    }
  });
});

describe('login throttling', () => {
  it('refuses further guesses from one address even when X-Forwarded-For rotates, with Retry-After', async () => {
    const t = direct;
    await t.database.db.pool.query(`DELETE FROM login_throttles`);
    const statuses: number[] = [];
    for (let i = 0; i < policy.address.freeFailures + 1; i++) {
      // A different account each time: the per-account limit never triggers, the per-address one must.
      const res = await login(t, `spray-${i}@example.com`, 'Summer2026!', `10.9.${i}.1`);
      statuses.push(res.status);
    }
    expect(statuses).toEqual([...Array(policy.address.freeFailures).fill(401), 401]);
    const blocked = await login(t, 'spray-next@example.com', 'Summer2026!', '10.9.99.1');
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await blocked.json()) as { code: string }).code).toBe('too_many_attempts');
    await t.database.db.pool.query(`DELETE FROM login_throttles WHERE scope = 'address'`);
  });

  it('locks an account after a few failures; its right password is refused while locked; unknown emails behave the same', async () => {
    const t = direct;
    const { email } = await t.createUser('operator');
    const unknown = 'nobody-here@example.com';
    // Only the account limit is under test here: forget the address's failures before each guess.
    const forgetAddress = () => t.database.db.pool.query(`DELETE FROM login_throttles WHERE scope = 'address'`);
    for (const account of [email, unknown]) {
      for (let i = 0; i < policy.account.freeFailures + 1; i++) {
        await forgetAddress();
        expect((await login(t, account, 'wrong password!')).status).toBe(401);
      }
    }
    const locked = await login(t, email, TEST_PASSWORD);
    expect(locked.status).toBe(429);
    const retry = Number(locked.headers.get('retry-after'));
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(policy.account.baseBlockSeconds);
    const lockedUnknown = await login(t, unknown, 'anything at all');
    expect(lockedUnknown.status).toBe(429);
    expect(((await lockedUnknown.json()) as { code: string }).code).toBe('too_many_attempts');
    // A block set is audited.
    const audited = await t.database.db.prisma.auditLog.findFirst({
      where: { action: 'auth.throttled', details: { path: ['key'], equals: email } },
    });
    expect(audited).not.toBeNull();

    // Once the block has passed the right password gets in and clears the account's counter.
    await t.database.db.pool.query(
      `UPDATE login_throttles SET blocked_until = now() - interval '1 second' WHERE scope = 'account' AND key = $1`,
      [email],
    );
    expect((await login(t, email, TEST_PASSWORD)).status).toBe(200);
    const row = await t.database.db.prisma.loginThrottle.findUnique({ where: { scope_key: { scope: 'account', key: email } } });
    expect(row).toBeNull();
    await t.database.db.pool.query(`DELETE FROM login_throttles WHERE scope = 'address'`);
  });

  it('gives a burst of parallel guesses no more tries than the same guesses one by one', async () => {
    const t = direct;
    await t.database.db.pool.query(`DELETE FROM login_throttles`);
    const { email } = await t.createUser('viewer');
    const statuses = await Promise.all(Array.from({ length: 12 }, (_, i) => login(t, email, `parallel guess ${i}`).then((r) => r.status)));
    // freeFailures + 1 guesses are checked (the last of them starts the block); every other one is refused unchecked.
    expect(statuses.filter((s) => s === 401)).toHaveLength(policy.account.freeFailures + 1);
    expect(statuses.filter((s) => s === 429)).toHaveLength(12 - policy.account.freeFailures - 1);
    await t.database.db.pool.query(`DELETE FROM login_throttles`);
  });

  it('holds across API processes: a block set through one API is enforced by another', async () => {
    const t = direct;
    const { email } = await t.createUser('viewer');
    let other: RunningApi | undefined;
    try {
      other = await startApiServer({
        databaseUrl: t.database.url,
        temporalAddress: inject('temporalAddress'),
        port: 0,
        logger: pino({ level: 'silent' }),
        config: { loginThrottlePolicy: policy },
      });
      for (let i = 0; i < policy.account.freeFailures + 1; i++) expect((await login(t, email, 'wrong password!')).status).toBe(401);
      const res = await fetch(`${other.url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password: TEST_PASSWORD }),
      });
      expect(res.status).toBe(429);
    } finally {
      await other?.close();
      await t.database.db.pool.query(`DELETE FROM login_throttles`);
    }
  });

  it('under password spraying (many accounts, many addresses) blocks failing addresses early, never a correct sign-in', async () => {
    const t = behindProxy;
    const { email } = await t.createUser('admin');
    // 12 addresses spray one password over 12 accounts: above 10 failures a minute the system is under attack.
    for (let i = 0; i < 12; i++) expect((await login(t, `user${i}@example.com`, 'Winter2026!', `198.18.0.${i + 1}`)).status).toBe(401);
    // Now an address gets one free failure instead of six: its second guess starts a block.
    expect((await login(t, 'user1@example.com', 'Spring2026!', '198.18.1.1')).status).toBe(401);
    expect((await login(t, 'user2@example.com', 'Spring2026!', '198.18.1.1')).status).toBe(401);
    expect((await login(t, 'user3@example.com', 'Spring2026!', '198.18.1.1')).status).toBe(429);
    // The global rate alone refuses nobody: a user with the right password from a clean address gets in.
    expect((await login(t, email, TEST_PASSWORD, '192.0.2.50')).status).toBe(200);
  });

  it('throttles an IPv6 client by its /64', async () => {
    const t = behindProxy;
    await t.database.db.pool.query(`DELETE FROM login_throttles`);
    for (let i = 0; i < policy.address.freeFailures + 1; i++) {
      expect((await login(t, `v6-${i}@example.com`, 'wrong password!', `2001:db8:1:2::${(i + 1).toString(16)}`)).status).toBe(401);
    }
    expect((await login(t, 'v6-x@example.com', 'wrong password!', '2001:db8:1:2:ffff::1')).status).toBe(429);
    expect((await login(t, 'v6-y@example.com', 'wrong password!', '2001:db8:1:3::1')).status).toBe(401);
  });

  it('documents 429 with Retry-After in the OpenAPI document', async () => {
    const doc = (await (await direct.request('/api/openapi.json')).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, { headers?: Record<string, unknown> }> }>>;
    };
    for (const path of ['/api/v1/auth/login', '/api/v1/auth/password']) {
      expect(doc.paths[path]?.post?.responses['429']?.headers, path).toHaveProperty('Retry-After');
    }
  });

  it('keeps the default policy sane', () => {
    expect(defaultLoginThrottlePolicy.account.freeFailures).toBeLessThan(defaultLoginThrottlePolicy.address.freeFailures);
    expect(defaultLoginThrottlePolicy.underAttackAddressFreeFailures).toBeLessThan(defaultLoginThrottlePolicy.address.freeFailures);
  });
});

describe('no account enumeration', () => {
  it('spends the same password-hash work on unknown emails as on known ones', async () => {
    const t = direct;
    await t.database.db.pool.query(`DELETE FROM login_throttles`);
    const { email } = await t.createUser('viewer');
    const time = async (account: string) => {
      const started = performance.now();
      expect((await login(t, account, 'wrong password!')).status).toBe(401);
      return performance.now() - started;
    };
    await time(email); // warm-up: the first requests pay for connections and JIT
    await time('ghost-warm-up@example.com');
    await t.database.db.pool.query(`DELETE FROM login_throttles`);
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < policy.account.freeFailures; i++) {
      known.push(await time(email));
      unknown.push(await time(`ghost-${i}@example.com`));
    }
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    // Generous bounds (shared CPUs): an unknown email that skipped argon2 would be several times faster.
    expect(median(unknown)).toBeGreaterThan(median(known) * 0.4);
  });
});
