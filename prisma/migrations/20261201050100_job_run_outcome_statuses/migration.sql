-- Run statuses that say what happened: a run whose devices timed out or were offline no longer reads
-- "failed". The enum is rebuilt rather than extended (ALTER TYPE … ADD VALUE) because the new values
-- are used below, in the same transaction.
ALTER TYPE "JobRunStatus" RENAME TO "JobRunStatus_old";
CREATE TYPE "JobRunStatus" AS ENUM ('queued', 'running', 'succeeded', 'partially_succeeded', 'failed', 'timed_out', 'unreachable', 'cancelled');
ALTER TABLE "job_runs" ALTER COLUMN "status" DROP DEFAULT;
ALTER TABLE "job_runs" ALTER COLUMN "status" TYPE "JobRunStatus" USING ("status"::text::"JobRunStatus");
ALTER TABLE "job_runs" ALTER COLUMN "status" SET DEFAULT 'queued';
DROP TYPE "JobRunStatus_old";

-- Finished runs stored as `failed` get the status finalizeJobRun now derives from their devices
-- (activities/src/job-run-outcome.ts; cancelled and succeeded runs are unchanged).
UPDATE "job_runs" r
   SET "status" = o.outcome::"JobRunStatus"
  FROM (
    SELECT "job_run_id",
           CASE
             WHEN count(*) FILTER (WHERE "status" = 'succeeded') = count(*) THEN 'succeeded'
             WHEN count(*) FILTER (WHERE "status" = 'succeeded') > 0 THEN 'partially_succeeded'
             WHEN count(*) FILTER (WHERE "status" = 'failed') > 0 THEN 'failed'
             WHEN count(*) FILTER (WHERE "status" = 'timed_out') > 0 THEN 'timed_out'
             WHEN count(*) FILTER (WHERE "status" = 'offline') > 0 THEN 'unreachable'
             WHEN count(*) FILTER (WHERE "status" = 'cancelled') > 0 THEN 'cancelled'
             ELSE 'failed'
           END AS outcome
      FROM "job_run_devices"
     GROUP BY "job_run_id"
  ) o
 WHERE r."id" = o."job_run_id" AND r."status" = 'failed' AND r."finished_at" IS NOT NULL;
