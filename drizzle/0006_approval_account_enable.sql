-- The two-person rule also covers bringing back a disabled administrator or auditor: re-enabling
-- such an account waits for a second administrator (approval kind account_enable).
ALTER TABLE "approval_request" DROP CONSTRAINT "approval_request_kind_valid";--> statement-breakpoint
ALTER TABLE "approval_request" ADD CONSTRAINT "approval_request_kind_valid" CHECK ("approval_request"."kind" in ('grant_level','grant_compartment','role_change','organisation_change','compartment_sensitive','setting_change','account_enable'));