-- The service layer: audit actors, the transactional outbox of domain events with per-consumer
-- progress, device presence as last announced by events, and the device activity log (a consumer).

-- Who can act: a signed-in user, an API key (later), a device (enrollment) or a system process (a
-- workflow, a schedule: actor_name says which).
ALTER TABLE "audit_logs" ADD CONSTRAINT "audit_logs_actor_type_check" CHECK ("actor_type" IN ('user', 'api_key', 'device', 'system'));

-- Domain events, written in the transaction of the change they describe. `transaction_id` is the
-- writing transaction's ID: dispatchers read only events of transactions that have ended (below the
-- snapshot's xmin), in (transaction_id, id) order, so a cursor never passes an event that commits later.
CREATE TABLE "domain_events" (
    "id" BIGSERIAL NOT NULL,
    "transaction_id" BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    "type" TEXT NOT NULL,
    "subject_type" TEXT NOT NULL,
    "subject_id" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "actor_type" TEXT,
    "actor_id" TEXT,
    "actor_name" TEXT,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "domain_events_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "domain_events_transaction_id_id_idx" ON "domain_events"("transaction_id", "id");

-- One row per consumer: how far it got, who holds its lease (one active dispatcher per consumer
-- across all workers) and its retry state after a failure.
CREATE TABLE "domain_event_consumers" (
    "name" TEXT NOT NULL,
    "cursor_transaction_id" BIGINT NOT NULL DEFAULT 0,
    "cursor_event_id" BIGINT NOT NULL DEFAULT 0,
    "leased_by" TEXT,
    "lease_expires_at" TIMESTAMPTZ(3),
    "failed_attempts" INTEGER NOT NULL DEFAULT 0,
    "retry_at" TIMESTAMPTZ(3),
    "last_error" TEXT,
    "delivered_count" BIGINT NOT NULL DEFAULT 0,
    "last_delivered_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "domain_event_consumers_pkey" PRIMARY KEY ("name")
);

-- Events a consumer gave up on after its retries, kept (with a copy of the event) for an operator.
CREATE TABLE "domain_event_dead_letters" (
    "consumer" TEXT NOT NULL,
    "event_id" BIGINT NOT NULL,
    "event" JSONB NOT NULL,
    "attempts" INTEGER NOT NULL,
    "error" TEXT NOT NULL,
    "parked_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "domain_event_dead_letters_pkey" PRIMARY KEY ("consumer", "event_id")
);

-- The presence last announced by device.came_online / device.went_offline (NULL: never announced).
-- Set from the current status, so the first sweep announces only real changes.
ALTER TABLE "devices" ADD COLUMN "announced_online" BOOLEAN;
UPDATE "devices" SET "announced_online" = ("agent_stopped_at" IS NULL AND "last_seen_at" >= now() - interval '90 seconds')
 WHERE "last_seen_at" IS NOT NULL;

-- What happened to a device (enrolled, online, offline, groups joined and left, commands finished,
-- inventory changes, retired), written by the device-activity consumer; one row per event and device.
CREATE TABLE "device_activity" (
    "id" BIGSERIAL NOT NULL,
    "device_id" UUID NOT NULL,
    "event_id" BIGINT NOT NULL,
    "type" TEXT NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "details" JSONB NOT NULL,

    CONSTRAINT "device_activity_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "device_activity_event_id_device_id_key" ON "device_activity"("event_id", "device_id");
CREATE INDEX "device_activity_device_id_id_idx" ON "device_activity"("device_id", "id");
ALTER TABLE "device_activity" ADD CONSTRAINT "device_activity_device_id_fkey" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE CASCADE;
