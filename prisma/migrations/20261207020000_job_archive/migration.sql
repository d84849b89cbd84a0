-- Archived jobs (issue 7): kept with their versions and runs, out of the library's default list, and refused for new
-- runs, schedules and chains until unarchived.
ALTER TABLE "jobs" ADD COLUMN "archived_at" TIMESTAMPTZ(3);
