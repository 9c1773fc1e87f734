-- The audit log is append-only, enforced by PostgreSQL itself rather than by the application:
-- row triggers refuse UPDATE and DELETE, a statement trigger refuses TRUNCATE (which fires no
-- row triggers). A superuser can still disable triggers; the hash chain and the signed
-- checkpoints outside the database are what detect that.
CREATE FUNCTION audit_event_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'audit_event is append-only: % is not allowed', TG_OP
		USING ERRCODE = 'insufficient_privilege';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
	FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change();
--> statement-breakpoint
CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
	FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change();
--> statement-breakpoint
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
	FOR EACH STATEMENT EXECUTE FUNCTION audit_event_refuse_change();
--> statement-breakpoint
-- A document's history also finds events whose target is something else (a version, a route)
-- but whose details name the document. Not a partial index: ANALYZE keeps statistics on the
-- expression, so the planner knows a document has few events and avoids a backward scan.
CREATE INDEX audit_event_document_idx ON audit_event (((details ->> 'documentId')), seq);
--> statement-breakpoint
-- The production shape: migrations run as the owner role, the application connects as jiss_app,
-- which may only add and read events. The roles exist only where docker/postgres init scripts
-- (or an operator) created them; on a plain server or PGlite this block changes nothing.
DO $$
BEGIN
	IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'jiss_app') THEN
		REVOKE ALL ON TABLE audit_event FROM jiss_app;
		GRANT SELECT, INSERT ON TABLE audit_event TO jiss_app;
		REVOKE UPDATE, DELETE, TRUNCATE ON TABLE audit_event FROM PUBLIC;
	END IF;
END;
$$;
