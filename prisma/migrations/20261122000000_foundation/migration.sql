-- CreateEnum
CREATE TYPE "UserRole" AS ENUM ('admin', 'operator', 'viewer');

-- CreateEnum
CREATE TYPE "JobRunStatus" AS ENUM ('queued', 'running', 'succeeded', 'failed', 'cancelled');

-- CreateEnum
CREATE TYPE "DeviceRunStatus" AS ENUM ('pending', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'offline');

-- CreateEnum
CREATE TYPE "AgentCommandStatus" AS ENUM ('pending', 'delivered', 'running', 'completed', 'expired');

-- CreateTable
CREATE TABLE "users" (
    "id" UUID NOT NULL,
    "email" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "password_hash" TEXT NOT NULL,
    "role" "UserRole" NOT NULL,
    "disabled_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "users_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sessions" (
    "id" TEXT NOT NULL,
    "user_id" UUID NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "ip_address" TEXT,
    "user_agent" TEXT,

    CONSTRAINT "sessions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "enrollment_tokens" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "token_hash" TEXT NOT NULL,
    "token_prefix" TEXT NOT NULL,
    "max_uses" INTEGER NOT NULL,
    "used_count" INTEGER NOT NULL DEFAULT 0,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "revoked_at" TIMESTAMPTZ(3),
    "created_by_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "enrollment_tokens_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "devices" (
    "id" UUID NOT NULL,
    "hostname" TEXT NOT NULL,
    "os_family" TEXT NOT NULL,
    "os_name" TEXT NOT NULL,
    "os_version" TEXT NOT NULL,
    "architecture" TEXT NOT NULL,
    "ip_addresses" TEXT[],
    "agent_version" TEXT NOT NULL,
    "protocol_version" INTEGER NOT NULL DEFAULT 1,
    "secret_hash" TEXT NOT NULL,
    "enrollment_token_id" UUID,
    "enrolled_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_seen_at" TIMESTAMPTZ(3),
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "devices_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "job_runs" (
    "id" UUID NOT NULL,
    "workflow_id" TEXT NOT NULL,
    "command" TEXT NOT NULL,
    "shell" TEXT NOT NULL DEFAULT 'default',
    "timeout_seconds" INTEGER NOT NULL,
    "deadline_at" TIMESTAMPTZ(3) NOT NULL,
    "status" "JobRunStatus" NOT NULL DEFAULT 'queued',
    "cancel_requested" BOOLEAN NOT NULL DEFAULT false,
    "created_by_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "job_runs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "job_run_devices" (
    "id" UUID NOT NULL,
    "job_run_id" UUID NOT NULL,
    "device_id" UUID NOT NULL,
    "status" "DeviceRunStatus" NOT NULL DEFAULT 'pending',
    "exit_code" INTEGER,
    "error_message" TEXT,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    "duration_ms" INTEGER,
    "stdout_bytes" BIGINT NOT NULL DEFAULT 0,
    "stderr_bytes" BIGINT NOT NULL DEFAULT 0,
    "stdout_truncated" BOOLEAN NOT NULL DEFAULT false,
    "stderr_truncated" BOOLEAN NOT NULL DEFAULT false,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "job_run_devices_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "agent_commands" (
    "id" UUID NOT NULL,
    "device_id" UUID NOT NULL,
    "job_run_device_id" UUID NOT NULL,
    "attempt" INTEGER NOT NULL,
    "kind" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "task_token" BYTEA NOT NULL,
    "status" "AgentCommandStatus" NOT NULL DEFAULT 'pending',
    "cancel_requested" BOOLEAN NOT NULL DEFAULT false,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "delivered_at" TIMESTAMPTZ(3),
    "started_at" TIMESTAMPTZ(3),
    "completed_at" TIMESTAMPTZ(3),
    "activity_closed_at" TIMESTAMPTZ(3),
    "result" JSONB,
    "result_count" INTEGER NOT NULL DEFAULT 0,
    "last_result_at" TIMESTAMPTZ(3),

    CONSTRAINT "agent_commands_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "output_chunks" (
    "id" BIGSERIAL NOT NULL,
    "job_run_device_id" UUID NOT NULL,
    "command_id" UUID NOT NULL,
    "stream" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "data" TEXT NOT NULL,
    "bytes" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "output_chunks_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audit_logs" (
    "id" BIGSERIAL NOT NULL,
    "actor_type" TEXT NOT NULL,
    "actor_id" TEXT,
    "actor_name" TEXT,
    "action" TEXT NOT NULL,
    "target_type" TEXT,
    "target_id" TEXT,
    "details" JSONB,
    "ip_address" TEXT,
    "user_agent" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audit_logs_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "users_email_key" ON "users"("email");

-- CreateIndex
CREATE INDEX "sessions_user_id_idx" ON "sessions"("user_id");

-- CreateIndex
CREATE UNIQUE INDEX "enrollment_tokens_token_hash_key" ON "enrollment_tokens"("token_hash");

-- CreateIndex
CREATE UNIQUE INDEX "devices_secret_hash_key" ON "devices"("secret_hash");

-- CreateIndex
CREATE INDEX "devices_hostname_idx" ON "devices"("hostname");

-- CreateIndex
CREATE INDEX "devices_last_seen_at_idx" ON "devices"("last_seen_at");

-- CreateIndex
CREATE UNIQUE INDEX "job_runs_workflow_id_key" ON "job_runs"("workflow_id");

-- CreateIndex
CREATE INDEX "job_runs_created_at_idx" ON "job_runs"("created_at");

-- CreateIndex
CREATE INDEX "job_run_devices_device_id_idx" ON "job_run_devices"("device_id");

-- CreateIndex
CREATE UNIQUE INDEX "job_run_devices_job_run_id_device_id_key" ON "job_run_devices"("job_run_id", "device_id");

-- CreateIndex
CREATE INDEX "agent_commands_device_id_status_idx" ON "agent_commands"("device_id", "status");

-- CreateIndex
CREATE UNIQUE INDEX "agent_commands_job_run_device_id_attempt_key" ON "agent_commands"("job_run_device_id", "attempt");

-- CreateIndex
CREATE INDEX "output_chunks_job_run_device_id_id_idx" ON "output_chunks"("job_run_device_id", "id");

-- CreateIndex
CREATE UNIQUE INDEX "output_chunks_command_id_stream_seq_key" ON "output_chunks"("command_id", "stream", "seq");

-- CreateIndex
CREATE INDEX "audit_logs_created_at_idx" ON "audit_logs"("created_at");

-- AddForeignKey
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "enrollment_tokens" ADD CONSTRAINT "enrollment_tokens_created_by_id_fkey" FOREIGN KEY ("created_by_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "devices" ADD CONSTRAINT "devices_enrollment_token_id_fkey" FOREIGN KEY ("enrollment_token_id") REFERENCES "enrollment_tokens"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "job_runs" ADD CONSTRAINT "job_runs_created_by_id_fkey" FOREIGN KEY ("created_by_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "job_run_devices" ADD CONSTRAINT "job_run_devices_job_run_id_fkey" FOREIGN KEY ("job_run_id") REFERENCES "job_runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "job_run_devices" ADD CONSTRAINT "job_run_devices_device_id_fkey" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "agent_commands" ADD CONSTRAINT "agent_commands_device_id_fkey" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "agent_commands" ADD CONSTRAINT "agent_commands_job_run_device_id_fkey" FOREIGN KEY ("job_run_device_id") REFERENCES "job_run_devices"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "output_chunks" ADD CONSTRAINT "output_chunks_job_run_device_id_fkey" FOREIGN KEY ("job_run_device_id") REFERENCES "job_run_devices"("id") ON DELETE CASCADE ON UPDATE CASCADE;
