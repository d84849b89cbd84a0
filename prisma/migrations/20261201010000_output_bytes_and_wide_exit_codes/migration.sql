-- Output is stored as the bytes the process wrote: NUL and bytes that are not UTF-8 are kept, not refused.
-- Existing chunks were UTF-8 text; their bytes are that text's UTF-8 (the `bytes` column already counts them).
ALTER TABLE "output_chunks" ALTER COLUMN "data" TYPE BYTEA USING convert_to("data", 'UTF8');

-- Exit codes as platforms report them: Windows DWORDs up to 4294967295 (0xC0000005 = 3221225477) and
-- negative ones. An int4 refused the Windows ones, so such results could never be stored.
ALTER TABLE "job_run_devices" ALTER COLUMN "exit_code" TYPE BIGINT;
