import { eq } from 'drizzle-orm';
import * as audit from '../audit';
import { getDb } from '../db';
import { account } from '../db/schema';
import { hashPassword, verifyPasswordHash } from './password';
import { checkNewPassword, PASSWORD_MAX_LENGTH, type PasswordProblem } from './password-policy';
import * as recoveryCodes from './recovery-codes';
import * as sessions from './sessions';
import * as throttle from './throttle';
import * as totp from './totp';
import type { SessionUser } from './types';
import { parseSecret } from './enrolment';

/** What a signed-in person can do to their own sign-in: the account page's domain. */

export interface SessionView {
	id: string;
	device: string;
	ip: string | null;
	createdAt: Date;
	lastSeenAt: Date;
	current: boolean;
}

export interface AccountOverview {
	sessions: SessionView[];
	recoveryCodesLeft: number;
	hasTotp: boolean;
}

/** A short, human label for a user agent: browser and system, never the raw string's details. */
export function deviceLabel(userAgent: string | null): string {
	if (!userAgent) return '—';
	const browser = /Edg\//.test(userAgent)
		? 'Edge'
		: /Firefox\//.test(userAgent)
			? 'Firefox'
			: /Chrome\//.test(userAgent)
				? 'Chrome'
				: /Safari\//.test(userAgent)
					? 'Safari'
					: null;
	const system = /Windows/.test(userAgent)
		? 'Windows'
		: /iPhone|iPad/.test(userAgent)
			? 'iOS'
			: /Mac OS X|Macintosh/.test(userAgent)
				? 'macOS'
				: /Android/.test(userAgent)
					? 'Android'
					: /Linux/.test(userAgent)
						? 'Linux'
						: null;
	if (browser && system) return `${browser} · ${system}`;
	return browser ?? system ?? userAgent.slice(0, 40);
}

export async function overview(
	user: SessionUser,
	currentSessionId: string
): Promise<AccountOverview> {
	const db = getDb();
	const list = await sessions.listForAccount(db, user.id);
	const [row] = await db
		.select({ secret: account.totpSecret })
		.from(account)
		.where(eq(account.id, user.id));
	return {
		sessions: list.map((s) => ({
			id: s.id,
			device: deviceLabel(s.userAgent),
			ip: s.ip,
			createdAt: s.createdAt,
			lastSeenAt: s.lastSeenAt,
			current: s.id === currentSessionId
		})),
		recoveryCodesLeft: await recoveryCodes.remaining(db, user.id),
		hasTotp: row?.secret !== null && row?.secret !== undefined
	};
}

function actorOf(user: SessionUser): audit.AuditActor {
	return { id: user.id, name: user.displayName, roles: user.roles };
}

/** Ends one of the person's own sessions; false when it is not theirs (or already gone). */
export async function endSession(
	user: SessionUser,
	sessionId: string,
	context: audit.AuditContext
): Promise<boolean> {
	if (!/^[a-z2-7]{24}$/.test(sessionId)) return false;
	return getDb().transaction(async (tx) => {
		const ended = await sessions.endOne(tx, user.id, sessionId);
		if (ended) {
			await audit.append(tx, {
				...context,
				actor: actorOf(user),
				action: 'auth.session_ended',
				outcome: 'allowed',
				target: { type: 'account', id: user.id },
				details: { session: sessionId, by: 'self' }
			});
		}
		return ended;
	});
}

export type ReauthProblem = 'wrong_password';

/**
 * Checks the current password before a sensitive change. Guesses are throttled per account;
 * a locked check fails like a wrong password.
 */
async function reauthenticate(
	user: SessionUser,
	password: string,
	context: audit.AuditContext,
	purpose: string
): Promise<boolean> {
	const db = getDb();
	const keys = [{ key: `reauth:${user.id}`, free: 5 }];
	const locked = await throttle.isLocked(db, keys);
	const [row] = await db
		.select({ hash: account.passwordHash })
		.from(account)
		.where(eq(account.id, user.id));
	const ok =
		password.length <= PASSWORD_MAX_LENGTH && row?.hash
			? await verifyPasswordHash(row.hash, password)
			: false;
	if (ok && !locked) {
		await throttle.clear(db, keys);
		return true;
	}
	if (!locked) await throttle.recordFailure(db, keys);
	await audit.record({
		...context,
		actor: actorOf(user),
		action: 'auth.password_changed',
		outcome: 'failed',
		target: { type: 'account', id: user.id },
		details: { reason: locked ? 'throttled' : 'wrong_current_password', purpose }
	});
	return false;
}

export type ChangePasswordResult =
	| { kind: 'ok'; sessionsEnded: number }
	| { kind: 'problem'; problem: PasswordProblem | ReauthProblem };

/** Changes the password (the current one required) and ends every other session. */
export async function changePassword(
	user: SessionUser,
	currentSessionId: string,
	input: { current: string; next: string; confirm: string },
	context: audit.AuditContext
): Promise<ChangePasswordResult> {
	const problem = checkNewPassword(input.next, { email: user.email });
	if (problem) return { kind: 'problem', problem };
	if (input.next !== input.confirm) return { kind: 'problem', problem: 'mismatch' };
	if (!(await reauthenticate(user, input.current, context, 'change_password'))) {
		return { kind: 'problem', problem: 'wrong_password' };
	}
	const hash = await hashPassword(input.next);
	return getDb().transaction(async (tx) => {
		await tx.update(account).set({ passwordHash: hash }).where(eq(account.id, user.id));
		const ended = await sessions.endOthers(tx, user.id, currentSessionId);
		await audit.append(tx, {
			...context,
			actor: actorOf(user),
			action: 'auth.password_changed',
			outcome: 'allowed',
			target: { type: 'account', id: user.id },
			details: { via: 'account', sessionsEnded: ended }
		});
		return { kind: 'ok', sessionsEnded: ended } as const;
	});
}

export type ReenrolResult =
	{ kind: 'ok' } | { kind: 'problem'; problem: 'wrong_password' | 'wrong_code' | 'bad_secret' };

/** Replaces the authenticator after the password is entered again and a code proves the scan. */
export async function reenrolTotp(
	user: SessionUser,
	input: { password: string; secret: string; code: string },
	context: audit.AuditContext
): Promise<ReenrolResult> {
	const secret = parseSecret(input.secret);
	if (!secret) return { kind: 'problem', problem: 'bad_secret' };
	if (!(await reauthenticate(user, input.password, context, 'reenrol_totp'))) {
		return { kind: 'problem', problem: 'wrong_password' };
	}
	const now = new Date();
	const step = totp.matchingStep(secret, input.code.replace(/\s/g, ''), now);
	if (step === null) return { kind: 'problem', problem: 'wrong_code' };
	const sealed = totp.sealSecret(secret);
	await getDb().transaction(async (tx) => {
		await tx
			.update(account)
			.set({
				totpSecret: sealed.value,
				totpKeyId: sealed.keyId,
				totpLastStep: totp.laterStep(step)
			})
			.where(eq(account.id, user.id));
		await audit.append(tx, {
			...context,
			actor: actorOf(user),
			action: 'auth.totp_enrolled',
			outcome: 'allowed',
			target: { type: 'account', id: user.id },
			details: { via: 'account' }
		});
	});
	return { kind: 'ok' };
}

export type RegenerateResult =
	{ kind: 'ok'; codes: string[] } | { kind: 'problem'; problem: 'wrong_password' };

/** Ten new recovery codes (the old ones stop working), after the password is entered again. */
export async function regenerateRecoveryCodes(
	user: SessionUser,
	password: string,
	context: audit.AuditContext
): Promise<RegenerateResult> {
	if (!(await reauthenticate(user, password, context, 'recovery_codes'))) {
		return { kind: 'problem', problem: 'wrong_password' };
	}
	return getDb().transaction(async (tx) => {
		const codes = await recoveryCodes.regenerate(tx, user.id);
		await audit.append(tx, {
			...context,
			actor: actorOf(user),
			action: 'auth.recovery_codes_regenerated',
			outcome: 'allowed',
			target: { type: 'account', id: user.id },
			details: { count: codes.length }
		});
		return { kind: 'ok', codes } as const;
	});
}
