import { and, eq } from 'drizzle-orm';
import * as audit from '../audit';
import { getDb } from '../db';
import { account, session } from '../db/schema';
import { dummyPasswordHash, hashPassword, verifyPasswordHash, waitLikeACheck } from './password';
import { checkNewPassword, passwordTooLong, type PasswordProblem } from './password-policy';
import * as recoveryCodes from './recovery-codes';
import * as sessions from './sessions';
import * as throttle from './throttle';
import * as totp from './totp';
import type { SessionRecord, SessionUser } from './types';
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
	context: audit.AuditContext,
	currentSessionId?: string
): Promise<'ok' | 'not_found' | 'ended'> {
	if (!/^[a-z2-7]{24}$/.test(sessionId)) return 'not_found';
	return getDb().transaction(async (tx) => {
		// Only from a session still in use: one ended while this request was on its way (by its
		// owner, who may be ending it now for being stolen) ends nothing more.
		if (!(await sessions.stillActing(tx, user.id, currentSessionId))) return 'ended';
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
		return ended ? 'ok' : 'not_found';
	});
}

export type ReauthProblem = 'wrong_password';

/**
 * Checks the current password before a sensitive change. Guesses are throttled per account,
 * counted before the check as at sign-in (throttle.ts); a locked check fails like a wrong
 * password after about as long, without checking any hash (see waitLikeACheck).
 */
async function reauthenticate(
	user: SessionUser,
	password: string,
	context: audit.AuditContext,
	purpose: string
): Promise<boolean> {
	const db = getDb();
	const keys = [throttle.keys.reauth(user.id)];
	const reservation = await throttle.reserve(db, keys);
	const [row] = await db
		.select({ hash: account.passwordHash })
		.from(account)
		.where(eq(account.id, user.id));
	let ok = false;
	if (!reservation.permitted) {
		// Locked: no hash checked, the same wait (see waitLikeACheck).
		await waitLikeACheck();
	} else if (!passwordTooLong(password)) {
		const real = row?.hash ?? null;
		ok = (await verifyPasswordHash(real ?? (await dummyPasswordHash()), password)) && real !== null;
	}
	if (ok) {
		await throttle.clear(db, keys);
		return true;
	}
	await audit.record({
		...context,
		actor: actorOf(user),
		action: 'auth.password_changed',
		outcome: 'failed',
		target: { type: 'account', id: user.id },
		details: {
			reason: reservation.permitted ? 'wrong_current_password' : 'throttled',
			purpose
		}
	});
	return false;
}

/**
 * One `auth.session_ended` event per session a change of the person's credentials ended; the
 * session that goes on under a new token names it (`replacedBy`).
 */
function endedEvents(
	user: SessionUser,
	ended: string[],
	by: 'password_change' | 'totp_change',
	context: audit.AuditContext,
	renewal?: { from: string; to: string }
): audit.AuditEventInput[] {
	return ended.map((id) => ({
		...context,
		actor: actorOf(user),
		action: 'auth.session_ended',
		outcome: 'allowed',
		target: { type: 'account', id: user.id },
		details: { session: id, by, ...(renewal?.from === id ? { replacedBy: renewal.to } : {}) }
	}));
}

export type ChangePasswordResult =
	| {
			kind: 'ok';
			sessionsEnded: number;
			/**
			 * The new token of the browser that made the change (its old one has ended); null
			 * when that session had already ended meanwhile, and the person signs in again.
			 */
			renewed: { token: string; session: SessionRecord } | null;
	  }
	| { kind: 'problem'; problem: PasswordProblem | ReauthProblem | 'ended' };

/**
 * Changes the password (the current one required) and ends every session of the account: the
 * others for good, the current one replaced by a new token (same sign-in time and absolute
 * end), so a token that may have leaked with the old password is worth nothing. Each ended
 * session is audited.
 */
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
	return getDb().transaction(async (tx): Promise<ChangePasswordResult> => {
		// Only from a session still in use, of an account still active: the form's body can
		// arrive minutes after the request's session was checked, and the owner (or an
		// administrator) may have ended that session or disabled the account meanwhile. The
		// account row is locked for the update first, then the session checked (stillActing).
		await tx.select({ id: account.id }).from(account).where(eq(account.id, user.id)).for('update');
		if (!(await sessions.stillActing(tx, user.id, currentSessionId))) {
			return { kind: 'problem', problem: 'ended' };
		}
		await tx.update(account).set({ passwordHash: hash }).where(eq(account.id, user.id));
		const [current] = await tx
			.select({
				mfaVerified: session.mfaVerified,
				createdAt: session.createdAt,
				absoluteExpiresAt: session.absoluteExpiresAt
			})
			.from(session)
			.where(and(eq(session.id, currentSessionId), eq(session.accountId, user.id)));
		const ended = await sessions.endOthers(tx, user.id, null);
		const renewed =
			current && ended.includes(currentSessionId)
				? await sessions.create(tx, {
						accountId: user.id,
						mfaVerified: current.mfaVerified,
						ip: context.ip,
						userAgent: context.userAgent,
						continues: current
					})
				: null;
		const others = ended.filter((id) => id !== currentSessionId).length;
		await audit.appendMany(tx, [
			{
				...context,
				actor: actorOf(user),
				action: 'auth.password_changed',
				outcome: 'allowed',
				target: { type: 'account', id: user.id },
				details: { via: 'account', sessionsEnded: others, session: renewed?.session.id ?? null }
			},
			...endedEvents(
				user,
				ended,
				'password_change',
				context,
				renewed ? { from: currentSessionId, to: renewed.session.id } : undefined
			)
		]);
		return { kind: 'ok', sessionsEnded: others, renewed };
	});
}

export type ReenrolResult =
	| { kind: 'ok' }
	| { kind: 'problem'; problem: 'wrong_password' | 'wrong_code' | 'bad_secret' | 'ended' };

/**
 * Replaces the authenticator after the password is entered again and a code proves the scan,
 * and ends every other session of the account (waiting ones too), each audited. The session
 * to keep is the person's current one; without it, all end.
 */
export async function reenrolTotp(
	user: SessionUser,
	input: { password: string; secret: string; code: string },
	context: audit.AuditContext,
	keepSessionId: string | null = null
): Promise<ReenrolResult> {
	const secret = parseSecret(input.secret);
	if (!secret) return { kind: 'problem', problem: 'bad_secret' };
	if (!(await reauthenticate(user, input.password, context, 'reenrol_totp'))) {
		return { kind: 'problem', problem: 'wrong_password' };
	}
	const now = new Date();
	const step = totp.matchingStep(secret, input.code.replace(/\s/g, ''), now);
	if (step === null) {
		await audit.record({
			...context,
			actor: actorOf(user),
			action: 'auth.mfa',
			outcome: 'failed',
			target: { type: 'account', id: user.id },
			details: { method: 'totp', reason: 'wrong_code', purpose: 'reenrol_totp' }
		});
		return { kind: 'problem', problem: 'wrong_code' };
	}
	const sealed = totp.sealSecret(secret);
	const done = await getDb().transaction(async (tx) => {
		// A new second factor only for a session still in use (see sessions.stillActing): not
		// for a request whose session was ended while it was on its way.
		if (keepSessionId !== null && !(await sessions.stillActing(tx, user.id, keepSessionId))) {
			return false;
		}
		await tx
			.update(account)
			.set({
				totpSecret: sealed.value,
				totpKeyId: sealed.keyId,
				totpLastStep: totp.laterStep(step)
			})
			.where(eq(account.id, user.id));
		const ended = await sessions.endOthers(tx, user.id, keepSessionId);
		await audit.appendMany(tx, [
			{
				...context,
				actor: actorOf(user),
				action: 'auth.totp_enrolled',
				outcome: 'allowed',
				target: { type: 'account', id: user.id },
				details: { via: 'account', sessionsEnded: ended.length }
			},
			...endedEvents(user, ended, 'totp_change', context)
		]);
		return true;
	});
	return done ? { kind: 'ok' } : { kind: 'problem', problem: 'ended' };
}

export type RegenerateResult =
	{ kind: 'ok'; codes: string[] } | { kind: 'problem'; problem: 'wrong_password' | 'ended' };

/** Ten new recovery codes (the old ones stop working), after the password is entered again. */
export async function regenerateRecoveryCodes(
	user: SessionUser,
	password: string,
	context: audit.AuditContext,
	sessionId?: string
): Promise<RegenerateResult> {
	if (!(await reauthenticate(user, password, context, 'recovery_codes'))) {
		return { kind: 'problem', problem: 'wrong_password' };
	}
	return getDb().transaction(async (tx) => {
		// Codes that stand in for the second factor, only for a session still in use.
		if (!(await sessions.stillActing(tx, user.id, sessionId))) {
			return { kind: 'problem', problem: 'ended' } as const;
		}
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
