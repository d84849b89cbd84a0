-- The secret store (packages/secrets): AES-256-GCM envelope encryption. Each secret has its own data
-- key, encrypted under a master key (key_id names which); both ciphertexts carry their GCM tag and are
-- bound to the row (id, owner, purpose) as additional authenticated data.
CREATE TABLE "secrets" (
    "id" UUID NOT NULL,
    "owner_type" TEXT NOT NULL,
    "owner_id" TEXT NOT NULL,
    "purpose" TEXT NOT NULL,
    "key_id" TEXT NOT NULL,
    "encrypted_data_key" BYTEA NOT NULL,
    "data_key_nonce" BYTEA NOT NULL,
    "nonce" BYTEA NOT NULL,
    "ciphertext" BYTEA NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "secrets_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "secrets_owner_type_owner_id_purpose_key" ON "secrets"("owner_type", "owner_id", "purpose");
CREATE INDEX "secrets_key_id_idx" ON "secrets"("key_id");
