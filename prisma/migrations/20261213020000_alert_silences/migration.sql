-- Silences (ADR 25): alerts matching every matcher given (a rule, a device, a group's devices, a tagged device)
-- are still opened and shown, but no notification is sent for them between starts_at and ends_at.
CREATE TABLE "alert_silences" (
    "id" UUID NOT NULL,
    "rule_id" UUID,
    "device_id" UUID,
    "group_id" UUID,
    "tag" TEXT,
    "starts_at" TIMESTAMPTZ(3) NOT NULL,
    "ends_at" TIMESTAMPTZ(3) NOT NULL,
    "reason" TEXT NOT NULL,
    "created_by" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "alert_silences_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "alert_silences_one_matcher" CHECK ("rule_id" IS NOT NULL OR "device_id" IS NOT NULL OR "group_id" IS NOT NULL OR "tag" IS NOT NULL),
    CONSTRAINT "alert_silences_window" CHECK ("ends_at" > "starts_at")
);
CREATE INDEX "alert_silences_ends_at_idx" ON "alert_silences"("ends_at");
ALTER TABLE "alert_silences" ADD CONSTRAINT "alert_silences_rule_id_fkey" FOREIGN KEY ("rule_id") REFERENCES "alert_rules"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "alert_silences" ADD CONSTRAINT "alert_silences_device_id_fkey" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "alert_silences" ADD CONSTRAINT "alert_silences_group_id_fkey" FOREIGN KEY ("group_id") REFERENCES "device_groups"("id") ON DELETE CASCADE ON UPDATE CASCADE;
