/**
 * The keys the depot signs artifact manifests with (ADR 23). Ed25519; the private half of each key is in the secret
 * store (owner `depot_signing_key`), the public half in `depot_signing_keys` and sent to agents at every check-in.
 *
 * Key states: `pending` (published to agents, signs nothing yet), `active` (signs; at most one), `previous` (was
 * active; still published so manifests it signed keep verifying), `retired` (no longer published). Rotating is
 * publishing a new pending key, waiting until the fleet has checked in (agents learn keys only from check-ins), then
 * activating it: an agent never gets a manifest signed by a key it cannot know.
 */
import { createPrivateKey, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import type { DepotSigningKeyInfo } from '@opsconductor/contracts/api';
import type { DepotSigningKey, SignedManifest } from '@opsconductor/contracts/software';
import type { ApiDeps } from '../context.ts';

export const DEPOT_SIGNING_KEY_OWNER = 'depot_signing_key';
const PRIVATE_KEY_PURPOSE = 'ed25519_private_key_pkcs8';
/** How long the published key list is kept in memory: check-ins of 10,000 devices must not each read it. */
const PUBLISHED_KEYS_TTL_MS = 30_000;

const base64urlToBase64 = (s: string) => Buffer.from(s, 'base64url').toString('base64');

export class DepotSigning {
  private published: { keys: DepotSigningKey[]; at: number } | undefined;
  private signer: { keyId: string; key: KeyObject } | undefined;

  constructor(private readonly deps: Pick<ApiDeps, 'db' | 'secrets'>) {}

  /** Every key, newest first, for admins. */
  async list(): Promise<DepotSigningKeyInfo[]> {
    const rows = await this.deps.db.prisma.depotSigningKey.findMany({ orderBy: [{ createdAt: 'desc' }, { id: 'asc' }] });
    return rows.map((r) => ({
      keyId: r.id,
      publicKey: r.publicKey,
      state: r.state,
      createdAt: r.createdAt.toISOString(),
      activatedAt: r.activatedAt?.toISOString() ?? null,
      retiredAt: r.retiredAt?.toISOString() ?? null,
    }));
  }

  /** Creates a key (pending, or active when there is none yet) and stores its private half. */
  async createKey(state: 'pending' | 'active'): Promise<DepotSigningKey> {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const keyId = randomUUID();
    const raw = base64urlToBase64(publicKey.export({ format: 'jwk' }).x!);
    await this.deps.secrets.put(
      { ownerType: DEPOT_SIGNING_KEY_OWNER, ownerId: keyId, purpose: PRIVATE_KEY_PURPOSE },
      privateKey.export({ format: 'der', type: 'pkcs8' }),
    );
    await this.deps.db.prisma.depotSigningKey.create({
      data: { id: keyId, publicKey: raw, state, activatedAt: state === 'active' ? new Date() : null },
    });
    this.forget();
    return { keyId, publicKey: raw };
  }

  /** Makes a pending key the active one; the active one becomes `previous`. */
  async activate(keyId: string): Promise<boolean> {
    const { prisma } = this.deps.db;
    const done = await prisma.$transaction(async (tx) => {
      const key = await tx.depotSigningKey.findUnique({ where: { id: keyId } });
      if (key?.state !== 'pending') return false;
      await tx.depotSigningKey.updateMany({ where: { state: 'active' }, data: { state: 'previous' } });
      await tx.depotSigningKey.update({ where: { id: keyId }, data: { state: 'active', activatedAt: new Date() } });
      return true;
    });
    this.forget();
    return done;
  }

  /** Stops publishing a previous (or pending) key; the active key cannot be retired. */
  async retire(keyId: string): Promise<boolean> {
    const { count } = await this.deps.db.prisma.depotSigningKey.updateMany({
      where: { id: keyId, state: { in: ['previous', 'pending'] } },
      data: { state: 'retired', retiredAt: new Date() },
    });
    if (count > 0) await this.deps.secrets.delete({ ownerType: DEPOT_SIGNING_KEY_OWNER, ownerId: keyId, purpose: PRIVATE_KEY_PURPOSE });
    this.forget();
    return count > 0;
  }

  /**
   * What agents trust: every key that is not retired. Read from memory for up to 30 s. The first key is created
   * here when there is none, so agents know it before anything is signed with it; without a secret store master key
   * there is none to create and nothing can be signed, so the list stays empty.
   */
  async publishedKeys(): Promise<DepotSigningKey[]> {
    if (this.published && Date.now() - this.published.at < PUBLISHED_KEYS_TTL_MS) return this.published.keys;
    const read = () =>
      this.deps.db.prisma.depotSigningKey.findMany({
        where: { state: { not: 'retired' } },
        orderBy: { createdAt: 'asc' },
        select: { id: true, publicKey: true },
      });
    let rows = await read();
    if (rows.length === 0 && this.deps.secrets.configured) {
      await this.activeSigner();
      rows = await read();
    }
    const keys = rows.map((r) => ({ keyId: r.id, publicKey: r.publicKey }));
    this.published = { keys, at: Date.now() };
    return keys;
  }

  /** Signs the exact UTF-8 bytes of `manifest` with the active key (created on first use). */
  async sign(manifest: string): Promise<SignedManifest> {
    const signer = await this.activeSigner();
    return { manifest, keyId: signer.keyId, signature: sign(null, Buffer.from(manifest, 'utf8'), signer.key).toString('base64') };
  }

  private async activeSigner(): Promise<{ keyId: string; key: KeyObject }> {
    const { prisma } = this.deps.db;
    let active = await prisma.depotSigningKey.findFirst({ where: { state: 'active' }, select: { id: true } });
    if (this.signer && this.signer.keyId === active?.id) return this.signer;
    if (!active) {
      try {
        active = { id: (await this.createKey('active')).keyId };
      } catch (err) {
        // Another process created the first key at the same moment (one active key at most): use that one.
        active = await prisma.depotSigningKey.findFirst({ where: { state: 'active' }, select: { id: true } });
        if (!active) throw err;
      }
    }
    const der = await this.deps.secrets.reveal({ ownerType: DEPOT_SIGNING_KEY_OWNER, ownerId: active.id, purpose: PRIVATE_KEY_PURPOSE });
    if (!der) throw new Error(`the private half of depot signing key ${active.id} is missing from the secret store`);
    this.signer = { keyId: active.id, key: createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }) };
    return this.signer;
  }

  private forget(): void {
    this.published = undefined;
  }
}
