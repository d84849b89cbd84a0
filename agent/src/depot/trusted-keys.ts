/**
 * The depot signing keys this agent trusts (ADR 23), as the server it enrolled with last listed them in a
 * check-in answer. Kept in `<state-dir>/depot-keys.json` so an agent that starts while the server is away
 * can still verify the manifests of commands it already holds. Only the check-in answer (authenticated,
 * from the configured origin) replaces the list; nothing a mirror or share serves ever reaches it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { depotSigningKey, type DepotSigningKey } from '@opsconductor/contracts/software';
import { z } from 'zod';
import type { Logger } from '../log.ts';
import { ensureStateDir, writeFileAtomic } from '../state.ts';

export const TRUSTED_KEYS_FILE = 'depot-keys.json';

const trustedKeysFile = z.object({
  keys: z.array(depotSigningKey).max(8),
  updatedAt: z.string(),
});

export class TrustedKeys {
  private list: DepotSigningKey[] = [];

  private constructor(
    private readonly stateDir: string,
    private readonly log?: Logger,
  ) {}

  /** Loads the saved list; a missing or unreadable file means no trusted keys (manifests fail `unknown_key`). */
  static load(stateDir: string, log?: Logger): TrustedKeys {
    const store = new TrustedKeys(stateDir, log);
    const file = path.join(stateDir, TRUSTED_KEYS_FILE);
    let raw: string;
    try {
      raw = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log?.warn('cannot read the depot signing keys', { err, file });
      return store;
    }
    try {
      store.list = trustedKeysFile.parse(JSON.parse(raw)).keys;
    } catch (err) {
      // The next check-in rewrites it; until then no artifact verifies, which is the safe side.
      log?.warn('the saved depot signing keys are invalid; ignoring them until the next check-in', { err, file });
    }
    return store;
  }

  /** The keys manifests are verified against (a copy). */
  keys(): DepotSigningKey[] {
    return this.list.map((key) => ({ ...key }));
  }

  /**
   * Applies a check-in answer's `depotSigningKeys`: a list present replaces the previous one (an empty list
   * too: the server revoked every key); absent (an older server, or one that did not send them this time)
   * keeps the last list. Returns whether the list changed. Writes only on change, atomically.
   */
  update(keys: readonly DepotSigningKey[] | undefined): boolean {
    if (keys === undefined) return false;
    const next = keys.map((key) => depotSigningKey.parse(key));
    if (sameKeys(next, this.list)) return false;
    // In memory first: the server's current list is the one to trust even when the disk refuses to keep it.
    this.list = next;
    this.log?.info('depot signing keys updated', { keyIds: next.map((key) => key.keyId) });
    try {
      ensureStateDir(this.stateDir);
      const body = { keys: next, updatedAt: new Date().toISOString() };
      writeFileAtomic(path.join(this.stateDir, TRUSTED_KEYS_FILE), JSON.stringify(body, null, 2) + '\n', 0o600);
    } catch (err) {
      this.log?.warn('could not save the depot signing keys; the next start uses the previous list until it checks in', { err });
    }
    return true;
  }
}

function sameKeys(a: readonly DepotSigningKey[], b: readonly DepotSigningKey[]): boolean {
  return a.length === b.length && a.every((key, i) => key.keyId === b[i]!.keyId && key.publicKey === b[i]!.publicKey);
}
