/**
 * Idempotency keys of run creation (POST /job-runs, /jobs/{id}/runs, /job-runs/{id}/rerun; IETF
 * draft-ietf-httpapi-idempotency-key-header): a key a user sent in the last IDEMPOTENCY_KEY_TTL_HOURS hours names the
 * run its first request created, and the same key with another request is refused.
 */
import { createHash } from 'node:crypto';
import { IDEMPOTENCY_KEY_TTL_HOURS } from '@opsconductor/contracts/api';
import type { JobRun } from '@opsconductor/db';
import type { ApiDeps } from '../context.ts';
import { ApiError } from '../lib/problem.ts';

export interface IdempotencyKey {
  key: string;
  /** {@link requestHash} of the request. */
  requestHash: string;
}

export const keyRetentionCutoff = () => new Date(Date.now() - IDEMPOTENCY_KEY_TTL_HOURS * 3600_000);

/** SHA-256 of the request's canonical JSON (object keys sorted, undefined left out), after validation filled in the defaults. */
export function requestHash(request: unknown): string {
  const canonical = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canonical)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.entries(v)
              .filter(([, x]) => x !== undefined)
              .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
              .map(([k, x]) => [k, canonical(x)]),
          )
        : v;
  return createHash('sha256')
    .update(JSON.stringify(canonical(request)))
    .digest('hex');
}

/** The run an earlier request with this key created, while the key is kept; a different request is refused (422). */
export async function keyedRun(deps: ApiDeps, userId: string, key: IdempotencyKey): Promise<JobRun | undefined> {
  const row = await deps.db.prisma.jobRunIdempotencyKey.findUnique({
    where: { userId_key: { userId, key: key.key } },
    include: { jobRun: true },
  });
  if (!row || row.createdAt < keyRetentionCutoff()) return undefined;
  if (row.requestHash !== key.requestHash) {
    throw new ApiError(
      422,
      'idempotency_key_reused',
      `This Idempotency-Key created run ${row.jobRunId} from a different request in the last ${IDEMPOTENCY_KEY_TTL_HOURS} hours; send a new key for a new run.`,
    );
  }
  return row.jobRun;
}

/** True when `err` is the loss of a race to keep the same key: the winner's run is the answer. */
export function isKeyTaken(err: unknown): boolean {
  const e = err as { code?: unknown; constraint?: unknown; meta?: unknown };
  return e?.code === 'P2002' || (e?.code === '23505' && e.constraint === 'job_run_idempotency_keys_pkey');
}

/**
 * Forgets keys past the retention period, a bounded batch at a time (creations with a key pay for it). In the
 * background: the run exists and its workflow runs, so nothing may turn its answer into an error now.
 */
export function pruneIdempotencyKeys(deps: ApiDeps): void {
  deps.db.pool
    .query(
      `DELETE FROM job_run_idempotency_keys WHERE ctid IN (SELECT ctid FROM job_run_idempotency_keys WHERE created_at < $1 LIMIT 500)`,
      [keyRetentionCutoff()],
    )
    .catch((err: unknown) => deps.logger.warn({ err }, 'pruning expired idempotency keys failed'));
}
