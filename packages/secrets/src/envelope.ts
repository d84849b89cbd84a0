/**
 * AES-256-GCM envelope encryption. Each secret has its own random data key; the value is encrypted with the
 * data key, the data key with a master key. Both are bound (additional authenticated data) to the secret's
 * row — its ID, owner and purpose — and the data key also to its master key's ID, so a ciphertext moved to
 * another row, or a key ID changed, fails to decrypt instead of revealing something.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { MasterKey } from './master-keys.ts';

const ALGORITHM = 'aes-256-gcm';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export interface SecretBinding {
  id: string;
  ownerType: string;
  ownerId: string;
  purpose: string;
}
export interface Envelope {
  keyId: string;
  encryptedDataKey: Buffer;
  dataKeyNonce: Buffer;
  nonce: Buffer;
  ciphertext: Buffer;
}

/** Thrown when a ciphertext does not authenticate: tampered, swapped between rows, or the wrong key. */
export class SecretDecryptionError extends Error {
  constructor(readonly secretId: string) {
    super(`secret ${secretId} does not decrypt: it was tampered with, moved, or its master key is not the one it was encrypted with`);
    this.name = 'SecretDecryptionError';
  }
}

const aad = (b: SecretBinding) => Buffer.from(JSON.stringify(['opsconductor/secret/v1', b.id, b.ownerType, b.ownerId, b.purpose]));
const keyAad = (b: SecretBinding, keyId: string) => Buffer.concat([aad(b), Buffer.from(`\0key:${keyId}`)]);

function seal(key: Buffer, plaintext: Buffer, additional: Buffer): { nonce: Buffer; sealed: Buffer } {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_BYTES }).setAAD(additional);
  return { nonce, sealed: Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]) };
}

function open(key: Buffer, nonce: Buffer, sealed: Buffer, additional: Buffer, secretId: string): Buffer {
  if (nonce.length !== NONCE_BYTES || sealed.length < TAG_BYTES) throw new SecretDecryptionError(secretId);
  try {
    const decipher = createDecipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_BYTES }).setAAD(additional);
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new SecretDecryptionError(secretId);
  }
}

export function encrypt(masterKey: MasterKey, binding: SecretBinding, value: Buffer): Envelope {
  const dataKey = randomBytes(32);
  try {
    const { nonce, sealed: ciphertext } = seal(dataKey, value, aad(binding));
    const { nonce: dataKeyNonce, sealed: encryptedDataKey } = seal(masterKey.key, dataKey, keyAad(binding, masterKey.id));
    return { keyId: masterKey.id, encryptedDataKey, dataKeyNonce, nonce, ciphertext };
  } finally {
    dataKey.fill(0);
  }
}

function unwrapDataKey(masterKey: MasterKey, binding: SecretBinding, e: Pick<Envelope, 'encryptedDataKey' | 'dataKeyNonce'>): Buffer {
  return open(masterKey.key, e.dataKeyNonce, e.encryptedDataKey, keyAad(binding, masterKey.id), binding.id);
}

export function decrypt(masterKey: MasterKey, binding: SecretBinding, e: Envelope): Buffer {
  const dataKey = unwrapDataKey(masterKey, binding, e);
  try {
    return open(dataKey, e.nonce, e.ciphertext, aad(binding), binding.id);
  } finally {
    dataKey.fill(0);
  }
}

/** The same secret under another master key: only the data key is re-encrypted; the value's ciphertext stays. */
export function rewrap(from: MasterKey, to: MasterKey, binding: SecretBinding, e: Envelope): Envelope {
  const dataKey = unwrapDataKey(from, binding, e);
  try {
    // The value must still decrypt with it: never re-wrap a data key that belongs to another ciphertext.
    open(dataKey, e.nonce, e.ciphertext, aad(binding), binding.id).fill(0);
    const { nonce: dataKeyNonce, sealed: encryptedDataKey } = seal(to.key, dataKey, keyAad(binding, to.id));
    return { ...e, keyId: to.id, encryptedDataKey, dataKeyNonce };
  } finally {
    dataKey.fill(0);
  }
}
