-- Job runs dispatch a batch of targets per activity (ADR 16): no Temporal activity waits for one command any
-- more, so a command carries no task token and nothing records that "its" activity was closed.
ALTER TABLE "agent_commands" DROP COLUMN "task_token", DROP COLUMN "activity_closed_at";
