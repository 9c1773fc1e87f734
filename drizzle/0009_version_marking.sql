-- Every version carries a marking of its own (level, compartments, releasability, as on
-- document). Until now a version was read under the document's current marking only, so a
-- document reclassified down after a redacted version made its unredacted earlier versions
-- readable at the lower marking. What the existing versions were marked when written is not
-- known: each takes its document's current marking, which is what readers were held to so far.
-- The columns are added without NOT NULL, filled, then made NOT NULL, so that the migration
-- runs on a database that already holds versions.
ALTER TABLE "document_version" ADD COLUMN "level_rank" smallint;--> statement-breakpoint
ALTER TABLE "document_version" ADD COLUMN "compartment_ids" integer[];--> statement-breakpoint
ALTER TABLE "document_version" ADD COLUMN "release_org_ids" integer[];--> statement-breakpoint
UPDATE "document_version" AS v
	SET "level_rank" = d."level_rank",
		"compartment_ids" = d."compartment_ids",
		"release_org_ids" = d."release_org_ids"
	FROM "document" AS d
	WHERE d."id" = v."document_id";--> statement-breakpoint
ALTER TABLE "document_version" ALTER COLUMN "level_rank" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "document_version" ALTER COLUMN "compartment_ids" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "document_version" ALTER COLUMN "release_org_ids" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "document_version" ADD CONSTRAINT "document_version_level_rank_level_rank_fk" FOREIGN KEY ("level_rank") REFERENCES "public"."level"("rank") ON DELETE no action ON UPDATE no action;
