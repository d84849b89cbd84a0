/**
 * What a command's start and end mean to its owner: a job-run target (`job_run_devices`) for a one-command run, a
 * step of a job's run on a target (`job_run_steps`, ADR 20) for a job's. A new owner kind adds its column on
 * `agent_commands` and its effects here.
 */
import { jobRunDeviceOutcomeOf, terminalCommandStates } from './states.ts';

/**
 * The target shows `running` from the first start of any of its commands: a data-modifying CTE over `started`
 * (commands just moved to running, with `job_run_device_id` and `started_at`), so the starts and their owners'
 * status are one statement.
 */
export function jobRunDeviceStartedCte(): string {
  return `UPDATE job_run_devices jrd SET status = 'running', started_at = coalesce(jrd.started_at, s.started_at), updated_at = now()
      FROM started s WHERE jrd.id = s.job_run_device_id AND jrd.finished_at IS NULL`;
}

/** A command's terminal state → its target's status, as SQL over `f.state` (constants of states.ts, no input). */
const TARGET_OUTCOME_SQL = `CASE f.state::text ${terminalCommandStates.map((s) => `WHEN '${s}' THEN '${jobRunDeviceOutcomeOf(s)}'`).join(' ')} END`;

/**
 * The target takes the outcome of its latest attempt's command — first terminal writer wins, so an outcome the
 * workflow recorded already (offline, cancelled…) stays. An earlier attempt ending changes nothing while a later
 * one exists. A data-modifying CTE over `finished` (commands just ended: `agent_commands` columns), so an end and
 * its owner's outcome are one statement.
 */
export function jobRunDeviceFinishedCte(): string {
  return `UPDATE job_run_devices jrd
        SET status = (${TARGET_OUTCOME_SQL})::"DeviceRunStatus", exit_code = (f.result->>'exitCode')::bigint,
            error_message = ${truncatedSql("coalesce(f.error_message, f.result->>'error')", 4000)},
            duration_ms = (f.result->>'durationMs')::int, finished_at = now(), started_at = coalesce(jrd.started_at, f.started_at), updated_at = now()
       FROM finished f
      WHERE jrd.id = f.job_run_device_id AND jrd.finished_at IS NULL AND f.job_run_step_id IS NULL
        AND NOT EXISTS (SELECT 1 FROM agent_commands later
                         WHERE later.job_run_device_id = jrd.id AND later.job_run_step_id IS NULL AND later.attempt > f.attempt)`;
}

/**
 * A step's running attempt takes its command's outcome (exit code, duration, error); the step's first start is the
 * step's start. The worker's batch (activities/src/job-steps.ts) decides what follows: a retry, the next step, the
 * target's end. An attempt that is not the step's latest, or a step the worker already closed, changes nothing.
 */
export function jobRunStepFinishedCte(): string {
  return `UPDATE job_run_steps s
        SET status = (${TARGET_OUTCOME_SQL})::"StepRunStatus", exit_code = (f.result->>'exitCode')::bigint,
            error_message = ${truncatedSql("coalesce(f.error_message, f.result->>'error')", 4000)},
            duration_ms = (f.result->>'durationMs')::int, finished_at = now(), started_at = coalesce(s.started_at, f.started_at), updated_at = now()
       FROM finished f
      WHERE s.id = f.job_run_step_id AND s.status = 'running' AND s.attempts = f.attempt`;
}

/** A step shows its first attempt's start (a CTE over `started`, like jobRunDeviceStartedCte). */
export function jobRunStepStartedCte(): string {
  return `UPDATE job_run_steps s SET started_at = coalesce(s.started_at, st.started_at), updated_at = now()
      FROM started st WHERE s.id = st.job_run_step_id`;
}

/** `text` cut to at most `max` characters, the last one an ellipsis when it was longer. */
function truncatedSql(text: string, max: number): string {
  return `(SELECT CASE WHEN length(t) > ${max} THEN left(t, ${max - 1}) || '…' ELSE t END FROM (SELECT ${text} AS t) x)`;
}

/**
 * A job's run: the steps under way or waiting to retry on targets that just closed (the CTE `closed`, with their
 * `id`s) end with them, with the target's status and message (a step's own error, if it has one, stays).
 */
export function closeStepsSql(closed: string, status: string, message: string): string {
  return `UPDATE job_run_steps s SET status = ${status}::text::"StepRunStatus", finished_at = now(),
            error_message = coalesce(s.error_message, ${message}), updated_at = now()
       FROM ${closed} WHERE s.job_run_device_id = ${closed}.id AND s.status IN ('pending', 'running')`;
}
