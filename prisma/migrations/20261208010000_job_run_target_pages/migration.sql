-- A run's targets paged by hostname (GET /job-runs/{id}/targets, the console's run page): the keyset cursor seeks
-- into this index and reads the page in order, however deep it is and however many devices the run has. Status is
-- left out on purpose: a device's status changes many times during a run, and hostname and device_id never do, so
-- those updates stay HOT (no index entry to rewrite).
CREATE INDEX "job_run_devices_job_run_id_hostname_device_id_idx" ON "job_run_devices"("job_run_id", "hostname", "device_id");
