-- The random ID an agent sends with its enrolment and again when it retries (a lost answer, a timeout): the retry
-- gets the same device (with a new secret) instead of a second device and a second use of the token.
ALTER TABLE "devices" ADD COLUMN "enrollment_request_id" UUID;
CREATE UNIQUE INDEX "devices_enrollment_request_id_key" ON "devices"("enrollment_request_id");
