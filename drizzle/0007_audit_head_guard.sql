-- The chain head moves only by adding events. Until now the application's role could UPDATE
-- audit_head, so a compromised application could move it past the last event (verification then
-- reports a deleted tail, which needs a superuser), move it back (every later append fails) or
-- write events outside the chain (sequence numbers 0 and below). Now a row trigger, running as
-- the table's owner, checks every new event against the head and moves the head itself: an
-- event must take the next sequence number, name the head's hash as its previous hash, and not
-- be dated before the event it follows nor more than an hour after the database clock (the same
-- bound verification applies). The application's role keeps only SELECT on audit_head and locks
-- it through audit_head_lock(). Tampering as a superuser (triggers off) is still possible and
-- still detected by verification and the signed checkpoints. Both functions name their tables
-- with their schema and search pg_temp last: a role that may create temporary tables (every role,
-- on a database that has not revoked it) could otherwise shadow audit_head and audit_event with
-- its own inside them, as the functions' owner.
CREATE FUNCTION audit_event_extend_head() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	head_seq bigint;
	head_hash text;
	head_time timestamptz;
BEGIN
	SELECT h.seq, h.hash INTO head_seq, head_hash FROM public.audit_head h WHERE h.id = 1 FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'the audit chain head is missing' USING ERRCODE = 'JA001';
	END IF;
	-- A row already at that number: refused here, before the head moves, or an insert whose
	-- row is then skipped (ON CONFLICT DO NOTHING) would move the head over no event.
	IF NEW.seq IS DISTINCT FROM head_seq + 1 OR NEW.prev_hash IS DISTINCT FROM head_hash
		OR EXISTS (SELECT 1 FROM public.audit_event e WHERE e.seq = NEW.seq) THEN
		RAISE EXCEPTION 'audit event % does not follow the chain head at %', NEW.seq, head_seq
			USING ERRCODE = 'JA001';
	END IF;
	SELECT e.occurred_at INTO head_time FROM public.audit_event e WHERE e.seq = head_seq;
	-- The head event's own time is always allowed: a clock set back by more than the hour (or a
	-- head dated ahead of it) must not stop every append.
	IF NEW.occurred_at < head_time
		OR NEW.occurred_at > greatest(clock_timestamp() + interval '1 hour', head_time) THEN
		RAISE EXCEPTION 'audit event % is dated %, out of order or in the future', NEW.seq, NEW.occurred_at
			USING ERRCODE = 'JA002';
	END IF;
	UPDATE public.audit_head SET seq = NEW.seq, hash = NEW.hash WHERE id = 1;
	RETURN NEW;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER audit_event_extend_head BEFORE INSERT ON audit_event
	FOR EACH ROW EXECUTE FUNCTION audit_event_extend_head();
--> statement-breakpoint
-- Takes the head's row lock for the caller's transaction (an append that goes with other writes
-- takes it first, so that it cannot lose the head to another writer half-way) and returns it,
-- with the time the next event may take: the database clock, or the head event's time when that
-- is later (an instance may have stamped it a little ahead of the clock). That time is read by a
-- query of its own, after the lock was granted: a single statement would look for the head event
-- in the snapshot taken before it waited for the lock, miss an event committed meanwhile, and
-- date the next one before it.
CREATE FUNCTION audit_head_lock() RETURNS TABLE (seq bigint, hash text, not_before timestamptz)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	head_seq bigint;
	head_hash text;
BEGIN
	SELECT h.seq, h.hash INTO head_seq, head_hash FROM public.audit_head h WHERE h.id = 1 FOR UPDATE;
	IF NOT FOUND THEN
		RETURN;
	END IF;
	RETURN QUERY SELECT head_seq, head_hash, greatest(clock_timestamp(),
		(SELECT e.occurred_at FROM public.audit_event e WHERE e.seq = head_seq));
END;
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION audit_head_lock() FROM PUBLIC;
--> statement-breakpoint
REVOKE ALL ON FUNCTION audit_event_extend_head() FROM PUBLIC;
--> statement-breakpoint
DO $$
BEGIN
	IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'jiss_app') THEN
		REVOKE ALL ON TABLE audit_head FROM jiss_app;
		GRANT SELECT ON TABLE audit_head TO jiss_app;
		GRANT EXECUTE ON FUNCTION audit_head_lock() TO jiss_app;
	END IF;
END;
$$;
