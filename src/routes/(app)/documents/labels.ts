import { m } from '$lib/paraglide/messages';

/** Kind and status names in the reader's language. */
export function kindLabel(kind: string): string {
	return kind === 'memo' ? m.vault_kind_memo() : kind === 'file' ? m.vault_kind_file() : kind;
}

export function statusLabel(status: string): string {
	switch (status) {
		case 'draft':
			return m.vault_status_draft();
		case 'published':
			return m.vault_status_published();
		case 'archived':
			return m.vault_status_archived();
		default:
			return status;
	}
}

/** Byte sizes for people: 1.2 MB rather than 1234567. */
export function formatSize(bytes: number, locale: string): string {
	const units = ['B', 'KB', 'MB', 'GB'];
	let value = bytes;
	let unit = 0;
	while (value >= 1024 && unit < units.length - 1) {
		value /= 1024;
		unit += 1;
	}
	const digits = unit === 0 ? 0 : 1;
	return `${value.toLocaleString(locale === 'ja' ? 'ja-JP' : 'en-GB', { maximumFractionDigits: digits })} ${units[unit]}`;
}

/** Why a write was refused, for the person who tried it (their own access, so no secret). */
export function refusalMessage(reason: string): string {
	switch (reason) {
		case 'level':
			return m.vault_refused_level();
		case 'compartment':
			return m.vault_refused_compartment();
		case 'release':
			return m.vault_refused_release();
		case 'originator':
			return m.vault_refused_originator();
		case 'not_author':
			return m.vault_refused_not_author();
		case 'status':
			return m.vault_refused_status();
		case 'invalid':
			return m.vault_refused_invalid();
		case 'ended':
			return m.vault_refused_ended();
		default:
			return m.vault_refused_role();
	}
}
