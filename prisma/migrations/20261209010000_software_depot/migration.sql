-- The software depot (issue 8, ADR 23): artifacts (content-addressed by SHA-256) and where copies of them are (depot
-- sources: the built-in store on the server's disk, S3-compatible buckets, HTTP(S) mirrors, SMB shares), packages and
-- their versions (installer, commands, detection rules, requirements, dependencies, supersedence), and the Ed25519 keys
-- the server signs artifact manifests with (private halves in the secret store).
CREATE TYPE "DepotSourceKind" AS ENUM ('depot', 's3', 'http', 'share');
CREATE TABLE "depot_sources" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "kind" "DepotSourceKind" NOT NULL,
    "priority" INTEGER NOT NULL DEFAULT 100,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "settings" JSONB NOT NULL DEFAULT '{}',
    "subnets" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "health_checked_at" TIMESTAMPTZ(3),
    "reachable" BOOLEAN,
    "free_bytes" BIGINT,
    "health_error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "depot_sources_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "depot_sources_name_key" ON "depot_sources"("name");
-- The built-in depot: always there (its directory is DEPOT_DIR), tried after nearer shares and before mirrors.
INSERT INTO "depot_sources" ("id", "name", "kind", "priority") VALUES ('00000000-0000-4000-8000-000000000001', 'Built-in depot', 'depot', 50);

CREATE TYPE "ArtifactOrigin" AS ENUM ('upload', 'url', 'share');
CREATE TABLE "artifacts" (
    "id" UUID NOT NULL,
    "sha256" TEXT NOT NULL,
    "size" BIGINT NOT NULL,
    "file_name" TEXT NOT NULL,
    "origin" "ArtifactOrigin" NOT NULL,
    "origin_url" TEXT,
    "metadata" JSONB NOT NULL DEFAULT '{}',
    "created_by_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "artifacts_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "artifacts_sha256_key" ON "artifacts"("sha256");
ALTER TABLE "artifacts" ADD CONSTRAINT "artifacts_created_by_id_fkey" FOREIGN KEY ("created_by_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- Where a source holds an artifact: `path` when it is not at the source's standard place (<aa>/<sha256>), e.g. an
-- installer registered where it already was on a share.
CREATE TABLE "artifact_locations" (
    "artifact_id" UUID NOT NULL,
    "source_id" UUID NOT NULL,
    "path" TEXT,
    "verified_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "artifact_locations_pkey" PRIMARY KEY ("artifact_id", "source_id")
);
CREATE INDEX "artifact_locations_source_id_idx" ON "artifact_locations"("source_id");
ALTER TABLE "artifact_locations" ADD CONSTRAINT "artifact_locations_artifact_id_fkey" FOREIGN KEY ("artifact_id") REFERENCES "artifacts"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "artifact_locations" ADD CONSTRAINT "artifact_locations_source_id_fkey" FOREIGN KEY ("source_id") REFERENCES "depot_sources"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TYPE "PackagePlatform" AS ENUM ('windows', 'linux', 'macos');
CREATE TABLE "software_packages" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "vendor" TEXT NOT NULL DEFAULT '',
    "description" TEXT NOT NULL DEFAULT '',
    "category" TEXT NOT NULL DEFAULT '',
    "platform" "PackagePlatform" NOT NULL,
    "icon" BYTEA,
    "icon_type" TEXT,
    "created_by_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "software_packages_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "software_packages_name_key" ON "software_packages"("name");
ALTER TABLE "software_packages" ADD CONSTRAINT "software_packages_created_by_id_fkey" FOREIGN KEY ("created_by_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

CREATE TYPE "InstallerType" AS ENUM ('msi', 'exe', 'msix', 'ps1', 'sh', 'deb', 'rpm', 'archive', 'apt', 'dnf', 'pacman', 'winget', 'chocolatey');
CREATE TYPE "RebootBehaviour" AS ENUM ('never', 'if_required', 'always');
CREATE TABLE "package_versions" (
    "id" UUID NOT NULL,
    "package_id" UUID NOT NULL,
    "version" TEXT NOT NULL,
    "installer_type" "InstallerType" NOT NULL,
    "install_command" TEXT NOT NULL,
    "uninstall_command" TEXT NOT NULL,
    "success_exit_codes" BIGINT[] DEFAULT ARRAY[0]::BIGINT[],
    "reboot_exit_codes" BIGINT[] DEFAULT ARRAY[]::BIGINT[],
    "reboot" "RebootBehaviour" NOT NULL DEFAULT 'never',
    "timeout_seconds" INTEGER NOT NULL DEFAULT 3600,
    "product_code" TEXT,
    "package_manager_name" TEXT,
    "pre_hook" JSONB,
    "post_hook" JSONB,
    "requirements" JSONB NOT NULL DEFAULT '{}',
    "detection" JSONB,
    "supersedes_id" UUID,
    "notes" TEXT NOT NULL DEFAULT '',
    "created_by_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "package_versions_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "package_versions_package_id_version_key" ON "package_versions"("package_id", "version");
CREATE INDEX "package_versions_supersedes_id_idx" ON "package_versions"("supersedes_id");
ALTER TABLE "package_versions" ADD CONSTRAINT "package_versions_package_id_fkey" FOREIGN KEY ("package_id") REFERENCES "software_packages"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "package_versions" ADD CONSTRAINT "package_versions_supersedes_id_fkey" FOREIGN KEY ("supersedes_id") REFERENCES "package_versions"("id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "package_versions" ADD CONSTRAINT "package_versions_created_by_id_fkey" FOREIGN KEY ("created_by_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- A version's artifacts, the installer first (position 0). RESTRICT: an artifact a version needs cannot be deleted.
CREATE TABLE "package_version_artifacts" (
    "version_id" UUID NOT NULL,
    "artifact_id" UUID NOT NULL,
    "position" INTEGER NOT NULL,

    CONSTRAINT "package_version_artifacts_pkey" PRIMARY KEY ("version_id", "position")
);
CREATE INDEX "package_version_artifacts_artifact_id_idx" ON "package_version_artifacts"("artifact_id");
ALTER TABLE "package_version_artifacts" ADD CONSTRAINT "package_version_artifacts_version_id_fkey" FOREIGN KEY ("version_id") REFERENCES "package_versions"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "package_version_artifacts" ADD CONSTRAINT "package_version_artifacts_artifact_id_fkey" FOREIGN KEY ("artifact_id") REFERENCES "artifacts"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Packages a version needs installed first, optionally at some version (constraints as in detection rules).
CREATE TABLE "package_dependencies" (
    "version_id" UUID NOT NULL,
    "depends_on_id" UUID NOT NULL,
    "version_constraints" JSONB,

    CONSTRAINT "package_dependencies_pkey" PRIMARY KEY ("version_id", "depends_on_id")
);
CREATE INDEX "package_dependencies_depends_on_id_idx" ON "package_dependencies"("depends_on_id");
ALTER TABLE "package_dependencies" ADD CONSTRAINT "package_dependencies_version_id_fkey" FOREIGN KEY ("version_id") REFERENCES "package_versions"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "package_dependencies" ADD CONSTRAINT "package_dependencies_depends_on_id_fkey" FOREIGN KEY ("depends_on_id") REFERENCES "software_packages"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Manifest signing keys. pending: published to agents, not signing yet; active: signs (exactly one); previous: was
-- active, still published so manifests it signed verify; retired: no longer published.
CREATE TYPE "SigningKeyState" AS ENUM ('pending', 'active', 'previous', 'retired');
CREATE TABLE "depot_signing_keys" (
    "id" UUID NOT NULL,
    "public_key" TEXT NOT NULL,
    "state" "SigningKeyState" NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "activated_at" TIMESTAMPTZ(3),
    "retired_at" TIMESTAMPTZ(3),

    CONSTRAINT "depot_signing_keys_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "depot_signing_keys_one_active" ON "depot_signing_keys"("state") WHERE "state" = 'active';
