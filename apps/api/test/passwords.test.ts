/** Passwords: self-change with the current password, admin resets, the policy everywhere, empty changes refused. */
import { hash } from '@node-rs/argon2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARGON2ID } from '@opsconductor/db/seed';
import { startTestApi, TEST_PASSWORD, type TestApi } from '../../../test/support/api.ts';

let t: TestApi;
beforeAll(async () => {
  t = await startTestApi();
});
afterAll(() => t?.close());

type Problem = { code: string; errors?: { path: string; message: string }[] };
const problem = async (res: Response) => (await res.json()) as Problem;
const changeOwn = (token: string, currentPassword: string, newPassword: string) =>
  t.request('/api/v1/auth/password', { method: 'POST', token, json: { currentPassword, newPassword } });
const NEW_PASSWORD = 'Rb5-Nc8t-Yw2k-Hs7q';

describe('changing your own password', () => {
  it('works for every role with the current password, ends the other sessions and keeps this one', async () => {
    for (const role of ['viewer', 'operator', 'admin'] as const) {
      const { email } = await t.createUser(role);
      const current = await t.login(email);
      const other = await t.login(email);
      const res = await changeOwn(current, TEST_PASSWORD, NEW_PASSWORD);
      expect(res.status, role).toBe(204);
      expect((await t.request('/api/v1/auth/me', { token: current })).status).toBe(200);
      expect((await t.request('/api/v1/auth/me', { token: other })).status).toBe(401);
      await expect(t.login(email)).rejects.toThrow(/401/);
      expect(await t.login(email, NEW_PASSWORD)).toMatch(/^[a-z0-9]+$/);
      const row = await t.database.db.prisma.auditLog.findFirstOrThrow({
        where: { action: 'auth.password_change' },
        orderBy: { id: 'desc' },
      });
      expect(row.actorName).toBe(email);
    }
  });

  it('refuses a wrong current password (without signing the user out) and throttles guessing it', async () => {
    const { email } = await t.createUser('operator');
    const token = await t.login(email);
    const res = await changeOwn(token, 'not my password', NEW_PASSWORD);
    expect(res.status).toBe(400);
    const p = await problem(res);
    expect(p.code).toBe('invalid_current_password');
    expect(p.errors?.[0]?.path).toBe('currentPassword');
    let last = res.status;
    for (let i = 0; i < 10 && last !== 429; i++) last = (await changeOwn(token, `guess ${i}`, NEW_PASSWORD)).status;
    expect(last).toBe(429);
    // Locked: even the right current password is refused for now.
    expect((await changeOwn(token, TEST_PASSWORD, NEW_PASSWORD)).status).toBe(429);
    expect((await t.request('/api/v1/auth/me', { token })).status).toBe(200);
    await t.database.db.pool.query('DELETE FROM login_throttles');
  });

  it('refuses weak new passwords with field errors', async () => {
    const { email } = await t.createUser('viewer');
    const token = await t.login(email);
    for (const weak of [
      'password1234',
      'Password1234!',
      ' '.repeat(12),
      'short',
      'aaaaaaaaaaaaaaa',
      email.split('@')[0] + '-2026-x',
      TEST_PASSWORD,
    ]) {
      const res = await changeOwn(token, TEST_PASSWORD, weak);
      expect(res.status, weak).toBe(400);
      const p = await problem(res);
      expect(p.code, weak).toBe('weak_password');
      expect(p.errors?.[0]?.path).toBe('newPassword');
    }
  });

  it('needs a session', async () => {
    const res = await t.request('/api/v1/auth/password', {
      method: 'POST',
      json: { currentPassword: TEST_PASSWORD, newPassword: NEW_PASSWORD },
    });
    expect(res.status).toBe(401);
  });
});

describe('admin changes to users', () => {
  it("resets another user's password without theirs, ending their sessions; refuses weak ones", async () => {
    const admin = await t.tokenFor('admin');
    const { id, email } = await t.createUser('viewer');
    const theirs = await t.login(email);
    const weak = await t.request(`/api/v1/users/${id}`, { method: 'PATCH', token: admin, json: { password: 'password1234' } });
    expect(weak.status).toBe(400);
    expect((await problem(weak)).code).toBe('weak_password');
    const ok = await t.request(`/api/v1/users/${id}`, { method: 'PATCH', token: admin, json: { password: NEW_PASSWORD } });
    expect(ok.status).toBe(200);
    expect((await t.request('/api/v1/auth/me', { token: theirs })).status).toBe(401);
    expect(await t.login(email, NEW_PASSWORD)).toBeTruthy();
  });

  it('does not let an admin set their own password without the current one', async () => {
    const { id, email } = await t.createUser('admin');
    const admin = await t.login(email);
    const res = await t.request(`/api/v1/users/${id}`, { method: 'PATCH', token: admin, json: { password: NEW_PASSWORD } });
    expect(res.status).toBe(400);
    expect((await problem(res)).code).toBe('current_password_required');
    expect(await t.login(email)).toBeTruthy(); // unchanged
  });

  it('refuses an empty change with 400', async () => {
    const admin = await t.tokenFor('admin');
    const { id } = await t.createUser('viewer');
    const empty = await t.request(`/api/v1/users/${id}`, { method: 'PATCH', token: admin, json: {} });
    expect(empty.status).toBe(400);
    expect((await problem(empty)).code).toBe('validation_failed');
    const noBody = await t.request(`/api/v1/users/${id}`, { method: 'PATCH', token: admin });
    expect(noBody.status).toBe(400);
  });

  it('refuses weak passwords when creating a user', async () => {
    const admin = await t.tokenFor('admin');
    for (const password of ['password1234', '            ', 'jane.smith.1999', 'Welcome2026!!']) {
      const res = await t.request('/api/v1/users', {
        method: 'POST',
        token: admin,
        json: { email: 'jane.smith@example.com', name: 'Jane', password, role: 'viewer' },
      });
      expect(res.status, password).toBe(400);
      const p = await problem(res);
      expect(p.code).toBe('weak_password');
      expect(p.errors?.map((e) => e.path)).toContain('password');
    }
    const ok = await t.request('/api/v1/users', {
      method: 'POST',
      token: admin,
      json: { email: 'jane.smith@example.com', name: 'Jane', password: NEW_PASSWORD, role: 'viewer' },
    });
    expect(ok.status).toBe(201);
  });
});

describe('normalisation', () => {
  it('treats composed and decomposed forms of a password as one, and still accepts hashes made before normalisation', async () => {
    const admin = await t.tokenFor('admin');
    const composed = 'caf\u00e9-window-Tz4q';
    const decomposed = 'cafe\u0301-window-Tz4q';
    const res = await t.request('/api/v1/users', {
      method: 'POST',
      token: admin,
      json: { email: 'nfkc@example.com', name: 'N', password: decomposed, role: 'viewer' },
    });
    expect(res.status).toBe(201);
    expect(await t.login('nfkc@example.com', composed)).toBeTruthy();

    // A legacy hash of the password as typed (decomposed) keeps working.
    await t.database.db.prisma.user.create({
      data: { email: 'legacy@example.com', name: 'L', role: 'viewer', passwordHash: await hash(decomposed, ARGON2ID) },
    });
    expect(await t.login('legacy@example.com', decomposed)).toBeTruthy();
  });
});
