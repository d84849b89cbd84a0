-- An enrollment takes its token's use at COMMIT (a deferred constraint trigger on the device's insert), not in a
-- statement before it. Every enrollment with one token updates that token's row, and concurrent ones queue on its
-- lock: taken by a statement, the lock was held until the API's next round trip (the COMMIT), which under load
-- waits for its event loop; taken at commit, it is held for the commit alone. The UPDATE re-checks the token on
-- the row version it waited for, so `max_uses` stays exact; a use it cannot take fails the commit (SQLSTATE
-- OCTKN), which rolls the whole enrollment back.
CREATE FUNCTION "take_enrollment_token_use"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "enrollment_tokens" SET "used_count" = "used_count" + 1
   WHERE "id" = NEW."enrollment_token_id" AND "revoked_at" IS NULL AND "expires_at" > now() AND "used_count" < "max_uses";
  IF NOT FOUND THEN
    RAISE EXCEPTION 'enrollment token % is expired, revoked or used up', NEW."enrollment_token_id" USING ERRCODE = 'OCTKN';
  END IF;
  RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER "devices_take_enrollment_token_use"
  AFTER INSERT ON "devices" DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW WHEN (NEW."enrollment_token_id" IS NOT NULL)
  EXECUTE FUNCTION "take_enrollment_token_use"();
