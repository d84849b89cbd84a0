-- Commands by their job-run target, whatever owns them (a one-command run or a job's step): the deployment status
-- query and the batch dispatch look up each target's latest command this way. The unique indexes on
-- (job_run_device_id, attempt) and (job_run_step_id, attempt) are partial, so neither serves a lookup that does not
-- say which kind of command it wants: without this index each lookup scanned every command (a 10,000-device
-- deployment's page took tens of seconds).
CREATE INDEX "agent_commands_job_run_device_id_attempt_idx" ON "agent_commands"("job_run_device_id", "attempt");
