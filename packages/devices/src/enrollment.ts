/**
 * Enrollment: a device trades an enrollment token (one use of it) for its identity and a secret shown
 * once. The token use, the device, its first group memberships (on the enrollment facts), the audit row
 * and `device.enrolled` commit together. An enrolled device is online (announced by device.enrolled).
 *
 * Every enrollment with one token updates the token's row (`used_count`), and concurrent ones queue on
 * that row's lock until the holder commits. So the use is taken AT the commit, by a deferred constraint trigger
 * on the device's insert (migration 20261204010000): the lock is held for the commit alone, never across a round
 * trip of the API (the device's insert only takes a key-share lock on the token, which does not block the
 * update; see `npm run bench:enroll`). `max_uses` stays exact: the trigger re-checks the token on the row version
 * it waited for, and a use it cannot take fails the commit, which rolls the whole enrollment back.
 *
 * A retried enrollment (same `enrollmentId`, same token, within ENROLLMENT_RETRY_WINDOW_SECONDS, device
 * not retired) gets the device the first attempt created, with a new secret: the first answer never
 * arrived, or the agent would not retry.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { ENROLLMENT_RETRY_WINDOW_SECONDS, type DeviceFacts } from '@opsconductor/contracts/agent-protocol';
import type { Database } from '@opsconductor/db';
import { domainEvent } from '@opsconductor/domain-events';
import type { GroupMembership } from '@opsconductor/groups';
import { hashToken } from '@opsconductor/identity';
import { ServiceError, conflict, deviceActor, isUniqueViolation, withUnitOfWork, type Origin } from '@opsconductor/unit-of-work';

export interface EnrollmentInput {
  enrollmentToken: string;
  facts: DeviceFacts;
  protocolVersion: number;
  enrollmentId?: string | undefined;
}

export interface Enrolled {
  deviceId: string;
  deviceSecret: string;
  /** A retry of an earlier enrollment: the same device, with a new secret. */
  repeated: boolean;
}

type Deps = { db: Database; membership: GroupMembership };

const tokenInvalid = () => new ServiceError('unauthenticated', 'enrollment_token_invalid');

/**
 * `origin` carries the request's address; the actor is the device being enrolled. Throws
 * `enrollment_token_invalid` when the token is unknown, expired, revoked or used up, and `conflict` when
 * the `enrollmentId` belongs to another enrollment.
 */
export async function enrollDevice(deps: Deps, origin: Omit<Origin, 'actor'>, input: EnrollmentInput): Promise<Enrolled> {
  const secret = randomBytes(32).toString('base64url');
  const secretHash = hashToken(secret);
  const repeat = async () => (input.enrollmentId ? repeatEnrollment(deps, origin, input, secretHash) : undefined);
  const earlier = await repeat();
  if (earlier) return { deviceId: earlier, deviceSecret: secret, repeated: true };
  try {
    const deviceId = await firstEnrollment(deps, origin, input, secretHash);
    return { deviceId, deviceSecret: secret, repeated: false };
  } catch (err) {
    const tokenUsedUp = err instanceof ServiceError && err.code === 'enrollment_token_invalid';
    if (!(input.enrollmentId && (tokenUsedUp || isUniqueViolation(err, 'devices_enrollment_request_id_key')))) throw err;
    // A concurrent attempt of this same enrollment created the device first (and may have taken the token's last use).
    const concurrent = await repeat();
    if (concurrent) return { deviceId: concurrent, deviceSecret: secret, repeated: true };
    if (tokenUsedUp) throw err;
    throw conflict('conflict', 'This enrollmentId belongs to another enrollment: send a new one.');
  }
}

async function firstEnrollment(deps: Deps, origin: Omit<Origin, 'actor'>, input: EnrollmentInput, secretHash: string): Promise<string> {
  // The device is the actor of its own enrollment (audit row and events): its ID is chosen up front.
  const deviceId = randomUUID();
  const f = input.facts;
  try {
    return await withUnitOfWork(deps.db, { ...origin, actor: deviceActor({ id: deviceId, hostname: f.hostname }) }, async (uow) => {
      // Read without a lock: the use is taken at commit (see the top of this file).
      const token = await uow.sql.query<{ id: string }>(
        `SELECT id::text FROM enrollment_tokens WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now() AND used_count < max_uses`,
        [hashToken(input.enrollmentToken)],
      );
      const tokenId = token.rows[0]?.id;
      if (!tokenId) throw tokenInvalid();
      await uow.sql.query(
        `INSERT INTO devices (id, hostname, os_family, os_name, os_version, architecture, ip_addresses, agent_version, secret_hash,
                              enrollment_token_id, enrollment_request_id, protocol_version, last_seen_at, announced_online, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, now(), true, now())`,
        [
          deviceId,
          f.hostname,
          f.osFamily,
          f.osName,
          f.osVersion,
          f.architecture,
          f.ipAddresses,
          f.agentVersion,
          secretHash,
          tokenId,
          input.enrollmentId ?? null,
          input.protocolVersion,
        ],
      );
      await uow.audit({ action: 'device.enroll', targetType: 'device', targetId: deviceId, details: { hostname: f.hostname } });
      await uow.emit(domainEvent('device.enrolled', { deviceId, hostname: f.hostname, enrollmentTokenId: tokenId }));
      // Groups on enrollment facts (OS family, name, version) apply before the first inventory arrives.
      await deps.membership.deviceChanged(deviceId, 'device enrolled', uow);
      return deviceId;
    });
  } catch (err) {
    // The commit could not take a use of the token: it expired, was revoked or was used up meanwhile.
    if ((err as { code?: unknown }).code === TOKEN_USE_REFUSED) throw tokenInvalid();
    throw err;
  }
}

/** SQLSTATE of a commit whose enrollment could not take a use of its token (trigger `devices_take_enrollment_token_use`). */
const TOKEN_USE_REFUSED = 'OCTKN';

/** The device an earlier attempt of this enrollment created, now with `secretHash` as its secret; none if there is none. */
async function repeatEnrollment(
  deps: Deps,
  origin: Omit<Origin, 'actor'>,
  input: EnrollmentInput,
  secretHash: string,
): Promise<string | undefined> {
  const { rows } = await deps.db.pool.query<{ id: string; hostname: string }>(
    `SELECT d.id::text, d.hostname FROM devices d JOIN enrollment_tokens t ON t.id = d.enrollment_token_id
      WHERE d.enrollment_request_id = $1 AND t.token_hash = $2 AND t.revoked_at IS NULL
        AND d.retired_at IS NULL AND d.enrolled_at > now() - make_interval(secs => $3)`,
    [input.enrollmentId, hashToken(input.enrollmentToken), ENROLLMENT_RETRY_WINDOW_SECONDS],
  );
  const device = rows[0];
  if (!device) return undefined;
  return withUnitOfWork(deps.db, { ...origin, actor: deviceActor(device) }, async (uow) => {
    // The secret changes: the trigger on devices tells every API process to forget the cached credentials.
    const updated = await uow.sql.query(
      `UPDATE devices SET secret_hash = $2, last_seen_at = now(), agent_stopped_at = NULL, updated_at = now() WHERE id = $1 AND retired_at IS NULL`,
      [device.id, secretHash],
    );
    if (updated.rowCount !== 1) return undefined;
    await uow.audit({
      action: 'device.enroll_repeated',
      targetType: 'device',
      targetId: device.id,
      details: { hostname: device.hostname },
    });
    return device.id;
  });
}
