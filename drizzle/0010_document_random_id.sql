-- A document's id is random instead of the next number. Ids appear in every address a reader
-- sees; numbers handed out in order told a reader how many documents they may not read were
-- created between two of their own (drafts, higher levels, other compartments, other partners),
-- and that an id below the newest one answering 404 is a hidden document rather than an unknown
-- one, although both answer alike. A random id in 1 .. 2^31-1 says neither. The bits come from
-- gen_random_uuid() (a strong random source, in core PostgreSQL since 13), not random(); an id
-- already taken is drawn again. Existing documents keep their ids.
CREATE FUNCTION document_new_id() RETURNS integer
	LANGUAGE plpgsql VOLATILE
	SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	candidate integer;
BEGIN
	LOOP
		candidate := ('x' || substr(replace(gen_random_uuid()::text, '-', ''), 1, 8))::bit(32)::integer
			& 2147483647;
		EXIT WHEN candidate > 0 AND NOT EXISTS (SELECT 1 FROM public.document WHERE id = candidate);
	END LOOP;
	RETURN candidate;
END;
$$;--> statement-breakpoint
ALTER TABLE "document" ALTER COLUMN "id" DROP IDENTITY;--> statement-breakpoint
ALTER TABLE "document" ALTER COLUMN "id" SET DEFAULT document_new_id();
