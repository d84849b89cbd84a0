/**
 * Silences (ADR 25): an alert matching every matcher of an active silence — its rule, its device, a group its device
 * is in, a tag its device has — is opened, escalated and shown as usual, but its notifications are not sent (each is
 * logged as skipped, with the silence's reason). The SQL that decides is the one the API shows `silenced` with.
 */
import type { Database } from '@opsconductor/db';

/** SQL: the active silences matching the alert `a` (an `alerts` row alias in the outer query). */
export const MATCHING_SILENCES = `SELECT s.id, s.reason, s.ends_at, s.created_by FROM alert_silences s
  WHERE s.starts_at <= now() AND s.ends_at > now()
    AND (s.rule_id IS NULL OR s.rule_id = a.rule_id)
    AND (s.device_id IS NULL OR (a.subject_type = 'device' AND a.subject_key = s.device_id::text))
    AND (s.group_id IS NULL OR (a.subject_type = 'device' AND EXISTS (
          SELECT 1 FROM device_group_members m WHERE m.group_id = s.group_id AND m.device_id::text = a.subject_key)))
    AND (s.tag IS NULL OR (a.subject_type = 'device' AND EXISTS (
          SELECT 1 FROM device_tags t WHERE t.tag = s.tag AND t.device_id::text = a.subject_key)))`;

export interface ActiveSilence {
  id: string;
  reason: string;
  endsAt: Date;
  createdBy: string;
}

/** The active silence (ending last) that mutes this alert now, if any. */
export async function silenceOf(db: Database, alertId: string): Promise<ActiveSilence | null> {
  const { rows } = await db.pool.query<{ id: string; reason: string; ends_at: Date; created_by: string }>(
    `SELECT m.* FROM alerts a CROSS JOIN LATERAL (${MATCHING_SILENCES}) m WHERE a.id = $1 ORDER BY m.ends_at DESC LIMIT 1`,
    [alertId],
  );
  const s = rows[0];
  return s ? { id: s.id, reason: s.reason, endsAt: s.ends_at, createdBy: s.created_by } : null;
}
