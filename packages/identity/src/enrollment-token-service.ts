/** Enrollment tokens: created (the secret shown once, only its hash stored) and revoked by admins. */
import type { Database } from '@opsconductor/db';
import { notFound, withUnitOfWork, type Origin } from '@opsconductor/unit-of-work';
import { generateToken, hashToken } from './credentials.ts';

export interface EnrollmentTokenRecord {
  id: string;
  name: string;
  tokenPrefix: string;
  maxUses: number;
  usedCount: number;
  expiresAt: Date;
  revokedAt: Date | null;
  createdAt: Date;
  createdBy: string | null;
}

const COLUMNS = `t.id, t.name, t.token_prefix AS "tokenPrefix", t.max_uses AS "maxUses", t.used_count AS "usedCount", t.expires_at AS "expiresAt",
  t.revoked_at AS "revokedAt", t.created_at AS "createdAt", (SELECT email FROM users u WHERE u.id = t.created_by_id) AS "createdBy"`;

export class EnrollmentTokenService {
  constructor(private readonly deps: { db: Database }) {}

  /** Returns the token record and the secret token, which is never stored. */
  async create(
    origin: Origin,
    input: { name: string; maxUses: number; expiresInHours: number },
  ): Promise<{ record: EnrollmentTokenRecord; token: string }> {
    const token = `oce_${generateToken(32)}`;
    return withUnitOfWork(this.deps.db, origin, async (uow) => {
      const { rows } = await uow.sql.query<EnrollmentTokenRecord>(
        `WITH t AS (
           INSERT INTO enrollment_tokens (id, name, max_uses, token_hash, token_prefix, expires_at, created_by_id)
           VALUES (gen_random_uuid(), $1, $2, $3, $4, now() + make_interval(hours => $5), $6) RETURNING *)
         SELECT ${COLUMNS} FROM t`,
        [
          input.name,
          input.maxUses,
          hashToken(token),
          token.slice(0, 10),
          input.expiresInHours,
          origin.actor.type === 'user' ? origin.actor.id : null,
        ],
      );
      const record = rows[0]!;
      await uow.audit({
        action: 'enrollment_token.create',
        targetType: 'enrollment_token',
        targetId: record.id,
        details: { name: record.name, maxUses: record.maxUses, expiresAt: record.expiresAt.toISOString() },
      });
      return { record, token };
    });
  }

  /** Revoking a revoked token keeps its first revocation time. */
  async revoke(origin: Origin, id: string): Promise<EnrollmentTokenRecord> {
    return withUnitOfWork(this.deps.db, origin, async (uow) => {
      const { rows } = await uow.sql.query<EnrollmentTokenRecord>(
        `WITH t AS (UPDATE enrollment_tokens SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 RETURNING *) SELECT ${COLUMNS} FROM t`,
        [id],
      );
      if (!rows[0]) throw notFound();
      await uow.audit({ action: 'enrollment_token.revoke', targetType: 'enrollment_token', targetId: id });
      return rows[0];
    });
  }
}
