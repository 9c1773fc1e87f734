import { and, eq, isNull, sql } from 'drizzle-orm';
import * as audit from '../audit';
import * as background from '../background';
import { getConfig } from '../config';
import { getDb, type Executor } from '../db';
import { account, session, type Account, type Role } from '../db/schema';
import { log } from '../log';
import { getMailer, type MailMessage } from '../mail';
import { revokeUnused } from './enrolment';
import { dummyPasswordHash, hashPassword, verifyPasswordHash, waitLikeACheck } from './password';
import { isRefusedDemoPassword, passwordTooLongToCheck } from './password-policy';
import * as recoveryCodes from './recovery-codes';
import * as sessions from './sessions';
import * as throttle from './throttle';
import * as totp from './totp';
import type { SessionRecord } from './types';

const MAX_EMAIL_LENGTH = 320;

/**
 * Wrong second-factor codes in a row (across every session and address, however slowly they
 * come) after which the account is locked: disabled, its sessions ended, until an administrator
 * enables it again. The delays of throttle.ts alone would let someone who has the password try
 * about four codes an hour for ever; NIST SP 800-63B asks for a limit of at most 100.
 */
export const SECOND_FACTOR_LOCKOUT = 20;

/**
 * What enabling a disabled account writes, for an administrator (admin/accounts.ts) and the
 * operator's command (admin/bootstrap.ts) alike: active again if it had enrolled, otherwise
 * pending, the count of wrong codes forgotten. One locked out by wrong codes comes back pending
 * without its password (whoever typed the codes knows it) or its authenticator: the caller mails
 * a reset link, through which the person sets new ones.
 */
export function enabledAgain(before: {
	passwordHash: string | null;
	secondFactorFailures: number;
}) {
	const lockedOut = before.secondFactorFailures >= SECOND_FACTOR_LOCKOUT;
	const status: 'active' | 'pending' = before.passwordHash && !lockedOut ? 'active' : 'pending';
	const cleared = lockedOut
		? { passwordHash: null, totpSecret: null, totpKeyId: null, totpLastStep: null }
		: {};
	return {
		lockedOut,
		change: { status, disabledAt: null, secondFactorFailures: 0, ...cleared }
	};
}

export interface SignInContext extends audit.AuditContext {
	ip: string | null;
	userAgent: string | null;
}

export type PasswordStepResult =
	| { kind: 'failed' }
	| { kind: 'too_long' }
	| { kind: 'second_factor'; token: string; session: SessionRecord }
	| { kind: 'signed_in'; token: string; session: SessionRecord };

export type SecondFactorResult =
	| { kind: 'failed' }
	| { kind: 'locked' }
	| { kind: 'no_pending' }
	| { kind: 'signed_in'; token: string; session: SessionRecord; method: 'totp' | 'recovery' };

export function mfaRequired(roles: readonly Role[]): boolean {
	return (
		getConfig().mfaRequiredForAll || roles.includes('administrator') || roles.includes('auditor')
	);
}

/** Lower case and trimmed; anything PostgreSQL text cannot hold never reaches a query. */
export function normaliseEmail(email: string): string | null {
	const clean = email.normalize('NFKC').trim().toLowerCase();
	if (clean.length === 0 || clean.length > MAX_EMAIL_LENGTH || clean.includes('\u0000'))
		return null;
	if (!clean.isWellFormed()) return null;
	return clean;
}

/**
 * The email field as typed, for the auditors of failed sign-ins; but not text without an @, which
 * is more likely a password typed into the wrong box than an address: only its length is kept.
 */
function typedEmail(typed: string): Record<string, unknown> {
	const text = typed.slice(0, MAX_EMAIL_LENGTH);
	return text.includes('@')
		? { email: text }
		: { email: null, emailWithheld: 'no_at_sign', emailLength: typed.length };
}

async function findAccount(executor: Executor, email: string): Promise<Account | undefined> {
	const [row] = await executor
		.select()
		.from(account)
		.where(eq(sql`lower(${account.email})`, email))
		.limit(1);
	return row;
}

function actorOf(a: Account): audit.AuditActor {
	return { id: a.id, name: a.displayName, roles: a.roles };
}

async function recordFailure(
	context: SignInContext,
	action: 'auth.sign_in' | 'auth.mfa',
	reason: string,
	details: Record<string, unknown>,
	who: Account | undefined
): Promise<void> {
	await audit.record({
		...context,
		actor: who ? actorOf(who) : null,
		action,
		outcome: 'failed',
		target: who ? { type: 'account', id: who.id } : null,
		details: { reason, ...details }
	});
}

/**
 * First step: email and password. Unknown email, wrong password, disabled or not yet enrolled
 * accounts all answer `failed` after the same argon2 work; the true reason goes to the audit log.
 * The attempt is counted against the email and the address before the password is checked
 * (see throttle.ts), so that guesses sent at once cannot outrun the lock; a locked attempt
 * checks no hash at all and answers after about as long.
 */
export async function passwordStep(
	input: { email: string; password: string },
	context: SignInContext,
	options: { now?: Date } = {}
): Promise<PasswordStepResult> {
	const db = getDb();
	const now = options.now ?? new Date();
	const email = normaliseEmail(input.email);
	const personKey = throttle.keys.email(email ?? input.email.slice(0, MAX_EMAIL_LENGTH));
	const addressKey = throttle.keys.ip(context.ip);
	const reservation = await throttle.reserve(db, [personKey, addressKey], now);
	const found = email ? await findAccount(db, email) : undefined;
	const emailDetail = typedEmail(input.email);
	if (passwordTooLongToCheck(input.password)) {
		// Refused before any hashing, yet a failed sign-in like the others: counted above and
		// audited, with the length only, never the text.
		const details = { ...emailDetail, passwordLength: input.password.length };
		await recordFailure(
			context,
			'auth.sign_in',
			'password_too_long',
			reservation.permitted ? details : { ...details, throttled: true },
			found
		);
		return { kind: 'too_long' };
	}
	if (!reservation.permitted) {
		// Attempts while locked are not counted (they do not extend the lock), and look like any
		// other failure, after about as long; no hash is checked (see waitLikeACheck).
		await waitLikeACheck();
		await recordFailure(context, 'auth.sign_in', 'throttled', emailDetail, found);
		return { kind: 'failed' };
	}
	const usable = found?.status === 'active' && found.passwordHash !== null;
	// The same argon2 work whether the account is known or not; only a usable account's real
	// hash is tested.
	const match = await verifyPasswordHash(
		usable ? found.passwordHash! : await dummyPasswordHash(),
		input.password
	);
	const passwordOk = match !== false;
	if (!found) {
		await recordFailure(context, 'auth.sign_in', 'unknown_email', emailDetail, undefined);
		return { kind: 'failed' };
	}
	if (!usable) {
		const reason = found.status === 'disabled' ? 'disabled' : 'not_enrolled';
		await recordFailure(context, 'auth.sign_in', reason, emailDetail, found);
		return { kind: 'failed' };
	}
	if (!passwordOk) {
		await recordFailure(context, 'auth.sign_in', 'wrong_password', emailDetail, found);
		return { kind: 'failed' };
	}
	if (isRefusedDemoPassword(input.password)) {
		// A database seeded in demo mode and run in production: its accounts' published
		// passwords open nothing there. The same answer as a wrong password; the audit says why.
		await recordFailure(context, 'auth.sign_in', 'demo_password', emailDetail, found);
		return { kind: 'failed' };
	}
	const hasTotp = found.totpSecret !== null && found.totpKeyId !== null;
	if (!hasTotp && mfaRequired(found.roles)) {
		// The right password: no guess to count, but no sign-in either to clear the counter.
		await throttle.release(db, reservation);
		await recordFailure(context, 'auth.sign_in', 'second_factor_not_enrolled', emailDetail, found);
		return { kind: 'failed' };
	}
	// A hash made before passwords were normalised, matched by the password as typed: its
	// normalised form is hashed now (outside the transaction: argon2 is slow on purpose) and
	// stored with the session, so that any typing of it signs in from now on.
	const rehashed = match === 'as_typed' ? await hashPassword(input.password) : null;

	const outcome = await db.transaction(async (tx) => {
		// The account as it was checked, locked until the commit. A password change, a reset, a
		// new authenticator or a disable that committed while argon2 ran has ended every session
		// there was; a session made now with what was checked would outlive it.
		const [unchanged] = await tx
			.select({ id: account.id })
			.from(account)
			.where(
				and(
					eq(account.id, found.id),
					eq(account.status, 'active'),
					eq(account.passwordHash, found.passwordHash!),
					hasTotp ? eq(account.totpSecret, found.totpSecret!) : isNull(account.totpSecret)
				)
			)
			.for('update');
		if (!unchanged) return null;
		if (rehashed) {
			await tx.update(account).set({ passwordHash: rehashed }).where(eq(account.id, found.id));
		}
		const created = await sessions.create(tx, {
			accountId: found.id,
			mfaVerified: !hasTotp,
			ip: context.ip,
			userAgent: context.userAgent
		});
		if (!hasTotp) {
			await tx.update(account).set({ lastSignInAt: new Date() }).where(eq(account.id, found.id));
		}
		await audit.append(tx, {
			...context,
			actor: actorOf(found),
			action: 'auth.sign_in',
			outcome: 'allowed',
			target: { type: 'account', id: found.id },
			details: {
				stage: hasTotp ? 'password' : 'complete',
				session: created.session.id,
				...(rehashed ? { passwordRehashed: true } : {})
			}
		});
		// The email's failures are forgotten; the address (shared by others) gets this attempt
		// back. The second factor's budget (throttle.keys.mfa) is not touched: a right password
		// opens a new waiting session, never new guesses at the code. Last in the transaction,
		// so that the counters' rows stay locked as briefly as possible.
		await throttle.clear(tx, [personKey]);
		await throttle.release(tx, reservation, [addressKey]);
		return { kind: hasTotp ? 'second_factor' : 'signed_in', ...created } as const;
	});
	if (outcome) return outcome;
	await recordFailure(context, 'auth.sign_in', 'account_changed', emailDetail, found);
	return { kind: 'failed' };
}

/** Why a second factor is refused, or null when it is accepted (a recovery code is used up). */
async function secondFactorRefusal(
	tx: Executor,
	accountId: number,
	code: string,
	isTotp: boolean,
	now: Date
): Promise<string | null> {
	if (isTotp) {
		const result = await totp.verifyForAccount(tx, accountId, code.replace(/\s/g, ''), now);
		if (result === 'ok') return null;
		return result === 'replay' ? 'code_reused' : 'wrong_code';
	}
	const used = await recoveryCodes.consume(tx, accountId, code, now);
	return used ? null : 'wrong_or_used_recovery_code';
}

/**
 * Counts a wrong code on the account (in the transaction that records it) and locks the account
 * at SECOND_FACTOR_LOCKOUT: disabled, every session ended (the waiting one too), unused
 * enrolment and reset links withdrawn, as an administrator's disabling does, and recorded as
 * `auth.locked_out`. Whoever typed the codes has the password, so the person needs an
 * administrator (and a new password) to come back. True when this code locked the account.
 */
async function countWrongCode(
	tx: Executor,
	who: Account,
	context: audit.AuditContext,
	now: Date
): Promise<boolean> {
	const [counted] = await tx
		.update(account)
		.set({ secondFactorFailures: sql`${account.secondFactorFailures} + 1` })
		.where(and(eq(account.id, who.id), eq(account.status, 'active')))
		.returning({ failures: account.secondFactorFailures });
	if (!counted || counted.failures < SECOND_FACTOR_LOCKOUT) return false;
	await tx
		.update(account)
		.set({ status: 'disabled', disabledAt: now })
		.where(eq(account.id, who.id));
	const sessionsEnded = await sessions.endAllForAccount(tx, who.id);
	const linksRevoked = await revokeUnused(tx, who.id);
	await audit.append(tx, {
		...context,
		actor: actorOf(who),
		action: 'auth.locked_out',
		outcome: 'denied',
		target: { type: 'account', id: who.id },
		details: {
			failures: counted.failures,
			before: { status: 'active' },
			after: { status: 'disabled' },
			sessionsEnded,
			linksRevoked
		}
	});
	return true;
}

export type SecondFactorCheck =
	| { accepted: true; method: 'totp' | 'recovery' }
	| { accepted: false; method: 'totp' | 'recovery'; locked: boolean };

/**
 * Checks a 6-digit code or a recovery code of the account, in the caller's transaction, which
 * holds the account row FOR UPDATE (codes for one account are checked one at a time). An
 * accepted one is used up (its time step, or the recovery code); a refused one is audited as a
 * failed `auth.mfa` (with `details`, never the code) and counted towards SECOND_FACTOR_LOCKOUT
 * (see countWrongCode; after a lockout the caller calls `announceLockoutLater`). The throttle's
 * reservation, and starting the count again on success, are the caller's.
 */
export async function checkSecondFactor(
	tx: Executor,
	who: Account,
	code: string,
	context: audit.AuditContext,
	now: Date,
	details: Record<string, unknown> = {}
): Promise<SecondFactorCheck> {
	const trimmed = code.trim().slice(0, 64);
	const isTotp = /^\d{6}$/.test(trimmed.replace(/\s/g, ''));
	const method: 'totp' | 'recovery' = isTotp ? 'totp' : 'recovery';
	const refusal = await secondFactorRefusal(tx, who.id, trimmed, isTotp, now);
	if (!refusal) return { accepted: true, method };
	// The attempt stays counted.
	await audit.append(tx, {
		...context,
		actor: actorOf(who),
		action: 'auth.mfa',
		outcome: 'failed',
		target: { type: 'account', id: who.id },
		details: { method, reason: refusal, ...details }
	});
	return { accepted: false, method, locked: await countWrongCode(tx, who, context, now) };
}

/**
 * The audit events of a second factor checkSecondFactor accepted: `auth.mfa` (with `details`)
 * and, for a recovery code, `auth.recovery_code_used` with how many are left.
 */
export async function recordAcceptedFactor(
	tx: Executor,
	who: Account,
	method: 'totp' | 'recovery',
	context: audit.AuditContext,
	details: Record<string, unknown>
): Promise<void> {
	const target = { type: 'account', id: who.id };
	await audit.append(tx, {
		...context,
		actor: actorOf(who),
		action: 'auth.mfa',
		outcome: 'allowed',
		target,
		details: { method, ...details }
	});
	if (method === 'recovery') {
		const remaining = await recoveryCodes.remaining(tx, who.id);
		await audit.append(tx, {
			...context,
			actor: actorOf(who),
			action: 'auth.recovery_code_used',
			outcome: 'allowed',
			target,
			details: { remaining, ...(details.purpose ? { purpose: details.purpose } : {}) }
		});
	}
}

/**
 * Second step: a 6-digit code or a recovery code for the session waiting for it. On success the
 * waiting session is replaced by a new one (a new token), fully authenticated.
 */
export async function secondFactorStep(
	pendingToken: string | undefined,
	code: string,
	context: SignInContext,
	options: { now?: Date } = {}
): Promise<SecondFactorResult> {
	const now = options.now ?? new Date();
	const db = getDb();
	const pending = await sessions.validate(db, pendingToken, { allowPending: true });
	if (!pending || pending.session.mfaVerified) return { kind: 'no_pending' };
	const accountId = pending.user.id;
	const [who] = await db.select().from(account).where(eq(account.id, accountId));
	if (!who) return { kind: 'no_pending' };
	// Counted before the code is checked (see throttle.ts): codes sent at once cannot outrun the
	// lock. The budget is the account's, shared by all its waiting sessions and addresses.
	const personKey = throttle.keys.mfa(accountId);
	const addressKey = throttle.keys.ip(context.ip);
	const reservation = await throttle.reserve(db, [personKey, addressKey], now);
	if (!reservation.permitted) {
		await recordFailure(context, 'auth.mfa', 'throttled', {}, who);
		return { kind: 'failed' };
	}

	const result = await db.transaction(async (tx) => {
		// One code at a time per account, under the account row's lock: a right code racing the
		// wrong code that locks the account out (or a disable, a password change) waits for it,
		// then finds the account no longer active or its waiting session ended, and signs nobody
		// in. The waiting session's row stays locked until it is replaced below.
		const [current] = await tx
			.select({ status: account.status })
			.from(account)
			.where(eq(account.id, accountId))
			.for('update');
		const [waiting] = await tx
			.select({ id: session.id })
			.from(session)
			.where(eq(session.id, pending.session.id))
			.for('update');
		if (current?.status !== 'active' || !waiting) return { kind: 'no_pending' } as const;
		const checked = await checkSecondFactor(tx, who, code, context, now);
		if (!checked.accepted) return { kind: checked.locked ? 'locked' : 'failed' } as const;
		const { method } = checked;
		await sessions.end(tx, pending.session.id);
		const created = await sessions.create(tx, {
			accountId,
			mfaVerified: true,
			ip: context.ip,
			userAgent: context.userAgent
		});
		await tx
			.update(account)
			.set({ lastSignInAt: new Date(), secondFactorFailures: 0 })
			.where(eq(account.id, accountId));
		await recordAcceptedFactor(tx, who, method, context, { session: created.session.id });
		await throttle.clear(tx, [personKey]);
		await throttle.release(tx, reservation, [addressKey]);
		return { kind: 'signed_in', method, ...created } as const;
	});
	// In the background: whoever is at the sign-in page gets their answer without waiting for
	// the mail relay (a slow or unreachable one would hold the request for minutes).
	// Tracked, so that shutdown lets it go out before the database closes.
	if (result.kind === 'locked') announceLockoutLater(who, now);
	return result;
}

/**
 * After a lockout (see checkSecondFactor) has committed: the notices go out in the background,
 * so that the answer never waits for the mail relay; tracked, so that shutdown lets them go out
 * before the database closes.
 */
export function announceLockoutLater(who: Account, now: Date): void {
	void background.track(announceLockout(getDb(), who, now));
}

/**
 * After the lockout has committed: the person learns that their password is known to someone
 * (the mail goes to the account's own address, which whoever typed the codes cannot change),
 * and the active administrators, who cannot read the audit log, that an account waits for them.
 * Never throws: a failed send (or lookup) is logged, and the lockout stands either way.
 */
async function announceLockout(executor: Executor, who: Account, now: Date): Promise<void> {
	try {
		for (const message of await lockoutNotices(executor, who, now)) {
			try {
				await getMailer().send(message);
			} catch (err) {
				log.error({ err, accountId: who.id }, 'a lockout notice could not be sent');
			}
		}
	} catch (err) {
		log.error({ err, accountId: who.id }, 'the lockout notices could not be prepared');
	}
}

/** The person's notice and one for each active administrator. */
async function lockoutNotices(executor: Executor, who: Account, now: Date): Promise<MailMessage[]> {
	const at = now.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
	const administrators = await executor
		.select({ email: account.email })
		.from(account)
		.where(and(eq(account.status, 'active'), sql`'administrator' = any(${account.roles})`));
	return [
		{
			to: who.email,
			subject: 'JISS Intranet: your account is locked / アカウントがロックされました',
			text: [
				`At ${at}, someone who knew your password entered ${SECOND_FACTOR_LOCKOUT} wrong codes in a row at the second sign-in step (or on the account page, to replace your authenticator or recovery codes).`,
				"Your account is now locked and every session of it has ended. If it was not you, tell the institute's administrators: they unlock the account and send you a link to choose a new password.",
				'',
				`${at}、あなたのパスワードを知っている人が、サインインの 2 段階目（または認証アプリやリカバリーコードを変更するアカウントページ）で誤ったコードを ${SECOND_FACTOR_LOCKOUT} 回続けて入力しました。`,
				'アカウントはロックされ、すべてのセッションが終了しました。心当たりがない場合は研究所の管理者に連絡してください。管理者がロックを解除し、新しいパスワードを設定するためのリンクを送ります。'
			].join('\n')
		},
		...administrators
			.filter((a) => a.email !== who.email)
			.map((a) => ({
				to: a.email,
				subject: 'JISS Intranet: an account was locked / アカウントのロック',
				text: [
					`At ${at}, the account of ${who.displayName} (${who.email}, id ${who.id}) was locked after ${SECOND_FACTOR_LOCKOUT} wrong second-factor codes in a row: whoever entered them knew the password. Enable the account on its page when the person has been reached, and send a reset link.`,
					'',
					`${at}、${who.displayName}（${who.email}、ID ${who.id}）のアカウントが、2 段階認証のコードを ${SECOND_FACTOR_LOCKOUT} 回続けて誤って入力されたためロックされました。入力した人はパスワードを知っていました。本人に確認できたら、アカウントのページで有効にし、リセットのリンクを送ってください。`
				].join('\n')
			}))
	];
}

/** Sign-out: the server session goes, and the event is recorded. */
export async function signOut(
	sessionId: string,
	user: { id: number; displayName: string; roles: readonly string[] },
	context: SignInContext
): Promise<void> {
	await getDb().transaction(async (tx) => {
		await sessions.end(tx, sessionId);
		await audit.append(tx, {
			...context,
			actor: { id: user.id, name: user.displayName, roles: user.roles },
			action: 'auth.sign_out',
			outcome: 'allowed',
			target: { type: 'account', id: user.id },
			details: { session: sessionId }
		});
	});
}

/**
 * Ends the session the sign-in page found in the browser: a live or waiting one replaced by a
 * new sign-in (`new_sign_in`), or a waiting one given up (`cancelled`). Recorded as every ended
 * session is, under the session's own person; nothing is recorded when it was already gone.
 */
export async function endBrowserSession(
	found: {
		session: SessionRecord;
		user: { id: number; displayName: string; roles: readonly string[] };
	},
	by: 'new_sign_in' | 'cancelled' | 'signed_out',
	context: SignInContext
): Promise<void> {
	await getDb().transaction(async (tx) => {
		if (!(await sessions.endOne(tx, found.user.id, found.session.id))) return;
		await audit.append(tx, {
			...context,
			actor: { id: found.user.id, name: found.user.displayName, roles: found.user.roles },
			action: 'auth.session_ended',
			outcome: 'allowed',
			target: { type: 'account', id: found.user.id },
			details: { session: found.session.id, by, pending: !found.session.mfaVerified }
		});
	});
}
