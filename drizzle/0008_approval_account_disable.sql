-- The two-person rule also covers disabling an administrator or auditor: such an account is
-- disabled only once a second administrator approves (approval kind account_disable).
ALTER TABLE "approval_request" DROP CONSTRAINT "approval_request_kind_valid";--> statement-breakpoint
ALTER TABLE "approval_request" ADD CONSTRAINT "approval_request_kind_valid" CHECK ("approval_request"."kind" in ('grant_level','grant_compartment','role_change','organisation_change','compartment_sensitive','setting_change','account_enable','account_disable'));