-- A cleanly stopped agent says goodbye: the device is offline at once instead of after the online window.
ALTER TABLE "devices" ADD COLUMN "agent_stopped_at" TIMESTAMPTZ(3);
