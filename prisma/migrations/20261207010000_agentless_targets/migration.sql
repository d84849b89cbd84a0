-- Agentless targets (issue 7, ADR 21): machines reached over SSH or WinRM instead of through an agent. Each is a device
-- (transport ssh or winrm) so groups, tags, runs and their history treat it like any other; its connection settings
-- are in agentless_targets, its login in an agentless credential whose secret is in the secret store.
CREATE TYPE "DeviceTransport" AS ENUM ('agent', 'ssh', 'winrm');
ALTER TABLE "devices" ADD COLUMN "transport" "DeviceTransport" NOT NULL DEFAULT 'agent';

CREATE TYPE "AgentlessCredentialKind" AS ENUM ('password', 'private_key');
CREATE TABLE "agentless_credentials" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "kind" "AgentlessCredentialKind" NOT NULL,
    "username" TEXT NOT NULL,
    "has_passphrase" BOOLEAN NOT NULL DEFAULT false,
    "created_by_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "rotated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "agentless_credentials_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "agentless_credentials_name_key" ON "agentless_credentials"("name");
ALTER TABLE "agentless_credentials" ADD CONSTRAINT "agentless_credentials_created_by_id_fkey" FOREIGN KEY ("created_by_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

CREATE TYPE "WinRmAuth" AS ENUM ('ntlm', 'basic');
CREATE TABLE "agentless_targets" (
    "device_id" UUID NOT NULL,
    "host" TEXT NOT NULL,
    "port" INTEGER NOT NULL,
    "credential_id" UUID NOT NULL,
    "ssh_host_key" TEXT,
    "host_key_pinned_at" TIMESTAMPTZ(3),
    "winrm_https" BOOLEAN NOT NULL DEFAULT true,
    "winrm_auth" "WinRmAuth" NOT NULL DEFAULT 'ntlm',
    "winrm_ca" TEXT,
    "winrm_verify_tls" BOOLEAN NOT NULL DEFAULT true,
    "winrm_allow_basic_over_http" BOOLEAN NOT NULL DEFAULT false,
    "connect_timeout_seconds" INTEGER NOT NULL DEFAULT 20,
    "last_connected_at" TIMESTAMPTZ(3),
    "last_error" TEXT,
    "last_error_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "agentless_targets_pkey" PRIMARY KEY ("device_id")
);
CREATE INDEX "agentless_targets_credential_id_idx" ON "agentless_targets"("credential_id");
ALTER TABLE "agentless_targets" ADD CONSTRAINT "agentless_targets_device_id_fkey" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "agentless_targets" ADD CONSTRAINT "agentless_targets_credential_id_fkey" FOREIGN KEY ("credential_id") REFERENCES "agentless_credentials"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
