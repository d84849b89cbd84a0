-- Deployments (ADR 24): software assignments, maintenance windows per group, and staged rollouts — a
-- deployment's plan (its waves and devices), its timeline, and the job runs its waves install with.

-- A recurring maintenance window of a group: devices install (and reboot, when the deployment says so) only inside
-- one of their groups' windows. Wall-clock start in the window's IANA zone; duration in elapsed minutes.
CREATE TABLE "maintenance_windows" (
    "id" UUID NOT NULL,
    "group_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "time_zone" TEXT NOT NULL,
    "recurrence" TEXT NOT NULL CHECK ("recurrence" IN ('daily', 'weekly')),
    "days_of_week" INTEGER[] NOT NULL DEFAULT ARRAY[]::INTEGER[],
    "start_time" TEXT NOT NULL,
    "duration_minutes" INTEGER NOT NULL CHECK ("duration_minutes" BETWEEN 1 AND 10080),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "maintenance_windows_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "maintenance_windows_group_id_idx" ON "maintenance_windows"("group_id");
ALTER TABLE "maintenance_windows" ADD CONSTRAINT "maintenance_windows_group_id_fkey" FOREIGN KEY ("group_id") REFERENCES "device_groups"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- A package assigned to a device or a group: required (install and keep installed), available (installed on
-- request), or uninstall. One assignment per package and target; version NULL means the package's latest version.
CREATE TABLE "software_assignments" (
    "id" UUID NOT NULL,
    "package_id" UUID NOT NULL,
    "version_id" UUID,
    "device_id" UUID,
    "group_id" UUID,
    "intent" TEXT NOT NULL CHECK ("intent" IN ('required', 'available', 'uninstall')),
    "uninstall_on_leave" BOOLEAN NOT NULL DEFAULT false,
    "created_by_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    -- When its devices were last brought to the assignment's state (the enforcement sweep).
    "enforced_at" TIMESTAMPTZ(3),

    CONSTRAINT "software_assignments_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "software_assignments_one_target" CHECK (("device_id" IS NULL) <> ("group_id" IS NULL))
);
CREATE UNIQUE INDEX "software_assignments_package_id_device_id_key" ON "software_assignments"("package_id", "device_id");
CREATE UNIQUE INDEX "software_assignments_package_id_group_id_key" ON "software_assignments"("package_id", "group_id");
CREATE INDEX "software_assignments_device_id_idx" ON "software_assignments"("device_id");
CREATE INDEX "software_assignments_group_id_idx" ON "software_assignments"("group_id");
CREATE INDEX "software_assignments_version_id_idx" ON "software_assignments"("version_id");
ALTER TABLE "software_assignments" ADD CONSTRAINT "software_assignments_package_id_fkey" FOREIGN KEY ("package_id") REFERENCES "software_packages"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "software_assignments" ADD CONSTRAINT "software_assignments_version_id_fkey" FOREIGN KEY ("version_id") REFERENCES "package_versions"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "software_assignments" ADD CONSTRAINT "software_assignments_device_id_fkey" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "software_assignments" ADD CONSTRAINT "software_assignments_group_id_fkey" FOREIGN KEY ("group_id") REFERENCES "device_groups"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "software_assignments" ADD CONSTRAINT "software_assignments_created_by_id_fkey" FOREIGN KEY ("created_by_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- A staged rollout of one version (its `deploymentRollout` workflow: deployment/<id>).
CREATE TABLE "deployments" (
    "id" UUID NOT NULL,
    "workflow_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "package_id" UUID NOT NULL,
    "version_id" UUID NOT NULL,
    "action" TEXT NOT NULL CHECK ("action" IN ('install', 'uninstall')),
    "status" TEXT NOT NULL CHECK ("status" IN ('pending_approval', 'rejected', 'scheduled', 'running', 'paused', 'completed', 'failed', 'aborted', 'rolling_back', 'rolled_back')),
    "paused_reason" TEXT,
    -- The wave under way (0 is the pilot when there is one).
    "current_wave" INTEGER,
    -- The strategy as created: waves, soak, criteria, auto-pause, health, windows, reboot, network, retries.
    "options" JSONB NOT NULL,
    "target_selection" JSONB NOT NULL,
    "payload_sha256" TEXT NOT NULL,
    -- The version's uninstall command (rollback), when it has one.
    "rollback_payload_sha256" TEXT,
    "starts_at" TIMESTAMPTZ(3) NOT NULL,
    "deadline_at" TIMESTAMPTZ(3),
    "created_by_id" UUID,
    "approved_by_id" UUID,
    "approved_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "deployments_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "deployments_workflow_id_key" ON "deployments"("workflow_id");
CREATE INDEX "deployments_created_at_idx" ON "deployments"("created_at");
CREATE INDEX "deployments_status_created_at_idx" ON "deployments"("status", "created_at");
CREATE INDEX "deployments_package_id_idx" ON "deployments"("package_id");
CREATE INDEX "deployments_version_id_idx" ON "deployments"("version_id");
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_package_id_fkey" FOREIGN KEY ("package_id") REFERENCES "software_packages"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
-- A deployed version (and so its artifacts) is kept while its deployment is: a rollback needs it.
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_version_id_fkey" FOREIGN KEY ("version_id") REFERENCES "package_versions"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_payload_sha256_fkey" FOREIGN KEY ("payload_sha256") REFERENCES "command_payloads"("sha256") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_created_by_id_fkey" FOREIGN KEY ("created_by_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_approved_by_id_fkey" FOREIGN KEY ("approved_by_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- A deployment's waves in order: 0 is the pilot when it has one.
CREATE TABLE "deployment_waves" (
    "deployment_id" UUID NOT NULL,
    "index" INTEGER NOT NULL,
    "label" TEXT NOT NULL,
    "size" INTEGER NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'planned' CHECK ("state" IN ('planned', 'installing', 'soaking', 'completed', 'cancelled')),
    "started_at" TIMESTAMPTZ(3),
    "soak_until" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    -- The last health analysis of its soak (watched, unhealthy, baseline).
    "health" JSONB,

    CONSTRAINT "deployment_waves_pkey" PRIMARY KEY ("deployment_id", "index")
);
ALTER TABLE "deployment_waves" ADD CONSTRAINT "deployment_waves_deployment_id_fkey" FOREIGN KEY ("deployment_id") REFERENCES "deployments"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Each device of a deployment: its wave, the job run that installs it (its latest attempt), what it had before
-- (for a rollback) and the rollback's runs.
CREATE TABLE "deployment_devices" (
    "deployment_id" UUID NOT NULL,
    -- Not a foreign key: the deployment's history outlives a deleted device (see hostname).
    "device_id" UUID NOT NULL,
    "hostname" TEXT NOT NULL DEFAULT '',
    "wave" INTEGER NOT NULL,
    "job_run_id" UUID,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "previous_version_id" UUID,
    "previous_payload_sha256" TEXT,
    "health_failure" TEXT,
    -- The run that restarted it (reboot policy in_window), and the rollback's runs.
    "reboot_job_run_id" UUID,
    "rollback_job_run_id" UUID,
    "reinstall_job_run_id" UUID,

    CONSTRAINT "deployment_devices_pkey" PRIMARY KEY ("deployment_id", "device_id")
);
CREATE INDEX "deployment_devices_deployment_id_wave_idx" ON "deployment_devices"("deployment_id", "wave");
CREATE INDEX "deployment_devices_device_id_idx" ON "deployment_devices"("device_id");
ALTER TABLE "deployment_devices" ADD CONSTRAINT "deployment_devices_deployment_id_fkey" FOREIGN KEY ("deployment_id") REFERENCES "deployments"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- A deployment's timeline: created, approved, wave started, paused (by whom, why), resumed, rolled back…
-- Until alert channels exist, its notifications are these events (and the deployment.* domain events).
CREATE TABLE "deployment_events" (
    "id" BIGSERIAL NOT NULL,
    "deployment_id" UUID NOT NULL,
    "type" TEXT NOT NULL,
    "message" TEXT NOT NULL,
    "actor" TEXT,
    "details" JSONB,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "deployment_events_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "deployment_events_deployment_id_id_idx" ON "deployment_events"("deployment_id", "id");
ALTER TABLE "deployment_events" ADD CONSTRAINT "deployment_events_deployment_id_fkey" FOREIGN KEY ("deployment_id") REFERENCES "deployments"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Job runs a deployment (its waves, retries, health checks, rollback) or an assignment started; not foreign keys:
-- a run's history outlives them. `held`: no new device starts while set (a paused wave). `maintenance_windows`:
-- a device starts only inside one of its groups' maintenance windows (none: any time); `not_before` is when a target
-- held back by its windows may start.
ALTER TABLE "job_runs" ADD COLUMN "deployment_id" UUID;
ALTER TABLE "job_runs" ADD COLUMN "assignment_id" UUID;
ALTER TABLE "job_runs" ADD COLUMN "held" BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE "job_runs" ADD COLUMN "maintenance_windows" BOOLEAN NOT NULL DEFAULT false;
CREATE INDEX "job_runs_deployment_id_idx" ON "job_runs"("deployment_id");
CREATE INDEX "job_runs_assignment_id_idx" ON "job_runs"("assignment_id");
ALTER TABLE "job_run_devices" ADD COLUMN "not_before" TIMESTAMPTZ(3);
