import { getConfig } from '../config';
import { DEMO_ACCOUNTS } from '../seed/demo-data';
import commonPasswordsFile from './data/common-passwords.txt?raw';

/** Longest password accepted (in characters); never truncated, refused when longer. */
export const PASSWORD_MAX_LENGTH = 128;

export type PasswordProblem =
	'too_short' | 'too_long' | 'common' | 'same_as_email' | 'demo_password' | 'mismatch';

let common: Set<string> | undefined;

function commonPasswords(): Set<string> {
	common ??= new Set(
		commonPasswordsFile
			.split('\n')
			.filter((line) => line !== '' && !line.startsWith('#'))
			.map((line) => line.toLowerCase())
	);
	return common;
}

/** Characters as a person counts them (code points), not UTF-16 units. */
export function passwordLength(password: string): number {
	return [...password].length;
}

/**
 * NIST SP 800-63B style: length only (minimum configurable, never below 8, at most 128), any
 * characters, no composition rules; refused if among the 10,000 most common passwords (in any
 * letter case), equal to the email address, or, in production, one of the public demo passwords.
 */
export function checkNewPassword(
	password: string,
	options: { email: string; minLength?: number; mode?: 'demo' | 'production' }
): PasswordProblem | null {
	const config = getConfig();
	const min = Math.max(8, options.minLength ?? config.passwordMinLength);
	const length = passwordLength(password);
	if (length > PASSWORD_MAX_LENGTH) return 'too_long';
	if (length < min) return 'too_short';
	if (commonPasswords().has(password.toLowerCase())) return 'common';
	if (password.trim().toLowerCase() === options.email.trim().toLowerCase()) return 'same_as_email';
	if (
		(options.mode ?? config.mode) === 'production' &&
		DEMO_ACCOUNTS.some((account) => account.password === password)
	) {
		return 'demo_password';
	}
	return null;
}
