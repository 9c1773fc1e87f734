/**
 * The administration's fixed values, for the forms' schemas (admin.ts) and for the pages that
 * render the forms. Kept apart from zod: a page importing them does not load zod in the
 * browser, whose first parse probes for eval, which the content security policy reports.
 */

export const ROLE_VALUES = ['staff', 'liaison', 'administrator', 'auditor'] as const;
export const ACCOUNT_STATUS_VALUES = ['pending', 'active', 'disabled'] as const;

export const ADMIN_ERROR_CODES = [
	'forbidden',
	'not_found',
	'self',
	'separation_of_duties',
	'last_administrator',
	'justification_required',
	'justification_too_long',
	'comment_required',
	'end_date_required',
	'end_date_past',
	'end_date_invalid',
	'end_date_too_far',
	'request_end_date_too_far',
	'already_decided',
	'already_revoked',
	'already_granted',
	'not_requester',
	'account_disabled',
	'account_not_disabled',
	'email_taken',
	'code_taken',
	'name_taken',
	'name_characters',
	'own_grant',
	'grant_not_current',
	'already_requested',
	'sessions_recently_ended',
	'link_recently_sent',
	'requester_not_administrator',
	'no_change',
	'invalid_colour',
	'low_contrast',
	'colour_too_similar',
	'invalid_value',
	'invalid_form'
] as const;
export type AdminErrorCode = (typeof ADMIN_ERROR_CODES)[number];
