import { m } from '$lib/paraglide/messages';
import { getLocale } from '$lib/paraglide/runtime';
import type { AdminErrorCode } from '$lib/schemas/admin';

export const errorText: Record<AdminErrorCode, () => string> = {
	forbidden: m.admin_error_forbidden,
	not_found: m.admin_error_not_found,
	self: m.admin_error_self,
	separation_of_duties: m.admin_error_separation_of_duties,
	last_administrator: m.admin_error_last_administrator,
	justification_required: m.admin_error_justification_required,
	justification_too_long: m.admin_error_justification_too_long,
	comment_required: m.admin_error_comment_required,
	end_date_required: m.admin_error_end_date_required,
	end_date_past: m.admin_error_end_date_past,
	end_date_invalid: m.admin_error_end_date_invalid,
	end_date_too_far: m.admin_error_end_date_too_far,
	request_end_date_too_far: m.admin_error_request_end_date_too_far,
	already_decided: m.admin_error_already_decided,
	already_revoked: m.admin_error_already_revoked,
	already_granted: m.admin_error_already_granted,
	not_requester: m.admin_error_not_requester,
	account_disabled: m.admin_error_account_disabled,
	account_not_disabled: m.admin_error_account_not_disabled,
	email_taken: m.admin_error_email_taken,
	code_taken: m.admin_error_code_taken,
	name_taken: m.admin_error_name_taken,
	name_characters: m.admin_error_name_characters,
	own_grant: m.admin_error_own_grant,
	grant_not_current: m.admin_error_grant_not_current,
	already_requested: m.admin_error_already_requested,
	sessions_recently_ended: m.admin_error_sessions_recently_ended,
	link_recently_sent: m.admin_error_link_recently_sent,
	requester_not_administrator: m.admin_error_requester_not_administrator,
	no_change: m.admin_error_no_change,
	invalid_colour: m.admin_error_invalid_colour,
	low_contrast: m.admin_error_low_contrast,
	colour_too_similar: m.admin_error_colour_too_similar,
	invalid_value: m.admin_error_invalid_value,
	invalid_form: m.admin_error_invalid_form
};

export const DONE_CODES = [
	'created',
	'pending',
	'applied',
	'revoked',
	'disabled',
	'enabled',
	'link_sent',
	'approved',
	'rejected',
	'withdrawn',
	'attested',
	'saved',
	'sessions_ended'
] as const;
export type DoneCode = (typeof DONE_CODES)[number];

export const doneText: Record<DoneCode, () => string> = {
	created: m.admin_done_created,
	pending: m.admin_done_pending,
	applied: m.admin_done_applied,
	revoked: m.admin_done_revoked,
	disabled: m.admin_done_disabled,
	enabled: m.admin_done_enabled,
	link_sent: m.admin_done_link_sent,
	approved: m.admin_done_approved,
	rejected: m.admin_done_rejected,
	withdrawn: m.admin_done_withdrawn,
	attested: m.admin_done_attested,
	saved: m.admin_done_saved,
	sessions_ended: m.admin_done_sessions_ended
};

export const roleText: Record<string, () => string> = {
	staff: m.admin_role_staff,
	liaison: m.admin_role_liaison,
	administrator: m.admin_role_administrator,
	auditor: m.admin_role_auditor
};

export const statusText: Record<string, () => string> = {
	pending: m.admin_status_pending,
	active: m.admin_status_active,
	disabled: m.admin_status_disabled
};

export const kindText: Record<string, () => string> = {
	grant_level: m.admin_kind_grant_level,
	grant_compartment: m.admin_kind_grant_compartment,
	role_change: m.admin_kind_role_change,
	organisation_change: m.admin_kind_organisation_change,
	compartment_sensitive: m.admin_kind_compartment_sensitive,
	setting_change: m.admin_kind_setting_change,
	account_enable: m.admin_kind_account_enable,
	account_disable: m.admin_kind_account_disable
};

export const approvalStatusText: Record<string, () => string> = {
	pending: m.admin_approval_pending,
	approved: m.admin_approval_approved,
	rejected: m.admin_approval_rejected,
	withdrawn: m.admin_approval_withdrawn
};

export const grantStateText: Record<string, () => string> = {
	active: m.admin_grant_active,
	expired: m.admin_grant_expired,
	revoked: m.admin_grant_revoked,
	future: m.admin_grant_future
};

export const label = (table: Record<string, () => string>, key: string | null | undefined) =>
	key ? (table[key]?.() ?? key) : '';

/** A bilingual reference name in the reader's language. */
export function localName(row: { nameEn: string; nameJa: string }): string {
	return getLocale() === 'ja' ? row.nameJa : row.nameEn;
}

export function levelName(
	levels: { rank: number; nameEn: string; nameJa: string }[],
	rank: number | null
): string {
	const row = levels.find((l) => l.rank === rank);
	return row ? localName(row) : String(rank ?? '');
}

/**
 * A level as an approver must see it: its name, which an administrator may rename at any
 * time (to read as another level's, while a request waits), beside its code and rank, which
 * never change and are what the decision actually applies.
 */
export function levelIdentity(
	levels: { rank: number; code: string; nameEn: string; nameJa: string }[],
	rank: number | null
): string {
	const row = levels.find((l) => l.rank === rank);
	if (!row) return String(rank ?? '');
	return m.admin_level_identity({ name: localName(row), code: row.code, rank: row.rank });
}
