/**
 * The secret store through the API: master keys are metadata only, rotation re-encrypts under the current
 * key with an audit row, values never reach a response or a log line; production refuses to start without keys.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { SecretStore } from '@opsconductor/secrets';
import { repoRoot } from '../../../test/support/tools.ts';
import { startTestApi, type TestApi } from '../../../test/support/api.ts';

const k1 = { id: 'k1', key: randomBytes(32) };
const k2 = { id: 'k2', key: randomBytes(32) };
const VALUES = ['xoxb-slack-token-0123456789', 'whsec_signing_key_abcdef', 'sso-client-secret-9f8e7d'];

let t: TestApi;
let bare: TestApi;
let admin: string;
const logs: string[] = [];
beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  t = await startTestApi({}, { secretsMasterKeys: [k2, k1], logger: pino({ level: 'trace' }, sink) });
  bare = await startTestApi();
  admin = await t.tokenFor('admin');
});
afterAll(async () => {
  await t?.close();
  await bare?.close();
});

const get = (api: TestApi, path: string, token: string) => api.request(`/api/v1${path}`, { token });
const post = (api: TestApi, path: string, token: string) => api.request(`/api/v1${path}`, { method: 'POST', token });

describe('master keys and rotation', () => {
  it('rotates secrets of an old key to the current one, audited, never sending or logging a value', async () => {
    // Stored by a feature while k1 was the current key.
    const before = new SecretStore({ db: t.database.db, keys: [k1] });
    for (const [i, value] of VALUES.entries())
      await before.put({ ownerType: 'notification_channel', ownerId: `c${i}`, purpose: 'token' }, value);

    const keys = await get(t, '/admin/secrets/keys', admin);
    expect(await keys.json()).toEqual({
      configured: true,
      currentKeyId: 'k2',
      keys: [
        { keyId: 'k2', secrets: 0, current: true, configured: true },
        { keyId: 'k1', secrets: 3, current: false, configured: true },
      ],
    });
    const rotated = await post(t, '/admin/secrets/rotate', admin);
    const body = await rotated.text();
    expect(rotated.status).toBe(200);
    expect(JSON.parse(body)).toEqual({ currentKeyId: 'k2', rewrapped: 3, remaining: 0 });
    const audit = await t.database.db.prisma.auditLog.findFirstOrThrow({ where: { action: 'secrets.rotate' } });
    expect(audit).toMatchObject({ actorType: 'user', targetType: 'master_key', targetId: 'k2', ipAddress: '127.0.0.1' });
    expect(audit.actorName).toMatch(/^admin-/);

    // Only the new key is needed now, and every value is intact.
    const after = new SecretStore({ db: t.database.db, keys: [k2] });
    for (const [i, value] of VALUES.entries())
      expect(await after.revealText({ ownerType: 'notification_channel', ownerId: `c${i}`, purpose: 'token' })).toBe(value);

    const everything = [
      body,
      await (await get(t, '/admin/secrets/keys', admin)).text(),
      JSON.stringify(await t.database.db.prisma.auditLog.findMany(), (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)),
      logs.join(''),
    ];
    for (const value of VALUES) for (const text of everything) expect(text).not.toContain(value);
    for (const text of everything) expect(text).not.toContain(k1.key.toString('base64'));
    expect(logs.join('')).toContain('secrets re-encrypted under the current master key'); // logged, without a value
  });

  it('keeps keys and rotation to admins', async () => {
    const operator = await t.tokenFor('operator');
    expect((await get(t, '/admin/secrets/keys', operator)).status).toBe(403);
    expect((await post(t, '/admin/secrets/rotate', operator)).status).toBe(403);
  });

  it('answers 503 secrets_unavailable for rotation without a master key', async () => {
    const token = await bare.tokenFor('admin');
    expect(await (await get(bare, '/admin/secrets/keys', token)).json()).toEqual({ configured: false, currentKeyId: null, keys: [] });
    const res = await post(bare, '/admin/secrets/rotate', token);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { code: string }).code).toBe('secrets_unavailable');
  });
});

describe('configuration', () => {
  it('refuses to start in production without SECRETS_MASTER_KEYS, saying how to make one', async () => {
    const run = promisify(execFile);
    const env = { PATH: process.env.PATH, NODE_ENV: 'production', DATABASE_URL: 'postgres://127.0.0.1:1/none' };
    const err = await run(join(repoRoot, 'node_modules/.bin/tsx'), [join(repoRoot, 'apps/api/src/main.ts')], { env }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(err).toMatchObject({ code: 78 });
    expect((err as { stderr: string }).stderr).toMatch(/SECRETS_MASTER_KEYS: required in production: .*randomBytes\(32\)/);
    const short = await run(join(repoRoot, 'node_modules/.bin/tsx'), [join(repoRoot, 'apps/api/src/main.ts')], {
      env: { ...env, SECRETS_MASTER_KEYS: `k1:${randomBytes(16).toString('base64')}` },
    }).catch((e: { code: number; stderr: string }) => e);
    expect((short as { stderr: string }).stderr).toContain(
      'SECRETS_MASTER_KEYS: entry 1 (k1): the key must be 32 bytes (AES-256), it is 16',
    );
  });
});
