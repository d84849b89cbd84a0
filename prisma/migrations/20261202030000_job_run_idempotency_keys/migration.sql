-- Idempotency keys of POST /api/v1/job-runs (the Idempotency-Key header): a retried request with the same key from
-- the same user gets the run the first one created instead of a second run. Written in the run's own transaction,
-- before its workflow starts; gone with the run, and ignored (then pruned) after 24 hours.
CREATE TABLE "job_run_idempotency_keys" (
    "user_id" UUID NOT NULL,
    "key" TEXT NOT NULL,
    "request_hash" TEXT NOT NULL,
    "job_run_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "job_run_idempotency_keys_pkey" PRIMARY KEY ("user_id", "key")
);

CREATE INDEX "job_run_idempotency_keys_created_at_idx" ON "job_run_idempotency_keys"("created_at");
CREATE INDEX "job_run_idempotency_keys_job_run_id_idx" ON "job_run_idempotency_keys"("job_run_id");

ALTER TABLE "job_run_idempotency_keys" ADD CONSTRAINT "job_run_idempotency_keys_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "job_run_idempotency_keys" ADD CONSTRAINT "job_run_idempotency_keys_job_run_id_fkey" FOREIGN KEY ("job_run_id") REFERENCES "job_runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;
