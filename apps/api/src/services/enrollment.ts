/**
 * Enrolment: one use of an enrollment token becomes one device.
 *
 * Every enrolment with the same token updates the token's row (`used_count`), and concurrent ones queue on that
 * row's lock until the holder commits. So the use is taken, the device inserted and the audit row written in ONE
 * statement: the lock is held for the statement's own work and its commit, never across round trips to the API (an
 * interactive transaction held it while the API went back and forth: enrolments with one token queued behind each
 * other, see `npm run bench:enroll`). `max_uses` stays exact: the UPDATE re-checks `used_count < max_uses` on the row
 * version it waited for.
 *
 * A retried enrolment (same `enrollmentId`, same token, within ENROLLMENT_RETRY_WINDOW_SECONDS) gets the device the
 * first attempt created, with a new secret: the first answer never arrived, or the agent would not retry.
 */
import { randomUUID } from 'node:crypto';
import { ENROLLMENT_RETRY_WINDOW_SECONDS, type EnrollRequest } from '@opsconductor/contracts/agent-protocol';
import type { ApiDeps } from '../context.ts';
import { hashToken } from '../lib/auth.ts';
import { ApiError } from '../lib/problem.ts';

/** Where the enrolment came from, for its audit row. */
export interface EnrollmentOrigin {
  ipAddress: string | null;
  userAgent: string | null;
}

export interface EnrolledDevice {
  id: string;
  hostname: string;
  /** A retry of an earlier enrolment: the same device, with the new secret. */
  repeated: boolean;
}

const UNIQUE_VIOLATION = '23505';
const ENROLLMENT_ID_INDEX = 'devices_enrollment_request_id_key';

/**
 * Creates the device for one use of the token (or finds the one an earlier attempt with the same `enrollmentId`
 * created), storing `secretHash` as its secret. Throws 401 `enrollment_token_invalid` when the token is unknown,
 * expired, revoked or used up, and 409 `conflict` when the `enrollmentId` belongs to another enrolment.
 */
export async function enrollDevice(deps: ApiDeps, req: EnrollRequest, secretHash: string, origin: EnrollmentOrigin): Promise<EnrolledDevice> {
  if (req.enrollmentId) {
    const earlier = await repeatEnrollment(deps, req, secretHash, origin);
    if (earlier) return earlier;
  }
  const { facts } = req;
  try {
    const { rows } = await deps.db.pool.query<{ id: string; hostname: string }>(
      `WITH token AS (
         UPDATE enrollment_tokens SET used_count = used_count + 1
          WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now() AND used_count < max_uses
          RETURNING id),
       device AS (
         INSERT INTO devices (id, hostname, os_family, os_name, os_version, architecture, ip_addresses, agent_version,
                              protocol_version, secret_hash, enrollment_token_id, enrollment_request_id, last_seen_at, updated_at)
         SELECT $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, token.id, $12, now(), now() FROM token
         RETURNING id, hostname),
       audit AS (
         INSERT INTO audit_logs (actor_type, actor_id, actor_name, action, target_type, target_id, details, ip_address, user_agent)
         SELECT 'device', id::text, hostname, 'device.enroll', 'device', id::text, jsonb_build_object('hostname', hostname), $13, $14 FROM device)
       SELECT id::text, hostname FROM device`,
      [
        hashToken(req.enrollmentToken), randomUUID(), facts.hostname, facts.osFamily, facts.osName, facts.osVersion,
        facts.architecture, facts.ipAddresses, facts.agentVersion, req.protocolVersion, secretHash, req.enrollmentId ?? null,
        origin.ipAddress, origin.userAgent,
      ],
    );
    if (rows[0]) return { ...rows[0], repeated: false };
  } catch (err) {
    const pgErr = err as { code?: string; constraint?: string };
    if (!(req.enrollmentId && pgErr.code === UNIQUE_VIOLATION && pgErr.constraint === ENROLLMENT_ID_INDEX)) throw err;
    // A concurrent attempt of the same enrolment inserted the device first.
    const earlier = await repeatEnrollment(deps, req, secretHash, origin);
    if (earlier) return earlier;
    throw new ApiError(409, 'conflict', 'This enrollmentId belongs to another enrolment: send a new one.');
  }
  // The token matched nothing: unusable, or its last use went to a concurrent attempt of this same enrolment.
  const earlier = req.enrollmentId ? await repeatEnrollment(deps, req, secretHash, origin) : undefined;
  if (earlier) return earlier;
  throw new ApiError(401, 'enrollment_token_invalid');
}


/** The device an earlier attempt of this enrolment created, now with `secretHash` as its secret; none if there is none. */
async function repeatEnrollment(deps: ApiDeps, req: EnrollRequest, secretHash: string, origin: EnrollmentOrigin): Promise<EnrolledDevice | undefined> {
  // The secret changes: the trigger on devices tells every API process to forget the cached credentials.
  const { rows } = await deps.db.pool.query<{ id: string; hostname: string }>(
    `WITH device AS (
       UPDATE devices d SET secret_hash = $3, last_seen_at = now(), agent_stopped_at = NULL, updated_at = now()
         FROM enrollment_tokens t
        WHERE d.enrollment_request_id = $1 AND t.id = d.enrollment_token_id AND t.token_hash = $2 AND t.revoked_at IS NULL
          AND d.retired_at IS NULL AND d.enrolled_at > now() - make_interval(secs => $4)
        RETURNING d.id, d.hostname),
     audit AS (
       INSERT INTO audit_logs (actor_type, actor_id, actor_name, action, target_type, target_id, details, ip_address, user_agent)
       SELECT 'device', id::text, hostname, 'device.enroll_repeated', 'device', id::text, jsonb_build_object('hostname', hostname), $5, $6 FROM device)
     SELECT id::text, hostname FROM device`,
    [req.enrollmentId, hashToken(req.enrollmentToken), secretHash, ENROLLMENT_RETRY_WINDOW_SECONDS, origin.ipAddress, origin.userAgent],
  );
  return rows[0] ? { ...rows[0], repeated: true } : undefined;
}
