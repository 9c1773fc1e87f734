-- The audit log is append-only, enforced by PostgreSQL itself rather than by the application:
-- row triggers refuse UPDATE and DELETE, a statement trigger refuses TRUNCATE (which fires no
-- row triggers). A superuser can still disable triggers; the hash chain and the signed
-- checkpoints outside the database are what detect that.
CREATE FUNCTION audit_event_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
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
-- The chain head, one row: appends lock it (UPDATE ... RETURNING), so instances extend one
-- gap-free chain. It is only a lock and a shortcut: verification never trusts it.
CREATE TABLE audit_head (
	id smallint PRIMARY KEY CHECK (id = 1),
	seq bigint NOT NULL,
	hash text NOT NULL
);
--> statement-breakpoint
INSERT INTO audit_head (id, seq, hash)
SELECT 1, coalesce(max(seq), 0),
	coalesce((SELECT hash FROM audit_event ORDER BY seq DESC LIMIT 1), repeat('0', 64))
FROM audit_event;
--> statement-breakpoint
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
	FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change();
--> statement-breakpoint
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
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
		REVOKE ALL ON TABLE audit_head FROM jiss_app;
		GRANT SELECT, UPDATE ON TABLE audit_head TO jiss_app;
	END IF;
END;
$$;
