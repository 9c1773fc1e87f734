import { and, eq } from 'drizzle-orm';
import * as audit from '../audit';
import { getDb, type Executor } from '../db';
import { account, session, type Account } from '../db/schema';
import { dummyPasswordHash, hashPassword, verifyPasswordHash, waitLikeACheck } from './password';
import {
	checkNewPassword,
	passwordTooLongToCheck,
	samePassword,
	type PasswordProblem
} from './password-policy';
import * as recoveryCodes from './recovery-codes';
import * as sessions from './sessions';
import { announceLockoutLater, checkSecondFactor, recordAcceptedFactor } from './sign-in';
import * as throttle from './throttle';
import * as totp from './totp';
import type { SessionRecord, SessionUser } from './types';
import { parseSecret } from './enrolment';

/** What a signed-in person can do to their own sign-in: the account page's domain. */

export interface SessionView {
	id: string;
	/** Signed in with the password, waiting for the second factor (can do nothing yet). */
	pending: boolean;
	device: string;
	ip: string | null;
	createdAt: Date;
	lastSeenAt: Date;
	current: boolean;
	/** Began before the current session: only such a session can be ended from it (endSession). */
	endable: boolean;
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
	const began = list.find((s) => s.id === currentSessionId)?.createdAt;
	return {
		sessions: list.map((s) => ({
			id: s.id,
			pending: s.pending,
			device: deviceLabel(s.userAgent),
			ip: s.ip,
			createdAt: s.createdAt,
			lastSeenAt: s.lastSeenAt,
			current: s.id === currentSessionId,
			endable: began !== undefined && s.createdAt < began
		})),
		recoveryCodesLeft: await recoveryCodes.remaining(db, user.id),
		hasTotp: row?.secret !== null && row?.secret !== undefined
	};
}

function actorOf(user: SessionUser): audit.AuditActor {
	return { id: user.id, name: user.displayName, roles: user.roles };
}

/**
 * Ends one of the person's own sessions, a sign-in still waiting for its second factor
 * included, that began before the session asking (`currentSessionId`); not_found when it is not
 * theirs (or already gone), `newer` when it began after. A stolen session (a copied cookie,
 * without the password or the second factor) could otherwise end every sign-in its owner makes
 * after it, as soon as it appears on this page, so that the owner could never stay signed in
 * long enough to change the password; whoever signs in anew can end an older session, and a
 * newer one is ended by changing the password (which ends every other session).
 */
export async function endSession(
	user: SessionUser,
	sessionId: string,
	context: audit.AuditContext,
	currentSessionId?: string
): Promise<'ok' | 'not_found' | 'ended' | 'newer'> {
	if (!/^[a-z2-7]{24}$/.test(sessionId)) return 'not_found';
	return getDb().transaction(async (tx) => {
		// Only from a session still in use: one ended while this request was on its way (by its
		// owner, who may be ending it now for being stolen) ends nothing more.
		const acting = await sessions.stillActing(tx, user.id, currentSessionId);
		if (!acting) return 'ended';
		const startedBefore = acting.sessionStartedAt;
		const ended = await sessions.endOne(tx, user.id, sessionId, startedBefore);
		if (!ended && startedBefore) {
			const [there] = await tx
				.select({ id: session.id })
				.from(session)
				.where(and(eq(session.id, sessionId), eq(session.accountId, user.id)));
			if (there) return 'newer';
		}
		if (ended) {
			await audit.append(tx, {
				...context,
				actor: actorOf(user),
				action: 'auth.session_ended',
				outcome: 'allowed',
				target: { type: 'account', id: user.id },
				details: { session: sessionId, by: 'self', pending: ended.pending }
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
	} else if (!passwordTooLongToCheck(password)) {
		const real = row?.hash ?? null;
		const match = await verifyPasswordHash(real ?? (await dummyPasswordHash()), password);
		ok = match !== false && real !== null;
		if (ok && match === 'as_typed') {
			// A hash made before passwords were normalised: replaced by one of the normalised
			// form, unless the password has changed meanwhile.
			const rehashed = await hashPassword(password);
			await db
				.update(account)
				.set({ passwordHash: rehashed })
				.where(and(eq(account.id, user.id), eq(account.passwordHash, real!)));
		}
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

export type FactorProblem = 'wrong_current_factor' | 'locked' | 'ended';

type Guarded<T> = { kind: 'done'; value: T } | { kind: 'problem'; problem: FactorProblem };

/**
 * Runs a change of a credential (the password, a new authenticator, new recovery codes) in one
 * transaction, only from a session still in use (sessions.stillActing), and, when the account
 * has an authenticator, only with one of its current second factors: a code from that
 * authenticator or an unused recovery code (used up; whoever holds one can sign in with it
 * anyway). A stolen session and a known password are then not enough to take the second factor
 * over. The guess is throttled and counted as at sign-in's code step, on the same budget
 * (throttle.keys.mfa, counted before the check) and the same count of wrong codes in a row
 * (SECOND_FACTOR_LOCKOUT: the account is locked, every session ended). Each attempt is audited
 * as `auth.mfa` (`purpose`, `factor: 'current'`), never the code. An account without an
 * authenticator signs in with its password alone, and has no second factor to prove.
 */
async function withCurrentFactor<T>(
	user: SessionUser,
	sessionId: string | undefined,
	factor: string,
	purpose: 'change_password' | 'reenrol_totp' | 'recovery_codes',
	context: audit.AuditContext,
	change: (tx: Executor, method: 'totp' | 'recovery' | null) => Promise<T>
): Promise<Guarded<T>> {
	const db = getDb();
	const now = new Date();
	const keys = [throttle.keys.mfa(user.id)];
	const reservation = await throttle.reserve(db, keys, now);
	let guessed = false;
	let lockedOut: Account | null = null;
	const details = { purpose, factor: 'current' };
	const result = await db.transaction(async (tx): Promise<Guarded<T>> => {
		// The account row first, as at sign-in: one code at a time per account, and a change
		// racing the code that locks the account out (or a disable) waits for it.
		const [who] = await tx.select().from(account).where(eq(account.id, user.id)).for('update');
		if (!who || !(await sessions.stillActing(tx, user.id, sessionId))) {
			return { kind: 'problem', problem: 'ended' };
		}
		let method: 'totp' | 'recovery' | null = null;
		if (who.totpSecret !== null) {
			guessed = true;
			if (!reservation.permitted) {
				// Locked: checked no code, and says so no more than a wrong one does.
				await audit.append(tx, {
					...context,
					actor: actorOf(user),
					action: 'auth.mfa',
					outcome: 'failed',
					target: { type: 'account', id: user.id },
					details: { reason: 'throttled', ...details }
				});
				return { kind: 'problem', problem: 'wrong_current_factor' };
			}
			const checked = await checkSecondFactor(tx, who, factor, context, now, details);
			if (!checked.accepted) {
				if (checked.locked) lockedOut = who;
				return { kind: 'problem', problem: checked.locked ? 'locked' : 'wrong_current_factor' };
			}
			method = checked.method;
			await tx.update(account).set({ secondFactorFailures: 0 }).where(eq(account.id, user.id));
			await recordAcceptedFactor(tx, who, method, context, details);
			await throttle.clear(tx, keys);
		}
		return { kind: 'done', value: await change(tx, method) };
	});
	// Nothing was guessed (the session had ended, or there is no second factor): the attempt
	// is given back.
	if (!guessed && reservation.permitted) await throttle.release(db, reservation);
	if (lockedOut) announceLockoutLater(lockedOut, now);
	return result;
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
	| { kind: 'problem'; problem: PasswordProblem | ReauthProblem | FactorProblem };

/**
 * Changes the password (the current one required and, when the account has an authenticator,
 * one of its current second factors: see withCurrentFactor) and ends every session of the
 * account: the others for good, the current one replaced by a new token (same sign-in time and
 * absolute end), so a token that may have leaked with the old password is worth nothing. Each
 * ended session is audited. A stolen session and a known password are not enough: the owner
 * would otherwise be locked out of their account by a password they do not know.
 */
export async function changePassword(
	user: SessionUser,
	currentSessionId: string,
	input: { current: string; next: string; confirm: string; factor: string },
	context: audit.AuditContext
): Promise<ChangePasswordResult> {
	const problem = checkNewPassword(input.next, { email: user.email });
	if (problem) return { kind: 'problem', problem };
	if (!samePassword(input.next, input.confirm)) return { kind: 'problem', problem: 'mismatch' };
	if (!(await reauthenticate(user, input.current, context, 'change_password'))) {
		return { kind: 'problem', problem: 'wrong_password' };
	}
	const hash = await hashPassword(input.next);
	// Only from a session still in use, of an account still active: the form's body can arrive
	// minutes after the request's session was checked, and the owner (or an administrator) may
	// have ended that session or disabled the account meanwhile (withCurrentFactor locks the
	// account row, then checks the session: sessions.stillActing).
	const done = await withCurrentFactor(
		user,
		currentSessionId,
		input.factor,
		'change_password',
		context,
		async (tx, method) => {
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
					details: {
						via: 'account',
						sessionsEnded: others,
						session: renewed?.session.id ?? null,
						factor: method
					}
				},
				...endedEvents(
					user,
					ended,
					'password_change',
					context,
					renewed ? { from: currentSessionId, to: renewed.session.id } : undefined
				)
			]);
			return { sessionsEnded: others, renewed };
		}
	);
	return done.kind === 'done' ? { kind: 'ok', ...done.value } : done;
}

export type ReenrolResult =
	| { kind: 'ok' }
	| {
			kind: 'problem';
			problem: 'wrong_password' | 'wrong_code' | 'bad_secret' | FactorProblem;
	  };

/**
 * Replaces the authenticator after the password is entered again, a code proves the scan and,
 * when the account has an authenticator, one of its current second factors is given (see
 * withCurrentFactor); ends every other session of the account (waiting ones too), each audited.
 * The session to keep is the person's current one; without it, all end.
 */
export async function reenrolTotp(
	user: SessionUser,
	input: { password: string; secret: string; code: string; factor: string },
	context: audit.AuditContext,
	keepSessionId: string | null = null
): Promise<ReenrolResult> {
	const secret = parseSecret(input.secret);
	if (!secret) return { kind: 'problem', problem: 'bad_secret' };
	if (!(await reauthenticate(user, input.password, context, 'reenrol_totp'))) {
		return { kind: 'problem', problem: 'wrong_password' };
	}
	// The new authenticator's code first: a mistyped one uses up no current code.
	const step = totp.matchingStep(secret, input.code.replace(/\s/g, ''), new Date());
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
	const done = await withCurrentFactor(
		user,
		keepSessionId ?? undefined,
		input.factor,
		'reenrol_totp',
		context,
		async (tx, method) => {
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
					details: { via: 'account', sessionsEnded: ended.length, factor: method }
				},
				...endedEvents(user, ended, 'totp_change', context)
			]);
		}
	);
	return done.kind === 'done' ? { kind: 'ok' } : done;
}

export type RegenerateResult =
	{ kind: 'ok'; codes: string[] } | { kind: 'problem'; problem: 'wrong_password' | FactorProblem };

/**
 * Ten new recovery codes (the old ones stop working), after the password is entered again and,
 * when the account has an authenticator, one of its current second factors is given (see
 * withCurrentFactor).
 */
export async function regenerateRecoveryCodes(
	user: SessionUser,
	input: { password: string; factor: string },
	context: audit.AuditContext,
	sessionId?: string
): Promise<RegenerateResult> {
	if (!(await reauthenticate(user, input.password, context, 'recovery_codes'))) {
		return { kind: 'problem', problem: 'wrong_password' };
	}
	const done = await withCurrentFactor(
		user,
		sessionId,
		input.factor,
		'recovery_codes',
		context,
		async (tx, method) => {
			const codes = await recoveryCodes.regenerate(tx, user.id);
			await audit.append(tx, {
				...context,
				actor: actorOf(user),
				action: 'auth.recovery_codes_regenerated',
				outcome: 'allowed',
				target: { type: 'account', id: user.id },
				details: { count: codes.length, factor: method }
			});
			return codes;
		}
	);
	return done.kind === 'done' ? { kind: 'ok', codes: done.value } : done;
}
