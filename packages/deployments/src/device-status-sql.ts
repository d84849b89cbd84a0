/**
 * Each device's status in a deployment, derived in SQL from what the platform already records — the device's wave,
 * the job run of its latest attempt, that run's target and command, the agent's software report — so the API's lists
 * and counts and the rollout's tallies read the same truth and no status is ever copied. `$1` is the deployment's ID.
 *
 * Columns: device_id, hostname, wave, attempts, job_run_id, status (deploymentDeviceStatuses: a running command is
 * `downloading` or `installing` by the phase its agent reported), retrying (a failure another attempt may fix, or a
 * deferral, with attempts left), exit_code, outcome, detail, window_opens_at, finished_at,
 * health_failure, rollback (pending | uninstalled | reinstalled | failed, or null).
 */
import type { MaintenanceWindowSpec } from '@opsconductor/contracts/maintenance-windows';

/**
 * Software outcomes after which another attempt may succeed (the device, its link or a source was away). A device
 * whose install was deferred (`deferred_metered`: on a metered connection, with the deployment's network policy
 * `skipMetered`) is not a failure while attempts are left: it shows as `queued` until its next attempt (`cancelled`
 * when the deployment was stopped meanwhile, `failed` once no attempt is left: it was not installed).
 */
export const RETRYABLE_OUTCOMES = ['download_failed', 'deferred_metered'] as const;

export const DEPLOYMENT_DEVICE_STATES_SQL = `
SELECT dd.device_id, dd.hostname, dd.wave, dd.attempts, dd.job_run_id, dd.health_failure,
       s.status, (s.status IN ('failed', 'queued') AND jrd.finished_at IS NOT NULL AND s.retryable AND dd.attempts <= r.count) AS retrying,
       jrd.exit_code, c.sw->>'outcome' AS outcome, coalesce(c.sw->>'detail', jrd.error_message) AS detail,
       CASE WHEN s.status = 'waiting_for_window' THEN jrd.not_before END AS window_opens_at, jrd.finished_at,
       CASE WHEN dd.rollback_job_run_id IS NULL THEN NULL
            WHEN rb.finished_at IS NULL OR (dd.reinstall_job_run_id IS NOT NULL AND ri.finished_at IS NULL) THEN 'pending'
            WHEN rb.status <> 'succeeded' OR (dd.reinstall_job_run_id IS NOT NULL AND ri.status <> 'succeeded') THEN 'failed'
            WHEN dd.reinstall_job_run_id IS NOT NULL THEN 'reinstalled'
            ELSE 'uninstalled' END AS rollback
  FROM deployment_devices dd
  JOIN deployments dep ON dep.id = dd.deployment_id
  LEFT JOIN job_run_devices jrd ON jrd.job_run_id = dd.job_run_id AND jrd.device_id = dd.device_id
  CROSS JOIN LATERAL (SELECT coalesce((dep.options->'retries'->>'count')::int, 0) AS count) r
  LEFT JOIN LATERAL (SELECT ac.state::text AS state, ac.phase, ac.result->'software' AS sw FROM agent_commands ac
                      WHERE ac.job_run_device_id = jrd.id ORDER BY ac.attempt DESC LIMIT 1) c ON true
  LEFT JOIN job_run_devices rbt ON rbt.job_run_id = dd.reboot_job_run_id AND rbt.device_id = dd.device_id
  LEFT JOIN job_run_devices rb ON rb.job_run_id = dd.rollback_job_run_id AND rb.device_id = dd.device_id
  LEFT JOIN job_run_devices ri ON ri.job_run_id = dd.reinstall_job_run_id AND ri.device_id = dd.device_id
  CROSS JOIN LATERAL (
    SELECT CASE
      WHEN dd.job_run_id IS NULL THEN
        CASE WHEN dep.status IN ('aborted', 'rolling_back', 'rolled_back', 'rejected', 'failed', 'completed') THEN 'cancelled' ELSE 'planned' END
      WHEN jrd.finished_at IS NULL THEN
        CASE WHEN c.state IS NULL THEN CASE WHEN jrd.not_before > now() THEN 'waiting_for_window' ELSE 'queued' END
             WHEN c.state IN ('queued', 'delivered') THEN 'queued'
             WHEN c.phase = 'downloading' THEN 'downloading'
             ELSE 'installing' END
      WHEN c.sw->>'outcome' = 'deferred_metered' AND dd.attempts <= r.count AND dep.status IN ('running', 'paused') THEN 'queued'
      WHEN c.sw->>'outcome' = 'deferred_metered' AND dep.status IN ('aborted', 'rolling_back', 'rolled_back') THEN 'cancelled'
      WHEN c.sw->>'outcome' IN ('already_installed', 'not_installed') THEN 'already_installed'
      WHEN c.sw->>'outcome' IN ('installed', 'uninstalled', 'reboot_required') THEN
        CASE WHEN coalesce((c.sw->>'rebootRequired')::boolean, false) AND dep.options->>'rebootPolicy' IS DISTINCT FROM 'force'
                  AND rbt.status IS DISTINCT FROM 'succeeded' THEN 'reboot_pending'
             ELSE 'succeeded' END
      WHEN c.sw->>'outcome' = 'requirement_not_met' THEN 'skipped'
      WHEN jrd.status = 'cancelled' THEN 'cancelled'
      WHEN jrd.status = 'succeeded' THEN 'succeeded'
      ELSE 'failed' END AS status,
      (jrd.status IN ('offline', 'timed_out') OR c.sw->>'outcome' IN (${RETRYABLE_OUTCOMES.map((o) => `'${o}'`).join(', ')})) AS retryable
  ) s
 WHERE dd.deployment_id = $1`;

/** The maintenance windows of devices (through their groups): `$1` is an array of device IDs. */
export const DEVICE_WINDOWS_SQL = `
SELECT m.device_id, w.name, w.time_zone, w.recurrence, w.days_of_week, w.start_time, w.duration_minutes
  FROM device_group_members m JOIN maintenance_windows w ON w.group_id = m.group_id
 WHERE m.device_id = ANY($1::uuid[])`;

export interface DeviceWindowRow {
  device_id: string;
  name: string;
  time_zone: string;
  recurrence: 'daily' | 'weekly';
  days_of_week: number[];
  start_time: string;
  duration_minutes: number;
}

/** DEVICE_WINDOWS_SQL's rows by device, as window specs. */
export function windowsByDevice(rows: readonly DeviceWindowRow[]): Map<string, MaintenanceWindowSpec[]> {
  const byDevice = new Map<string, MaintenanceWindowSpec[]>();
  for (const r of rows) {
    const spec: MaintenanceWindowSpec = {
      name: r.name,
      timeZone: r.time_zone,
      recurrence: r.recurrence,
      daysOfWeek: r.days_of_week,
      startTime: r.start_time,
      durationMinutes: r.duration_minutes,
    };
    const list = byDevice.get(r.device_id);
    if (list) list.push(spec);
    else byDevice.set(r.device_id, [spec]);
  }
  return byDevice;
}
