-- What a job run was asked to target (device IDs, group IDs, tags, a device filter).
-- AlterTable
ALTER TABLE "job_runs" ADD COLUMN     "target_selection" JSONB;

-- Filters of the runs list (created by, status) and the audit log (actor, action, target).
-- CreateIndex
CREATE INDEX "job_runs_created_by_id_created_at_idx" ON "job_runs"("created_by_id", "created_at");

-- CreateIndex
CREATE INDEX "job_runs_status_created_at_idx" ON "job_runs"("status", "created_at");

-- CreateIndex
CREATE INDEX "audit_logs_actor_id_id_idx" ON "audit_logs"("actor_id", "id");

-- CreateIndex
CREATE INDEX "audit_logs_actor_name_id_idx" ON "audit_logs"("actor_name", "id");

-- CreateIndex
CREATE INDEX "audit_logs_action_id_idx" ON "audit_logs"("action", "id");

-- CreateIndex
CREATE INDEX "audit_logs_target_type_target_id_id_idx" ON "audit_logs"("target_type", "target_id", "id");
