-- Search over documents without a language tokenizer (Japanese has no spaces).
-- `search_text` holds the text the application normalised (NFKC, lower case); from it the
-- database derives every distinct one- and two-character token into `search_tokens`, indexed
-- with GIN. A query term becomes its tokens (`@>` uses the index) and is then confirmed as a
-- substring, so two-character words such as 暗号 or 宇宙, which trigram indexes miss, are found.
-- The column is maintained here only: the drizzle schema does not know it, so queries never
-- carry it back to the application.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION vault_search_tokens(content text) RETURNS text[]
	LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
	AS $$
	-- Split into characters once (substr per position is linear each time, quadratic in all).
	SELECT coalesce(array_agg(DISTINCT tokens.token), '{}'::text[])
	FROM (
		SELECT chars.c, lead(chars.c) OVER (ORDER BY chars.i) AS next_c
		FROM unnest(string_to_array(content, NULL)) WITH ORDINALITY AS chars(c, i)
	) AS pairs
	CROSS JOIN LATERAL (VALUES (pairs.c), (pairs.c || pairs.next_c)) AS tokens(token)
	WHERE tokens.token IS NOT NULL AND tokens.token !~ '[[:space:]]'
$$;
--> statement-breakpoint
ALTER TABLE "document" ADD COLUMN "search_tokens" text[]
	GENERATED ALWAYS AS (vault_search_tokens("search_text")) STORED;
--> statement-breakpoint
CREATE INDEX "document_search_tokens_gin" ON "document" USING gin ("search_tokens");
--> statement-breakpoint
-- Keeps the long text and token columns out of line, so that the rows every list, count and
-- facet scans stay narrow; search reads them only for the candidates the token index gives.
ALTER TABLE "document" SET (toast_tuple_target = 256);
--> statement-breakpoint
-- Counts and facets read every readable row: this index holds all that the access predicate and
-- the facets need, so they can be answered from it (index-only) without visiting the table.
CREATE INDEX "document_access_cover_idx" ON "document" USING btree ("level_rank", "status")
	INCLUDE ("author_id", "originator_org_id", "kind", "compartment_ids", "release_org_ids", "updated_at");
--> statement-breakpoint
-- Autocomplete matches titles by substring (ILIKE), which trigram indexes serve from three characters.
CREATE INDEX "document_title_trgm" ON "document" USING gin (lower(normalize("title", NFKC)) gin_trgm_ops);
--> statement-breakpoint
-- Keyset pagination and filters: each filter can start from an index that is already in order.
CREATE INDEX "document_kind_updated_idx" ON "document" USING btree ("kind", "updated_at", "id");
--> statement-breakpoint
CREATE INDEX "document_originator_updated_idx" ON "document" USING btree ("originator_org_id", "updated_at", "id");
--> statement-breakpoint
CREATE INDEX "document_status_updated_idx" ON "document" USING btree ("status", "updated_at", "id");
--> statement-breakpoint
CREATE INDEX "document_author_updated_idx" ON "document" USING btree ("author_id", "updated_at", "id");
