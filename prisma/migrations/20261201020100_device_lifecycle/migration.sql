-- Device lifecycle: retire (credentials refused, history kept) and delete (purge).

-- AlterTable: a retired device keeps its row and history but is never authenticated again.
ALTER TABLE "devices" ADD COLUMN "retired_at" TIMESTAMPTZ(3);

-- Job-run history outlives the device: the target keeps its device ID (no longer a foreign key)
-- and the hostname it had when the run was created.
ALTER TABLE "job_run_devices" DROP CONSTRAINT "job_run_devices_device_id_fkey";
ALTER TABLE "job_run_devices" ADD COLUMN "hostname" TEXT NOT NULL DEFAULT '';
UPDATE "job_run_devices" jrd SET "hostname" = d."hostname" FROM "devices" d WHERE d."id" = jrd."device_id";

-- Every API process caches device credentials briefly; tell them all at once when a device's secret
-- changes, it is retired or its row goes (however that happens, even by hand). Payload: the device ID.
CREATE FUNCTION "notify_device_credentials"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('oc_device_credentials', OLD."id"::text);
  RETURN NULL;
END;
$$;

CREATE TRIGGER "devices_credentials_changed"
  AFTER UPDATE OF "secret_hash", "retired_at" ON "devices"
  FOR EACH ROW WHEN (OLD."secret_hash" IS DISTINCT FROM NEW."secret_hash" OR OLD."retired_at" IS DISTINCT FROM NEW."retired_at")
  EXECUTE FUNCTION "notify_device_credentials"();

CREATE TRIGGER "devices_deleted"
  AFTER DELETE ON "devices"
  FOR EACH ROW EXECUTE FUNCTION "notify_device_credentials"();
