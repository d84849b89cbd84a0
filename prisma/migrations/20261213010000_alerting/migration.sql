-- Alerting (ADR 25): notification channels (their secrets in the secret store, owner `notification_channel`),
-- escalation policies, alert rules, alerts with their timeline, and the log of every delivery attempt.

-- Where notifications go. The webhook URL, SMTP password or API key is in the secret store; `settings` holds only
-- what may be shown (SMTP host, port, sender, recipients) and `target` the destination's host for display.
CREATE TABLE "notification_channels" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "type" TEXT NOT NULL CHECK ("type" IN ('slack', 'teams', 'discord', 'webhook', 'smtp', 'resend')),
    "settings" JSONB NOT NULL DEFAULT '{}',
    "target" TEXT NOT NULL DEFAULT '',
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "created_by_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "notification_channels_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "notification_channels_name_key" ON "notification_channels"("name");
ALTER TABLE "notification_channels" ADD CONSTRAINT "notification_channels_created_by_id_fkey" FOREIGN KEY ("created_by_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- Who is notified when nobody acknowledges: levels in order, each with its channels and how long to wait.
CREATE TABLE "escalation_policies" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "levels" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "escalation_policies_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "escalation_policies_name_key" ON "escalation_policies"("name");

-- What raises alerts. `params` by type (minutes offline, free-disk percent, a dynamic-group rule, …); `group_ids`
-- the scope (empty: every device); `channel_ids` notified when there is no escalation policy.
CREATE TABLE "alert_rules" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "type" TEXT NOT NULL CHECK ("type" IN ('device_offline', 'disk_free', 'job_run_failed', 'deployment_failed', 'agent_outdated', 'device_rule')),
    "params" JSONB NOT NULL DEFAULT '{}',
    "group_ids" UUID[] NOT NULL DEFAULT ARRAY[]::UUID[],
    "severity" TEXT NOT NULL CHECK ("severity" IN ('info', 'warning', 'critical')),
    "cooldown_seconds" INTEGER NOT NULL DEFAULT 0 CHECK ("cooldown_seconds" >= 0),
    "channel_ids" UUID[] NOT NULL DEFAULT ARRAY[]::UUID[],
    "escalation_policy_id" UUID,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "created_by_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "alert_rules_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "alert_rules_name_key" ON "alert_rules"("name");
CREATE INDEX "alert_rules_escalation_policy_id_idx" ON "alert_rules"("escalation_policy_id");
ALTER TABLE "alert_rules" ADD CONSTRAINT "alert_rules_escalation_policy_id_fkey" FOREIGN KEY ("escalation_policy_id") REFERENCES "escalation_policies"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "alert_rules" ADD CONSTRAINT "alert_rules_created_by_id_fkey" FOREIGN KEY ("created_by_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- One alert per rule and subject while it is not resolved (its `alertLifecycle` workflow: alert/<rule>/<subject>).
CREATE TABLE "alerts" (
    "id" UUID NOT NULL,
    "rule_id" UUID NOT NULL,
    -- What the alert is about: a device ID, a job run ID, a deployment ID.
    "subject_key" TEXT NOT NULL,
    "subject_type" TEXT NOT NULL CHECK ("subject_type" IN ('device', 'job_run', 'deployment')),
    "subject_label" TEXT NOT NULL,
    "state" TEXT NOT NULL CHECK ("state" IN ('open', 'acknowledged', 'resolved')),
    "severity" TEXT NOT NULL CHECK ("severity" IN ('info', 'warning', 'critical')),
    "summary" TEXT NOT NULL,
    "workflow_id" TEXT NOT NULL,
    "opened_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    -- When the condition was last seen holding, and since when it has been clear (flap protection).
    "last_firing_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "cleared_since" TIMESTAMPTZ(3),
    "acknowledged_at" TIMESTAMPTZ(3),
    "acknowledged_by" TEXT,
    "resolved_at" TIMESTAMPTZ(3),
    "resolved_by" TEXT,
    "resolution" TEXT,

    CONSTRAINT "alerts_pkey" PRIMARY KEY ("id")
);
-- Partial: one alert not resolved per rule and subject.
CREATE UNIQUE INDEX "alerts_rule_id_subject_key_key" ON "alerts"("rule_id", "subject_key") WHERE "state" <> 'resolved';
CREATE INDEX "alerts_state_opened_at_idx" ON "alerts"("state", "opened_at");
CREATE INDEX "alerts_rule_id_subject_key_resolved_at_idx" ON "alerts"("rule_id", "subject_key", "resolved_at");
ALTER TABLE "alerts" ADD CONSTRAINT "alerts_rule_id_fkey" FOREIGN KEY ("rule_id") REFERENCES "alert_rules"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- An alert's timeline: opened, notified (whom, where, the outcome), escalated, acknowledged, resolved, closed.
CREATE TABLE "alert_events" (
    "id" BIGSERIAL NOT NULL,
    "alert_id" UUID NOT NULL,
    "type" TEXT NOT NULL,
    "message" TEXT NOT NULL,
    "actor" TEXT,
    "details" JSONB,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "alert_events_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "alert_events_alert_id_id_idx" ON "alert_events"("alert_id", "id");
ALTER TABLE "alert_events" ADD CONSTRAINT "alert_events_alert_id_fkey" FOREIGN KEY ("alert_id") REFERENCES "alerts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Every delivery attempt to a channel (an alert's, or a test send's: alert NULL), with its outcome.
CREATE TABLE "notification_deliveries" (
    "id" BIGSERIAL NOT NULL,
    "channel_id" UUID NOT NULL,
    "alert_id" UUID,
    "kind" TEXT NOT NULL CHECK ("kind" IN ('opened', 'escalated', 'resolved', 'test')),
    "level" INTEGER NOT NULL DEFAULT 0,
    "attempt" INTEGER NOT NULL DEFAULT 1,
    "status" TEXT NOT NULL CHECK ("status" IN ('delivered', 'failed', 'skipped')),
    "response_code" INTEGER,
    "detail" TEXT,
    "duration_ms" INTEGER NOT NULL DEFAULT 0,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "notification_deliveries_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "notification_deliveries_channel_id_id_idx" ON "notification_deliveries"("channel_id", "id");
CREATE INDEX "notification_deliveries_alert_id_id_idx" ON "notification_deliveries"("alert_id", "id");
ALTER TABLE "notification_deliveries" ADD CONSTRAINT "notification_deliveries_channel_id_fkey" FOREIGN KEY ("channel_id") REFERENCES "notification_channels"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "notification_deliveries" ADD CONSTRAINT "notification_deliveries_alert_id_fkey" FOREIGN KEY ("alert_id") REFERENCES "alerts"("id") ON DELETE CASCADE ON UPDATE CASCADE;
