/** Every action the audit log knows. Adding one here is the only way to record a new kind. */
export const AUDIT_ACTIONS = [
	// authentication
	'auth.sign_in',
	'auth.mfa',
	'auth.locked_out',
	'auth.recovery_code_used',
	'auth.recovery_codes_regenerated',
	'auth.sign_out',
	'auth.session_ended',
	'auth.password_changed',
	'auth.totp_enrolled',
	'auth.enrolment_used',
	'auth.enrolment_sent',
	// documents
	'document.list',
	'document.search',
	'document.view',
	'document.preview',
	'document.download',
	'document.upload',
	'document.create',
	'document.version_added',
	'document.edit',
	'document.publish',
	'document.reclassify',
	'document.archive',
	'document.denied',
	// administration
	'account.created',
	'account.disabled',
	'account.enabled',
	'account.role_changed',
	'account.organisation_changed',
	'account.sessions_ended',
	'approval.requested',
	'approval.approved',
	'approval.rejected',
	'approval.withdrawn',
	'grant.requested',
	'grant.approved',
	'grant.rejected',
	'grant.created',
	'grant.revoked',
	'grant.expired_in_use',
	'grant.attested',
	'reference.changed',
	'review.exported',
	'setting.changed',
	'admin.notified',
	'admin.denied',
	// audit
	'audit.viewed',
	'audit.exported',
	'audit.verified',
	'audit.checkpoint_written',
	'audit.denied'
] as const;

export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export const AUDIT_OUTCOMES = ['allowed', 'denied', 'failed'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];
