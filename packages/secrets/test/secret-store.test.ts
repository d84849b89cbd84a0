/** The secret store against a real PostgreSQL: envelope encryption, tamper detection, wrong keys, rotation. */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@opsconductor/test/support/database';
import { systemActor } from '@opsconductor/unit-of-work';
import {
  InvalidMasterKeysError,
  SecretDecryptionError,
  SecretStore,
  SecretsUnavailableError,
  parseMasterKeys,
  type MasterKey,
} from '../src/index.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t?.drop());
beforeEach(async () => {
  await t.db.pool.query('TRUNCATE secrets');
});

const key = (id: string): MasterKey => ({ id, key: randomBytes(32) });
const k1 = key('k1');
const k2 = key('k2');
const store = (...keys: MasterKey[]) => new SecretStore({ db: t.db, keys });
const ref = (ownerId = 'channel-1', purpose = 'webhook-signing-key') => ({ ownerType: 'notification_channel', ownerId, purpose });
const origin = { actor: systemActor('test') };
const VALUE = 'whsec_4f1c6b5e9d2a-very-secret';
const rowOf = async (ownerId = 'channel-1') => (await t.db.pool.query('SELECT * FROM secrets WHERE owner_id = $1', [ownerId])).rows[0];

describe('master keys', () => {
  it('parses id:base64 lists, the first being current', () => {
    const a = randomBytes(32).toString('base64');
    const b = randomBytes(32).toString('base64');
    expect(parseMasterKeys(` new:${a} , old:${b}`).map((k) => k.id)).toEqual(['new', 'old']);
  });

  it('lists every problem, without the key material', () => {
    const short = randomBytes(16).toString('base64');
    const good = randomBytes(32).toString('base64');
    let err: unknown;
    try {
      parseMasterKeys(`a:${short},b:not-base64!,${good},a:${good},a:${good}`);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidMasterKeysError);
    const problems = (err as InvalidMasterKeysError).problems;
    expect(problems).toEqual([
      'entry 1 (a): the key must be 32 bytes (AES-256), it is 16',
      'entry 2 (b): the key is not base64',
      "entry 3: expected id:base64key with an id of letters, digits, '.', '_' or '-'",
      'entry 5 (a): the id is used twice',
    ]);
    expect((err as Error).message).not.toContain(short);
    expect((err as Error).message).not.toContain(good);
    expect(() => parseMasterKeys(' , ')).toThrow(/no key given/);
  });
});

describe('storing and revealing', () => {
  it('round-trips text and bytes; the row holds neither the value nor the data key in the clear', async () => {
    const s = store(k1);
    const meta = await s.put(ref(), VALUE);
    expect(meta).toMatchObject({ ...ref(), keyId: 'k1' });
    expect(Object.values(meta).map(String).join(' ')).not.toContain(VALUE);
    expect(await s.revealText(ref())).toBe(VALUE);
    const bytes = randomBytes(300);
    await s.put(ref('channel-2'), bytes);
    expect(await s.reveal(ref('channel-2'))).toEqual(bytes);
    const row = await rowOf();
    expect(Buffer.concat([row.ciphertext, row.encrypted_data_key]).includes(Buffer.from(VALUE))).toBe(false);
    expect(row.ciphertext).toHaveLength(Buffer.byteLength(VALUE) + 16); // the GCM tag follows the ciphertext
    expect(await s.reveal(ref('nobody'))).toBeNull();
  });

  it('replaces a secret under the same ID with a new data key and nonce', async () => {
    const s = store(k1);
    const first = await s.put(ref(), VALUE);
    const before = await rowOf();
    const second = await s.put(ref(), 'another value');
    const after = await rowOf();
    expect(second.id).toBe(first.id);
    expect(after.nonce.equals(before.nonce)).toBe(false);
    expect(after.encrypted_data_key.equals(before.encrypted_data_key)).toBe(false);
    expect(await s.revealText(ref())).toBe('another value');
    expect(await s.delete(ref())).toBe(true);
    expect(await s.revealText(ref())).toBeNull();
  });

  it('stores one secret per owner and purpose when first writes race', async () => {
    const s = store(k1);
    await Promise.all(Array.from({ length: 8 }, (_, i) => s.put(ref(), `value-${i}`)));
    expect((await t.db.pool.query('SELECT id FROM secrets')).rows).toHaveLength(1);
    expect(await s.revealText(ref())).toMatch(/^value-\d$/);
  });

  it('refuses to store without a master key, and bad references', async () => {
    await expect(store().put(ref(), VALUE)).rejects.toBeInstanceOf(SecretsUnavailableError);
    await expect(store(k1).put({ ...ref(), purpose: 'has space' }, VALUE)).rejects.toThrow(/purpose must be/);
  });
});

describe('tampering', () => {
  const cases: [string, string][] = [
    [
      'a ciphertext byte',
      `UPDATE secrets SET ciphertext = set_byte(ciphertext, 0, get_byte(ciphertext, 0) # 1) WHERE owner_id = 'channel-1'`,
    ],
    [
      'the tag',
      `UPDATE secrets SET ciphertext = set_byte(ciphertext, length(ciphertext) - 1, get_byte(ciphertext, length(ciphertext) - 1) # 1) WHERE owner_id = 'channel-1'`,
    ],
    ['the nonce', `UPDATE secrets SET nonce = set_byte(nonce, 0, get_byte(nonce, 0) # 1) WHERE owner_id = 'channel-1'`],
    [
      'the encrypted data key',
      `UPDATE secrets SET encrypted_data_key = set_byte(encrypted_data_key, 3, get_byte(encrypted_data_key, 3) # 1) WHERE owner_id = 'channel-1'`,
    ],
    ['the owner (bound as AAD)', `UPDATE secrets SET owner_id = 'channel-9' WHERE owner_id = 'channel-1'`],
    ['the key ID (to another configured key)', `UPDATE secrets SET key_id = 'k2' WHERE owner_id = 'channel-1'`],
    [
      'the ciphertext, swapped in from another row',
      `UPDATE secrets s SET ciphertext = o.ciphertext, nonce = o.nonce, encrypted_data_key = o.encrypted_data_key, data_key_nonce = o.data_key_nonce FROM secrets o WHERE s.owner_id = 'channel-1' AND o.owner_id = 'channel-2'`,
    ],
  ];
  it.each(cases)('detects a change of %s', async (_what, tamper) => {
    const s = store(k1, k2);
    await s.put(ref(), VALUE);
    await s.put(ref('channel-2'), VALUE); // the same value: a swap would be undetectable without the row binding
    await t.db.pool.query(tamper);
    const owner = (await rowOf()) ? 'channel-1' : 'channel-9';
    const err = await s.reveal(ref(owner)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretDecryptionError);
    expect(String((err as Error).message)).not.toContain(VALUE);
    expect(await s.revealText(ref('channel-2'))).toBe(VALUE);
  });

  it('refuses the wrong key under the right ID, and a key ID it does not have', async () => {
    await store(k1).put(ref(), VALUE);
    await expect(store({ id: 'k1', key: randomBytes(32) }).reveal(ref())).rejects.toBeInstanceOf(SecretDecryptionError);
    await expect(store(k2).reveal(ref())).rejects.toThrow(SecretsUnavailableError);
    await expect(store(k2).reveal(ref())).rejects.toThrow(/master key "k1", which is not configured/);
  });
});

describe('rotation', () => {
  it('moves every secret to the current key, keeping the value ciphertexts, with an audit row', async () => {
    const old = store(k1);
    for (let i = 1; i <= 3; i++) await old.put(ref(`channel-${i}`), `${VALUE}-${i}`);
    const before = await rowOf();

    const rotating = store(k2, k1); // k2 is current now; k1 still decrypts
    expect(await rotating.revealText(ref())).toBe(`${VALUE}-1`);
    expect(await rotating.keyUsage()).toEqual([
      { keyId: 'k2', secrets: 0, current: true, configured: true },
      { keyId: 'k1', secrets: 3, current: false, configured: true },
    ]);
    expect(await rotating.rotate(origin, 2)).toEqual({ currentKeyId: 'k2', rewrapped: 2, remaining: 1 });
    expect(await rotating.rotate(origin)).toEqual({ currentKeyId: 'k2', rewrapped: 1, remaining: 0 });
    expect(await rotating.rotate(origin)).toEqual({ currentKeyId: 'k2', rewrapped: 0, remaining: 0 });

    const after = await rowOf();
    expect(after.key_id).toBe('k2');
    expect(after.ciphertext.equals(before.ciphertext)).toBe(true);
    expect(after.encrypted_data_key.equals(before.encrypted_data_key)).toBe(false);
    // The old key can go: the new one alone reveals everything.
    const rotated = store(k2);
    for (let i = 1; i <= 3; i++) expect(await rotated.revealText(ref(`channel-${i}`))).toBe(`${VALUE}-${i}`);
    await expect(store(k1).reveal(ref())).rejects.toThrow(SecretsUnavailableError);

    const audit = await t.db.pool.query(
      `SELECT actor_type, actor_name, target_id, details FROM audit_logs WHERE action = 'secrets.rotate' ORDER BY id`,
    );
    expect(audit.rows.map((r) => r.details)).toEqual([
      { currentKeyId: 'k2', rewrapped: 2, remaining: 1, fromKeyIds: ['k1'] },
      { currentKeyId: 'k2', rewrapped: 1, remaining: 0, fromKeyIds: ['k1'] },
      { currentKeyId: 'k2', rewrapped: 0, remaining: 0, fromKeyIds: [] },
    ]);
    expect(JSON.stringify(audit.rows)).not.toContain(VALUE);
  });

  it("refuses to rotate, changing nothing, while a secret's key is missing", async () => {
    await store(k1).put(ref(), VALUE);
    const lost = key('k0');
    await store(lost).put(ref('channel-2'), VALUE);
    await expect(store(k2, k1).rotate(origin)).rejects.toBeInstanceOf(SecretsUnavailableError);
    expect((await t.db.pool.query('SELECT key_id FROM secrets ORDER BY owner_id')).rows.map((r) => r.key_id)).toEqual(['k1', 'k0']);
  });
});
