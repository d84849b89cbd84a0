-- Runs of saved jobs (issue 7, ADR 20): a run records the job version it runs, its parameter values (secrets are in
-- the secret store, never here), its concurrency limit and failure threshold; each target runs the job's steps in
-- order, one `job_run_steps` row per step it reached; a step's commands are owned by that row.

-- The run of a job: the version it used and how it runs.
ALTER TABLE "job_runs"
    ADD COLUMN "job_id" UUID,
    ADD COLUMN "job_version" INTEGER,
    ADD COLUMN "parameters" JSONB,
    ADD COLUMN "max_concurrency" INTEGER,
    ADD COLUMN "failure_threshold_count" INTEGER,
    ADD COLUMN "failure_threshold_percent" INTEGER,
    ADD COLUMN "threshold_reached_at" TIMESTAMPTZ(3),
    ADD COLUMN "rerun_of_id" UUID,
    ADD COLUMN "chained_from_id" UUID,
    ADD COLUMN "chain_note" TEXT;
ALTER TABLE "job_runs" ADD CONSTRAINT "job_runs_job_id_job_version_fkey" FOREIGN KEY ("job_id", "job_version") REFERENCES "job_versions"("job_id", "version") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "job_runs" ADD CONSTRAINT "job_runs_rerun_of_id_fkey" FOREIGN KEY ("rerun_of_id") REFERENCES "job_runs"("id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "job_runs" ADD CONSTRAINT "job_runs_chained_from_id_fkey" FOREIGN KEY ("chained_from_id") REFERENCES "job_runs"("id") ON DELETE SET NULL ON UPDATE CASCADE;
CREATE INDEX "job_runs_job_id_created_at_idx" ON "job_runs"("job_id", "created_at");

-- Where a target is in the job: the step it is on (NULL: not started, or a one-command run) and the status of its
-- first failure that was not allowed to continue (NULL: none so far).
ALTER TABLE "job_run_devices"
    ADD COLUMN "current_step" INTEGER,
    ADD COLUMN "failed_status" "DeviceRunStatus";

CREATE TYPE "StepRunStatus" AS ENUM ('pending', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'offline', 'skipped');

CREATE TABLE "job_run_steps" (
    "id" UUID NOT NULL,
    "job_run_device_id" UUID NOT NULL,
    "step_index" INTEGER NOT NULL,
    "status" "StepRunStatus" NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "exit_code" BIGINT,
    "error_message" TEXT,
    "duration_ms" INTEGER,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    "next_at" TIMESTAMPTZ(3),
    "give_up_at" TIMESTAMPTZ(3),
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "job_run_steps_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "job_run_steps_job_run_device_id_step_index_key" ON "job_run_steps"("job_run_device_id", "step_index");
ALTER TABLE "job_run_steps" ADD CONSTRAINT "job_run_steps_job_run_device_id_fkey" FOREIGN KEY ("job_run_device_id") REFERENCES "job_run_devices"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- A step's commands (one per attempt) keep their target too (job_run_device_id), so everything that finds a run's
-- commands by target still does; an attempt is unique per step for step commands, per target for the others.
ALTER TABLE "agent_commands" ADD COLUMN "job_run_step_id" UUID;
ALTER TABLE "agent_commands" ADD CONSTRAINT "agent_commands_job_run_step_id_fkey" FOREIGN KEY ("job_run_step_id") REFERENCES "job_run_steps"("id") ON DELETE CASCADE ON UPDATE CASCADE;
DROP INDEX "agent_commands_job_run_device_id_attempt_key";
CREATE UNIQUE INDEX "agent_commands_job_run_device_id_attempt_key" ON "agent_commands"("job_run_device_id", "attempt") WHERE "job_run_step_id" IS NULL;
CREATE UNIQUE INDEX "agent_commands_job_run_step_id_attempt_key" ON "agent_commands"("job_run_step_id", "attempt") WHERE "job_run_step_id" IS NOT NULL;

-- shell and script commands are at version 2 (they carry `env` and `secrets`): a device whose agent announced only
-- version 1 of them (or nothing: protocol 1) is no longer sent them, until it checks in with a newer agent.
UPDATE "devices" SET "command_kinds" = ARRAY(
    SELECT k FROM unnest("command_kinds") AS k WHERE k NOT IN ('shell', 'script') OR (k || '@2') = ANY("capabilities"));

-- Four-eyes approval of a job's run: it waits (a durable workflow wait) until another operator decides, or expires.
ALTER TYPE "JobRunStatus" ADD VALUE 'awaiting_approval' BEFORE 'queued';
ALTER TYPE "JobRunStatus" ADD VALUE 'rejected';
ALTER TYPE "JobRunStatus" ADD VALUE 'expired';
ALTER TABLE "job_runs"
    ADD COLUMN "approval_expires_at" TIMESTAMPTZ(3),
    ADD COLUMN "approval_decision" TEXT,
    ADD COLUMN "approval_decided_by_id" UUID,
    ADD COLUMN "approval_decided_at" TIMESTAMPTZ(3),
    ADD COLUMN "approval_comment" TEXT;
ALTER TABLE "job_runs" ADD CONSTRAINT "job_runs_approval_decided_by_id_fkey" FOREIGN KEY ("approval_decided_by_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "job_runs" ADD CONSTRAINT "job_runs_approval_decision_check" CHECK ("approval_decision" IN ('approved', 'rejected'));

-- Scheduled runs of a job: each is a Temporal Schedule (ID `job-schedule/<id>`) whose workflow records a run with
-- these settings when it fires (targets resolved then). Secret values are in the secret store (owner `job_schedule`).
CREATE TABLE "job_schedules" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "job_id" UUID NOT NULL,
    "job_version" INTEGER,
    "spec" JSONB NOT NULL,
    "overlap" TEXT NOT NULL DEFAULT 'skip',
    "target_selection" JSONB NOT NULL,
    "parameters" JSONB NOT NULL DEFAULT '{}',
    "secret_parameters" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "max_concurrency" INTEGER,
    "failure_threshold_count" INTEGER,
    "failure_threshold_percent" INTEGER,
    "deadline_seconds" INTEGER NOT NULL DEFAULT 3600,
    "paused" BOOLEAN NOT NULL DEFAULT false,
    "last_error" TEXT,
    "created_by_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "job_schedules_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "job_schedules_name_key" ON "job_schedules"("name");
CREATE INDEX "job_schedules_job_id_idx" ON "job_schedules"("job_id");
ALTER TABLE "job_schedules" ADD CONSTRAINT "job_schedules_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "jobs"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "job_schedules" ADD CONSTRAINT "job_schedules_created_by_id_fkey" FOREIGN KEY ("created_by_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- A run a schedule started: the schedule, and the scheduled workflow that recorded it (one run per firing).
ALTER TABLE "job_runs" ADD COLUMN "schedule_id" UUID, ADD COLUMN "schedule_workflow_id" TEXT;
ALTER TABLE "job_runs" ADD CONSTRAINT "job_runs_schedule_id_fkey" FOREIGN KEY ("schedule_id") REFERENCES "job_schedules"("id") ON DELETE SET NULL ON UPDATE CASCADE;
CREATE UNIQUE INDEX "job_runs_schedule_workflow_id_key" ON "job_runs"("schedule_workflow_id");
CREATE INDEX "job_runs_schedule_id_created_at_idx" ON "job_runs"("schedule_id", "created_at");
