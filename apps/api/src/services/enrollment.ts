/**
 * Enrolment: one use of an enrollment token becomes one device.
 *
 * Every enrolment with the same token updates the token's row (`used_count`), and concurrent ones queue on that
 * row's lock until the holder commits. So the use is taken and the device inserted in ONE statement: the lock
 * is held for the statement's own work and its commit, never across round trips to the API (an interactive
 * transaction held it through Prisma calls and the event loop of a busy API: 50–70 enrolments/s at most with one
 * token). `max_uses` stays exact: the UPDATE re-checks `used_count < max_uses` on the row it waited for.
 */
import { randomUUID } from 'node:crypto';
import type { EnrollRequest } from '@opsconductor/contracts/agent-protocol';
import type { ApiDeps } from '../context.ts';
import { hashToken } from '../lib/auth.ts';
import { ApiError } from '../lib/problem.ts';

/** Creates the device for one use of the token, or throws 401 `enrollment_token_invalid` (unknown, expired, revoked or used up). */
export async function enrollDevice(deps: ApiDeps, req: EnrollRequest, secretHash: string): Promise<{ id: string; hostname: string }> {
  const { facts } = req;
  const { rows } = await deps.db.pool.query<{ id: string; hostname: string }>(
    `WITH token AS (
       UPDATE enrollment_tokens SET used_count = used_count + 1
        WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now() AND used_count < max_uses
        RETURNING id)
     INSERT INTO devices (id, hostname, os_family, os_name, os_version, architecture, ip_addresses, agent_version,
                          protocol_version, secret_hash, enrollment_token_id, last_seen_at, updated_at)
     SELECT $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, token.id, now(), now() FROM token
     RETURNING id::text, hostname`,
    [
      hashToken(req.enrollmentToken), randomUUID(), facts.hostname, facts.osFamily, facts.osName, facts.osVersion,
      facts.architecture, facts.ipAddresses, facts.agentVersion, req.protocolVersion, secretHash,
    ],
  );
  if (!rows[0]) throw new ApiError(401, 'enrollment_token_invalid');
  return rows[0];
}
