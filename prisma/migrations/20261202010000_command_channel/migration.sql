-- One command channel for every workflow (docs/adr/XXXX-command-channel.md): an agent command belongs to
-- what dispatched it, carries its attempt, refers to its payload (stored once, by content), and moves
-- through one state machine that the database guards.

-- The SHA-256 of a payload: of PostgreSQL's canonical text of the jsonb value, so every writer (this
-- migration, the API, the activities) names the same payload the same way.
CREATE FUNCTION "command_payload_sha256"(payload JSONB) RETURNS TEXT LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT encode(sha256(convert_to(payload::text, 'UTF8')), 'hex')
$$;

CREATE TABLE "command_payloads" (
    "sha256" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "bytes" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "command_payloads_pkey" PRIMARY KEY ("sha256"),
    CONSTRAINT "command_payloads_sha256_matches" CHECK ("sha256" = "command_payload_sha256"("payload"))
);

-- Files held for `file.fetch`: the bytes live in the API's file store, named by their SHA-256.
CREATE TABLE "stored_files" (
    "sha256" TEXT NOT NULL,
    "size" BIGINT NOT NULL,
    "name" TEXT,
    "created_by_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stored_files_pkey" PRIMARY KEY ("sha256")
);
ALTER TABLE "stored_files" ADD CONSTRAINT "stored_files_created_by_id_fkey" FOREIGN KEY ("created_by_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- What each agent can run and its boot ID, from its check-ins. Agents of protocol 1 announce nothing: shell only.
ALTER TABLE "devices"
    ADD COLUMN "capabilities" TEXT[] DEFAULT ARRAY[]::TEXT[],
    ADD COLUMN "command_kinds" TEXT[] DEFAULT ARRAY['shell']::TEXT[],
    ADD COLUMN "boot_id" TEXT;

-- Runs name their command kind and payload; every run so far sent a shell command.
ALTER TABLE "job_runs" ADD COLUMN "kind" TEXT NOT NULL DEFAULT 'shell', ADD COLUMN "payload_sha256" TEXT;
INSERT INTO "command_payloads" ("sha256", "payload", "bytes")
SELECT DISTINCT "command_payload_sha256"(p), p, octet_length(convert_to(p::text, 'UTF8'))
  FROM (SELECT jsonb_build_object('kind', 'shell', 'command', "command", 'shell', "shell", 'timeoutSeconds', "timeout_seconds") AS p FROM "job_runs") runs
ON CONFLICT DO NOTHING;
UPDATE "job_runs" SET "payload_sha256" = "command_payload_sha256"(jsonb_build_object('kind', 'shell', 'command', "command", 'shell', "shell", 'timeoutSeconds', "timeout_seconds"));
ALTER TABLE "job_runs" ADD CONSTRAINT "job_runs_payload_sha256_fkey" FOREIGN KEY ("payload_sha256") REFERENCES "command_payloads"("sha256") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Commands: the state machine replaces status + cancel_requested; the payload goes by reference.
CREATE TYPE "AgentCommandState" AS ENUM ('queued', 'delivered', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'offline', 'interrupted', 'unsupported');
ALTER TABLE "agent_commands"
    ADD COLUMN "state" "AgentCommandState" NOT NULL DEFAULT 'queued',
    ADD COLUMN "payload_sha256" TEXT,
    ADD COLUMN "file_sha256" TEXT,
    ADD COLUMN "cancel_requested_at" TIMESTAMPTZ(3),
    ADD COLUMN "delivery_count" INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN "error_message" TEXT,
    ADD COLUMN "stdout_bytes" BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN "stderr_bytes" BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN "stdout_truncated" BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN "stderr_truncated" BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE "agent_commands" RENAME COLUMN "completed_at" TO "finished_at";

-- completed: the agent's result says how it ended. expired: the server ended it — a cancellation, a
-- device that never picked it up (offline), or a retired/deleted device (failed).
UPDATE "agent_commands" SET
    "state" = (CASE "status"
        WHEN 'pending' THEN 'queued'
        WHEN 'delivered' THEN 'delivered'
        WHEN 'running' THEN 'running'
        WHEN 'completed' THEN CASE WHEN "result"->>'status' IN ('succeeded', 'failed', 'timed_out', 'cancelled') THEN "result"->>'status' ELSE 'failed' END
        ELSE CASE WHEN "cancel_requested" THEN 'cancelled' WHEN "delivered_at" IS NULL THEN 'offline' ELSE 'failed' END
    END)::"AgentCommandState",
    "cancel_requested_at" = CASE WHEN "cancel_requested" AND "status" IN ('delivered', 'running') THEN now() END,
    "delivery_count" = CASE WHEN "delivered_at" IS NULL THEN 0 ELSE 1 END,
    "finished_at" = CASE WHEN "status" IN ('completed', 'expired') THEN coalesce("finished_at", now()) END,
    "error_message" = CASE WHEN "status" = 'completed' THEN "result"->>'error' WHEN "status" = 'expired' THEN 'Ended by the server.' END;

INSERT INTO "command_payloads" ("sha256", "payload", "bytes")
SELECT DISTINCT "command_payload_sha256"("payload"), "payload", octet_length(convert_to("payload"::text, 'UTF8')) FROM "agent_commands"
ON CONFLICT DO NOTHING;
UPDATE "agent_commands" SET "payload_sha256" = "command_payload_sha256"("payload");
ALTER TABLE "agent_commands" ALTER COLUMN "payload_sha256" SET NOT NULL;

DROP INDEX "agent_commands_device_id_status_idx";
ALTER TABLE "agent_commands" DROP COLUMN "payload", DROP COLUMN "status", DROP COLUMN "cancel_requested";
DROP TYPE "AgentCommandStatus";
-- A command outlives its device (it is part of its owner's history, like job_run_devices.device_id).
ALTER TABLE "agent_commands" DROP CONSTRAINT "agent_commands_device_id_fkey";
-- Owners that do not wait in Temporal have no task token; each owner kind is one nullable column.
ALTER TABLE "agent_commands" ALTER COLUMN "task_token" DROP NOT NULL, ALTER COLUMN "job_run_device_id" DROP NOT NULL;

-- Output moves from the run target to its command. Chunks of commands that are gone (their device was
-- deleted, and commands went with it) keep a stand-in command, so a run's output stays readable.
INSERT INTO "agent_commands" ("id", "device_id", "job_run_device_id", "attempt", "kind", "payload_sha256", "state", "expires_at", "created_at", "finished_at", "error_message")
SELECT o."command_id", jrd."device_id", o."job_run_device_id",
       coalesce((SELECT max(ac."attempt") FROM "agent_commands" ac WHERE ac."job_run_device_id" = o."job_run_device_id"), 0)
         + row_number() OVER (PARTITION BY o."job_run_device_id" ORDER BY o."first_id"),
       jr."kind", jr."payload_sha256",
       (CASE WHEN jrd."status" IN ('succeeded', 'failed', 'timed_out', 'cancelled', 'offline') THEN jrd."status"::text ELSE 'failed' END)::"AgentCommandState",
       jr."deadline_at", o."first_at", coalesce(jrd."finished_at", now()), 'Kept for its output: the device was deleted.'
  FROM (SELECT "command_id", "job_run_device_id", min("id") AS "first_id", min("created_at") AS "first_at"
          FROM "output_chunks" oc WHERE NOT EXISTS (SELECT 1 FROM "agent_commands" ac WHERE ac."id" = oc."command_id")
         GROUP BY "command_id", "job_run_device_id") o
  JOIN "job_run_devices" jrd ON jrd."id" = o."job_run_device_id"
  JOIN "job_runs" jr ON jr."id" = jrd."job_run_id";

UPDATE "agent_commands" ac SET
    "stdout_bytes" = coalesce((SELECT sum(oc."bytes") FROM "output_chunks" oc WHERE oc."command_id" = ac."id" AND oc."stream" = 'stdout'), 0),
    "stderr_bytes" = coalesce((SELECT sum(oc."bytes") FROM "output_chunks" oc WHERE oc."command_id" = ac."id" AND oc."stream" = 'stderr'), 0),
    "stdout_truncated" = jrd."stdout_truncated" AND ac."attempt" = (SELECT max(x."attempt") FROM "agent_commands" x WHERE x."job_run_device_id" = jrd."id"),
    "stderr_truncated" = jrd."stderr_truncated" AND ac."attempt" = (SELECT max(x."attempt") FROM "agent_commands" x WHERE x."job_run_device_id" = jrd."id")
  FROM "job_run_devices" jrd WHERE jrd."id" = ac."job_run_device_id";

ALTER TABLE "output_chunks" DROP CONSTRAINT "output_chunks_job_run_device_id_fkey";
DROP INDEX "output_chunks_job_run_device_id_id_idx";
ALTER TABLE "output_chunks" DROP COLUMN "job_run_device_id";
CREATE INDEX "output_chunks_command_id_id_idx" ON "output_chunks"("command_id", "id");
ALTER TABLE "output_chunks" ADD CONSTRAINT "output_chunks_command_id_fkey" FOREIGN KEY ("command_id") REFERENCES "agent_commands"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "job_run_devices" DROP COLUMN "stdout_bytes", DROP COLUMN "stderr_bytes", DROP COLUMN "stdout_truncated", DROP COLUMN "stderr_truncated";

ALTER TABLE "agent_commands" ADD CONSTRAINT "agent_commands_one_owner" CHECK (num_nonnulls("job_run_device_id") = 1);
ALTER TABLE "agent_commands" ADD CONSTRAINT "agent_commands_finished_at_when_terminal" CHECK (("state" IN ('queued', 'delivered', 'running')) = ("finished_at" IS NULL));
ALTER TABLE "agent_commands" ADD CONSTRAINT "agent_commands_payload_sha256_fkey" FOREIGN KEY ("payload_sha256") REFERENCES "command_payloads"("sha256") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "agent_commands" ADD CONSTRAINT "agent_commands_file_sha256_fkey" FOREIGN KEY ("file_sha256") REFERENCES "stored_files"("sha256") ON DELETE RESTRICT ON UPDATE CASCADE;
-- What polls read: a device's open commands.
CREATE INDEX "agent_commands_open_by_device_idx" ON "agent_commands"("device_id", "state") WHERE "state" IN ('queued', 'delivered', 'running');

-- The state machine, guarded here whoever writes (packages/commands/src/states.ts holds the same table):
--   queued    → delivered, cancelled, offline, failed, unsupported
--   delivered → delivered (handed out again), running, succeeded, failed, timed_out, cancelled, interrupted, unsupported
--   running   → succeeded, failed, timed_out, cancelled, interrupted
-- and a terminal command never changes its state, result, error or finish time again.
CREATE FUNCTION "agent_command_transition_allowed"(from_state "AgentCommandState", to_state "AgentCommandState") RETURNS BOOLEAN LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT CASE from_state
    WHEN 'queued' THEN to_state IN ('delivered', 'cancelled', 'offline', 'failed', 'unsupported')
    WHEN 'delivered' THEN to_state IN ('delivered', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'interrupted', 'unsupported')
    WHEN 'running' THEN to_state IN ('succeeded', 'failed', 'timed_out', 'cancelled', 'interrupted')
    ELSE false
  END
$$;

CREATE FUNCTION "agent_commands_guard_state"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD."state" NOT IN ('queued', 'delivered', 'running') THEN
    IF NEW."state" IS DISTINCT FROM OLD."state" OR NEW."result" IS DISTINCT FROM OLD."result"
       OR NEW."error_message" IS DISTINCT FROM OLD."error_message" OR NEW."finished_at" IS DISTINCT FROM OLD."finished_at" THEN
      RAISE EXCEPTION 'agent command % is % and can no longer change', OLD."id", OLD."state" USING ERRCODE = 'check_violation';
    END IF;
  ELSIF NEW."state" IS DISTINCT FROM OLD."state" AND NOT "agent_command_transition_allowed"(OLD."state", NEW."state") THEN
    RAISE EXCEPTION 'agent command %: % → % is not a transition of the command state machine', OLD."id", OLD."state", NEW."state" USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END;
$$;

CREATE TRIGGER "agent_commands_state_machine" BEFORE UPDATE ON "agent_commands"
  FOR EACH ROW EXECUTE FUNCTION "agent_commands_guard_state"();
