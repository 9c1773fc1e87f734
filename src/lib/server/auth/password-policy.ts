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
 * Longer than PASSWORD_MAX_LENGTH characters: the one measure for setting a password and for
 * signing in with it (a password that can be set can always be used). A string of more than
 * twice as many UTF-16 units is too long whatever it holds, and is not counted through.
 */
export function passwordTooLong(password: string): boolean {
	if (password.length <= PASSWORD_MAX_LENGTH) return false;
	return (
		password.length > 2 * PASSWORD_MAX_LENGTH || passwordLength(password) > PASSWORD_MAX_LENGTH
	);
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
	if (passwordTooLong(password)) return 'too_long';
	if (passwordLength(password) < min) return 'too_short';
	if (commonPasswords().has(password.toLowerCase())) return 'common';
	if (password.trim().toLowerCase() === options.email.trim().toLowerCase()) return 'same_as_email';
	if (isRefusedDemoPassword(password, options.mode ?? config.mode)) return 'demo_password';
	return null;
}

/** In production, the demo accounts' passwords (published in the README) are no passwords. */
export function isRefusedDemoPassword(
	password: string,
	mode: 'demo' | 'production' = getConfig().mode
): boolean {
	return mode === 'production' && DEMO_ACCOUNTS.some((account) => account.password === password);
}
