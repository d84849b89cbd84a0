/**
 * Users and their sessions: create and change users (admins), sign in and out, change one's own password.
 * Each mutation and its audit row commit together.
 */
import type { Database } from '@opsconductor/db';
import { normalizePassword } from '@opsconductor/passwords';
import { NameTakenError, conflict, invalid, isUniqueViolation, notFound, withUnitOfWork, type Origin } from '@opsconductor/unit-of-work';
import { assertPasswordAllowed, hashPassword } from './credentials.ts';

export type Role = 'admin' | 'operator' | 'viewer';
export interface UserRecord {
  id: string;
  email: string;
  name: string;
  role: Role;
  disabledAt: Date | null;
  createdAt: Date;
}
export interface UserChanges {
  name?: string;
  role?: Role;
  password?: string;
  disabled?: boolean;
}

const USER_COLUMNS = 'id, email, name, role::text AS role, disabled_at AS "disabledAt", created_at AS "createdAt"';
const emailTaken = () => new NameTakenError('email', 'A user with this email exists.');

export class UserService {
  constructor(private readonly deps: { db: Database }) {}

  async create(origin: Origin, input: { email: string; name: string; role: Role; password: string }): Promise<UserRecord> {
    const { pool } = this.deps.db;
    if ((await pool.query('SELECT 1 FROM users WHERE email = $1', [input.email])).rowCount) throw emailTaken();
    assertPasswordAllowed(input.password, input.email, 'password');
    // Hashing takes a while: before the transaction, not inside it.
    const passwordHash = await hashPassword(input.password);
    return withUnitOfWork(this.deps.db, origin, async (uow) => {
      const { rows } = await uow.sql
        .query<UserRecord>(
          `INSERT INTO users (id, email, name, role, password_hash, updated_at) VALUES (gen_random_uuid(), $1, $2, $3, $4, now()) RETURNING ${USER_COLUMNS}`,
          [input.email, input.name, input.role, passwordHash],
        )
        .catch((err: unknown) => {
          if (isUniqueViolation(err, 'users_email_key')) throw emailTaken();
          throw err;
        });
      const u = rows[0]!;
      await uow.audit({ action: 'user.create', targetType: 'user', targetId: u.id, details: { email: u.email, role: u.role } });
      return u;
    });
  }

  /** An admin changes a user. A disabled user or a new password ends every session of that user. */
  async update(origin: Origin, id: string, changes: UserChanges): Promise<UserRecord> {
    const { pool } = this.deps.db;
    const existing = (await pool.query<UserRecord>(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, [id])).rows[0];
    if (!existing) throw notFound();
    const self = origin.actor.type === 'user' && origin.actor.id === id;
    if (self && (changes.disabled || (changes.role && changes.role !== 'admin'))) {
      throw conflict('conflict', 'You cannot disable yourself or drop your own admin role.');
    }
    if (changes.password !== undefined) {
      // A stolen admin session must not be able to lock the admin out: their own password needs the current one.
      if (self) {
        throw invalid(
          'current_password_required',
          'Change your own password with POST /api/v1/auth/password, which asks for the current one.',
          [{ path: 'password', message: 'Use "Change password" (it asks for your current password)' }],
        );
      }
      assertPasswordAllowed(changes.password, existing.email, 'password');
    }
    const passwordHash = changes.password ? await hashPassword(changes.password) : null;
    return withUnitOfWork(this.deps.db, origin, async (uow) => {
      const { rows } = await uow.sql.query<UserRecord>(
        `UPDATE users SET name = COALESCE($2, name), role = COALESCE($3::"UserRole", role), password_hash = COALESCE($4, password_hash),
                disabled_at = CASE WHEN $5::boolean IS NULL THEN disabled_at WHEN $5 THEN COALESCE(disabled_at, now()) ELSE NULL END,
                updated_at = now()
          WHERE id = $1 RETURNING ${USER_COLUMNS}`,
        [id, changes.name ?? null, changes.role ?? null, passwordHash, changes.disabled ?? null],
      );
      if (!rows[0]) throw notFound();
      if (changes.disabled || changes.password) await uow.sql.query('DELETE FROM sessions WHERE user_id = $1', [id]);
      const { password: _omit, ...rest } = changes;
      await uow.audit({
        action: 'user.update',
        targetType: 'user',
        targetId: id,
        details: { ...rest, passwordChanged: changes.password !== undefined },
      });
      return rows[0];
    });
  }

  /** A session for a user who proved who they are; `sessionId` is the hash of the token the client keeps. */
  async startSession(origin: Origin, session: { id: string; userId: string; expiresAt: Date }): Promise<void> {
    await withUnitOfWork(this.deps.db, origin, async (uow) => {
      await uow.sql.query('INSERT INTO sessions (id, user_id, expires_at, ip_address, user_agent) VALUES ($1, $2, $3, $4, $5)', [
        session.id,
        session.userId,
        session.expiresAt,
        origin.ipAddress ?? null,
        origin.userAgent?.slice(0, 500) ?? null,
      ]);
      await uow.audit({ action: 'auth.login', targetType: 'user', targetId: session.userId });
    });
  }

  async endSession(origin: Origin, session: { id: string; userId: string }): Promise<void> {
    await withUnitOfWork(this.deps.db, origin, async (uow) => {
      await uow.sql.query('DELETE FROM sessions WHERE id = $1', [session.id]);
      await uow.audit({ action: 'auth.logout', targetType: 'user', targetId: session.userId });
    });
  }

  /**
   * Sets a user's own new password after the caller checked the current one: the policy applies, the new
   * one must differ, and every other session of the account ends (this one stays).
   */
  async changeOwnPassword(
    origin: Origin,
    input: { userId: string; email: string; keepSessionId: string; currentPassword: string; newPassword: string },
  ): Promise<void> {
    assertPasswordAllowed(input.newPassword, input.email, 'newPassword');
    if (normalizePassword(input.newPassword) === normalizePassword(input.currentPassword)) {
      throw invalid('weak_password', undefined, [{ path: 'newPassword', message: 'The new password must differ from the current one' }]);
    }
    const passwordHash = await hashPassword(input.newPassword);
    await withUnitOfWork(this.deps.db, origin, async (uow) => {
      const updated = await uow.sql.query('UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1', [
        input.userId,
        passwordHash,
      ]);
      if (!updated.rowCount) throw notFound();
      const ended = await uow.sql.query('DELETE FROM sessions WHERE user_id = $1 AND id <> $2', [input.userId, input.keepSessionId]);
      await uow.audit({
        action: 'auth.password_change',
        targetType: 'user',
        targetId: input.userId,
        details: { endedSessions: ended.rowCount ?? 0 },
      });
    });
  }
}
