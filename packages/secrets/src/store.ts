/**
 * The secret store every feature that keeps secrets uses (job credentials, notification channel secrets,
 * SSO client secrets, signing keys). A secret belongs to an owner (`ownerType` + `ownerId`, e.g. a
 * notification channel) and has a `purpose` (e.g. "webhook-signing-key"); one secret per owner and purpose.
 *
 * - Write-only towards clients: `put` answers metadata only. `reveal` is for server-side use (an activity
 *   signing a webhook, say) and must never feed an API response or a log line.
 * - Writes join the caller's transaction when given one, so a secret is stored with the row that owns it.
 * - `rotate` moves secrets to the current master key (re-encrypting their data keys only).
 * Nothing here logs, and no error message carries a value or a key.
 */
import { randomUUID } from 'node:crypto';
import { withTransaction, type Database } from '@opsconductor/db';
import type { Sql } from '@opsconductor/domain-events';
import { ServiceError, withUnitOfWork, type EventTransaction, type Origin } from '@opsconductor/unit-of-work';
import { decrypt, encrypt, rewrap, type Envelope, type SecretBinding } from './envelope.ts';
import type { MasterKey } from './master-keys.ts';

export interface SecretRef {
  ownerType: string;
  ownerId: string;
  purpose: string;
}
export interface SecretMetadata extends SecretRef {
  id: string;
  keyId: string;
  createdAt: Date;
  updatedAt: Date;
}
export interface RotationResult {
  currentKeyId: string;
  rewrapped: number;
  remaining: number;
}

interface SecretRow extends SecretMetadata, Envelope {}

const REF = /^[A-Za-z0-9_.:-]{1,200}$/;
const COLUMNS = `id, owner_type AS "ownerType", owner_id AS "ownerId", purpose, key_id AS "keyId", created_at AS "createdAt", updated_at AS "updatedAt"`;
const ENVELOPE = `encrypted_data_key AS "encryptedDataKey", data_key_nonce AS "dataKeyNonce", nonce, ciphertext`;
/** Secrets re-encrypted per rotation call (one transaction, with its audit row); call again while some remain. */
export const ROTATION_BATCH = 10_000;
/** The largest value a secret may hold. */
export const MAX_SECRET_BYTES = 64 * 1024;

/** The secret store cannot work: no master key is configured, or a secret's key is not among them. */
export class SecretsUnavailableError extends ServiceError {
  constructor(detail: string) {
    super('unavailable', 'secrets_unavailable', detail);
    this.name = 'SecretsUnavailableError';
  }
}

export class SecretStore {
  private readonly byId: Map<string, MasterKey>;

  /** `keys` as parsed from SECRETS_MASTER_KEYS (the first is current); an empty list leaves the store unavailable. */
  constructor(private readonly deps: { db: Database; keys: readonly MasterKey[] }) {
    this.byId = new Map(deps.keys.map((k) => [k.id, k]));
  }

  get configured(): boolean {
    return this.deps.keys.length > 0;
  }

  get currentKeyId(): string | null {
    return this.deps.keys[0]?.id ?? null;
  }

  private current(): MasterKey {
    const key = this.deps.keys[0];
    if (!key) throw new SecretsUnavailableError('No master key is configured (SECRETS_MASTER_KEYS).');
    return key;
  }

  private key(id: string): MasterKey {
    const key = this.byId.get(id);
    if (!key)
      throw new SecretsUnavailableError(`A secret is encrypted with master key "${id}", which is not configured (SECRETS_MASTER_KEYS).`);
    return key;
  }

  /** Creates or replaces the owner's secret for the purpose (a new data key each time); returns its metadata. */
  async put(ref: SecretRef, value: string | Buffer, tx?: EventTransaction): Promise<SecretMetadata> {
    checkRef(ref);
    const plaintext = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    if (plaintext.length > MAX_SECRET_BYTES)
      throw new ServiceError('invalid', 'validation_failed', `A secret holds at most ${MAX_SECRET_BYTES} bytes.`);
    const key = this.current();
    const write = async (sql: Sql) => {
      // One writer per owner and purpose at a time, so two first writes cannot both pick a new ID.
      await sql.query(`SELECT pg_advisory_xact_lock(hashtextextended('secret:' || $1 || ':' || $2 || ':' || $3, 0))`, [
        ref.ownerType,
        ref.ownerId,
        ref.purpose,
      ]);
      // The row's ID is part of the ciphertext's binding: a replaced secret keeps the ID it has.
      const existing = await sql.query<{ id: string }>('SELECT id FROM secrets WHERE owner_type = $1 AND owner_id = $2 AND purpose = $3', [
        ref.ownerType,
        ref.ownerId,
        ref.purpose,
      ]);
      const id = existing.rows[0]?.id ?? randomUUID();
      const e = encrypt(key, { id, ...ref }, plaintext);
      const { rows } = await sql.query<SecretMetadata>(
        `INSERT INTO secrets (id, owner_type, owner_id, purpose, key_id, encrypted_data_key, data_key_nonce, nonce, ciphertext)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (id) DO UPDATE SET key_id = EXCLUDED.key_id, encrypted_data_key = EXCLUDED.encrypted_data_key,
           data_key_nonce = EXCLUDED.data_key_nonce, nonce = EXCLUDED.nonce, ciphertext = EXCLUDED.ciphertext, updated_at = now()
         RETURNING ${COLUMNS}`,
        [id, ref.ownerType, ref.ownerId, ref.purpose, e.keyId, e.encryptedDataKey, e.dataKeyNonce, e.nonce, e.ciphertext],
      );
      return rows[0]!;
    };
    return tx ? write(tx.sql) : withTransaction(this.deps.db.pool, write);
  }

  /** Server-side only: the value, or null when there is none. Throws SecretDecryptionError when it does not authenticate. */
  async reveal(ref: SecretRef, tx?: EventTransaction): Promise<Buffer | null> {
    const row = await this.row(ref, tx?.sql ?? this.deps.db.pool);
    return row ? decrypt(this.key(row.keyId), binding(row), row) : null;
  }

  async revealText(ref: SecretRef, tx?: EventTransaction): Promise<string | null> {
    return (await this.reveal(ref, tx))?.toString('utf8') ?? null;
  }

  async metadata(ref: SecretRef): Promise<SecretMetadata | null> {
    checkRef(ref);
    const { rows } = await this.deps.db.pool.query<SecretMetadata>(
      `SELECT ${COLUMNS} FROM secrets WHERE owner_type = $1 AND owner_id = $2 AND purpose = $3`,
      [ref.ownerType, ref.ownerId, ref.purpose],
    );
    return rows[0] ?? null;
  }

  async delete(ref: SecretRef, tx?: EventTransaction): Promise<boolean> {
    checkRef(ref);
    const r = await (tx?.sql ?? this.deps.db.pool).query('DELETE FROM secrets WHERE owner_type = $1 AND owner_id = $2 AND purpose = $3', [
      ref.ownerType,
      ref.ownerId,
      ref.purpose,
    ]);
    return (r.rowCount ?? 0) > 0;
  }

  /** How many secrets each master key protects (the current one first), for operators. */
  async keyUsage(): Promise<{ keyId: string; secrets: number; current: boolean; configured: boolean }[]> {
    const { rows } = await this.deps.db.pool.query<{ key_id: string; n: number }>(
      'SELECT key_id, count(*)::int AS n FROM secrets GROUP BY key_id',
    );
    const used = new Map(rows.map((r) => [r.key_id, r.n]));
    const ids = [...new Set([...this.deps.keys.map((k) => k.id), ...used.keys()])];
    return ids.map((keyId) => ({
      keyId,
      secrets: used.get(keyId) ?? 0,
      current: keyId === this.currentKeyId,
      configured: this.byId.has(keyId),
    }));
  }

  /**
   * Re-encrypts the data keys of secrets under older master keys with the current one, up to ROTATION_BATCH
   * per call, in one transaction with its audit row (`secrets.rotate`). Secrets whose key is not configured
   * are refused (nothing changes) rather than skipped. Remove an old key from SECRETS_MASTER_KEYS once
   * `remaining` is 0.
   */
  async rotate(origin: Origin, batch = ROTATION_BATCH): Promise<RotationResult> {
    const to = this.current();
    return withUnitOfWork(this.deps.db, origin, async (uow) => {
      const { rows } = await uow.sql.query<SecretRow>(
        `SELECT ${COLUMNS}, ${ENVELOPE} FROM secrets WHERE key_id <> $1 ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`,
        [to.id, batch],
      );
      const fromKeys = [...new Set(rows.map((r) => r.keyId))].sort();
      for (const row of rows) {
        const e = rewrap(this.key(row.keyId), to, binding(row), row);
        await uow.sql.query(
          'UPDATE secrets SET key_id = $2, encrypted_data_key = $3, data_key_nonce = $4, updated_at = now() WHERE id = $1',
          [row.id, e.keyId, e.encryptedDataKey, e.dataKeyNonce],
        );
      }
      const left = await uow.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM secrets WHERE key_id <> $1', [to.id]);
      const result = { currentKeyId: to.id, rewrapped: rows.length, remaining: left.rows[0]!.n };
      await uow.audit({
        action: 'secrets.rotate',
        targetType: 'master_key',
        targetId: to.id,
        details: { ...result, fromKeyIds: fromKeys },
      });
      return result;
    });
  }

  private async row(ref: SecretRef, sql: Sql): Promise<SecretRow | undefined> {
    checkRef(ref);
    const { rows } = await sql.query<SecretRow>(
      `SELECT ${COLUMNS}, ${ENVELOPE} FROM secrets WHERE owner_type = $1 AND owner_id = $2 AND purpose = $3`,
      [ref.ownerType, ref.ownerId, ref.purpose],
    );
    return rows[0];
  }
}

const binding = (row: SecretMetadata): SecretBinding => ({
  id: row.id,
  ownerType: row.ownerType,
  ownerId: row.ownerId,
  purpose: row.purpose,
});

function checkRef(ref: SecretRef): void {
  for (const [name, value] of Object.entries({ ownerType: ref.ownerType, ownerId: ref.ownerId, purpose: ref.purpose })) {
    if (!REF.test(value)) throw new ServiceError('invalid', 'validation_failed', `${name} must be 1–200 letters, digits or . _ : -`);
  }
}
