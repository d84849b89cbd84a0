-- Where each package version is installed (ADR 23): the last software.install / software.uninstall result per
-- device and version, kept when the commands themselves are pruned.
CREATE TYPE "PackageInstallationState" AS ENUM ('installed', 'not_installed', 'failed');
CREATE TABLE "package_installations" (
    "device_id" UUID NOT NULL,
    "version_id" UUID NOT NULL,
    "package_id" UUID NOT NULL,
    "state" "PackageInstallationState" NOT NULL,
    "outcome" TEXT NOT NULL,
    "detail" TEXT,
    "reboot_required" BOOLEAN NOT NULL DEFAULT false,
    "command_id" UUID,
    "finished_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "package_installations_pkey" PRIMARY KEY ("device_id", "version_id")
);
CREATE INDEX "package_installations_package_id_idx" ON "package_installations"("package_id");
CREATE INDEX "package_installations_version_id_idx" ON "package_installations"("version_id");
ALTER TABLE "package_installations" ADD CONSTRAINT "package_installations_device_id_fkey" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "package_installations" ADD CONSTRAINT "package_installations_version_id_fkey" FOREIGN KEY ("version_id") REFERENCES "package_versions"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "package_installations" ADD CONSTRAINT "package_installations_package_id_fkey" FOREIGN KEY ("package_id") REFERENCES "software_packages"("id") ON DELETE CASCADE ON UPDATE CASCADE;
