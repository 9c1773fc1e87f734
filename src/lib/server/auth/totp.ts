import { constantTimeEqual } from '@oslojs/crypto/subtle';
import { encodeBase32UpperCaseNoPadding } from '@oslojs/encoding';
import { createTOTPKeyURI, generateHOTP } from '@oslojs/otp';
import { randomBytes } from 'node:crypto';
import { renderSVG } from 'uqr';
import { and, eq, isNull, lt, or, sql, type SQL } from 'drizzle-orm';
import { getConfig } from '../config';
import type { Executor } from '../db';
import { account } from '../db/schema';
import { decryptSecret, encryptSecret, type KeyRing } from './encryption';

export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
/** Codes of the previous and next step are accepted too (clock drift, a code typed late). */
const WINDOW = 1;

export type TotpResult = 'ok' | 'invalid' | 'replay';

function keyRing(): KeyRing {
	const keys = getConfig().mfaEncryptionKeys;
	if (!keys) throw new Error('MFA_ENCRYPTION_KEYS is not configured');
	return { keys };
}

export function stepAt(now: Date): number {
	return Math.floor(now.getTime() / 1000 / TOTP_PERIOD_SECONDS);
}

export function sealSecret(secret: Uint8Array): { keyId: string; value: Uint8Array } {
	return encryptSecret(keyRing(), secret);
}

export function openSecret(keyId: string, value: Uint8Array): Uint8Array {
	return decryptSecret(keyRing(), keyId, value);
}

/** The step whose code this is, within the window, or null. Every candidate is compared. */
export function matchingStep(secret: Uint8Array, code: string, now: Date): number | null {
	if (!/^\d{6}$/.test(code)) return null;
	const given = new TextEncoder().encode(code);
	const current = stepAt(now);
	let found: number | null = null;
	for (let step = current - WINDOW; step <= current + WINDOW; step++) {
		const expected = new TextEncoder().encode(generateHOTP(secret, BigInt(step), TOTP_DIGITS));
		if (constantTimeEqual(expected, given) && found === null) found = step;
	}
	return found;
}

/**
 * Checks a code against the account's secret and records its step, so the same code (or an
 * older one) is refused next time. The conditional update makes two racing requests with the
 * same code accept it at most once.
 */
export async function verifyForAccount(
	executor: Executor,
	accountId: number,
	code: string,
	now: Date = new Date()
): Promise<TotpResult> {
	const [row] = await executor
		.select({ secret: account.totpSecret, keyId: account.totpKeyId })
		.from(account)
		.where(eq(account.id, accountId));
	if (!row?.secret || !row.keyId) return 'invalid';
	const step = matchingStep(openSecret(row.keyId, row.secret), code, now);
	if (step === null) return 'invalid';
	const updated = await executor
		.update(account)
		.set({ totpLastStep: step })
		.where(
			and(
				eq(account.id, accountId),
				or(isNull(account.totpLastStep), lt(account.totpLastStep, step))
			)
		)
		.returning({ id: account.id });
	return updated.length === 1 ? 'ok' : 'replay';
}

/** A new 20-byte secret, its base32 text, the otpauth URI and a QR code of it (SVG data URL). */
export function newSetup(email: string, existing?: Uint8Array): TotpSetup {
	const secret = existing ?? new Uint8Array(randomBytes(20));
	const uri = createTOTPKeyURI('JISS Intranet', email, secret, TOTP_PERIOD_SECONDS, TOTP_DIGITS);
	const svg = renderSVG(uri, { border: 2 });
	return {
		secret: encodeBase32UpperCaseNoPadding(secret),
		uri,
		qr: `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`
	};
}

export interface TotpSetup {
	secret: string;
	uri: string;
	qr: string;
}

/**
 * The value to store after enrolling with a code of `step`: never lower than what is stored,
 * so that enrolling again (even with the same secret) cannot make an old code valid again.
 */
export function laterStep(step: number): SQL<number> {
	return sql<number>`greatest(coalesce(${account.totpLastStep}, ${step}), ${step})`;
}
