/**
 * Verification of a signed artifact manifest (ADR 23): Ed25519 over the exact UTF-8 bytes of the manifest
 * text, by a depot key the check-in listed. The text is parsed only after the signature holds, so nothing
 * an attacker wrote is ever interpreted; then it must match the contract's schema and be fresh.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import {
  artifactManifest,
  signedManifest,
  type ArtifactManifest,
  type DepotSigningKey,
  type SignedManifest,
} from '@opsconductor/contracts/software';

/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the raw 32-byte key follows it. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
/** How far ahead of this device's clock `issuedAt` may be: endpoint clocks drift. */
export const MANIFEST_CLOCK_SKEW_MS = 5 * 60_000;

export type ManifestRejection = 'unknown_key' | 'bad_signature' | 'invalid' | 'expired';
export type ManifestVerification = { ok: true; manifest: ArtifactManifest } | { ok: false; reason: ManifestRejection; detail: string };

/** The key object for a raw 32-byte Ed25519 public key in base64; undefined when it is not one. */
export function ed25519PublicKey(rawBase64: string): KeyObject | undefined {
  const raw = Buffer.from(rawBase64, 'base64');
  if (raw.length !== 32) return undefined;
  try {
    return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
  } catch {
    return undefined;
  }
}

/**
 * Checks `signed` against the trusted `keys`. `now` is the time to judge freshness by (ms since the epoch;
 * pass the server's clock when the agent knows its offset); a manifest issued more than `maxAgeSeconds`
 * before it is `expired`, and so is one issued more than MANIFEST_CLOCK_SKEW_MS after it (a manifest from
 * the future is either a clock problem or a replay prepared in advance; neither is trusted).
 */
export function verifyManifest(
  signed: SignedManifest,
  keys: readonly DepotSigningKey[],
  now: number,
  maxAgeSeconds: number,
): ManifestVerification {
  const envelope = signedManifest.safeParse(signed);
  if (!envelope.success) return { ok: false, reason: 'invalid', detail: 'the signed manifest is malformed' };
  const { manifest: text, keyId, signature } = envelope.data;
  const key = keys.find((candidate) => candidate.keyId === keyId);
  if (!key) return { ok: false, reason: 'unknown_key', detail: `the manifest is signed by key ${keyId}, which this agent does not trust` };
  const publicKey = ed25519PublicKey(key.publicKey);
  if (!publicKey) return { ok: false, reason: 'unknown_key', detail: `trusted key ${keyId} is not an Ed25519 public key` };
  const sig = Buffer.from(signature, 'base64');
  let valid = false;
  try {
    valid = sig.length === 64 && verify(null, Buffer.from(text, 'utf8'), publicKey, sig);
  } catch {
    valid = false;
  }
  if (!valid) return { ok: false, reason: 'bad_signature', detail: `the manifest's signature does not verify with key ${keyId}` };

  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'invalid', detail: 'the signed manifest is not JSON' };
  }
  const parsed = artifactManifest.safeParse(json);
  if (!parsed.success) return { ok: false, reason: 'invalid', detail: 'the signed manifest does not match the manifest schema' };
  const manifest = parsed.data;
  const issuedAt = Date.parse(manifest.issuedAt);
  if (Number.isNaN(issuedAt)) return { ok: false, reason: 'invalid', detail: 'the manifest has no readable issuedAt' };
  if (issuedAt > now + MANIFEST_CLOCK_SKEW_MS) {
    return { ok: false, reason: 'expired', detail: `the manifest was issued in the future (${manifest.issuedAt}); check the device clock` };
  }
  if (issuedAt < now - maxAgeSeconds * 1000) {
    return { ok: false, reason: 'expired', detail: `the manifest was issued at ${manifest.issuedAt}, more than ${maxAgeSeconds} s ago` };
  }
  return { ok: true, manifest };
}
