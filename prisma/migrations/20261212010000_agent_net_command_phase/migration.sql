-- Where a running command is (agent protocol `heartbeatRequest.phase`): software commands report `downloading`, then
-- `installing`. The latest report only; NULL for commands without phases and before the first report.
ALTER TABLE "agent_commands" ADD COLUMN "phase" TEXT CHECK ("phase" IN ('downloading', 'installing'));
