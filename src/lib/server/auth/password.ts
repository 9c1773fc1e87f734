import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';

// OWASP's argon2id minimum: m=19 MiB, t=2, p=1. Algorithm 2 is argon2id.
const OPTIONS = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/**
 * The form a password is hashed, checked and measured in: Unicode NFKC (NIST SP 800-63B
 * §5.1.1.2), so that the same password typed through another input method (full-width or
 * half-width digits and letters, composed or decomposed kana, a ligature) is the same password.
 */
export function normalisePassword(password: string): string {
	return password.normalize('NFKC');
}

/** Hashes the password's normalised form (see normalisePassword). */
export async function hashPassword(password: string): Promise<string> {
	return hash(normalisePassword(password), OPTIONS);
}

/**
 * How a password matched its hash: its normalised form (every hash made since passwords are
 * normalised), only its form as typed (a hash made before: the caller hashes the normalised
 * form again, see `hashPassword`), or not at all (false).
 */
export type PasswordMatch = 'normalised' | 'as_typed' | false;

/** How long a check has been taking (a moving average over the recent ones), in ms. */
let typicalCheckMs = 0;

async function argon2Matches(passwordHash: string, password: string): Promise<boolean> {
	try {
		return await verify(passwordHash, password);
	} catch {
		return false;
	}
}

/**
 * Checks a password against a hash: its normalised form first and, when that fails, the form
 * as typed, which hashes made before passwords were normalised were made from.
 *
 * Timing: a failed check always costs two argon2 verifications, whatever was typed. Skipping
 * the second when the normalised form is the text as typed (any ASCII password) would make a
 * wrong password answer in half the time of a wrong one with full-width or decomposed
 * characters, and tell whoever watches the answers what kind of characters someone typed.
 * The price is twice the argon2 work for every check, right or wrong (the throttle bounds how
 * many a person or address gets, and a refused attempt checks none, see waitLikeACheck): a
 * right password answered faster would tell it was right whenever a refusal follows it. What remains is NFKC itself, microseconds on at most PASSWORD_MAX_LENGTH
 * characters' worth of text, and unavoidable.
 */
export async function verifyPasswordHash(
	passwordHash: string,
	password: string
): Promise<PasswordMatch> {
	const started = performance.now();
	const normalised = normalisePassword(password);
	const matches = await argon2Matches(passwordHash, normalised);
	// The second verification is made whatever the first answered, even when it cannot succeed
	// (the same text again): a right password must take as long as a wrong one, or the sign-in
	// refusals that come after a right password (an account without its required second factor,
	// a demo password in production) would tell it was right.
	const asTyped = await argon2Matches(passwordHash, password);
	const took = performance.now() - started;
	typicalCheckMs = typicalCheckMs === 0 ? took : typicalCheckMs * 0.9 + took * 0.1;
	if (matches) return 'normalised';
	if (asTyped && password !== normalised) return 'as_typed';
	return false;
}

/**
 * Takes about as long as a failed password check, without doing one: the answer to an attempt
 * the throttle refused. Such attempts used to run argon2 on the dummy hash, so that one address
 * locked out could still keep the hashing threads busy without end and slow every other
 * sign-in (and page) down. A refused attempt tests no hash either way, so nothing is learnt
 * from its timing but that it was refused, which its answer never says and the lock itself
 * implies.
 */
export async function waitLikeACheck(): Promise<void> {
	if (typicalCheckMs === 0) {
		await verifyPasswordHash(await dummyPasswordHash(), '');
		return;
	}
	await new Promise((resolve) => setTimeout(resolve, typicalCheckMs));
}

let dummyHash: Promise<string> | undefined;

/**
 * A hash of a random password, verified when there is no real hash to check (an unknown or
 * disabled account), so that it costs the same argon2 work as a wrong password and never tests
 * the real one.
 */
export function dummyPasswordHash(): Promise<string> {
	dummyHash ??= hashPassword(randomBytes(18).toString('base64'));
	return dummyHash;
}
