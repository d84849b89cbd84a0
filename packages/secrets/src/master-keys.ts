/**
 * Master keys (key-encryption keys) come from the environment: `SECRETS_MASTER_KEYS` is a comma-separated
 * list of `id:base64key`, each key 32 random bytes; the first one is current (new secrets and rotation use
 * it), the others only decrypt what they encrypted until a rotation has moved everything to the current one.
 */

export interface MasterKey {
  readonly id: string;
  readonly key: Buffer;
}

export class InvalidMasterKeysError extends Error {
  constructor(readonly problems: string[]) {
    super(`SECRETS_MASTER_KEYS: ${problems.join('; ')}`);
    this.name = 'InvalidMasterKeysError';
  }
}

const KEY_ID = /^[A-Za-z0-9_.-]{1,64}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Parses the list, listing every problem (never a key itself) when something is wrong. */
export function parseMasterKeys(value: string): MasterKey[] {
  const problems: string[] = [];
  const keys: MasterKey[] = [];
  const entries = value
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  if (!entries.length) problems.push('no key given (expected id:base64key, …)');
  entries.forEach((entry, i) => {
    const at = entry.indexOf(':');
    const id = at < 0 ? '' : entry.slice(0, at);
    const encoded = at < 0 ? '' : entry.slice(at + 1);
    const where = `entry ${i + 1}${KEY_ID.test(id) ? ` (${id})` : ''}`;
    if (!KEY_ID.test(id)) return void problems.push(`${where}: expected id:base64key with an id of letters, digits, '.', '_' or '-'`);
    const key = BASE64.test(encoded) && encoded.length % 4 === 0 ? Buffer.from(encoded, 'base64') : null;
    if (!key) return void problems.push(`${where}: the key is not base64`);
    if (key.length !== 32) return void problems.push(`${where}: the key must be 32 bytes (AES-256), it is ${key.length}`);
    if (keys.some((k) => k.id === id)) return void problems.push(`${where}: the id is used twice`);
    keys.push({ id, key });
  });
  if (problems.length) throw new InvalidMasterKeysError(problems);
  return keys;
}
