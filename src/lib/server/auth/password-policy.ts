import { getConfig } from '../config';
import { DEMO_ACCOUNTS } from '../seed/demo-data';
import commonPasswordsFile from './data/common-passwords.txt?raw';
import { normalisePassword } from './password';

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
 * Text longer than this many UTF-16 units is too long whatever it holds, and is not normalised:
 * NFKC composes at most a few code points into one (a letter and three marks, a Hangul syllable's
 * three jamo) and a code point takes at most two units, so a password of PASSWORD_MAX_LENGTH
 * characters, however decomposed as typed, stays well within eight units a character.
 */
const TYPED_UNITS_MAX = 8 * PASSWORD_MAX_LENGTH;

/**
 * Longer than PASSWORD_MAX_LENGTH characters in its normalised form (see normalisePassword):
 * the measure for setting a password (checking one also accepts a hash's older measure, see
 * passwordTooLongToCheck, so a password that could be set can always be used). A normalised
 * string of more than twice as many UTF-16 units is too long whatever it holds, and is not
 * counted through.
 */
export function passwordTooLong(password: string): boolean {
	if (password.length > TYPED_UNITS_MAX) return true;
	const normalised = normalisePassword(password);
	if (normalised.length <= PASSWORD_MAX_LENGTH) return false;
	return (
		normalised.length > 2 * PASSWORD_MAX_LENGTH || passwordLength(normalised) > PASSWORD_MAX_LENGTH
	);
}

/**
 * Whether a password is too long to be checked against a stored hash: too long both in its
 * normalised form and as typed. A hash made before passwords were normalised was made from the
 * typed form, measured as typed then: such a password (a ligature such as U+FDFA grows to 18
 * characters under NFKC) is still checked (as typed, see verifyPasswordHash) and so stays usable.
 */
export function passwordTooLongToCheck(password: string): boolean {
	if (!passwordTooLong(password)) return false;
	return (
		password.length > 2 * PASSWORD_MAX_LENGTH || passwordLength(password) > PASSWORD_MAX_LENGTH
	);
}

/**
 * NIST SP 800-63B style: length only (minimum configurable, never below 8, at most 128), any
 * characters, no composition rules; refused if among the 10,000 most common passwords (in any
 * letter case), equal to the email address, or, in production, one of the public demo passwords.
 * Every rule looks at the normalised form, the one that is hashed: a full-width copy of a
 * common or demo password is that password.
 */
export function checkNewPassword(
	password: string,
	options: { email: string; minLength?: number; mode?: 'demo' | 'production' }
): PasswordProblem | null {
	const config = getConfig();
	const min = Math.max(8, options.minLength ?? config.passwordMinLength);
	if (passwordTooLong(password)) return 'too_long';
	const normalised = normalisePassword(password);
	if (passwordLength(normalised) < min) return 'too_short';
	if (commonPasswords().has(normalised.toLowerCase())) return 'common';
	if (normalised.trim().toLowerCase() === options.email.normalize('NFKC').trim().toLowerCase())
		return 'same_as_email';
	if (isRefusedDemoPassword(normalised, options.mode ?? config.mode)) return 'demo_password';
	return null;
}

/** Whether two typings are the same password (the new one and its confirmation). */
export function samePassword(a: string, b: string): boolean {
	return normalisePassword(a) === normalisePassword(b);
}

/**
 * In production, the demo accounts' passwords (published in the README) are no passwords, in
 * whatever width or composition they are typed.
 */
export function isRefusedDemoPassword(
	password: string,
	mode: 'demo' | 'production' = getConfig().mode
): boolean {
	const normalised = normalisePassword(password);
	return (
		mode === 'production' &&
		DEMO_ACCOUNTS.some((account) => normalisePassword(account.password) === normalised)
	);
}
