/**
 * The depot's manifest signing keys (ADR 23): agents learn them at check-in (the first is created then, before
 * anything is signed), manifests verify with the published key, and rotation publishes a key before it signs and keeps
 * the previous one published until it is retired. Without a secret store master key a check-in still succeeds,
 * with no keys to trust.
 */
import { createPublicKey, randomBytes, randomUUID, verify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkinResponse } from '@opsconductor/contracts/agent-protocol';
import type { DepotSigningKeyInfo } from '@opsconductor/contracts/api';
import type { DepotSigningKey } from '@opsconductor/contracts/software';
import { startTestApi, type TestApi } from '../../../test/support/api.ts';

let t: TestApi;
let bare: TestApi;
beforeAll(async () => {
  t = await startTestApi({}, { secretsMasterKeys: [{ id: 'k1', key: randomBytes(32) }] });
  bare = await startTestApi();
});
afterAll(async () => {
  await t?.close();
  await bare?.close();
});

const facts = {
  hostname: 'signing-1',
  osFamily: 'linux',
  osName: 'Debian',
  osVersion: '12',
  architecture: 'x64',
  ipAddresses: [],
  agentVersion: '0.1.0',
};

async function checkin(api: TestApi): Promise<DepotSigningKey[] | undefined> {
  const admin = await api.tokenFor('admin');
  const { deviceSecret } = await api.enrollDevice(await api.createEnrollmentToken(admin));
  const res = await api.request('/agent/v1/checkin', {
    method: 'POST',
    headers: { authorization: `Bearer ${deviceSecret}` },
    json: { facts },
  });
  expect(res.status).toBe(200);
  return checkinResponse.parse(await res.json()).depotSigningKeys;
}

function verifies(key: DepotSigningKey, manifest: string, signature: string): boolean {
  const publicKey = createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(key.publicKey, 'base64').toString('base64url') },
    format: 'jwk',
  });
  return verify(null, Buffer.from(manifest, 'utf8'), publicKey, Buffer.from(signature, 'base64'));
}

describe('depot signing keys', () => {
  it('are sent at check-in, sign manifests that verify with them, and rotate without an unknown key ever signing', async () => {
    const signing = t.api.deps.depotSigning;
    const first = await checkin(t);
    expect(first).toHaveLength(1);
    const [k1] = first!;
    const manifest = JSON.stringify({ v: 1, packageName: 'Firefox', packageVersion: '120.0' });
    const signed = await signing.sign(manifest);
    expect(signed.keyId).toBe(k1!.keyId);
    expect(verifies(k1!, manifest, signed.signature)).toBe(true);
    expect(verifies(k1!, manifest.replace('120', '121'), signed.signature)).toBe(false);

    // Rotation: the new key is published first and signs nothing until it is activated.
    const k2 = await signing.createKey('pending');
    expect((await checkin(t))!.map((k) => k.keyId)).toEqual([k1!.keyId, k2.keyId]);
    expect((await signing.sign(manifest)).keyId).toBe(k1!.keyId);
    expect(await signing.activate(k2.keyId)).toBe(true);
    const afterRotation = await signing.sign(manifest);
    expect(afterRotation.keyId).toBe(k2.keyId);
    expect(verifies(k2, manifest, afterRotation.signature)).toBe(true);
    // The previous key stays published (what it signed still verifies) until it is retired; the active one cannot be.
    expect((await checkin(t))!.map((k) => k.keyId)).toEqual([k1!.keyId, k2.keyId]);
    expect(await signing.retire(k2.keyId)).toBe(false);
    expect(await signing.retire(k1!.keyId)).toBe(true);
    expect((await checkin(t))!.map((k) => k.keyId)).toEqual([k2.keyId]);
    expect(await t.database.db.prisma.secret.count({ where: { ownerType: 'depot_signing_key', ownerId: k1!.keyId } })).toBe(0);
  });

  it('leaves the keys out of the check-in when the secret store cannot keep a private key', async () => {
    expect(await checkin(bare)).toEqual([]);
    const created = await bare.request('/api/v1/depot/signing-keys', { method: 'POST', token: await bare.tokenFor('admin') });
    expect(created.status).toBe(503);
    expect(((await created.json()) as { code: string }).code).toBe('secrets_unavailable');
  });

  it('are rotated by admins through the API: create pending, activate, retire the previous one, each audited', async () => {
    const admin = await t.tokenFor('admin');
    const call = async (path: string, method = 'POST', token = admin) => {
      const res = await t.request(`/api/v1/depot/signing-keys${path}`, { method, token });
      return { status: res.status, body: (await res.json()) as DepotSigningKeyInfo & { code?: string; items?: DepotSigningKeyInfo[] } };
    };
    expect((await call('', 'POST', await t.tokenFor('operator'))).status).toBe(403);
    expect((await call('', 'GET', await t.tokenFor('viewer'))).status).toBe(403);
    const active = (await call('', 'GET')).body.items!.find((k) => k.state === 'active')!;

    const created = await call('');
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ state: 'pending', activatedAt: null });
    expect((await checkin(t))!.map((k) => k.keyId)).toContain(created.body.keyId);
    expect((await call(`/${active.keyId}/activate`)).body.code).toBe('conflict');

    const activated = await call(`/${created.body.keyId}/activate`);
    expect(activated.status).toBe(200);
    expect(activated.body.state).toBe('active');
    expect((await t.api.deps.depotSigning.sign('{}')).keyId).toBe(created.body.keyId);
    expect((await call(`/${created.body.keyId}/retire`)).status).toBe(409);
    const retired = await call(`/${active.keyId}/retire`);
    expect(retired.body).toMatchObject({ state: 'retired', keyId: active.keyId });
    expect((await checkin(t))!.map((k) => k.keyId)).not.toContain(active.keyId);
    expect((await call(`/${randomUUID()}/activate`)).status).toBe(404);

    const { rows } = await t.database.db.pool.query<{ action: string }>(
      `SELECT action FROM audit_logs WHERE target_type = 'depot_signing_key' AND target_id = ANY($1) ORDER BY id`,
      [[created.body.keyId, active.keyId]],
    );
    expect(rows.map((r) => r.action)).toEqual(['depot_signing_key.create', 'depot_signing_key.activate', 'depot_signing_key.retire']);
  });
});
