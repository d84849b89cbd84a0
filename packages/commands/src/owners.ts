/**
 * What a command's start and end mean to its owner. Today the only owner is a job-run target
 * (`job_run_devices`); a new owner kind adds its column on `agent_commands` and its effects here.
 */
import type pg from 'pg';
import { jobRunDeviceOutcomeOf } from './states.ts';
import type { FinishedCommand } from './channel.ts';

/**
 * The target shows `running` from the first start of any of its commands: a data-modifying CTE over `started`
 * (commands just moved to running, with `job_run_device_id` and `started_at`), so the starts and their owners'
 * status are one statement.
 */
export function jobRunDeviceStartedCte(): string {
  return `UPDATE job_run_devices jrd SET status = 'running', started_at = coalesce(jrd.started_at, s.started_at), updated_at = now()
      FROM started s WHERE jrd.id = s.job_run_device_id AND jrd.finished_at IS NULL`;
}

/**
 * The target takes the outcome of its latest attempt's command — first terminal writer wins, so an
 * outcome the workflow recorded already (offline, cancelled…) stays. An earlier attempt ending
 * changes nothing while a later one exists.
 */
export async function jobRunDeviceFinished(client: pg.PoolClient, finished: FinishedCommand[]): Promise<void> {
  await client.query(
    `UPDATE job_run_devices jrd
        SET status = v.status::"DeviceRunStatus", exit_code = v.exit_code, error_message = v.error_message, duration_ms = v.duration_ms,
            finished_at = now(), started_at = coalesce(jrd.started_at, v.started_at), updated_at = now()
       FROM unnest($1::uuid[], $2::int[], $3::text[], $4::bigint[], $5::text[], $6::int[], $7::timestamptz[])
            AS v(id, attempt, status, exit_code, error_message, duration_ms, started_at)
      WHERE jrd.id = v.id AND jrd.finished_at IS NULL
        AND NOT EXISTS (SELECT 1 FROM agent_commands later WHERE later.job_run_device_id = jrd.id AND later.attempt > v.attempt)`,
    [
      finished.map((f) => f.jobRunDeviceId),
      finished.map((f) => f.attempt),
      finished.map((f) => jobRunDeviceOutcomeOf(f.state)),
      finished.map((f) => f.result?.exitCode ?? null),
      finished.map((f) => truncate(f.errorMessage ?? f.result?.error ?? null, 4000)),
      finished.map((f) => f.result?.durationMs ?? null),
      finished.map((f) => f.startedAt),
    ],
  );
}

function truncate(text: string | null, max: number): string | null {
  return text === null || text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
