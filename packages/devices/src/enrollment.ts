/**
 * Enrollment: a device trades an enrollment token (one use of it) for its identity and a secret shown
 * once. The token use, the device, its first group memberships (on the enrollment facts), the audit row
 * and `device.enrolled` commit together. An enrolled device is online (announced by device.enrolled).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { DeviceFacts } from '@opsconductor/contracts/agent-protocol';
import type { Database } from '@opsconductor/db';
import { domainEvent } from '@opsconductor/domain-events';
import type { GroupMembership } from '@opsconductor/groups';
import { hashToken } from '@opsconductor/identity';
import { ServiceError, deviceActor, withUnitOfWork, type Origin } from '@opsconductor/unit-of-work';

export interface EnrollmentInput { enrollmentToken: string; facts: DeviceFacts; protocolVersion: number }

/** `origin` carries the request's address; the actor is the device being enrolled. */
export async function enrollDevice(
  deps: { db: Database; membership: GroupMembership },
  origin: Omit<Origin, 'actor'>,
  input: EnrollmentInput,
): Promise<{ deviceId: string; deviceSecret: string }> {
  const secret = randomBytes(32).toString('base64url');
  // The device is the actor of its own enrollment (audit row and events): its ID is chosen up front.
  const deviceId = randomUUID();
  const f = input.facts;
  return withUnitOfWork(deps.db, { ...origin, actor: deviceActor({ id: deviceId, hostname: f.hostname }) }, async (uow) => {
    // Consumes one use atomically; an exhausted, expired or revoked token matches no row.
    const used = await uow.sql.query<{ id: string }>(
      `UPDATE enrollment_tokens SET used_count = used_count + 1
        WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now() AND used_count < max_uses
       RETURNING id::text`,
      [hashToken(input.enrollmentToken)],
    );
    if (!used.rows[0]) throw new ServiceError('unauthenticated', 'enrollment_token_invalid');
    await uow.sql.query(
      `INSERT INTO devices (id, hostname, os_family, os_name, os_version, architecture, ip_addresses, agent_version, secret_hash,
                            enrollment_token_id, protocol_version, last_seen_at, announced_online, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, now(), true, now())`,
      [deviceId, f.hostname, f.osFamily, f.osName, f.osVersion, f.architecture, f.ipAddresses, f.agentVersion, hashToken(secret), used.rows[0].id, input.protocolVersion],
    );
    await uow.audit({ action: 'device.enroll', targetType: 'device', targetId: deviceId, details: { hostname: f.hostname } });
    await uow.emit(domainEvent('device.enrolled', { deviceId, hostname: f.hostname, enrollmentTokenId: used.rows[0].id }));
    // Groups on enrollment facts (OS family, name, version) apply before the first inventory arrives.
    await deps.membership.deviceChanged(deviceId, 'device enrolled', uow);
    return { deviceId, deviceSecret: secret };
  });
}
