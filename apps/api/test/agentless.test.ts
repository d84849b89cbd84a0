/**
 * Agentless targets and credentials through the API (ADR 21): credentials are admin-only and write-only (no answer,
 * audit row or log line holds a secret), target changes are admin-only, and hostile input is a 4xx, never a 500.
 * Running commands on targets is in test/e2e/agentless.e2e.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { startTestApi, type TestApi } from '../../../test/support/api.ts';

let t: TestApi;
let bare: TestApi;
let admin: string;
let operator: string;
let viewer: string;
const logs: string[] = [];
const keyDir = mkdtempSync(join(tmpdir(), 'opsconductor-keys-'));

function keyPair(passphrase = ''): { privateKey: string; publicKey: string } {
  const path = join(keyDir, randomUUID());
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-f', path], { stdio: 'ignore' });
  return { privateKey: readFileSync(path, 'utf8'), publicKey: readFileSync(`${path}.pub`, 'utf8') };
}

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  t = await startTestApi({}, { secretsMasterKeys: [{ id: 'k1', key: randomBytes(32) }], logger: pino({ level: 'trace' }, sink) });
  bare = await startTestApi({ agentlessRelay: false });
  [admin, operator, viewer] = await Promise.all([t.tokenFor('admin'), t.tokenFor('operator'), t.tokenFor('viewer')]);
});
afterAll(async () => {
  await t?.close();
  await bare?.close();
  rmSync(keyDir, { recursive: true, force: true });
});

const call = async (method: string, path: string, token: string, json?: unknown, api = t) => {
  const res = await api.request(`/api/v1${path}`, { method, token, ...(json !== undefined ? { json } : {}) });
  const text = await res.text();
  return { status: res.status, text, body: text ? JSON.parse(text) : undefined };
};

async function credential(secret: Record<string, unknown> = { kind: 'password', password: `pw-${randomUUID()}` }) {
  const res = await call('POST', '/agentless-credentials', admin, { name: `cred-${randomUUID()}`, username: 'ops', secret });
  expect(res.status, res.text).toBe(201);
  return res.body as { id: string; name: string };
}

describe('credentials', () => {
  it('are admin-only, reading included, and never give a secret back: not in answers, audit rows or logs', async () => {
    const password = `Pa55-${randomUUID()}`;
    const key = keyPair('a passphrase');
    const created = await call('POST', '/agentless-credentials', admin, {
      name: `key-${randomUUID()}`,
      description: 'deploy key',
      username: 'deploy',
      secret: { kind: 'private_key', privateKey: key.privateKey, passphrase: 'a passphrase' },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ kind: 'private_key', hasPassphrase: true, username: 'deploy', targetCount: 0 });
    const id = created.body.id as string;
    const rotated = await call('PATCH', `/agentless-credentials/${id}`, admin, { secret: { kind: 'password', password } });
    expect(rotated.status, rotated.text).toBe(200);
    expect(rotated.body).toMatchObject({ kind: 'password', hasPassphrase: false });
    expect(Date.parse(rotated.body.rotatedAt)).toBeGreaterThanOrEqual(Date.parse(created.body.rotatedAt));
    // The key's secrets are gone with the rotation: only the password is stored.
    const stored = await t.database.db.pool.query<{ purpose: string }>(
      "SELECT purpose FROM secrets WHERE owner_type = 'agentless_credential' AND owner_id = $1",
      [id],
    );
    expect(stored.rows.map((r) => r.purpose)).toEqual(['password']);

    for (const token of [operator, viewer]) {
      expect((await call('GET', '/agentless-credentials', token)).status).toBe(403);
      expect((await call('GET', `/agentless-credentials/${id}`, token)).status).toBe(403);
      expect(
        (await call('POST', '/agentless-credentials', token, { name: 'x', username: 'x', secret: { kind: 'password', password: 'x' } }))
          .status,
      ).toBe(403);
      expect(
        (await call('PATCH', `/agentless-credentials/${id}`, token, { secret: { kind: 'password', password: 'stolen' } })).status,
      ).toBe(403);
      expect((await call('DELETE', `/agentless-credentials/${id}`, token)).status).toBe(403);
    }
    const audit = await t.database.db.prisma.auditLog.findMany({ where: { targetType: 'agentless_credential', targetId: id } });
    expect(audit.map((a) => a.action).sort()).toEqual(['agentless_credential.create', 'agentless_credential.rotate']);
    const everything = [
      created.text,
      rotated.text,
      (await call('GET', '/agentless-credentials', admin)).text,
      (await call('GET', `/agentless-credentials/${id}`, admin)).text,
      JSON.stringify(audit, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)),
      logs.join(''),
    ];
    for (const text of everything) {
      expect(text).not.toContain(password);
      expect(text).not.toContain('a passphrase');
      expect(text).not.toContain('PRIVATE KEY');
    }
  });

  it('refuses keys that cannot be used, names taken, and deleting one in use', async () => {
    const encrypted = keyPair('right');
    const bad = async (secret: unknown) =>
      call('POST', '/agentless-credentials', admin, { name: `k-${randomUUID()}`, username: 'u', secret });
    for (const secret of [
      { kind: 'private_key', privateKey: 'not a key' },
      { kind: 'private_key', privateKey: encrypted.privateKey },
      { kind: 'private_key', privateKey: encrypted.privateKey, passphrase: 'wrong' },
      { kind: 'private_key', privateKey: keyPair().publicKey },
    ]) {
      const res = await bad(secret);
      expect(res.status, res.text).toBe(400);
      expect(res.body.errors).toEqual([expect.objectContaining({ path: 'secret.privateKey' })]);
    }
    const first = await credential();
    const taken = await call('POST', '/agentless-credentials', admin, {
      name: first.name,
      username: 'u',
      secret: { kind: 'password', password: 'p' },
    });
    expect(taken).toMatchObject({ status: 409, body: { code: 'name_taken' } });
    const target = await call('POST', '/agentless-targets', admin, {
      protocol: 'ssh',
      name: 'in-use',
      host: '192.0.2.1',
      credentialId: first.id,
    });
    expect(target.status, target.text).toBe(201);
    expect((await call('GET', `/agentless-credentials/${first.id}`, admin)).body.targetCount).toBe(1);
    expect(await call('DELETE', `/agentless-credentials/${first.id}`, admin)).toMatchObject({
      status: 409,
      body: { code: 'credential_in_use' },
    });
    // Without master keys there is nowhere to keep a secret.
    const noStore = await call(
      'POST',
      '/agentless-credentials',
      await bare.tokenFor('admin'),
      { name: 'n', username: 'u', secret: { kind: 'password', password: 'p' } },
      bare,
    );
    expect(noStore).toMatchObject({ status: 503, body: { code: 'secrets_unavailable' } });
  });
});

describe('targets', () => {
  it('are devices everyone reads and only admins change', async () => {
    const cred = await credential();
    const created = await call('POST', '/agentless-targets', admin, {
      protocol: 'winrm',
      name: 'win-01',
      host: 'win-01.corp.example',
      credentialId: cred.id,
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({
      protocol: 'winrm',
      port: 5986,
      osFamily: 'windows',
      ssh: null,
      winrm: { https: true, auth: 'ntlm', verifyTls: true, hasCa: false, endpoint: 'https://win-01.corp.example:5986/wsman' },
      credential: { id: cred.id, username: 'ops' },
    });
    const id = created.body.id as string;
    const device = await call('GET', `/devices/${id}`, viewer);
    expect(device.body).toMatchObject({ hostname: 'win-01', osFamily: 'windows', transport: 'winrm' });
    for (const token of [viewer, operator]) {
      expect((await call('GET', '/agentless-targets', token)).body.items.map((i: { id: string }) => i.id)).toContain(id);
      expect((await call('GET', `/agentless-targets/${id}`, token)).status).toBe(200);
      expect(
        (await call('POST', '/agentless-targets', token, { protocol: 'ssh', name: 'x', host: 'h', credentialId: cred.id })).status,
      ).toBe(403);
      expect((await call('PATCH', `/agentless-targets/${id}`, token, { host: 'attacker.example' })).status).toBe(403);
      expect((await call('DELETE', `/agentless-targets/${id}`, token)).status).toBe(403);
    }
    const ipv6 = await call('PATCH', `/agentless-targets/${id}`, admin, { host: '2001:db8::5', port: 15986 });
    expect(ipv6.body.winrm.endpoint).toBe('https://[2001:db8::5]:15986/wsman');
    expect((await call('DELETE', `/agentless-targets/${id}`, admin)).status).toBe(204);
    expect((await call('GET', `/agentless-targets/${id}`, viewer)).status).toBe(404);
    expect((await call('GET', `/devices/${id}`, viewer)).body.retiredAt).not.toBeNull();
    const audit = await t.database.db.prisma.auditLog.findMany({ where: { targetType: 'device', targetId: id } });
    expect(audit.map((a) => a.action)).toEqual(
      expect.arrayContaining(['agentless_target.create', 'agentless_target.update', 'agentless_target.delete']),
    );
  });

  it('pins and forgets SSH host keys, and refuses settings that do not fit the protocol', async () => {
    const cred = await credential();
    const pin = `SHA256:${randomBytes(32).toString('base64').replace(/=+$/, '')}`;
    const ssh = await call('POST', '/agentless-targets', admin, {
      protocol: 'ssh',
      name: 'db-01',
      host: '10.0.0.5',
      credentialId: cred.id,
      hostKey: pin,
    });
    expect(ssh.status, ssh.text).toBe(201);
    expect(ssh.body).toMatchObject({ port: 22, ssh: { hostKey: pin }, winrm: null });
    expect(ssh.body.ssh.hostKeyPinnedAt).not.toBeNull();
    const forgotten = await call('PATCH', `/agentless-targets/${ssh.body.id}`, admin, { hostKey: null });
    expect(forgotten.body.ssh).toEqual({ hostKey: null, hostKeyPinnedAt: null });
    const wrongKind = await call('PATCH', `/agentless-targets/${ssh.body.id}`, admin, { auth: 'basic', https: false });
    expect(wrongKind.status).toBe(400);
    expect(wrongKind.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['auth', 'https']);
    const ntlmOverHttp = await call('POST', '/agentless-targets', admin, {
      protocol: 'winrm',
      name: 'w',
      host: 'w',
      credentialId: cred.id,
      https: false,
    });
    expect(ntlmOverHttp).toMatchObject({ status: 400, body: { errors: [{ path: 'https' }] } });
    const basicOverHttp = { protocol: 'winrm', name: 'w', host: 'w', credentialId: cred.id, https: false, auth: 'basic' };
    expect((await call('POST', '/agentless-targets', admin, basicOverHttp)).body.errors).toEqual([
      expect.objectContaining({ path: 'allowBasicOverHttp' }),
    ]);
    const allowed = await call('POST', '/agentless-targets', admin, { ...basicOverHttp, allowBasicOverHttp: true });
    expect(allowed.body).toMatchObject({ port: 5985, winrm: { endpoint: 'http://w:5985/wsman' } });
    const unknownCredential = await call('POST', '/agentless-targets', admin, {
      protocol: 'ssh',
      name: 's',
      host: 's',
      credentialId: randomUUID(),
    });
    expect(unknownCredential).toMatchObject({ status: 400, body: { errors: [{ path: 'credentialId' }] } });
  });

  it('answers hostile input with a 4xx, never a 500', async () => {
    const cred = await credential();
    const ssh = { protocol: 'ssh', name: 'ok', host: 'ok.example', credentialId: cred.id };
    const cases: Array<[string, string, unknown]> = [
      ['POST', '/agentless-targets', { ...ssh, name: 'nul\u0000name' }],
      ['POST', '/agentless-targets', { ...ssh, name: 'lone \ud800 surrogate' }],
      ['POST', '/agentless-targets', { ...ssh, host: 'a host; rm -rf /' }],
      ['POST', '/agentless-targets', { ...ssh, host: `$(id).example` }],
      ['POST', '/agentless-targets', { ...ssh, host: 'x'.repeat(300) }],
      ['POST', '/agentless-targets', { ...ssh, port: 70000 }],
      ['POST', '/agentless-targets', { ...ssh, port: 2 ** 53 + 2 }],
      ['POST', '/agentless-targets', { ...ssh, port: 22.5 }],
      ['POST', '/agentless-targets', { ...ssh, hostKey: 'MD5:aa:bb' }],
      ['POST', '/agentless-targets', { ...ssh, connectTimeoutSeconds: 2 ** 31 }],
      ['POST', '/agentless-targets', { ...ssh, protocol: 'telnet' }],
      ['POST', '/agentless-targets', { ...ssh, extra: true }],
      ['POST', '/agentless-targets', { ...ssh, credentialId: 'not-a-uuid' }],
      ['POST', '/agentless-targets', { protocol: 'winrm', name: 'w', host: 'w', credentialId: cred.id, ca: 'not a certificate' }],
      ['POST', '/agentless-targets', JSON.parse('{"a":'.repeat(2000) + '1' + '}'.repeat(2000))],
      ['POST', '/agentless-credentials', { name: 'n', username: 'line\nbreak', secret: { kind: 'password', password: 'p' } }],
      ['POST', '/agentless-credentials', { name: 'n', username: 'u', secret: { kind: 'password', password: 'nul\u0000' } }],
      ['POST', '/agentless-credentials', { name: 'n', username: 'u', secret: { kind: 'password', password: '\udc00' } }],
      ['POST', '/agentless-credentials', { name: 'n', username: 'u', secret: { kind: 'password', password: 'x'.repeat(2000) } }],
      ['POST', '/agentless-credentials', { name: 'n', username: 'u', secret: { kind: 'token', token: 't' } }],
      ['POST', '/agentless-credentials', { name: 'n', username: 'u', secret: { kind: 'private_key', privateKey: 'x'.repeat(20_000) } }],
      ['PATCH', `/agentless-credentials/${cred.id}`, { secret: { kind: 'password' } }],
      ['PATCH', '/agentless-credentials/not-a-uuid', { name: 'x' }],
      ['PATCH', `/agentless-targets/${randomUUID()}`, { name: 'x' }],
      ['GET', `/agentless-targets/${'9'.repeat(40)}`, undefined],
      ['DELETE', `/agentless-credentials/${randomUUID()}`, undefined],
    ];
    for (const [method, path, json] of cases) {
      const res = await call(method, path, admin, json);
      expect(res.status, `${method} ${path} ${JSON.stringify(json)?.slice(0, 80)}: ${res.text}`).toBeGreaterThanOrEqual(400);
      expect(res.status, `${method} ${path}: ${res.text}`).toBeLessThan(500);
    }
  });
});
