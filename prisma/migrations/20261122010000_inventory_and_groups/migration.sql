-- CreateEnum
CREATE TYPE "CustomFieldType" AS ENUM ('text', 'number', 'boolean', 'date', 'enum');

-- CreateEnum
CREATE TYPE "GroupKind" AS ENUM ('static', 'dynamic');

-- AlterTable
ALTER TABLE "devices" ADD COLUMN     "inventory_updated_at" TIMESTAMPTZ(3),
ADD COLUMN     "manufacturer" TEXT,
ADD COLUMN     "model" TEXT,
ADD COLUMN     "pending_reboot" BOOLEAN,
ADD COLUMN     "rule_facts" JSONB;

-- CreateTable
CREATE TABLE "device_inventory_sections" (
    "device_id" UUID NOT NULL,
    "section" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "data" JSONB NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "device_inventory_sections_pkey" PRIMARY KEY ("device_id","section")
);

-- CreateTable
CREATE TABLE "device_software" (
    "id" BIGSERIAL NOT NULL,
    "device_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "normalized_name" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "architecture" TEXT,
    "vendor" TEXT,
    "install_date" TEXT,
    "source" TEXT NOT NULL,
    "product_code" TEXT,
    "upgrade_code" TEXT,

    CONSTRAINT "device_software_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "device_inventory_events" (
    "id" BIGSERIAL NOT NULL,
    "device_id" UUID NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "section" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "old_value" TEXT,
    "new_value" TEXT,

    CONSTRAINT "device_inventory_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "device_tags" (
    "device_id" UUID NOT NULL,
    "tag" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "device_tags_pkey" PRIMARY KEY ("device_id","tag")
);

-- CreateTable
CREATE TABLE "custom_field_definitions" (
    "id" UUID NOT NULL,
    "key" TEXT NOT NULL,
    "label" TEXT NOT NULL,
    "type" "CustomFieldType" NOT NULL,
    "enum_values" TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "custom_field_definitions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "device_custom_field_values" (
    "device_id" UUID NOT NULL,
    "field_id" UUID NOT NULL,
    "value" JSONB NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "device_custom_field_values_pkey" PRIMARY KEY ("device_id","field_id")
);

-- CreateTable
CREATE TABLE "device_groups" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "kind" "GroupKind" NOT NULL,
    "rule" JSONB,
    "built_in_key" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "evaluated_at" TIMESTAMPTZ(3),

    CONSTRAINT "device_groups_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "device_group_members" (
    "group_id" UUID NOT NULL,
    "device_id" UUID NOT NULL,
    "added_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "device_group_members_pkey" PRIMARY KEY ("group_id","device_id")
);

-- CreateTable
CREATE TABLE "group_membership_events" (
    "id" BIGSERIAL NOT NULL,
    "group_id" UUID NOT NULL,
    "device_id" UUID NOT NULL,
    "change" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "group_membership_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "devices_os_family_idx" ON "devices"("os_family");

-- CreateIndex
CREATE INDEX "devices_enrolled_at_idx" ON "devices"("enrolled_at");

-- CreateIndex
CREATE INDEX "device_software_device_id_idx" ON "device_software"("device_id");

-- CreateIndex
CREATE INDEX "device_software_normalized_name_idx" ON "device_software"("normalized_name");

-- CreateIndex
CREATE INDEX "device_software_product_code_idx" ON "device_software"("product_code");

-- CreateIndex
CREATE INDEX "device_inventory_events_device_id_id_idx" ON "device_inventory_events"("device_id", "id");

-- CreateIndex
CREATE INDEX "device_tags_tag_idx" ON "device_tags"("tag");

-- CreateIndex
CREATE UNIQUE INDEX "custom_field_definitions_key_key" ON "custom_field_definitions"("key");

-- CreateIndex
CREATE INDEX "device_custom_field_values_field_id_idx" ON "device_custom_field_values"("field_id");

-- CreateIndex
CREATE UNIQUE INDEX "device_groups_name_key" ON "device_groups"("name");

-- CreateIndex
CREATE UNIQUE INDEX "device_groups_built_in_key_key" ON "device_groups"("built_in_key");

-- CreateIndex
CREATE INDEX "device_group_members_device_id_idx" ON "device_group_members"("device_id");

-- CreateIndex
CREATE INDEX "group_membership_events_group_id_id_idx" ON "group_membership_events"("group_id", "id");

-- CreateIndex
CREATE INDEX "group_membership_events_device_id_id_idx" ON "group_membership_events"("device_id", "id");

-- AddForeignKey
ALTER TABLE "device_inventory_sections" ADD CONSTRAINT "device_inventory_sections_device_id_fkey" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "device_software" ADD CONSTRAINT "device_software_device_id_fkey" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "device_inventory_events" ADD CONSTRAINT "device_inventory_events_device_id_fkey" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "device_tags" ADD CONSTRAINT "device_tags_device_id_fkey" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "device_custom_field_values" ADD CONSTRAINT "device_custom_field_values_device_id_fkey" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "device_custom_field_values" ADD CONSTRAINT "device_custom_field_values_field_id_fkey" FOREIGN KEY ("field_id") REFERENCES "custom_field_definitions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "device_group_members" ADD CONSTRAINT "device_group_members_group_id_fkey" FOREIGN KEY ("group_id") REFERENCES "device_groups"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "device_group_members" ADD CONSTRAINT "device_group_members_device_id_fkey" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "group_membership_events" ADD CONSTRAINT "group_membership_events_group_id_fkey" FOREIGN KEY ("group_id") REFERENCES "device_groups"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "group_membership_events" ADD CONSTRAINT "group_membership_events_device_id_fkey" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE CASCADE;
