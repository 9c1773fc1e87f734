-- The document list caches its counts, facets and pages in each instance, keyed by the reader's
-- exact access and by this generation: a number that every statement changing the documents or
-- the reference tables (levels, compartments, organisations) raises, in the same transaction.
-- A reader sees the new number exactly when they can see the change, so a figure cached under
-- an older number is never served after the change is visible, in any instance.
-- The counter row is updated under its row lock, so transactions that change documents take
-- turns at commit; writes are rare next to reads.
CREATE TABLE vault_generation (
	id smallint PRIMARY KEY CHECK (id = 1),
	generation bigint NOT NULL
);
--> statement-breakpoint
-- A random start, so that two databases (say, test databases one process opens in turn) never
-- share numbers; from there each database counts up, and a restored backup comes back with the
-- number its data had.
INSERT INTO vault_generation (id, generation) VALUES (1, floor(random() * 1e15)::bigint);
--> statement-breakpoint
CREATE FUNCTION vault_generation_bump() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE vault_generation SET generation = generation + 1 WHERE id = 1;
	RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER document_bumps_generation AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON document
	FOR EACH STATEMENT EXECUTE FUNCTION vault_generation_bump();
--> statement-breakpoint
CREATE TRIGGER level_bumps_generation AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON level
	FOR EACH STATEMENT EXECUTE FUNCTION vault_generation_bump();
--> statement-breakpoint
CREATE TRIGGER compartment_bumps_generation AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON compartment
	FOR EACH STATEMENT EXECUTE FUNCTION vault_generation_bump();
--> statement-breakpoint
CREATE TRIGGER organisation_bumps_generation AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON organisation
	FOR EACH STATEMENT EXECUTE FUNCTION vault_generation_bump();
--> statement-breakpoint
-- Search ranks a match by whether its title and summary hold each term; the normalised forms
-- are stored with the row, so ranking the matches does not normalise every one of them again.
-- Maintained here only, like search_tokens: the drizzle schema does not know these columns.
ALTER TABLE "document"
	ADD COLUMN "rank_title" text GENERATED ALWAYS AS (lower(normalize("title", NFKC))) STORED,
	ADD COLUMN "rank_summary" text GENERATED ALWAYS AS (lower(normalize("summary", NFKC))) STORED;
--> statement-breakpoint
-- The covering index now also holds the tags, so that the whole facet computation (total,
-- levels, originators, kinds, statuses, compartments and tags) is one index-only scan.
DROP INDEX IF EXISTS "document_access_cover_idx";
--> statement-breakpoint
CREATE INDEX "document_access_cover_idx" ON "document" USING btree ("level_rank", "status")
	INCLUDE ("author_id", "originator_org_id", "kind", "compartment_ids", "release_org_ids", "updated_at", "tags");
