/** Helpers for the depot tests: Ed25519 depot keys and signed manifests as the server makes them. */
import { createHash, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import type { ArtifactManifest, ArtifactSource, DepotSigningKey, SignedManifest } from '@opsconductor/contracts/software';

export interface DepotKey {
  trusted: DepotSigningKey;
  privateKey: KeyObject;
}

export function depotKey(keyId = 'k1'): DepotKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  // The last 32 bytes of the SPKI DER are the raw key, as the server publishes it.
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  return { trusted: { keyId, publicKey: raw.toString('base64') }, privateKey };
}

export function signManifestText(text: string, key: DepotKey): SignedManifest {
  return { manifest: text, keyId: key.trusted.keyId, signature: sign(null, Buffer.from(text, 'utf8'), key.privateKey).toString('base64') };
}

export function manifestFor(bytes: Buffer, sources: ArtifactSource[], overrides: Partial<ArtifactManifest> = {}): ArtifactManifest {
  return {
    v: 1,
    packageName: 'Example',
    packageVersion: '1.2.3',
    versionId: randomUUID(),
    fileName: 'example-setup.bin',
    size: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    sources,
    issuedAt: new Date().toISOString(),
    ...overrides,
  };
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
